"""The mirror geometry of a diagonal network on a problem small enough to draw: 2 or 3 unknowns, one measurement.

Gradient flow on a diagonal network from a constant initialization is a mirror flow ``d/dt ∇φ(x) = −κ ∇L(x)``
(docs/science.md, "Mirror geometry"), so it ends at the interpolator nearest to its start in φ's Bregman sense,
which from a start where ``∇φ = 0`` is ``argmin φ(x) s.t. Ax = y``.  This module gives, Qt-free, what the geometry
panel draws: the potential (:class:`Potential`: Q_α and the depth-N potential of ``x = u^N − v^N`` from
:mod:`ibviewer.core.mirror`, the entropy-like potentials of ``x = w^N``, and ½‖x‖² at depth 1), its minimiser on
the solution set of one measurement (:func:`minimiser_on_hyperplane`, a 1-D root of the dual), the 2-D view of
the solution set (:class:`SolutionView`: the plane of the two unknowns, or for three unknowns coordinates in the
solution plane) and the potential's level sets in that view (:func:`level_lines`).

With one measurement ``aᵀx = y`` (y ≠ 0) the solution set is the hyperplane through the least-norm solution
``x_ℓ2 = a y/‖a‖²`` normal to it, ``{x : x_ℓ2ᵀx = ‖x_ℓ2‖²}``: the panel draws it from the reference ``min_l2``
alone (:func:`hyperplane_from_min_l2`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq

from ibviewer.core.config import cfg_get
from ibviewer.core.mirror import depth_mirror_map, depth_potential_term

_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
#: the largest number of unknowns the geometry is drawn for (and the number of measurements it needs)
MAX_UNKNOWNS = 3
MEASUREMENTS = 1


def _parametrization(cfg: Any) -> str:
    p = cfg_get(cfg, "model.parametrization", "auto")
    return "pm_power" if p == "auto" else str(p)


def geometry_applies(cfg: Any) -> bool:
    """Whether the geometry panel belongs in the layout of a run of ``cfg`` (a Config or its dict): sparse
    recovery generated with 2 or 3 unknowns and one measurement (a data file's sizes are not known here)."""
    return (cfg_get(cfg, "problem.kind") == "sparse_recovery" and not cfg_get(cfg, "problem.source", "")
            and 2 <= int(cfg_get(cfg, "problem.n", 0)) <= MAX_UNKNOWNS
            and int(cfg_get(cfg, "problem.measurements", 0)) == MEASUREMENTS)


# ------------------------------------------------------------------------------------------ potentials
@dataclass(frozen=True)
class Potential:
    """A separable mirror potential φ(x) = Σ φ₁(x_i) whose mirror flow gradient flow is, with ∇φ = 0 at the
    start, so that the flow's limit is argmin φ on the solution set.

    ``kind``: ``"pm_power"`` (x = u^N − v^N from u = v = α: Q_α for N = 2, the depth-N potential for N ≥ 3),
    ``"hadamard"`` (x = w_1 ⊙ … ⊙ w_N from w_j = α, so x = w^N > 0: φ₁ = x log(x/α²) − x for N = 2,
    N/(N−2)·(α^{2−N} x − (N/2) x^{2/N}) for N ≥ 3, from ∇φ₁'' = x^{2/N − 2}) or ``"euclidean"`` (depth 1 from
    x = 0: ½‖x‖², whose limit is x_ℓ2)."""

    kind: str
    alpha: float
    depth: int

    @property
    def label(self) -> str:
        if self.kind == "euclidean":
            return "½‖x‖²"
        if self.kind == "pm_power":
            return "Q_α" if self.depth == 2 else f"Q (depth {self.depth})"
        return f"φ (x = w{str(self.depth).translate(_SUPERSCRIPTS)})"

    def terms(self, x: np.ndarray) -> np.ndarray:
        """φ₁ at every entry of ``x`` (NaN outside the potential's domain: x < 0 for ``hadamard``)."""
        x = np.asarray(x, float)
        a, n = self.alpha, self.depth
        if self.kind == "euclidean":
            return 0.5 * x * x
        if self.kind == "pm_power":
            if n == 2:
                z = x / a**2
                return a**2 * (2 - np.sqrt(4 + z * z) + z * np.arcsinh(z / 2))
            p = n / (n - 2)
            w = depth_mirror_map(x, a, n)
            return a**n * (x / a**n * w - depth_potential_term(w, p))
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = np.where(x >= 0, x, np.nan)
            if n == 2:
                return np.where(pos > 0, pos * np.log(pos / a**2) - pos, 0.0 * pos)
            p = n / (n - 2)
            return p * (a ** (2 - n) * pos - 0.5 * n * pos ** (2 / n))

    def value(self, x: np.ndarray) -> np.ndarray:
        """φ(x), summed over the last axis (points as rows)."""
        return self.terms(x).sum(axis=-1)

    def mirror_map(self, x: np.ndarray) -> np.ndarray:
        """∇φ(x), entry by entry (0 at the start of the flow)."""
        x = np.asarray(x, float)
        a, n = self.alpha, self.depth
        if self.kind == "euclidean":
            return x
        if self.kind == "pm_power":
            return np.arcsinh(x / (2 * a**2)) if n == 2 else depth_mirror_map(x, a, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            if n == 2:
                return np.log(x / a**2)
            p = n / (n - 2)
            return p * (a ** (2 - n) - x ** ((2 - n) / n))

    def inverse_map(self, mu: np.ndarray) -> np.ndarray:
        """x with ∇φ(x) = mu (mu inside :meth:`dual_bounds`)."""
        mu = np.asarray(mu, float)
        a, n = self.alpha, self.depth
        if self.kind == "euclidean":
            return mu
        if self.kind == "pm_power":
            if n == 2:
                return 2 * a**2 * np.sinh(mu)
            # h(w) = (1 − w)^{−p} − (1 + w)^{−p} = (1 + w)^{−p} expm1(2p atanh w): no cancellation at small w
            p = n / (n - 2)
            return a**n * (1 + mu) ** -p * np.expm1(2 * p * np.arctanh(mu))
        if n == 2:
            return a**2 * np.exp(mu)
        p = n / (n - 2)
        return (a ** (2 - n) - mu / p) ** (-p)

    def dual_bounds(self) -> tuple[float, float]:
        """The open interval of values the mirror map takes."""
        if self.kind == "pm_power" and self.depth > 2:
            return -1.0, 1.0
        if self.kind == "hadamard" and self.depth > 2:
            return -math.inf, self.depth / (self.depth - 2) * self.alpha ** (2 - self.depth)
        return -math.inf, math.inf

    def centre(self, n: int) -> np.ndarray:
        """The unconstrained minimiser of φ (where ∇φ = 0): the flow's start."""
        return self.inverse_map(np.zeros(n))


def potential_for(cfg: Any) -> tuple[Potential | None, str]:
    """The mirror potential of a run of ``cfg`` (a Config or its dict), or None and the reason in a few words
    (the flow is a mirror flow of a known potential only from the constant initialization)."""
    param = _parametrization(cfg)
    depth = int(cfg_get(cfg, "model.depth", 1))
    init = cfg_get(cfg, "model.init", "")
    alpha = float(cfg_get(cfg, "model.init_scale", 0.0))
    if cfg_get(cfg, "model.weight_norm", False):
        return None, "no potential is drawn with weight normalization"
    if depth == 1:
        if (param == "pm_power" and init == "constant") or init == "zeros":
            return Potential("euclidean", 1.0, 1), ""
        return None, "at depth 1 the potential is drawn from x = 0 (model.init = zeros or constant u = v)"
    if init != "constant" or alpha <= 0:
        return None, "the potential is drawn for model.init = constant with init_scale > 0"
    if param not in ("pm_power", "hadamard"):
        return None, f"no potential for parametrization {param}"
    return Potential(param, alpha, depth), ""


def minimiser_on_hyperplane(pot: Potential, a: np.ndarray, y: float) -> np.ndarray | None:
    """argmin φ(x) s.t. aᵀx = y: stationarity gives ∇φ(x) = λa, so x(λ) = (∇φ)⁻¹(λa) and aᵀx(λ), increasing in
    λ, equals y at one λ, found by bracketing and Brent's method.  None when no point of the potential's domain
    solves the measurement (``hadamard``: x > 0 and aᵀx = y have no common point)."""
    a = np.asarray(a, float)
    lo_mu, hi_mu = pot.dual_bounds()
    # the λ for which every λ a_i lies inside (lo_mu, hi_mu)
    lo, hi = -math.inf, math.inf
    for ai in a[a != 0]:
        b1, b2 = lo_mu / ai, hi_mu / ai
        lo, hi = max(lo, min(b1, b2)), min(hi, max(b1, b2))

    def f(lam: float) -> float:
        return float(a @ pot.inverse_map(lam * a) - y)

    def towards(bound: float, sign: float) -> float | None:
        """A λ between 0 and ``bound`` (in direction ``sign``) where f has the sign ``sign``."""
        for k in range(1, 400):
            lam = (bound * (1 - 2.0**-k)) if math.isfinite(bound) else sign * 2.0 ** (k - 20)
            v = f(lam)
            if not math.isfinite(v):
                return None
            if v * sign > 0:
                return lam
        return None

    f0 = f(0.0)
    if f0 == 0:
        return pot.inverse_map(np.zeros_like(a))
    if f0 < 0:
        left, right = 0.0, towards(hi, 1.0)
    else:
        left, right = towards(lo, -1.0), 0.0
    if left is None or right is None:
        return None
    lam = brentq(f, left, right, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=1000)
    return pot.inverse_map(lam * a)


def hyperplane_from_min_l2(min_l2: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(a, y) of the one measurement whose least-norm solution is ``min_l2`` (up to a common scale, which
    leaves the solution set as it is), or None when it is 0 (y = 0: the normal cannot be told)."""
    v = np.asarray(min_l2, float).ravel()
    s = float(v @ v)
    return (v, s) if s > 0 else None


# ------------------------------------------------------------------------------------------ the 2-D view
class SolutionView:
    """The plane the panel draws in.  Two unknowns: (x_0, x_1) themselves, the solution set a line.  Three
    unknowns: coordinates (s, t) in the solution plane, origin x_ℓ2, s along x_ℓ1 − x_ℓ2 (else along the
    first coordinate axis projected), t completing a right-handed frame with the normal; a point off the plane
    (the iterate before it interpolates) is drawn at its orthogonal projection, so the start x = 0 is drawn at
    x_ℓ2."""

    def __init__(self, a: np.ndarray, y: float, towards: np.ndarray | None = None):
        self.a = np.asarray(a, float).ravel()
        self.y = float(y)
        self.n = len(self.a)
        if self.n not in (2, 3):
            raise ValueError(f"the geometry is drawn for 2 or 3 unknowns, not {self.n}")
        norm = float(np.linalg.norm(self.a))
        self.normal = self.a / norm
        self.origin = self.a * self.y / norm**2  # x_ℓ2
        if self.n == 3:
            d = None if towards is None else np.asarray(towards, float).ravel() - self.origin
            if d is None or np.linalg.norm(d - (d @ self.normal) * self.normal) < 1e-9 * max(1.0, abs(self.y)):
                d = np.eye(3)[int(np.argmin(np.abs(self.normal)))]
            d = d - (d @ self.normal) * self.normal
            e1 = d / np.linalg.norm(d)
            self.basis = np.stack([e1, np.cross(self.normal, e1)])

    @property
    def planar(self) -> bool:
        """True for three unknowns (coordinates in the solution plane)."""
        return self.n == 3

    @property
    def axis_labels(self) -> tuple[str, str]:
        if self.planar:
            return "s (solution plane, along x_ℓ1 − x_ℓ2)", "t (solution plane)"
        return "x_0", "x_1"

    def to_view(self, x: np.ndarray) -> np.ndarray:
        """Points (rows of n values) as rows of 2 view coordinates."""
        x = np.atleast_2d(np.asarray(x, float))
        if not self.planar:
            return x[:, :2].copy()
        return (x - self.origin) @ self.basis.T

    def from_view(self, st: np.ndarray) -> np.ndarray:
        """View coordinates (rows of 2) back to points (on the solution plane for three unknowns)."""
        st = np.asarray(st, float)
        if not self.planar:
            return st.copy()
        return self.origin + st @ self.basis

    def solution_line(self, box: tuple[float, float, float, float]) -> np.ndarray | None:
        """Two points of the solution line spanning ``box`` = (x0, x1, y0, y1) (two unknowns; None for three:
        the whole view is the solution plane)."""
        if self.planar:
            return None
        x0, x1, y0, y1 = box
        along = np.array([-self.normal[1], self.normal[0]])
        reach = math.hypot(x1 - x0, y1 - y0) + float(np.linalg.norm(self.origin - [(x0 + x1) / 2, (y0 + y1) / 2]))
        return np.stack([self.origin - reach * along, self.origin + reach * along])


def level_values(pot: Potential, view: SolutionView, minimiser: np.ndarray,
                 reach: np.ndarray | None = None, ts=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)) -> tuple[np.ndarray, float | None]:
    """The levels to draw, and the one to stress.

    Two unknowns: the levels through ``centre + t (minimiser − centre)`` (centre: φ's unconstrained minimiser),
    stressed the level through the minimiser itself (t = 1), the level set that touches the solution line there.
    Three unknowns: φ restricted to the plane has its minimum at ``minimiser``: levels through
    ``minimiser + t (reach − minimiser)`` (``reach``: a point to extend to, e.g. the farther of x_ℓ1 and x_ℓ2),
    none stressed."""
    m = np.asarray(minimiser, float)
    if view.planar:
        r = m + view.basis[0] if reach is None or np.linalg.norm(np.asarray(reach) - m) == 0 else np.asarray(reach, float)
        pts = m + np.outer(ts, r - m)
        vals = pot.value(pts)
        return np.unique(vals[np.isfinite(vals)]), None
    c = pot.centre(view.n)
    vals = pot.value(c + np.outer(ts, m - c))
    return np.unique(vals[np.isfinite(vals)]), float(pot.value(m))


def level_lines(pot: Potential, view: SolutionView, box: tuple[float, float, float, float], levels,
                grid: int = 161) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """The level sets {φ = c} in the view, over ``box`` = (x0, x1, y0, y1), as (c, xs, ys) with the pieces of
    each level joined by NaNs (marching squares on a ``grid`` × ``grid`` lattice, contourpy)."""
    import contourpy

    x0, x1, y0, y1 = box
    gx, gy = np.linspace(x0, x1, grid), np.linspace(y0, y1, grid)
    sx, sy = np.meshgrid(gx, gy)
    pts = view.from_view(np.column_stack([sx.ravel(), sy.ravel()]))
    z = np.ma.masked_invalid(pot.value(pts).reshape(sx.shape))
    gen = contourpy.contour_generator(sx, sy, z, line_type=contourpy.LineType.Separate)
    out = []
    for c in levels:
        pieces = gen.lines(float(c))
        if not pieces:
            continue
        xs = np.concatenate([np.append(p[:, 0], np.nan) for p in pieces])
        ys = np.concatenate([np.append(p[:, 1], np.nan) for p in pieces])
        out.append((float(c), xs, ys))
    return out
