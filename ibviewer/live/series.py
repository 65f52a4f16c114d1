"""Qt-free helpers of the views: the GUI's mirror of the history, min/max decimation, 1-2-5 axis ranges.

Drawing cost in software rendering is dominated by the number of points and by tick regeneration on every
range change, so every frame decimates each column once to 500 min/max buckets (shared by all
curves) and axis ranges only change in 1-2-5 steps (whole decades on log axes).
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import numpy as np

from ibviewer.core.theory import rescale_divisor

#: the x axes of the plots over time: the step k, log10 k, the time t = η·k (the sum of the step sizes), and the
#: rescaled time t / ln(1/α) on which runs of different initialization scales α line up
X_MODES = ("step", "log_step", "time", "rescaled")
#: min/max buckets per frame: ~1000 points per curve, more than a panel has pixels across
BUCKETS = 500
X_LABELS = {"step": "step k", "log_step": "step k (log scale)", "time": "time η·k",
            "rescaled": "rescaled time η·k / ln(1/α)"}


class HistoryMirror:
    """Growable numpy columns holding every history row the worker sent."""

    def __init__(self) -> None:
        self.cols: dict[str, np.ndarray] = {}
        self.n = 0  # rows stored
        self.tail: dict[str, np.ndarray] | None = None  # a provisional last row (the current, unrecorded step)
        self.version = 0  # increases on every change
        #: the run's initialization scale α (model.init_scale), for the rescaled time axis; None if unknown
        self.init_scale: float | None = None

    @property
    def size(self) -> int:
        """Rows to draw: the stored ones and the provisional tail."""
        return self.n + (1 if self.tail is not None else 0)

    def clear(self) -> None:
        self.cols = {}
        self.n = 0
        self.tail = None
        self.version += 1

    def update(self, rows: dict[str, np.ndarray], replace: bool, tail: dict[str, np.ndarray] | None = None) -> None:
        self.tail = tail or None
        if replace:
            self.cols = {}
            self.n = 0
        if rows:
            k = len(next(iter(rows.values())))
            if k:
                need = self.n + k
                for name, v in rows.items():
                    col = self.cols.get(name)
                    if col is None:
                        cap = max(1024, 2 * need)
                        col = np.full((cap,) + v.shape[1:], np.nan, dtype=np.float64)
                        self.cols[name] = col
                    elif col.shape[0] < need:
                        new = np.full((max(2 * col.shape[0], need),) + col.shape[1:], np.nan, dtype=np.float64)
                        new[: self.n] = col[: self.n]
                        col = self.cols[name] = new
                    col[self.n : need] = v
                self.n = need
        self.version += 1

    def __contains__(self, name: str) -> bool:
        return name in self.cols or (self.tail is not None and name in self.tail)

    def __getitem__(self, name: str) -> np.ndarray:
        """The column with the tail row if there is one (then a copy)."""
        t = self.tail
        if t is None:
            return self.cols[name][: self.n]
        if name in self.cols:
            col = self.cols[name][: self.n]
            extra = np.asarray(t.get(name, np.nan), dtype=np.float64)
            if extra.shape != col.shape[1:]:
                extra = np.full(col.shape[1:], np.nan)
            return np.concatenate([col, extra[None]])
        v = np.asarray(t[name], dtype=np.float64)
        return np.concatenate([np.full((self.n,) + v.shape, np.nan), v[None]])

    def get(self, name: str) -> np.ndarray | None:
        return self[name] if name in self else None  # noqa: SIM401 - self.get is this method

    def last(self, name: str) -> Any:
        if name not in self or self.size == 0:
            return None
        return self[name][-1]


def safe_log10(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(v)
    out[~(v > 0)] = np.nan
    out[~np.isfinite(out)] = np.nan
    return out


def _bucket_edges(x: np.ndarray, buckets: int) -> np.ndarray:
    """First row of every bucket: buckets of equal width in x (as drawn), so the log-spaced early records keep
    their own points on a log axis; equal numbers of rows where x is not sorted.  Leading NaN x (step 0 on a log
    axis) form a bucket of their own."""
    n = len(x)
    finite = np.isfinite(x)
    f0 = int(np.argmax(finite)) if finite.any() else n
    tail = x[f0:]
    if f0 == n or not finite[f0:].all() or np.any(np.diff(tail) < 0) or not tail[-1] > tail[0]:
        return np.linspace(0, n, buckets + 1).astype(np.int64)[:-1]
    targets = np.linspace(tail[0], tail[-1], buckets + 1)[:-1]
    edges = f0 + np.searchsorted(tail, targets, side="left")
    return np.unique(np.concatenate([[0], edges])).astype(np.int64)


class Frame:
    """One drawing frame: x values and decimated columns computed once and shared by all panels."""

    def __init__(self, mirror: HistoryMirror, x_mode: str = "step", buckets: int = BUCKETS):
        self.mirror = mirror
        self.x_mode = x_mode
        n = mirror.size
        self.n = n
        self._cache: dict[tuple[str, bool], np.ndarray] = {}
        self.edges = None
        x = self.raw_x()
        if n > 2 * buckets:
            self.edges = _bucket_edges(x, buckets)
            self.last_idx = np.append(self.edges[1:], n) - 1
        self._x = self._decimate_x(x)

    def raw_x(self) -> np.ndarray:
        m = self.mirror
        if self.n == 0:
            return np.zeros(0)
        if self.x_mode in ("time", "rescaled") and "time" in m:
            t = m["time"]
            return t / rescale_divisor(getattr(m, "init_scale", None)) if self.x_mode == "rescaled" else t
        step = m["step"]
        if self.x_mode == "log_step":
            return safe_log10(step)
        return step.astype(np.float64)

    def _decimate_x(self, x: np.ndarray) -> np.ndarray:
        if self.edges is None:
            return x
        out = np.empty(2 * len(self.edges))
        out[0::2] = x[self.edges]
        out[1::2] = x[self.last_idx]
        return out

    @property
    def x(self) -> np.ndarray:
        return self._x

    def has(self, name: str) -> bool:
        return name in self.mirror and self.n > 0

    def col(self, name: str, log: bool = False) -> np.ndarray | None:
        """The column ``name`` (log10 if ``log``), decimated like :attr:`x`: shape (len(x),) or (len(x), k)."""
        key = (name, log)
        if key in self._cache:
            return self._cache[key]
        raw = self.mirror.get(name)
        if raw is None or self.n == 0:
            return None
        y = safe_log10(raw) if log else np.asarray(raw, dtype=np.float64)
        if self.edges is not None:
            y = self._decimate(y)
        self._cache[key] = y
        return y

    def _decimate(self, y: np.ndarray) -> np.ndarray:
        """Min/max of every bucket, ordered like the data within the bucket (rising: min then max)."""
        edges = self.edges
        with np.errstate(invalid="ignore"):
            lo = np.fmin.reduceat(y, edges, axis=0)
            hi = np.fmax.reduceat(y, edges, axis=0)
        rising = y[self.last_idx] >= y[edges]
        first = np.where(rising, lo, hi)
        second = np.where(rising, hi, lo)
        out = np.empty((2 * len(edges),) + y.shape[1:])
        out[0::2] = first
        out[1::2] = second
        return out


def nan_joined(x: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Several curves y[:, j] over the same x as one NaN-separated curve (draw with connect='finite')."""
    k = ys.shape[1] if ys.ndim == 2 else 0
    if k == 0:
        return np.zeros(0), np.zeros(0)
    n = len(x)
    xx = np.empty((k, n + 1))
    xx[:, :n] = x
    xx[:, n] = np.nan
    yy = np.empty((k, n + 1))
    yy[:, :n] = ys.T
    yy[:, n] = np.nan
    return xx.ravel(), yy.ravel()


