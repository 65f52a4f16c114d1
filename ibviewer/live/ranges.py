"""Axis ranges that show the point: which part of a curve decides a panel's y range.

A plain "fit everything" range lets the least interesting values decide what the panel shows: the singular
values of the tail (near 1e-10 in a sensing run from a Gaussian start) squash the learned staircase into the top
of the plot, and one run that converges to the arithmetic's floor (1e-28) flattens the plateaus of every other
run against the top.  These functions pick, from the history alone, the values that matter; the panels draw the
rest clipped at the bottom of the range (and the singular values' tail in grey).  Qt-free, so the choice is
tested without a display; the panels only apply it.  See ``docs/architecture.md`` (Drawing).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence

import numpy as np

from ibviewer.live.series import finite_bounds

# ---------------------------------------------------------------------------------------------- singular values
#: singular values past the ground truth's rank r kept in focus: σ_{r+1}, σ_{r+2} show what is not learned
EXTRA_SV = 2
#: without a ground truth, a singular value whose largest value stays this many decades below σ₁'s is the tail
TAIL_DECADES = 3.0
#: a ground truth's singular value below this fraction of its largest is zero (as for the target lines)
ZERO_SV = 1e-6


def target_rank(target_sv) -> int | None:
    """The rank of the ground truth (its singular values above :data:`ZERO_SV` of the largest), None without one."""
    if target_sv is None:
        return None
    sv = np.asarray(target_sv, dtype=float).ravel()
    sv = sv[np.isfinite(sv)]
    if not sv.size or not sv.max() > 0:
        return None
    return int(np.count_nonzero(sv > ZERO_SV * sv.max()))


def informative_count(k: int, target_sv=None, log_sv: np.ndarray | None = None, extra: int = EXTRA_SV) -> int:
    """How many leading singular values (of ``k``) carry the picture; the others are the tail.

    With a ground truth of rank r: σ₁…σ_{r+extra}.  Without one, from the history ``log_sv`` (log10 σ, rows:
    records, columns: σ₁…σ_k): the values whose largest recorded value comes within :data:`TAIL_DECADES` of
    σ₁'s largest; all ``k`` when there is nothing to decide from.
    """
    if k <= 0:
        return 0
    r = target_rank(target_sv)
    if r is not None:
        return max(1, min(k, r + extra))
    if log_sv is None or np.ndim(log_sv) != 2 or not np.isfinite(log_sv).any():
        return k
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column is simply not informative
        peaks = np.nanmax(np.where(np.isfinite(log_sv), log_sv, np.nan), axis=0)
    if not np.isfinite(peaks[0]):
        return k
    keep = np.isfinite(peaks) & (peaks >= peaks[0] - TAIL_DECADES)
    # leading values only: the first one that falls into the tail ends the focus
    n = int(np.argmin(keep)) if not keep.all() else len(keep)
    return max(1, min(k, n))


def spectrum_bounds(log_sv: np.ndarray | None, target_sv=None, extra: int = EXTRA_SV,
                    also: Iterable[np.ndarray] = ()) -> tuple[float, float] | None:
    """(lowest, highest) log10 σ that the singular-value panel's y range must hold: the informative values
    (:func:`informative_count`) over the whole history ``log_sv``, the ground truth's nonzero values, and any
    arrays in ``also`` (theory curves); None when there is nothing finite.  The tail below is clipped."""
    arrays: list[np.ndarray] = []
    if log_sv is not None and np.ndim(log_sv) == 2 and log_sv.shape[1]:
        n = informative_count(log_sv.shape[1], target_sv, log_sv, extra)
        arrays.append(np.asarray(log_sv)[:, :n])
    r = target_rank(target_sv)
    if r is not None:
        sv = np.sort(np.asarray(target_sv, dtype=float).ravel())[::-1][:r]
        arrays.append(np.log10(sv))
    arrays.extend(np.asarray(a, dtype=float) for a in also)
    return finite_bounds(*arrays)


# ---------------------------------------------------------------------------------------------- loss
#: the loss axis spans at most this many decades below the highest loss drawn (unless a plateau needs more)
LOSS_DECADES = 8.0
#: every plateau stays at least this many decades above the floor
BELOW_PLATEAU = 2.0
#: a plateau: the loss falls slower than this many decades per decade of steps (slower than 1/k) ...
PLATEAU_SLOPE = 1.0
#: ... over at least this many decades of steps
PLATEAU_WIDTH = 0.2
#: losses this many decades under the highest are the arithmetic's floor (a squared residual at double
#: precision), never a plateau that matters
ROUNDOFF_DECADES = 15.0
#: points of the log-step grid the plateaus are looked for on
GRID = 200


def plateau_levels(step: np.ndarray, log_loss: np.ndarray) -> np.ndarray:
    """log10 loss on the curve's plateaus: where, over at least :data:`PLATEAU_WIDTH` decades of steps, the loss
    falls by less than :data:`PLATEAU_SLOPE` decades per decade of steps.  Looked for on a grid even in log10
    step (plateaus are seen on a log-step axis); records at step 0 and non-finite losses are left out."""
    step = np.asarray(step, dtype=float)
    v = np.asarray(log_loss, dtype=float)
    ok = np.isfinite(step) & (step > 0) & np.isfinite(v)
    if np.count_nonzero(ok) < 2:
        return np.zeros(0)
    u, v = np.log10(step[ok]), v[ok]
    order = np.argsort(u, kind="stable")  # decimated columns keep a bucket's two points in data order
    u, v = u[order], v[order]
    if not u[-1] - u[0] >= PLATEAU_WIDTH:
        return np.zeros(0)
    g = np.linspace(u[0], u[-1], GRID)
    w = np.interp(g, u, v)
    m = max(2, math.ceil(PLATEAU_WIDTH / (g[1] - g[0])) + 1)  # points per window
    if m > len(g):
        return np.zeros(0)
    win = np.lib.stride_tricks.sliding_window_view(w, m)
    span = g[m - 1] - g[0]
    flat = (win.max(axis=1) - win.min(axis=1)) < PLATEAU_SLOPE * span
    return win.mean(axis=1)[flat]


def loss_floor(curves: Sequence[tuple[np.ndarray, np.ndarray]], tol: float | None = None) -> float | None:
    """The lowest log10 loss a loss axis shows, for the ``curves`` drawn on it ((step, log10 loss) pairs).

    The floor keeps the plateaus visible: it lies :data:`LOSS_DECADES` under the highest loss drawn, lower when
    a plateau (:func:`plateau_levels`, not counting the arithmetic's floor) would come closer than
    :data:`BELOW_PLATEAU` decades to it, or when the stopping tolerance ``tol`` (the smallest loss the user
    said matters) lies below it.  Below the floor a curve is clipped.  None when no curve goes below the floor
    (nothing to clip) or nothing is finite.
    """
    logs = [np.asarray(v, dtype=float) for _s, v in curves]
    b = finite_bounds(*logs)
    if b is None:
        return None
    lo, hi = b
    floor = hi - LOSS_DECADES
    for s, v in curves:
        levels = plateau_levels(s, v)
        levels = levels[levels >= hi - ROUNDOFF_DECADES]
        if levels.size:
            floor = min(floor, float(levels.min()) - BELOW_PLATEAU)
    if tol is not None and tol > 0 and math.isfinite(tol):
        floor = min(floor, math.log10(tol) - 0.5)
    return floor if floor > lo else None


def floored(bounds: tuple[float, float] | None, floor: float | None) -> tuple[float, float] | None:
    """``bounds`` with the lower end raised to ``floor`` (when there is one and it is below the upper end)."""
    if bounds is None or floor is None:
        return bounds
    lo, hi = bounds
    return (max(lo, floor), hi) if floor < hi else bounds
