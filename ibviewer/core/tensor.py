"""Tensor completion with a CP factorization (Razin, Maman & Cohen 2021): the problem, the model, its metrics.

The ground truth is an order-3 tensor of low CP rank, ``T* = Σ_r w_r a_r ⊗ b_r ⊗ c_r`` with unit vectors
``a_r, b_r, c_r ∈ ℝ^d`` drawn at random and weights ``w_r`` (``problem.singular_values``, else ``problem.rank``
equal weights ``d^{3/2}/√r``, so that the entries are of order one).  ``problem.measurements`` of its ``d³``
entries are observed.  The model is a CP factorization with ``R = model.components`` components,
``T = Σ_r A[:, r] ⊗ B[:, r] ⊗ C[:, r]``, trained on the sum loss ``½ Σ_Ω (T − T*)²`` (as matrix completion).

Razin et al. measure a component by its norm ``‖A[:, r]‖·‖B[:, r]‖·‖C[:, r]‖``: from a small initialization the
components' norms stay near zero and then rise **one at a time** (a greedy walk through tensor ranks, the
tensor analogue of a factorization learning singular values one after another); from a large initialization
many components move at once.  The engine records those norms and two effective tensor ranks
(:func:`tensor_ranks`; docs/science.md gives the definitions).

Everything here works on numpy arrays and torch tensors alike, and on stacks of runs (a leading axis), as the
engine's closed-form gradients do (``docs/architecture.md``, section 5).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from ibviewer.core import ops
from ibviewer.core.config_fields import ConfigError
from ibviewer.core.metrics import effective_ranks, finite_or_none

if TYPE_CHECKING:  # pragma: no cover
    from ibviewer.core.config import Config, ProblemConfig
    from ibviewer.core.problems import Problem

#: the tensor rank counts the components whose norm is at least this fraction of the largest one
RANK_FRACTION = 0.1
#: a larger tensor is refused by the configuration check: its d³ entries are held densely (data, product,
#: gradient), and a d of a few hundred would train at a step a second
MAX_ENTRIES = 10**7


# ------------------------------------------------------------------------------------------------ problem
def target_weights(p: ProblemConfig) -> np.ndarray:
    """The weights w_r of the ground truth's components (its component norms: the factors are unit vectors),
    from the configuration alone: ``problem.singular_values``, else ``problem.rank`` weights ``d^{3/2}/√r``."""
    if p.singular_values:
        return np.asarray(p.singular_values, float)
    return np.full(p.rank, p.d**1.5 / math.sqrt(p.rank))


def check_tensor_problem(p: ProblemConfig) -> None:
    """The one-line refusals of a tensor-completion problem that the keys' own bounds do not catch."""
    entries = p.d**3
    if entries > MAX_ENTRIES:
        raise ConfigError(f"problem.d = {p.d} is too large for tensor_completion: the {p.d}³ = {entries:,} entries "
                          f"are held densely; at most {MAX_ENTRIES:,} (problem.d <= {round(MAX_ENTRIES ** (1 / 3))})")
    if p.measurements > entries:
        raise ConfigError(f"problem.measurements = {p.measurements} is not allowed for tensor_completion; at most "
                          f"d³ = {entries} entries can be observed")


def make_tensor_problem(p: ProblemConfig, rng: np.random.Generator, family: str) -> Problem:
    """The ground truth and its observed entries (flat indices into the d x d x d tensor, row-major)."""
    from ibviewer.core.problems import Problem

    d = p.d
    w = target_weights(p)
    factors = []
    for _ in range(3):
        f = rng.standard_normal((d, len(w)))
        factors.append(f / np.linalg.norm(f, axis=0))
    truth = np.einsum("ir,jr,kr->ijk", factors[0] * w, factors[1], factors[2])
    flat = np.sort(rng.choice(d**3, size=p.measurements, replace=False))
    values = truth.reshape(-1)[flat] + p.noise * rng.standard_normal(p.measurements)
    return Problem("tensor_completion", family, (d, d, d), {"flat": flat, "values": values}, p.measurements,
                   target=truth, info={"weights": w})


