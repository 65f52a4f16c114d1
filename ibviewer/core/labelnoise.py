"""Label noise: fresh Gaussian noise on the targets at every step (``optimizer.label_noise = σ``).

Gradient descent on targets ``y + ε_t`` with ``ε_t ~ N(0, σ² I)`` drawn anew at every step is a stochastic
gradient method whose noise lives in the span of the data's gradients; on diagonal and quadratically
parametrized models it drives the iterate toward sparse (low-ℓ1) interpolators, which plain GD from a large
initialization does not (HaoChen, Wei, Lee & Ma 2021; Pillaud-Vivien, Reygner & Flammarion 2022; docs/science.md,
AT12).

The noise of step ``t`` is a function of the run's seed and ``t`` alone (:class:`LabelNoise`): a run that is
saved and opened again, rewound after a divergence, or trained in other chunks draws the same noise, with no
generator state to keep.  It is drawn in blocks of steps (one generator per block, keyed by the seed and the
block's number), which costs one draw per target per step like a running generator.  σ multiplies a standard
normal draw, so changing σ between steps rescales the same draws.

:func:`noisy_loss` is the loss of the problem's head (:class:`ibviewer.core.problems.LossHead`) with the targets
shifted by ``ε``: the same formula, scaling and minibatch rescaling, for every squared loss (the kinds of
:data:`ibviewer.core.config.LABEL_NOISE_KINDS`).  The engine uses it, and not a fast path, on every step of a run
with ``σ > 0``; the recorded loss stays the clean full loss.
"""

from __future__ import annotations

import numpy as np

from ibviewer.core import ops
from ibviewer.core.problems import LossHead, Problem

#: standard normal draws per block of steps (512 KB of float64): one generator is seeded per block
BLOCK_ENTRIES = 1 << 16
#: the third word of every block's seed: label noise draws from its own streams, apart from the initialization
#: ([seed, 0]) and the minibatches ([seed, 1])
STREAM = 2


def target_shape(problem: Problem) -> tuple[int, ...]:
    """The shape of the targets the noise perturbs: one entry per measurement, observed entry or output."""
    d = problem.data
    if problem.kind in ("matrix_sensing", "sparse_recovery"):
        return tuple(np.shape(d["y"]))
    if problem.kind in ("matrix_completion", "razin_cohen"):
        return tuple(np.shape(d["values"]))
    if problem.kind == "matrix_factorization":
        return tuple(np.shape(d["M"]))
    if problem.kind == "linear_regression":
        return tuple(np.shape(d["Y"]))
    raise ValueError(f"label noise is not defined for problem.kind = {problem.kind!r}")


class LabelNoise:
    """Standard normal draws shaped like the targets, one array per step, reproducible from (seed, step)."""

    def __init__(self, seed: int, shape: tuple[int, ...]):
        self.seed = int(seed)
        self.shape = tuple(shape)
        self.block = max(1, BLOCK_ENTRIES // max(1, int(np.prod(self.shape))))
        self._number: int | None = None
        self._draws: np.ndarray | None = None

    def standard(self, step: int) -> np.ndarray:
        """The standard normal draws of step ``step`` (a view: read, do not keep)."""
        number, row = divmod(int(step), self.block)
        if number != self._number:
            rng = np.random.default_rng([self.seed, STREAM, number])
            self._draws = rng.standard_normal((self.block,) + self.shape)
            self._number = number
        return self._draws[row]


def noisy_loss(head: LossHead, P, idx, eps):
    """(loss, dL/dP) of ``head`` at ``P`` with every target ``t`` replaced by ``t + eps`` (``eps`` shaped like all
    the targets, of the head's array kind); ``idx`` selects a minibatch as in :meth:`LossHead.__call__`."""
    d, kind = head.d, head.kind
    scale = 1.0 if idx is None else head.n / len(idx)
    if kind == "matrix_sensing" and "left" in d:  # rank-one measurements (ibviewer.core.rank_one)
        from ibviewer.core import rank_one

        L, Rt, y, e = ((d["left"], d["right"], d["y"], eps) if idx is None
                       else (d["left"][idx], d["right"][idx], d["y"][idx], eps[idx]))
        r = rank_one.measure(L, Rt, P) - y - e
        return 0.5 * scale * float(r @ r), rank_one.adjoint(L, Rt, r * scale if scale != 1.0 else r)
    if kind in ("matrix_sensing", "sparse_recovery"):
        A, y, e = (d["A"], d["y"], eps) if idx is None else (d["A"][idx], d["y"][idx], eps[idx])
        r = A @ P.reshape(-1) - y - e
        G = (r @ A).reshape(P.shape)
        return 0.5 * scale * float(r @ r), G * scale
    if kind in ("matrix_completion", "razin_cohen"):
        flat = head.flat if idx is None else head.flat[idx]
        vals, e = (d["values"], eps) if idx is None else (d["values"][idx], eps[idx])
        r = P.reshape(-1)[flat] - vals - e
        G = ops.zeros_like(P)
        Gf = G.reshape(-1)
        if kind == "razin_cohen":  # mean over the observed entries: (1/|Omega|) sum r^2
            c = scale / head.n
            Gf[flat] = (2.0 * c) * r
            return c * float(r @ r), G
        Gf[flat] = r * scale
        return 0.5 * scale * float(r @ r), G
    if kind == "matrix_factorization":
        r = P - d["M"] - eps
        return 0.5 * float((r * r).sum()), r
    if kind == "linear_regression":
        X, Y, e = (d["X"], d["Y"], eps) if idx is None else (d["X"][:, idx], d["Y"][:, idx], eps[:, idx])
        nb = X.shape[1]
        R = P @ X - Y - e
        return float((R * R).sum()) / (2 * nb), (R @ X.T) / nb
    raise ValueError(f"label noise is not defined for problem.kind = {kind!r}")
