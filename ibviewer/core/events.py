"""The moments of a run a lecturer points at, found from its recorded history: event markers.

Each event is a dict with at least ``step`` (always a recorded step: a row of the history, so that a view can
jump to it), ``kind`` and ``label`` (text a person can read), and the gradient-flow ``time`` of that row.  The
kinds and their criteria (the thresholds are the constants below; ``docs/science.md``, section "Events", gives
the steps the presets reach):

* ``learned`` -- a singular value of a matrix model reaches half of its target ("σ₂ learned");
* ``active`` -- a coordinate of a diagonal model's support reaches half of its target ("x₁₇ active");
* ``plateau_escaped`` -- the loss leaves a plateau with a sharp drop ("plateau 2 escaped");
* ``rank_step`` -- the rounded effective rank moves to a new value and stays there ("effective rank 3 → 2");
* ``closest_rank_r`` -- a noisy low-rank factorization comes closest to the best rank-r approximation of its
  target, with the window of steps around it (``start``, ``end``: ``ibviewer/core/rank_window.py``);
* ``erank_rise`` -- from here on the effective rank is non-decreasing (the same runs);
* ``diverged`` -- the run diverged ("diverged").

Everything here is a pure function of the history's columns (``step``, ``time``, ``loss``, ``sv``,
``erank_entropy``, ``state``, ``dist_best_rank_r``), the config and the run's status: no engine is needed, so a saved history gives
the same events as the live run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ibviewer.core.metrics import target_spectrum
from ibviewer.core.rank_window import closest_window, numerical_rank, rise_start

#: plateau: the loss stays within FLAT decades (a factor 10**0.1 = 1.26) over a trailing window of step
#: PLATEAU_WINDOW decades (a factor 1.26 in steps) holding at least MIN_ROWS records
PLATEAU_WINDOW = 0.1
FLAT = 0.1
MIN_ROWS = 3
#: escape: within ESCAPE_WINDOW decades of steps after the plateau the loss falls by at least ESCAPE_DROP
#: decades (a factor 1.26) and by at least ESCAPE_RATIO times its variation over the plateau's window
ESCAPE_WINDOW = 0.1
ESCAPE_DROP = 0.1
ESCAPE_RATIO = 3.0
#: losses below this fraction of the run's largest are rounding noise, not plateaus
LOSS_FLOOR = 1e-20
#: a rounded effective rank counts once it holds for RANK_DWELL decades of steps (a factor 1.26) and MIN_ROWS rows
RANK_DWELL = 0.1
#: without a target, a diagonal model's support is the coordinates above this fraction of the largest final one
SUPPORT_FRACTION = 1e-2

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def subscript(n: int) -> str:
    """``17`` → ``₁₇`` (Unicode subscript digits, for labels)."""
    return str(int(n)).translate(_SUBSCRIPTS)


def _event(step, time, kind: str, label: str, **extra) -> dict[str, Any]:
    out = {"step": int(step), "kind": kind, "label": label}
    if time is not None and np.isfinite(time):
        out["time"] = float(time)
    out.update(extra)
    return out


def _time_at(columns, i: int):
    t = columns.get("time")
    return None if t is None or i >= len(t) else float(t[i])


def _first_reach(series: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Per column, the index of the first row where ``series`` reaches ``half`` (-1 if never)."""
    hit = series >= half[None, :]
    first = np.argmax(hit, axis=0)
    return np.where(hit.any(axis=0), first, -1)