class TensorCompletionLoss:
    """½ Σ_Ω (T − T*)² and its gradient with respect to the tensor (zero off the observed entries).

    Full batch on numpy reads dense arrays (the observed values and a 0/1 mask: two whole-array operations
    instead of a gather and a scatter); a minibatch, or torch, gathers and scatters the observed entries.  A
    minibatch's loss is rescaled by n/|batch|, an unbiased estimate of the full loss and gradient."""

    def __init__(self, problem: Problem, data: dict[str, Any]):
        self.n = problem.n_data
        self.flat, self.values = data["flat"], data["values"]
        self.M = self.mask = None
        if isinstance(self.values, np.ndarray):
            self.M = np.zeros(problem.shape, dtype=self.values.dtype)
            self.mask = np.zeros(problem.shape, dtype=self.values.dtype)
            self.M.reshape(-1)[self.flat] = self.values
            self.mask.reshape(-1)[self.flat] = 1.0

    def __call__(self, P, idx=None):
        if idx is None and self.mask is not None:
            G = P - self.M
            G *= self.mask
            return 0.5 * float(np.vdot(G, G)), G
        scale = 1.0 if idx is None else self.n / len(idx)
        flat = self.flat if idx is None else self.flat[idx]
        vals = self.values if idx is None else self.values[idx]
        r = P.reshape(-1)[flat] - vals
        G = ops.zeros_like(P)
        G.reshape(-1)[flat] = r * scale if scale != 1.0 else r
        return 0.5 * scale * float((r * r).sum()), G

    def batched(self, P):
        """A stack of runs (tensors along axis 0): (losses, gradients)."""
        S = P.shape[0]
        if self.mask is not None:
            G = (P - self.M) * self.mask
            flatG = G.reshape(S, -1)
            return 0.5 * np.einsum("ij,ij->i", flatG, flatG), G
        r = P.reshape(S, -1)[:, self.flat] - self.values
        G = ops.zeros_like(P)
        G.reshape(S, -1)[:, self.flat] = r
        return 0.5 * (r * r).sum(-1), G


# ------------------------------------------------------------------------------------------------ model
def khatri_rao(B, C):
    """Column-wise Kronecker product: row j·d_C + k of column r is B[j, r]·C[k, r] (stacks: leading axes)."""
    kr = B[..., :, None, :] * C[..., None, :, :]
    return kr.reshape(kr.shape[:-3] + (B.shape[-2] * C.shape[-2], B.shape[-1]))


class CPModel:
    """T = Σ_r A[:, r] ⊗ B[:, r] ⊗ C[:, r]: three d x R factors, with the closed-form gradients

    dL/dA = G_(1) (B ⊙ C),  dL/dB = G_(2) (A ⊙ C),  dL/dC = G_(3) (A ⊙ B)

    (G_(n): the mode-n unfolding of dL/dT, ⊙ the Khatri-Rao product).  The initialization draws every factor
    entry from N(0, s²) with s = α^{1/3}/√d, so that each component's norm is about α = ``model.init_scale``
    (``model.init_std`` sets s directly)."""

    family = "tensor"

    def __init__(self, cfg: Config, problem: Problem):
        self.d = problem.shape[0]
        self.components = cfg.model.components
        self.shapes = [(self.d, self.components)] * 3
        self.depth = 3
        self.cfg = cfg

    def init(self, rng: np.random.Generator) -> list[np.ndarray]:
        m = self.cfg.model
        std = m.init_std if m.init_std > 0 else m.init_scale ** (1.0 / 3.0) / math.sqrt(self.d)
        return [std * rng.standard_normal(s) for s in self.shapes]

    def forward_and_cache(self, params):
        A, B, C = params
        kr_bc = khatri_rao(B, C)
        P = A @ kr_bc.swapaxes(-1, -2)
        d = self.d
        return P.reshape(P.shape[:-2] + (d, d, d)), kr_bc

    def grads(self, params, G, kr_bc):
        A, B, C = params
        d = self.d
        lead = G.shape[:-3]
        g_a = G.reshape(lead + (d, d * d)) @ kr_bc
        g_b = G.swapaxes(-3, -2).reshape(lead + (d, d * d)) @ khatri_rao(A, C)
        g_c = G.reshape(lead + (d * d, d)).swapaxes(-1, -2) @ khatri_rao(A, B)
        return [g_a, g_b, g_c]


