"""The lasso regularization path, and where a diagonal network's trajectory meets it.

The lasso of ibviewer's loss is ``min_x ½‖Ax − y‖² + λ‖x‖₁``; scikit-learn's ``lars_path(method="lasso")``
(the LARS homotopy with the lasso modification, Efron et al. 2004) solves ``(1/(2m))‖y − Ax‖² + a‖x‖₁``, so
``λ = m·a``.  The path is piecewise linear in λ between its knots, so :meth:`LassoPath.at` interpolates linearly
and is exact.

Time and λ (Berthier 2025; derived for these conventions in docs/science.md, "The lasso path"): along the
saddle-to-saddle limit (:mod:`ibviewer.core.saddle`) the dual variable is ``ψ(τ) = c τ Aᵀ(y − A x̄(τ))`` with
``x̄(τ) = (1/τ)∫₀^τ x`` the time average of the limit, and ``|ψ| ≤ 1`` with ``ψ_i = sign x_i`` where x_i ≠ 0.  When
no coordinate ever leaves the active set, these are the lasso's optimality conditions for ``x̄(τ)`` at
``λ = 1/(c τ)``: the time-averaged trajectory is the lasso path, rescaled time playing the role of 1/(cλ).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class LassoPath:
    """``lambdas`` (K,) decreasing knots of λ (for ``½‖Ax − y‖² + λ‖x‖₁``), ``coefs`` (K, n) the solution at each;
    the first knot is ``λ_max = ‖Aᵀy‖∞`` where the solution is 0."""

    lambdas: np.ndarray
    coefs: np.ndarray

    def at(self, lam) -> np.ndarray:
        """x_λ for a scalar (→ (n,)) or an array of λ (→ (len, n)): linear between knots, 0 above λ_max, the last
        knot's solution below the last knot."""
        lam = np.asarray(lam, float)
        flat = np.atleast_1d(lam)
        # np.interp wants increasing abscissae: the knots reversed
        ks, cs = self.lambdas[::-1], self.coefs[::-1]
        out = np.empty((len(flat), cs.shape[1]))
        for j in range(cs.shape[1]):
            out[:, j] = np.interp(flat, ks, cs[:, j], left=cs[0, j], right=0.0)
        return out[0] if lam.ndim == 0 else out

    def at_time(self, tau, rate: float) -> np.ndarray:
        """x_λ at the λ = 1/(c τ) that rescaled time τ corresponds to (0 at τ = 0)."""
        tau = np.asarray(tau, float)
        with np.errstate(divide="ignore"):
            lam = np.where(tau > 0, 1.0 / (rate * np.where(tau > 0, tau, 1.0)), np.inf)
        return self.at(lam)

    def knot_times(self, rate: float) -> np.ndarray:
        """The rescaled times τ = 1/(c λ) of the knots (0 knots, the path's end at λ = 0, give inf)."""
        with np.errstate(divide="ignore"):
            return np.where(self.lambdas > 0, 1.0 / (rate * np.where(self.lambdas > 0, self.lambdas, 1.0)), np.inf)

    def to_dict(self, rate: float) -> dict:
        """JSON-ready: the knots, their rescaled times and the solutions there (nonzero entries)."""
        times = self.knot_times(rate)
        return {
            "lambdas": [float(v) for v in self.lambdas],
            "knot_times": [float(t) if np.isfinite(t) else None for t in times],
            "coefs": [{int(i): float(v) for i, v in enumerate(row) if v != 0} for row in self.coefs],
        }


def lasso_path(A: np.ndarray, y: np.ndarray) -> LassoPath:
    """The whole path from λ_max down to λ = 0 (the minimum-ℓ1 interpolator when A has more columns than rows)
    by LARS-lasso, in ibviewer's normalization."""
    from sklearn.linear_model import lars_path

    A, y = np.asarray(A, float), np.asarray(y, float)
    m = A.shape[0]
    with warnings.catch_warnings():  # degenerate data: LARS says so and goes on; the path is still returned
        warnings.simplefilter("ignore")
        alphas, _active, coefs = lars_path(A, y, method="lasso", max_iter=50 * A.shape[1])
    return LassoPath(m * np.asarray(alphas, float), np.asarray(coefs, float).T.copy())