# -------------------------------------------------------------------------------------------- activation
def learned_singular_values(columns: dict[str, np.ndarray], target: np.ndarray | None = None,
                            rank_tol: float = 1e-3) -> list[dict[str, Any]]:
    """``learned`` events: the first recorded step at which σ_i reaches half of its target, σ₁ the largest.

    The target is the ground truth's singular value where the problem has one (``target``: the ground-truth
    matrix), else the run's final σ_i for the values above ``rank_tol`` times the largest.  The target is
    preferred because the theory's half-times (``ibviewer/core/theory.py``) are measured against it, so the
    events compare with the prediction, and because a run stopped before σ_i is learned would otherwise reach
    "half of its final value" early and list an event where nothing happened.  Values whose target is zero are
    never "learned".  Events come in order of the step.
    """
    sv = columns.get("sv")
    steps = columns.get("step")
    if sv is None or steps is None or len(steps) == 0 or np.ndim(sv) != 2:
        return []
    sv = np.asarray(sv, float)
    if target is not None and np.ndim(target) == 2:
        goal = target_spectrum(target)
        goal = goal[goal > 1e-6 * max(float(goal.max(initial=0.0)), 1e-300)]
    else:
        final = sv[-1]
        finite = np.isfinite(final)
        top = float(final[finite].max(initial=0.0))
        goal = final[finite & (final > rank_tol * top)] if top > 0 else np.zeros(0)
    k = min(len(goal), sv.shape[1])
    if k == 0:
        return []
    first = _first_reach(np.nan_to_num(sv[:, :k], nan=-np.inf), 0.5 * goal[:k])
    out = [_event(steps[i], _time_at(columns, i), "learned", f"σ{subscript(j + 1)} learned", index=j + 1,
                  value=float(goal[j])) for j, i in enumerate(first) if i >= 0]
    return sorted(out, key=lambda e: (e["step"], e["index"]))


def active_coordinates(columns: dict[str, np.ndarray], target: np.ndarray | None = None) -> list[dict[str, Any]]:
    """``active`` events: the first recorded step at which a coordinate x_i of the support reaches half of its
    target value, with its sign (x_i·sign(x*_i) >= |x*_i|/2).

    The support and the values are the target's (``target``: the sparse ground truth x*) where the problem has
    one, for the reasons given in :func:`learned_singular_values`; else the run's final x, the coordinates above
    ``SUPPORT_FRACTION`` of its largest.  Indices count from 0, as the coordinates panel and ``summary.json``'s
    ``x`` do.  Events come in order of the step.
    """
    state = columns.get("state")
    steps = columns.get("step")
    if state is None or steps is None or len(steps) == 0 or np.ndim(state) != 2:
        return []
    x = np.asarray(state, float)
    if target is not None and np.ndim(target) == 1 and len(target) == x.shape[1]:
        goal = np.asarray(target, float)
        support = np.flatnonzero(goal != 0)
    else:
        goal = np.nan_to_num(x[-1])
        top = float(np.abs(goal).max(initial=0.0))
        support = np.flatnonzero(np.abs(goal) > SUPPORT_FRACTION * top) if top > 0 else np.zeros(0, int)
    if support.size == 0:
        return []
    sign = np.sign(goal[support])
    signed = np.nan_to_num(x[:, support] * sign[None, :], nan=-np.inf)
    first = _first_reach(signed, 0.5 * np.abs(goal[support]))
    out = [_event(steps[i], _time_at(columns, i), "active", f"x{subscript(c)} active", index=int(c),
                  value=float(goal[c])) for c, i in zip(support, first) if i >= 0]
    return sorted(out, key=lambda e: (e["step"], e["index"]))