# -------------------------------------------------------------------------------------------------- ranges
def nice_ceil(v: float) -> float:
    """Smallest 1, 2 or 5 x 10^k >= v (v > 0)."""
    if not v > 0:
        return 0.0
    e = math.floor(math.log10(v))
    for m in (1.0, 2.0, 5.0, 10.0):
        c = m * 10.0**e
        if c >= v * (1 - 1e-12):
            return c
    return 10.0 ** (e + 1)  # pragma: no cover


def nice_floor(v: float) -> float:
    """Largest 1, 2 or 5 x 10^k <= v (v > 0)."""
    if not v > 0:
        return 0.0
    e = math.floor(math.log10(v))
    for m in (5.0, 2.0, 1.0):
        c = m * 10.0**e
        if c <= v * (1 + 1e-12):
            return c
    return 10.0**e  # pragma: no cover


def nice_range(lo: float, hi: float, *, log: bool, include_zero: bool = False) -> tuple[float, float]:
    """An axis range around [lo, hi]: whole decades on log axes (values are log10), else 1-2-5 bounds."""
    if log:
        a, b = math.floor(lo), math.ceil(hi)
        if b - a < 1:
            b = a + 1
        return float(a), float(b)
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = hi - lo
    if not span > 0:
        span = abs(hi) if hi else 1.0
        # one value: a range around it, not across zero (a time axis at step 0 got [-0.6, 0.6], and as a range
        # only grows, that negative side stayed: the rescaled axis of a 20,000-step run ran from -5 to 15)
        lo, hi = (max(lo - 0.5 * span, 0.0) if lo >= 0 else lo - 0.5 * span), hi + 0.5 * span
        span = hi - lo
    step = nice_ceil(span / 8)  # at most an eighth of a step on either side left empty
    a = math.floor(lo / step + 1e-9) * step
    b = math.ceil(hi / step - 1e-9) * step
    if b <= a:
        b = a + step
    if include_zero and lo >= 0:
        # from 0 to the first 1-2-5 step at or above hi (a 1-2-5 top itself, nice_ceil(hi), left up to half of
        # the axis empty: a run's rescaled time 0-10.9 was drawn on 0-20)
        a = 0.0
        b = b if hi > 0 else 1.0
    return a, b


