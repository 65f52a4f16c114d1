"""Saddle to saddle: the α → 0 limit of a diagonal network's gradient flow, in time rescaled by ln(1/α).

Pesme & Flammarion (2023) show that gradient flow on a 2-layer diagonal network from scale α, with time
accelerated by ln(1/α), tends as α → 0 to a piecewise-constant trajectory: it rests at a saddle of the loss, then
jumps to the next, until it reaches the minimum-ℓ1 interpolator.  The saddles and the jump times come from an
active-set recursion reminiscent of LARS, which :func:`saddle_to_saddle` runs.

In ibviewer's conventions (``L(x) = ½‖Ax − y‖²``, ``x = u² − v²`` from ``u = v = α``, time ``t = η k``, rescaled
time ``τ = t / ln(1/α)``) the limit is the following, derived in docs/science.md ("Saddle to saddle"):

* a dual variable ``ψ(τ) ∈ [−1, 1]^n``, ``ψ(0) = 0``, moving as ``dψ/dτ = −c ∇L(x(τ))`` with ``c = 2``
  (``c = 1`` and only the upper bound for ``x = w ⊙ w``, the hadamard model of depth 2, whose x stays positive);
* ``x(τ)`` constant between jumps, zero where ``|ψ_i| < 1`` and of the sign of ``ψ_i`` where ``|ψ_i| = 1``: on
  each plateau x minimises L under these constraints (a non-negative least-squares problem).

A plateau ends when a coordinate's ψ reaches ±1; the next plateau is the constrained minimiser for the new
active set.  A coordinate of the active set whose constrained minimiser is 0 leaves it (its ψ moves back inside),
so the number of active coordinates need not grow monotonically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls


@dataclass(frozen=True, eq=False)
class SaddleLimit:
    """The piecewise-constant limit: ``plateaus[k]`` is x on ``[times[k-1], times[k])`` (``times[-1]`` read as 0),
    the last plateau lasts for ever.

    ``times``: (K,) jump times in rescaled time; ``plateaus``: (K+1, n), ``plateaus[0] = 0``; ``duals``: (K+1, n),
    ψ at the start of each plateau; ``gradients``: (K+1, n), ∇L on each plateau; ``losses``: (K+1,) L on each
    plateau; ``entering``: (K,) the coordinate whose ψ reached ±1 at each jump; ``rate``: c.
    """

    times: np.ndarray
    plateaus: np.ndarray
    duals: np.ndarray
    gradients: np.ndarray
    losses: np.ndarray
    entering: np.ndarray
    rate: float

    @property
    def starts(self) -> np.ndarray:
        """Where each plateau starts: 0, then the jump times."""
        return np.concatenate([[0.0], self.times])

    def index(self, tau) -> np.ndarray:
        """The plateau at rescaled time ``tau`` (array or scalar): the number of jumps at or before it."""
        return np.searchsorted(self.times, np.asarray(tau, float), side="right")

    def x_at(self, tau) -> np.ndarray:
        """x(τ) of the limit: (n,) for a scalar τ, (len(τ), n) for an array."""
        return self.plateaus[self.index(tau)]

    def loss_at(self, tau) -> np.ndarray:
        return self.losses[self.index(tau)]

    def dual_at(self, tau) -> np.ndarray:
        """ψ(τ), continuous and piecewise linear: ψ(τ_k) − c (τ − τ_k) ∇L(x_k) on plateau k."""
        tau = np.asarray(tau, float)
        k = self.index(tau)
        dt = (tau - self.starts[k])[..., None] if tau.ndim else tau - self.starts[k]
        return self.duals[k] - self.rate * dt * self.gradients[k]

    def average_at(self, tau) -> np.ndarray:
        """(1/τ) ∫₀^τ x(σ) dσ, exact for the piecewise-constant x (0 at τ = 0): the time average that
        Berthier (2025) compares with the lasso path (docs/science.md, "The lasso path")."""
        tau = np.atleast_1d(np.asarray(tau, float))
        starts = self.starts
        out = np.zeros((len(tau), self.plateaus.shape[1]))
        for j, t in enumerate(tau):
            if t <= 0:
                continue
            ends = np.minimum(np.append(starts[1:], np.inf), t)
            spans = np.clip(ends - starts, 0.0, None)
            out[j] = spans @ self.plateaus / t
        return out

    @property
    def monotone(self) -> bool:
        """Whether no coordinate ever leaves the active set or changes sign: then the time average of the limit
        is the lasso path exactly (docs/science.md, "The lasso path")."""
        p = self.plateaus
        for i in range(p.shape[1]):
            nz = np.flatnonzero(p[:, i])
            if len(nz) and (nz[-1] - nz[0] + 1 != len(nz) or nz[-1] != len(p) - 1
                            or len(set(np.sign(p[nz, i]))) > 1):
                return False
        return True

    def staircase(self, tau_end: float) -> tuple[np.ndarray, np.ndarray]:
        """(τ, x) vertices of the staircase up to ``tau_end`` for drawing: each jump drawn as a vertical segment
        (rows: 0, τ_1, τ_1, τ_2, τ_2, …, tau_end)."""
        times = self.times[self.times < tau_end]
        k = len(times)
        tau = np.concatenate([[0.0], np.repeat(times, 2), [max(tau_end, 0.0)]])
        rows = np.repeat(np.arange(k + 1), 2)
        return tau, self.plateaus[rows]

    def to_dict(self) -> dict:
        """JSON-ready: the jumps and plateaus as ``summary.json`` lists them."""
        return {
            "rate": self.rate,
            "jump_times": [float(t) for t in self.times],
            "entering": [int(i) for i in self.entering],
            "plateau_losses": [float(v) for v in self.losses],
            "plateaus": [{int(i): float(v) for i, v in enumerate(row) if v != 0} for row in self.plateaus],
            "monotone": self.monotone,
        }


def constrained_minimiser(A: np.ndarray, y: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """argmin ½‖Ax − y‖² over x with x_i = 0 where ``signs`` is 0 and signs_i x_i ≥ 0 elsewhere (NNLS)."""
    x = np.zeros(A.shape[1])
    active = np.flatnonzero(signs)
    if len(active):
        z, _ = nnls(A[:, active] * signs[active], y, maxiter=50 * max(len(active), 10))
        x[active] = signs[active] * z
    return x


def saddle_to_saddle(A: np.ndarray, y: np.ndarray, rate: float = 2.0, nonnegative: bool = False,
                     max_jumps: int | None = None, tol: float = 1e-10) -> SaddleLimit:
    """Run the recursion from x = 0, ψ = 0 until no coordinate's ψ can reach ±1 (the flow has converged).

    ``rate``: c in dψ/dτ = −c ∇L (2 for ``x = u² − v²``, 1 for ``x = w ⊙ w``); ``nonnegative``: x ≥ 0, only +1 is a
    boundary (the hadamard model).  A gradient entry below ``tol`` times ‖Aᵀy‖∞ counts as zero.
    """
    A, y = np.asarray(A, float), np.asarray(y, float)
    n = A.shape[1]
    scale = max(float(np.abs(A.T @ y).max(initial=0.0)), 1e-300)
    x, psi = np.zeros(n), np.zeros(n)
    signs = np.zeros(n)  # ±1 where |ψ| = 1 (the active set), 0 inside
    tau = 0.0

    def grad(v):
        return A.T @ (A @ v - y)

    g = grad(x)
    times, plateaus, duals, grads, losses, entering = [], [x.copy()], [psi.copy()], [g], [0.5 * float(y @ y)], []
    for _ in range(max_jumps if max_jumps is not None else 4 * n + 10):
        moving = np.abs(g) > tol * scale
        dt = np.full(n, np.inf)
        up = moving & (g < 0) & (signs <= 0)  # ψ_i rises to +1
        dt[up] = (1.0 - psi[up]) / (rate * -g[up])
        if not nonnegative:
            down = moving & (g > 0) & (signs >= 0)  # ψ_i falls to −1
            dt[down] = (1.0 + psi[down]) / (rate * g[down])
        i = int(np.argmin(dt))
        if not np.isfinite(dt[i]):
            break
        delta = max(float(dt[i]), 0.0)
        tau += delta
        psi = psi - rate * delta * g
        psi[i] = np.sign(psi[i]) if psi[i] != 0 else -np.sign(g[i])
        psi = np.clip(psi, -np.inf if nonnegative else -1.0, 1.0)  # x = w ⊙ w: ψ has no lower bound
        # the active set: ψ on the boundary (ties within rounding join together); those the previous plateau had
        # at the boundary stay there while their gradient is zero
        signs = np.where(psi >= 1.0 - 1e-12, 1.0, np.where(psi <= -1.0 + 1e-12, 0.0 if nonnegative else -1.0, 0.0))
        psi[signs != 0] = signs[signs != 0]
        x = constrained_minimiser(A, y, signs)
        g = grad(x)
        # a boundary coordinate at 0 whose gradient pushes ψ inside leaves the active set
        leaving = (signs != 0) & (x == 0) & (signs * g > tol * scale)
        signs[leaving] = 0.0
        times.append(tau)
        plateaus.append(x.copy())
        duals.append(psi.copy())
        grads.append(g)
        losses.append(0.5 * float(np.sum((A @ x - y) ** 2)))
        entering.append(i)
    return SaddleLimit(np.array(times), np.array(plateaus), np.array(duals), np.array(grads), np.array(losses),
                       np.array(entering, dtype=int), float(rate))
