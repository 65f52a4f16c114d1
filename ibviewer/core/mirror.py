"""The mirror geometry of diagonal networks: the potential whose mirror flow gradient flow on ``x = u^N − v^N``
is, and the Bregman divergence of that potential from the flow's limit to the iterate.

Gradient flow on ``x = u² − v²`` from ``u = v = α·1`` keeps ``∇Q_α(x(t)) = −4 Aᵀ∫r``: it is the mirror flow
``d/dt ∇Q_α(x) = −4 ∇L(x)`` of Woodworth et al.'s potential (2020)

    Q_α(x) = α² Σ_i q(x_i/α²),   q(z) = 2 − √(4 + z²) + z asinh(z/2),   ∇Q_α(x)_i = asinh(x_i/(2α²)).

For any interpolator x* (``A x* = y``) the Bregman divergence ``D(x*, x) = Q(x*) − Q(x) − ⟨∇Q(x), x* − x⟩``
then falls along the flow, ``d/dt D(x*, x(t)) = −4 ‖A x − y‖²``, and the flow ends at the interpolator that
minimises Q_α (:func:`ibviewer.core.references.q_alpha_minimizer`), where it reaches 0.  The recorded quantity is
``bregman_q_alpha = D_{Q_α}(x_{Q_α}, x_t)`` (docs/science.md, "Mirror geometry").  Gradient descent with a small
step follows the flow up to O(η) per step, so its D decreases step after step as well (tested).

For depth N ≥ 3 the potential is the depth-N one (below, :func:`bregman_depth`); its minimiser is not computed,
and the history records for every N ≥ 2 ``bregman_l1 = D_Q(x_ℓ1, x_t)``, the divergence of the run's own
potential from basis pursuit's solution, which falls along the flow as well.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def q_alpha_gradient(x: np.ndarray, alpha: float) -> np.ndarray:
    """∇Q_α(x) = asinh(x/(2α²)), the mirror map (the flow's dual variable)."""
    return np.arcsinh(np.asarray(x, float) / (2 * alpha**2))


def bregman_q_alpha(ref: np.ndarray, x: np.ndarray, alpha: float) -> float:
    """D_{Q_α}(ref, x) = Q_α(ref) − Q_α(x) − ⟨∇Q_α(x), ref − x⟩ ≥ 0, written per coordinate as
    α² [z*(asinh(z*/2) − asinh(z/2)) − √(4 + z*²) + √(4 + z²)] with z = x/α², which avoids subtracting the large
    values of Q_α at small α."""
    a2 = alpha**2
    zs, z = np.asarray(ref, float) / a2, np.asarray(x, float) / a2
    terms = zs * (np.arcsinh(zs / 2) - np.arcsinh(z / 2)) - np.sqrt(4 + zs * zs) + np.sqrt(4 + z * z)
    return float(a2 * terms.sum())


def records_bregman(cfg: dict[str, Any]) -> bool:
    """Whether a run of configuration ``cfg`` (a config table as ``Config.to_dict()`` gives it) records
    ``bregman_q_alpha``: sparse recovery with ``x = u² − v²`` from the constant initialization ``u = v = α``,
    the setting in which Q_α is the mirror potential (and the Q_α minimiser is among the references)."""
    p, m = cfg.get("problem", {}), cfg.get("model", {})
    param = m.get("parametrization")
    return (p.get("kind") == "sparse_recovery" and param in ("pm_power", "auto") and m.get("depth") == 2
            and m.get("init") == "constant" and not m.get("weight_norm") and float(m.get("init_scale", 0)) > 0)


# ------------------------------------------------------------------------------------------ depth N >= 3
# Gradient flow on x = u^N − v^N from u = v = α (N ≥ 3) keeps u^{2−N} = α^{2−N}(1 + w), v^{2−N} = α^{2−N}(1 − w)
# with dw/dt = κ g, κ = N(N − 2) α^{N−2}, so x = −α^N h(w) with the odd, increasing
#     h(w) = (1 − w)^{−p} − (1 + w)^{−p},   p = N/(N − 2),   w ∈ (−1, 1).
# Its mirror map is ∇Q(x)_i = h⁻¹(x_i/α^N) (= −w, so d/dt ∇Q = −κ ∇L), and Q = α^N Σ Ψ(x_i/α^N) with
# Ψ(z) = z h⁻¹(z) − H(h⁻¹(z)), H(w) = ∫₀^w h = ((1 − w)^{1−p} + (1 + w)^{1−p} − 2)/(p − 1): the depth-N potential
# of Woodworth et al. (2020) and Chou, Maly & Rauhut ("More is less").

def _h(w: np.ndarray, p: float) -> np.ndarray:
    return (1 - w) ** -p - (1 + w) ** -p


def depth_potential_term(w: np.ndarray, p: float) -> np.ndarray:
    """H(w) = ((1 − w)^{1−p} + (1 + w)^{1−p} − 2)/(p − 1), the antiderivative of h with H(0) = 0: the depth-N
    potential is written with it (p = N/(N − 2); docs/science.md, "Mirror geometry")."""
    return ((1 - w) ** (1 - p) + (1 + w) ** (1 - p) - 2) / (p - 1)


def depth_mirror_map(x: np.ndarray, alpha: float, depth: int) -> np.ndarray:
    """∇Q(x) = h⁻¹(x/α^N) for depth N ≥ 3, by Newton's method on the convex, increasing h over [0, 1) from a
    point above the root (it then converges monotonically): min(s/(2p), 1 − (s + 1)^{−1/p}) for s = |z|, since
    h(w) ≥ 2p w and h(w) ≥ (1 − w)^{−p} − 1."""
    p = depth / (depth - 2)
    z = np.asarray(x, float) / alpha**depth
    s = np.abs(z)
    w = np.minimum(s / (2 * p), 1 - (s + 1) ** (-1 / p))
    for _ in range(100):
        slope = p * ((1 - w) ** (-p - 1) + (1 + w) ** (-p - 1))
        step = (_h(w, p) - s) / slope
        w = np.maximum(w - step, 0.0)
        if np.all(np.abs(step) <= 1e-15 * np.maximum(w, 1e-300)):
            break
    return np.sign(z) * w


def bregman_depth(ref: np.ndarray, x: np.ndarray, alpha: float, depth: int) -> float:
    """D_Q(ref, x) of the depth-N potential (N ≥ 3; N = 2 is :func:`bregman_q_alpha`):
    α^N Σ [z*(ψ(z*) − ψ(z)) − H(ψ(z*)) + H(ψ(z))] with z = x/α^N and ψ = h⁻¹ (the same form as Q_α's)."""
    if depth == 2:
        return bregman_q_alpha(ref, x, alpha)
    p = depth / (depth - 2)
    scale = alpha**depth
    zs = np.asarray(ref, float) / scale
    ws, w = depth_mirror_map(ref, alpha, depth), depth_mirror_map(x, alpha, depth)
    return float(scale * (zs * (ws - w) - depth_potential_term(ws, p) + depth_potential_term(w, p)).sum())


class DivergenceFrom:
    """``x -> D_Q(ref, x)`` for one reference point, potential and depth, with ``ref``'s side computed once
    (a run records it at every history row)."""

    def __init__(self, ref: np.ndarray, alpha: float, depth: int):
        self.alpha, self.depth = float(alpha), int(depth)
        self.ref = np.asarray(ref, float)
        if self.depth > 2:
            self.p = self.depth / (self.depth - 2)
            self.scale = self.alpha**self.depth
            self.ws = depth_mirror_map(self.ref, self.alpha, self.depth)
            self.ref_part = self.ref / self.scale * self.ws - depth_potential_term(self.ws, self.p)

    def __call__(self, x: np.ndarray) -> float:
        if self.depth == 2:
            return bregman_q_alpha(self.ref, x, self.alpha)
        w = depth_mirror_map(x, self.alpha, self.depth)
        return float(self.scale * (self.ref_part - self.ref / self.scale * w + depth_potential_term(w, self.p)).sum())


def flow_rate(alpha: float, depth: int) -> float:
    """κ of the mirror flow d/dt ∇Q(x) = −κ ∇L(x): 4 for N = 2 (Q_α), N(N − 2) α^{N−2} for N ≥ 3; along the flow
    every D(x*, x(t)) with A x* = y falls at the rate −κ ‖A x − y‖² = −2κ L."""
    return 4.0 if depth == 2 else depth * (depth - 2) * alpha ** (depth - 2)


def records_bregman_l1(cfg: dict[str, Any]) -> bool:
    """Whether a run records ``bregman_l1 = D_Q(x_ℓ1, x_t)`` with the potential of its depth: sparse recovery,
    ``x = u^N − v^N`` (N ≥ 2) from the constant initialization, no weight normalization."""
    p, m = cfg.get("problem", {}), cfg.get("model", {})
    return (p.get("kind") == "sparse_recovery" and m.get("parametrization") in ("pm_power", "auto")
            and int(m.get("depth", 0)) >= 2 and m.get("init") == "constant" and not m.get("weight_norm")
            and float(m.get("init_scale", 0)) > 0)