# -------------------------------------------------------------------------------------------- plateaus
class _RangeTable:
    """Minimum and maximum of ``v[a..b]`` for any a <= b in O(1) (sparse tables; O(n log n) to build), so that
    a history of any length is scanned in a few numpy operations."""

    def __init__(self, v: np.ndarray):
        self.lo, self.hi = [v], [v]
        width = 1
        while 2 * width <= len(v):
            lo, hi = self.lo[-1], self.hi[-1]
            self.lo.append(np.minimum(lo[:-width], lo[width:]))
            self.hi.append(np.maximum(hi[:-width], hi[width:]))
            width *= 2

    def query(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(min, max) of v over a..b inclusive, elementwise (needs a <= b)."""
        level = np.floor(np.log2(b - a + 1)).astype(int)
        lo, hi = np.empty(len(a)), np.empty(len(a))
        for k in np.unique(level):
            m = level == k
            s, e = a[m], b[m] - (1 << k) + 1
            lo[m] = np.minimum(self.lo[k][s], self.lo[k][e])
            hi[m] = np.maximum(self.hi[k][s], self.hi[k][e])
        return lo, hi


def plateau_escapes(columns: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """``plateau_escaped`` events: where the loss leaves a plateau (saddle to saddle).

    On the log-log plot of the loss against the step (u = log10 step, v = log10 loss, steps >= 1):

    * a row is **flat** when over the trailing window u - PLATEAU_WINDOW .. u (at least MIN_ROWS records, the
      window inside the record) v varies by at most FLAT;
    * a flat row is an **escape point** when within ESCAPE_WINDOW decades after it v falls by at least
      ESCAPE_DROP and by at least ESCAPE_RATIO times its variation over the trailing window;
    * each run of consecutive escape points ends one plateau; the event's step is the first recorded step
      after that run (the loss has begun to fall), ``start`` the first step of the plateau (the earliest row
      since the previous escape from which the loss stays within FLAT of its value at the first flat row) and
      ``loss`` the loss at the plateau's last row.

    Why this rejects a plain exponential decay L = e^(-ck) (and e^(-ck^p), and sums of decaying exponentials):
    on a log-log plot it has the same shape at every c, and the drop it makes within D decades after a point is
    (10^D - 1)/(1 - 10^-W) times its variation over the W decades before it: 1.26 for W = D = 0.1, below
    ESCAPE_RATIO = 3 whatever c.  A saddle escape is a drop many times its plateau's variation.  Rows below
    LOSS_FLOOR times the largest loss (rounding noise) are left out.  The criteria assume a deterministic loss
    (full-batch GD); a noisy loss fails the flatness test and gives no plateaus.
    """
    steps, loss = columns.get("step"), columns.get("loss")
    if steps is None or loss is None or len(steps) < 2 * MIN_ROWS:
        return []
    steps = np.asarray(steps)
    loss = np.asarray(loss, float)
    ok = (steps >= 1) & np.isfinite(loss) & (loss > 0)
    if ok.sum() < 2 * MIN_ROWS:
        return []
    ok &= loss >= LOSS_FLOOR * loss[ok].max()
    rows = np.flatnonzero(ok)
    if rows.size < 2 * MIN_ROWS:
        return []
    u, v = np.log10(steps[rows].astype(float)), np.log10(loss[rows])
    table = _RangeTable(v)
    n = len(u)
    index = np.arange(n)
    start = np.searchsorted(u, u - PLATEAU_WINDOW, side="left")
    lo, hi = table.query(start, index)
    spread = hi - lo
    flat = (spread <= FLAT) & (index - start + 1 >= MIN_ROWS) & (u - PLATEAU_WINDOW >= u[0])
    # the lowest loss within ESCAPE_WINDOW decades after each row
    end = np.searchsorted(u, u + ESCAPE_WINDOW, side="right") - 1
    drop = np.full(n, -np.inf)
    has_next = end > index
    after, _ = table.query(np.minimum(index + 1, n - 1)[has_next], end[has_next])
    drop[has_next] = v[has_next] - after
    escape = flat & (drop >= np.maximum(ESCAPE_DROP, ESCAPE_RATIO * spread))
    out: list[dict[str, Any]] = []
    previous_escape = -1
    i = 0
    while i < n:
        if not escape[i]:
            i += 1
            continue
        j = i  # escape points have a later row (their drop), so row j + 1 exists
        while escape[j + 1]:
            j += 1
        first_flat = j
        while first_flat - 1 >= max(previous_escape, 0) and flat[first_flat - 1]:
            first_flat -= 1
        # the plateau starts where the loss came within FLAT of its level at the first flat row
        start_row = first_flat
        while start_row - 1 >= max(previous_escape, 0) and abs(v[start_row - 1] - v[first_flat]) <= FLAT:
            start_row -= 1
        leave = j + 1
        number = len(out) + 1
        out.append(_event(steps[rows[leave]], _time_at(columns, rows[leave]), "plateau_escaped",
                          f"plateau {number} escaped", index=number, start=int(steps[rows[start_row]]),
                          loss=float(loss[rows[j]])))
        previous_escape = leave
        i = j + 1
    return out


# -------------------------------------------------------------------------------------------- effective rank
def rank_steps(columns: dict[str, np.ndarray], name: str = "erank_entropy") -> list[dict[str, Any]]:
    """``rank_step`` events: the rounded effective rank (entropy form by default) moves to a new value.

    A rounded value *holds* when it stays the same over at least RANK_DWELL decades of steps and MIN_ROWS
    records; values that do not hold (passed through on the way, or flicker across a half-integer) are
    skipped.  An event marks each change between consecutive values that hold, at the first recorded step of
    the new value's stretch: e.g. a factorization from a small random start goes "effective rank 11 → 1" when
    σ₁ is learned, then "1 → 2", "2 → 3".  The dwell is measured in decades of steps because the dynamics
    from a small initialization run on a logarithmic clock: each value takes about as many steps again as the
    previous one (``docs/science.md``, sections 8 and "Events").
    """
    steps, er = columns.get("step"), columns.get(name)
    if steps is None or er is None or len(steps) == 0 or np.ndim(er) != 1:
        return []
    steps = np.asarray(steps)
    er = np.asarray(er, float)
    # stretches of equal rounded value (NaN rows end a stretch and belong to none)
    rounded = np.where(np.isfinite(er), np.round(er), np.nan)
    stretches: list[tuple[int, int, float]] = []
    i, n = 0, len(rounded)
    while i < n:
        if not np.isfinite(rounded[i]):
            i += 1
            continue
        j = i
        while j + 1 < n and rounded[j + 1] == rounded[i]:
            j += 1
        stretches.append((i, j, float(rounded[i])))
        i = j + 1
    out: list[dict[str, Any]] = []
    held: float | None = None
    for a, b, value in stretches:
        # a stretch that reaches the next stretch's first step spans up to it (records are points in time)
        end_step = steps[b + 1] if b + 1 < n else steps[b]
        span = np.log10(max(end_step, 1)) - np.log10(max(steps[a], 1))
        if b - a + 1 < MIN_ROWS or span < RANK_DWELL:
            continue
        if held is not None and value != held:
            out.append(_event(steps[a], _time_at(columns, a), "rank_step",
                              f"effective rank {int(held)} → {int(value)}", before=int(held), after=int(value)))
        held = value
    return out


# -------------------------------------------------------------------------------------------- rank windows
def rank_window(columns: dict[str, np.ndarray], rank: int) -> list[dict[str, Any]]:
    """``closest_rank_r`` and ``erank_rise`` events of a run that records ``dist_best_rank_r`` (a noisy
    low-rank factorization; Chou, Gieshoff, Maly & Rauhut 2024).

    ``closest_rank_r`` sits at the recorded step where the relative distance to the best rank-``rank``
    approximation M_r of the target is smallest, once the distance has left the window around it again; it
    carries the window (``start``, ``end``, with their times ``start_time``, ``end_time``: the steps within
    :data:`~ibviewer.core.rank_window.WINDOW_FACTOR` of the minimum), the minimum ``distance`` and the last
    row's ``final`` distance.  ``erank_rise`` sits at the first step from which on the entropy effective rank
    is non-decreasing within :data:`~ibviewer.core.rank_window.RISE_TOL`, given only once the rank has fallen
    and risen (its step is neither the first row nor the last).
    """
    steps, dist = columns.get("step"), columns.get("dist_best_rank_r")
    if steps is None or dist is None or len(steps) == 0 or np.ndim(dist) != 1:
        return []
    out: list[dict[str, Any]] = []
    w = closest_window(steps, dist)
    if w is not None:
        a, b = w["start_row"], w["end_row"]
        extra = {k: v for k, v in (("start_time", _time_at(columns, a)), ("end_time", _time_at(columns, b)))
                 if v is not None and np.isfinite(v)}
        out.append(_event(w["step"], _time_at(columns, w["row"]), "closest_rank_r", f"closest to best rank-{rank}",
                          start=w["start"], end=w["end"], distance=w["distance"], final=w["final"], rank=int(rank),
                          **extra))
    er = columns.get("erank_entropy")
    if er is not None and np.ndim(er) == 1 and len(er) == len(steps):
        i = rise_start(er)
        if i is not None and 0 < i < len(er) - 1:
            out.append(_event(steps[i], _time_at(columns, i), "erank_rise", "effective rank rises",
                              erank=float(er[i])))
    return out


# -------------------------------------------------------------------------------------------- divergence
def divergence(columns: dict[str, np.ndarray], status: str, status_step: int) -> list[dict[str, Any]]:
    """``diverged``: one event when the run's status is ``diverged``, at its last recorded step at or before
    ``status_step`` (the step at which it stopped; the diverged state itself is not recorded: its metrics are
    not finite), with ``stopped_at`` = ``status_step``."""
    if status != "diverged":
        return []
    steps = columns.get("step")
    if steps is None or len(steps) == 0:
        return [_event(status_step, None, "diverged", "diverged", stopped_at=int(status_step))]
    i = max(int(np.searchsorted(np.asarray(steps), status_step, side="right")) - 1, 0)
    return [_event(steps[i], _time_at(columns, i), "diverged", "diverged", stopped_at=int(status_step))]


# -------------------------------------------------------------------------------------------- all of them
def _learning_only(activations: list[dict[str, Any]], columns: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """The activations of a diverged run that happened while it learned: a value that passes half its target
    on the way to the blow-up, with the loss above its first recorded value, was not learned."""
    steps, loss = columns.get("step"), columns.get("loss")
    if steps is None or loss is None or len(loss) == 0 or not np.isfinite(loss[0]):
        return activations
    rows = np.searchsorted(steps, [a["step"] for a in activations])
    return [a for a, i in zip(activations, rows) if i < len(loss) and loss[i] <= loss[0]]


_ORDER = {"diverged": 4, "plateau_escaped": 1, "learned": 2, "active": 2, "rank_step": 3, "closest_rank_r": 3,
          "erank_rise": 3}


def events(history_columns: dict[str, np.ndarray], cfg, status: str, status_step: int,
           target: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Every event of a run, sorted by step: activations (matrix or diagonal models), plateau escapes, steps of
    the effective rank, the window closest to the best rank-r approximation (noisy factorization) and
    divergence.

    ``history_columns`` maps column names to the recorded rows (a :class:`~ibviewer.core.history.History`'s
    ``as_dict()``); ``cfg`` the run's :class:`~ibviewer.core.config.Config`; ``status``/``status_step`` the
    run's status and step count; ``target`` the problem's ground truth (matrix or vector) where it has one.
    Classifiers list no activations (their weights grow without bound: there is no value to reach); nor does a
    diverged run where the loss had risen above its start (the values blow up, they are not learned).
    """
    cols = {k: np.asarray(v) for k, v in history_columns.items()}
    family = cfg.family
    found: list[dict[str, Any]] = []
    if "sv" in cols and family != "classifier":
        found += learned_singular_values(cols, target if np.ndim(target) == 2 else None, cfg.run.rank_tol)
    if family == "tensor":
        from ibviewer.core.tensor import learned_components

        found += learned_components(cols, cfg)
    if family == "diagonal":
        found += active_coordinates(cols, target if np.ndim(target) == 1 else None)
    if status == "diverged":
        found = _learning_only(found, cols)
    found += plateau_escapes(cols)
    found += rank_steps(cols, "tensor_rank" if family == "tensor" else "erank_entropy")
    if "dist_best_rank_r" in cols and np.ndim(target) == 2:
        found += rank_window(cols, numerical_rank(target))
    found += divergence(cols, status, status_step)
    return sorted(found, key=lambda e: (e["step"], _ORDER.get(e["kind"], 9), e.get("index", 0)))
