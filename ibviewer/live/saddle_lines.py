"""The saddle-to-saddle limit and the lasso path as lines on a panel's time axis (Qt-free).

The worker sends a run's limit and path once, with the problem's static data (``info["sparse_theory"]``,
:meth:`ibviewer.core.sparse_theory.SparseTheory.info`); this module turns them into the points a panel draws on
the x axis it shows: rescaled time τ as it is, or back to time, step or log-step through the run's α and
learning rate (:func:`ibviewer.core.theory.time_to_x`).  docs/science.md, "Saddle to saddle".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ibviewer.core.lasso import LassoPath
from ibviewer.core.theory import rescale_divisor, time_to_x

#: points of the lasso path's curve (besides its knots)
LASSO_POINTS = 400


@dataclass(frozen=True)
class SaddleLines:
    """What a panel draws, on its x axis: the limit's staircase (``stair_x``; ``stair_y`` one column per
    coordinate asked for), its loss staircase (``loss_y``, same x), its jump times (``jumps_x``) and the lasso
    path at λ = 1/(c τ) (``lasso_x``, ``lasso_y``; empty without a path)."""

    stair_x: np.ndarray
    stair_y: np.ndarray
    loss_y: np.ndarray
    jumps_x: np.ndarray
    jumps_tau: np.ndarray
    lasso_x: np.ndarray
    lasso_y: np.ndarray


def saddle_lines(theory: Mapping[str, Any] | None, coords, x_mode: str, lr: float, alpha: float | None,
                 time_col=None, step_col=None, tau_end: float | None = None) -> SaddleLines | None:
    """The lines of ``theory`` (``info["sparse_theory"]``) for coordinates ``coords`` up to rescaled time
    ``tau_end`` (default: 1.5 times the last jump), on axis ``x_mode`` of a run of learning rate ``lr`` and
    initialization scale ``alpha`` with recorded ``time_col``/``step_col``; None without a theory."""
    if not theory or alpha is None:
        return None
    coords = np.asarray(coords, dtype=int)
    times = np.asarray(theory["jump_times"], float)
    plateaus = np.asarray(theory["plateaus"], float)
    losses = np.asarray(theory["losses"], float)
    divisor = rescale_divisor(alpha)
    if tau_end is None or not np.isfinite(tau_end) or tau_end <= 0:
        tau_end = 1.5 * float(times[-1]) if len(times) else 1.0
    first = lr / divisor  # the first step: a log-step axis cannot show step 0
    shown = times[times < tau_end]
    k = len(shown)
    tau = np.concatenate([[first], np.repeat(shown, 2), [max(tau_end, first)]])
    rows = np.repeat(np.arange(k + 1), 2)

    def to_x(t):
        return time_to_x(np.asarray(t, float) * divisor, time_col, step_col, lr, x_mode, alpha)

    lasso_x, lasso_y = np.zeros(0), np.zeros((0, len(coords)))
    if theory.get("lasso_lambdas") is not None:
        path = LassoPath(np.asarray(theory["lasso_lambdas"], float), np.asarray(theory["lasso_coefs"], float))
        grid = np.unique(np.concatenate([np.linspace(first, tau_end, LASSO_POINTS),
                                         np.geomspace(first, tau_end, LASSO_POINTS // 4), shown]))
        lasso_x, lasso_y = to_x(grid), path.at_time(grid, float(theory["rate"]))[:, coords]
    return SaddleLines(to_x(tau), plateaus[rows][:, coords], losses[rows], to_x(shown), shown, lasso_x, lasso_y)
