"""The small-initialization theory of a diagonal network's run: its saddle-to-saddle limit and the lasso path,
both in rescaled time τ = t / ln(1/α), and how far the run is from them.

A run has them when its setting is the one the theory describes (:func:`limit_rate`): sparse recovery,
``x = u² − v²`` (or ``x = w ⊙ w``) of depth 2 from the constant initialization ``u = v = α`` with
``α < 1/e`` (where the time is rescaled at all, :func:`ibviewer.core.theory.rescale_divisor`).  The history then
records at every row ``saddle_gap = ‖x − x°(τ)‖∞`` (x° the limit, :mod:`ibviewer.core.saddle`) and
``lasso_gap = ‖x − x_λ(τ)‖∞`` at λ = 1/(c τ) (derived in docs/science.md; :mod:`ibviewer.core.lasso`);
``summary.json`` gives the jump times, plateaus and path knots.  See docs/science.md, "Saddle to saddle" and "The lasso path".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ibviewer.core.lasso import LassoPath, lasso_path
from ibviewer.core.references import problem_key
from ibviewer.core.saddle import SaddleLimit, saddle_to_saddle
from ibviewer.core.theory import rescale_divisor


def limit_rate(cfg: Any) -> tuple[float, bool] | None:
    """(c, nonnegative) of the limit dψ/dτ = −c ∇L for a run of ``cfg`` (a Config), or None where the theory does
    not describe it: (2, False) for ``x = u² − v²``, (1, True) for ``x = w ⊙ w`` (depth-2 hadamard)."""
    m, p = cfg.model, cfg.problem
    if p.kind != "sparse_recovery" or m.depth != 2 or m.init != "constant" or getattr(m, "weight_norm", False):
        return None
    alpha = float(m.init_scale)
    if not (0 < alpha < math.exp(-1)):
        return None
    if cfg.parametrization == "pm_power":
        return 2.0, False
    if cfg.parametrization == "hadamard":
        return 1.0, True
    return None


class SparseTheory:
    """The saddle-to-saddle limit and the lasso path of one run's problem, with the run's α for the time."""

    def __init__(self, limit: SaddleLimit, path: LassoPath | None, alpha: float):
        self.limit, self.path, self.alpha = limit, path, float(alpha)
        self.divisor = rescale_divisor(alpha)

    @property
    def rate(self) -> float:
        return self.limit.rate

    def tau(self, time: float) -> float:
        """Rescaled time of gradient-flow time ``time``."""
        return float(time) / self.divisor

    def row(self, x: np.ndarray, time: float) -> dict[str, float]:
        """The history's columns at a row: sup-norm distances from x to the limit and to the lasso path."""
        tau = self.tau(time)
        out = {"saddle_gap": float(np.abs(x - self.limit.x_at(tau)).max(initial=0.0))}
        if self.path is not None:
            out["lasso_gap"] = float(np.abs(x - self.path.at_time(tau, self.rate)).max(initial=0.0))
        return out

    def summary(self) -> dict[str, Any]:
        """``summary.json``'s ``saddle_to_saddle`` and ``lasso_path`` entries (rescaled times; the divisor
        ln(1/α) turns them into gradient-flow times η·k)."""
        out: dict[str, Any] = {"saddle_to_saddle": {**self.limit.to_dict(), "time_divisor": self.divisor}}
        if self.path is not None:
            at_jumps = self.path.at_time(self.limit.times, self.rate) if len(self.limit.times) else np.zeros((0, 0))
            out["lasso_path"] = {**self.path.to_dict(self.rate), "lambda_of_time": f"1/({self.rate:g} tau)",
                                 "at_jump_times": [{int(i): float(v) for i, v in enumerate(r) if v != 0}
                                                   for r in at_jumps]}
        return out

    def info(self) -> dict[str, Any]:
        """What the panels draw from (plain arrays, sent to the app with the problem's other static data)."""
        out = {"rate": self.rate, "alpha": self.alpha, "jump_times": self.limit.times,
               "plateaus": self.limit.plateaus, "losses": self.limit.losses}
        if self.path is not None:
            out.update(lasso_lambdas=self.path.lambdas, lasso_coefs=self.path.coefs)
        return out


_CACHE: dict[tuple, tuple[SaddleLimit, LassoPath | None]] = {}


def sparse_theory(cfg: Any, problem: Any) -> SparseTheory | None:
    """The theory of a run of ``cfg`` on ``problem``, or None where it does not apply; cached per problem data
    and rate (the runs of a comparison share it)."""
    got = limit_rate(cfg)
    if got is None or "A" not in problem.data:
        return None
    rate, nonneg = got
    key = problem_key(problem) + (rate, nonneg)
    hit = _CACHE.get(key)
    if hit is None:
        A, y = np.asarray(problem.data["A"], float), np.asarray(problem.data["y"], float)
        try:
            limit = saddle_to_saddle(A, y, rate=rate, nonnegative=nonneg)
        except (RuntimeError, ValueError, ArithmeticError, np.linalg.LinAlgError):
            return None
        path = None
        if not nonneg:  # x = w ⊙ w stays positive: its limit is not the (signed) lasso's
            try:
                path = lasso_path(A, y)
            except (RuntimeError, ValueError, ArithmeticError, np.linalg.LinAlgError):
                path = None
        if len(_CACHE) > 32:
            _CACHE.clear()
        hit = _CACHE[key] = (limit, path)
    return SparseTheory(hit[0], hit[1], float(cfg.model.init_scale))