# ------------------------------------------------------------------------------------------------ metrics
def component_norms(factors: list[np.ndarray]) -> np.ndarray:
    """Razin et al.'s norm of each component: ‖A[:, r]‖·‖B[:, r]‖·‖C[:, r]‖ (numpy factors, d x R)."""
    out = np.ones(factors[0].shape[-1])
    for f in factors:
        out = out * np.sqrt((f * f).sum(axis=0))
    return out


def tensor_ranks(norms: np.ndarray) -> dict[str, float]:
    """Two effective ranks of a CP tensor from its component norms n_r:

    * ``entropy``: exp(H(p)) with p = n/‖n‖₁ (Roy & Vetterli's effective rank, applied to the component norms):
      R for R equal norms, 1 for a single component, in between otherwise;
    * ``count``: the number of components with n_r >= RANK_FRACTION · max n.
    Both are 0 for the zero tensor."""
    n = np.abs(np.asarray(norms, float))
    total, top = float(n.sum()), float(n.max(initial=0.0))
    if not (total > 0 and math.isfinite(total)):
        return {"entropy": 0.0, "count": 0.0}
    return {"entropy": effective_ranks(n)["entropy"], "count": float((n >= RANK_FRACTION * top).sum())}


def tensor_row(factors: list[np.ndarray]) -> dict[str, Any]:
    """The tensor family's columns of a history row (the factors as float64 numpy arrays)."""
    norms = component_norms(factors)
    ranks = tensor_ranks(norms)
    return {"component_norms": norms, "tensor_erank": ranks["entropy"], "tensor_rank": ranks["count"]}


def tensor_summary(last: dict[str, Any], p: ProblemConfig) -> dict[str, Any]:
    """The tensor family's part of ``summary.json``: the final component norms (largest first), the effective
    tensor ranks and those of the ground truth."""
    norms = np.sort(np.asarray(last["component_norms"], float))[::-1]
    truth = tensor_ranks(target_weights(p))
    return {
        "component_norms": [finite_or_none(v) for v in norms],
        "tensor_rank": {"entropy": finite_or_none(last["tensor_erank"]), "count": finite_or_none(last["tensor_rank"])},
        "target_tensor_rank": {"entropy": truth["entropy"], "count": truth["count"]},
        "target_component_norms": [float(v) for v in np.sort(target_weights(p))[::-1]],
    }


# ------------------------------------------------------------------------------------------------ events
@lru_cache(maxsize=64)
def _sorted_weights(weights: tuple[float, ...]) -> np.ndarray:
    return np.sort(np.asarray(weights, float))[::-1]


def learned_components(columns: dict[str, np.ndarray], cfg: Config) -> list[dict[str, Any]]:
    """``learned`` events of a CP model: the first recorded step at which the i-th largest component norm
    reaches half of the ground truth's i-th largest weight ("component 2 learned"), as a factorization's
    singular values are marked (:func:`ibviewer.core.events.learned_singular_values`).  The norms are sorted at
    every row, so which component of the model carries a weight does not matter."""
    from ibviewer.core.events import _event, _first_reach, _time_at

    norms, steps = columns.get("component_norms"), columns.get("step")
    if norms is None or steps is None or len(steps) == 0 or np.ndim(norms) != 2:
        return []
    goal = _sorted_weights(tuple(float(v) for v in target_weights(cfg.problem)))
    ranked = -np.sort(-np.nan_to_num(np.asarray(norms, float), nan=-np.inf), axis=1)
    k = min(len(goal), ranked.shape[1])
    first = _first_reach(ranked[:, :k], 0.5 * goal[:k])
    out = [_event(steps[i], _time_at(columns, i), "learned", f"component {j + 1} learned", index=j + 1,
                  value=float(goal[j])) for j, i in enumerate(first) if i >= 0]
    return sorted(out, key=lambda e: (e["step"], e["index"]))
