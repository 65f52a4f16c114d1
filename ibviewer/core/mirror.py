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