class RangeKeeper:
    """Keeps an axis range that only grows (in nice steps) until :meth:`reset`."""

    def __init__(self, log: bool, include_zero: bool = False):
        self.log = log
        self.include_zero = include_zero
        self.range: tuple[float, float] | None = None

    def reset(self) -> None:
        self.range = None

    def fit(self, lo: float, hi: float) -> tuple[float, float] | None:
        """The new range if [lo, hi] does not fit the current one, else None."""
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return None
        cur = self.range
        if cur is not None and cur[0] <= lo and hi <= cur[1]:
            return None
        if cur is not None:
            lo, hi = min(lo, cur[0]), max(hi, cur[1])
        new = nice_range(lo, hi, log=self.log, include_zero=self.include_zero)
        if new == cur:
            return None
        self.range = new
        return new


def finite_bounds(*arrays: np.ndarray | None) -> tuple[float, float] | None:
    """(min, max) over the finite values of all arrays; None if there are none."""
    lo, hi = math.inf, -math.inf
    for a in arrays:
        if a is None or a.size == 0:
            continue
        f = a[np.isfinite(a)]
        if f.size:
            lo, hi = min(lo, float(f.min())), max(hi, float(f.max()))
    if lo > hi:
        return None
    return lo, hi


# -------------------------------------------------------------------------------------------------- text
# x_i, σ_i, W_{j+1}, ‖W‖_*, ‖W‖_F, ‖W‖_op, x_ℓ1, Q_α: a subscript after a symbol -- one letter not preceded by an
# ASCII letter or digit (ᵀW_j is two symbols), or a closing bar or bracket.  A name written with an underscore (init_scale, min_l1, rank_tol) is left as it is.
_SUB = re.compile(r"(?:(?<=[‖)\]])|(?<=(?<![A-Za-z0-9_.])[^\W_]))_(\{[^}]*\}|\*|[A-Za-z0-9ℓα]+)")
#: the characters Unicode has a subscript form of
_SUBSCRIPT = str.maketrans("0123456789+-=()aeoxhklmnpstijruv", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼᵣᵤᵥ")


def symbols(text: str) -> str:
    """Rich text with real subscripts: ``σ_i(W)`` → ``σ<sub>i</sub>(W)``, ``‖W‖_*`` → ``‖W‖<sub>*</sub>``;
    ``init_scale`` stays as it is."""
    out = html.escape(text, quote=False)

    def sub(m: re.Match) -> str:
        s = m.group(1)
        if s.startswith("{"):
            s = s[1:-1]
        return f"<sub>{s}</sub>"

    return _SUB.sub(sub, out)


def plain_symbols(text: str) -> str:
    """The text without markup (window titles, check boxes, menus, file names): no underscore is left, each
    subscript character written in its Unicode subscript form where there is one (``x_ℓ1`` → ``xℓ₁``, ``W_1`` →
    ``W₁``, ``Q_α`` → ``Qα``); ``init_scale`` stays as it is."""
    return _SUB.sub(lambda m: m.group(1).strip("{}").translate(_SUBSCRIPT), text)
