"""Minibatches for stochastic optimizers: epochs of a random permutation of the data, drawn from the run's seed.

The sampler's whole state (its random generator, the permutation of the current epoch and the position in it) is
part of the run's state (:meth:`ibviewer.core.engine.Engine.state_dict`), so that a saved run draws the same
batches after it is opened again.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class BatchSampler:
    """Draws ``size`` rows out of ``n`` per step, without replacement within an epoch."""

    def __init__(self, seed: int, n: int):
        self.n = int(n)
        self.rng = np.random.default_rng([seed, 1])
        self.perm: np.ndarray | None = None
        self.pos = 0

    def draw(self, size: int) -> np.ndarray:
        """The next ``size`` row indices (a new permutation when the current one has fewer left)."""
        if self.perm is None or self.pos + size > self.n:
            self.perm = self.rng.permutation(self.n)
            self.pos = 0
        idx = self.perm[self.pos : self.pos + size]
        self.pos += size
        return idx

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "perm": None if self.perm is None else self.perm.copy(),
                "perm_pos": self.pos}

    def checked(self, state: Any) -> tuple[dict, np.ndarray | None, int]:
        """``state`` checked against this sampler: (generator state, permutation, position); a ValueError with
        one line otherwise.  Changes nothing."""
        if not isinstance(state, dict) or set(state) != {"rng", "perm", "perm_pos"}:
            raise ValueError("sampler must be a table with the keys rng, perm, perm_pos")
        probe = np.random.PCG64()
        try:
            probe.state = state["rng"]
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"sampler.rng is not a PCG64 generator state ({exc})") from None
        perm = state["perm"]
        if perm is not None:
            perm = np.asarray(perm)
            if perm.dtype.kind not in "iu" or perm.shape != (self.n,) or not np.array_equal(np.sort(perm),
                                                                                           np.arange(self.n)):
                raise ValueError(f"sampler.perm must be a permutation of the {self.n} data rows")
        pos = state["perm_pos"]
        if isinstance(pos, bool) or not isinstance(pos, (int, np.integer)) or not 0 <= pos <= self.n:
            raise ValueError(f"sampler.perm_pos = {pos!r} must be an integer from 0 to {self.n}")
        return probe.state, perm, int(pos)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        rng, perm, pos = self.checked(state)
        self.rng.bit_generator.state = rng
        self.perm, self.pos = (None if perm is None else perm.astype(np.int64, copy=True)), pos
