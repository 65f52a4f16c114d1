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

The loss of such a step is the problem's head (:class:`ibviewer.core.problems.LossHead`) called with ``eps``: the
same formula, scaling and minibatch rescaling with every target shifted by ``ε``, for every squared loss (the kinds
of :data:`ibviewer.core.config.LABEL_NOISE_KINDS`).  The engine takes it, and not a fast path, on every step of a
run with ``σ > 0``; the recorded loss stays the clean full loss.
"""

from __future__ import annotations

import numpy as np

from ibviewer.core.problems import Problem

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
