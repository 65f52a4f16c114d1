"""Effective-rank windows of a noisy low-rank factorization (Chou, Gieshoff, Maly & Rauhut 2024).

Factorizing ``M = W* + noise`` from a small initialization, gradient descent learns the singular values of ``M``
one after another, largest first: it passes close to the best rank-r approximation ``M_r`` of ``M`` (r: the
rank of the clean ``W*``) once the r large values are learned, and leaves it again when it starts fitting the
noise.  Stopped inside that window, the iterate is a better estimate than at the end.  This module states the
window and the effective rank's rise from the recorded history, Qt-free and independently of the training:

* :func:`best_rank_approximation` -- ``M_r`` by a numpy SVD of ``M`` (Eckart-Young);
* :func:`closest_window` -- the recorded steps at which the relative distance ``‖W − M_r‖_F / ‖M_r‖_F`` is
  within ``WINDOW_FACTOR`` of its minimum (one decade on the panels' log axis), around that minimum;
* :func:`rise_start` -- the first recorded step from which on the effective rank never falls by more than
  ``RISE_TOL`` below its largest value since that step (it is non-decreasing, within ``RISE_TOL``).

``docs/science.md`` (AT18) gives the values a preset reaches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ibviewer.core import metrics as M
from ibviewer.core.metrics import target_spectrum

#: the window: the steps at which the distance to M_r is at most this factor times its minimum
WINDOW_FACTOR = 10.0
#: the effective rank counts as non-decreasing while no value falls more than this below the largest before it
RISE_TOL = 1e-3
#: the largest matrix side for which M_r is computed (an SVD of the observed matrix, once per problem)
BEST_RANK_MAX_D = 500


def numerical_rank(target: np.ndarray, rtol: float = 1e-9) -> int:
    """The rank of a clean ground truth: its singular values above ``rtol`` times the largest."""
    # the event search asks twice a second: the spectrum is computed once per target
    return M.numerical_rank(target_spectrum(target), rtol)


def best_rank_approximation(m: np.ndarray, r: int) -> np.ndarray:
    """The best rank-``r`` approximation of ``m`` in Frobenius norm: its leading r singular triplets."""
    u, s, vt = np.linalg.svd(np.asarray(m, float), full_matrices=False)
    return (u[:, :r] * s[:r]) @ vt[:r]


def closest_window(steps: np.ndarray, dist: np.ndarray, factor: float = WINDOW_FACTOR) -> dict[str, Any] | None:
    """Where the distance to M_r is smallest, and the window of steps around it within ``factor`` of it.

    Returns ``{"row", "step", "distance", "start_row", "end_row", "start", "end", "final"}`` (rows index the
    history; ``start``/``end`` are the first and last recorded steps of the contiguous stretch of rows around
    the minimum with distance <= factor * minimum; ``final`` the last row's distance), or None while the window
    is not closed: the minimum must lie strictly inside the record and the distance must have risen above
    ``factor`` times it after the window (a run still approaching M_r has no window yet).
    """
    steps = np.asarray(steps)
    d = np.asarray(dist, float)
    ok = np.isfinite(d)
    if len(d) < 3 or not ok.any():
        return None
    i = int(np.nanargmin(np.where(ok, d, np.nan)))
    best = float(d[i])
    if i == 0 or i == len(d) - 1 or best <= 0:
        return None
    inside = ok & (d <= factor * best)
    a = i
    while a - 1 >= 0 and inside[a - 1]:
        a -= 1
    b = i
    while b + 1 < len(d) and inside[b + 1]:
        b += 1
    if b == len(d) - 1:
        return None  # the distance has not left the window yet
    return {"row": i, "step": int(steps[i]), "distance": best, "start_row": a, "end_row": b,
            "start": int(steps[a]), "end": int(steps[b]), "final": float(d[-1])}


def rise_start(erank: np.ndarray, tol: float = RISE_TOL) -> int | None:
    """The first row from which on the effective rank is non-decreasing within ``tol``: every later value is at
    least the largest value since that row minus ``tol``.  None for an empty or non-finite history."""
    e = np.asarray(erank, float)
    if len(e) == 0 or not np.isfinite(e).all():
        return None
    # row a qualifies when it and every later row b has e[b] <= min(e[b+1:]) + tol (the running maximum from a
    # on is then never more than tol above a later value): the rows after the last row that fails
    later_min = np.append(np.minimum.accumulate(e[::-1])[::-1][1:], np.inf)
    fails = np.flatnonzero(e > later_min + tol)
    return int(fails[-1]) + 1 if fails.size else 0
