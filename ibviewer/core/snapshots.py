"""Wide per-record arrays (the product W of a matrix model, a layer's state) kept apart from the scalar series.

At d = 1,000 one product is a million numbers; kept in the same rows as the loss, it would set how many rows the
whole history holds (a 200 MB budget fits 25 of them, and the loss curve would keep 25 points).  A
:class:`Snapshots` store keeps such arrays under a budget of its own, in the run's dtype, with its own thinning:
the scalar series keep their resolution whatever the size of the matrices (docs/architecture.md, "History").

The store is offered every recorded row and keeps every ``stride``-th; when full it keeps its first quarter and
every other later snapshot, and doubles the stride, as :class:`~ibviewer.core.history.History` does with rows.  A
budget too small for four keeps two: the first, and the latest in place of the one before.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

#: per-record arrays with more elements than this, and at least two dimensions, are snapshots (a 64 x 64
#: matrix and larger); vectors stay in the rows, whatever their length (the coordinate panels draw every row)
WIDE_ELEMENTS = 4096
#: default memory budget of a run's snapshots (bytes)
SNAPSHOT_BUDGET = 64 * 2**20
#: fewest snapshots kept, whatever their size: the first and the latest (at d = 4,000 a float32 product is 64 MB)
MIN_SNAPSHOTS = 2
#: fewest snapshots that are thinned (first quarter kept, every other later one dropped); a smaller store keeps
#: its first snapshot and replaces its last one with each new one
THIN_FROM = 4


def kept_when_thinned(capacity: int, n: int) -> np.ndarray:
    """The indices a full store of ``capacity`` rows (``n`` of them filled) keeps when it thins itself: its first
    quarter (the early, log-spaced records) and every other later one."""
    keep = max(capacity // 4, 1)
    return np.concatenate([np.arange(keep), np.arange(keep, n, 2)])


def is_wide(value: np.ndarray) -> bool:
    """Whether a per-record array is kept as a snapshot rather than in the rows."""
    return value.ndim >= 2 and value.size > WIDE_ELEMENTS


class Snapshots:
    """The wide columns of one run's records, at the steps they were taken, under their own memory budget."""

    def __init__(self, capacity: int, budget: int = SNAPSHOT_BUDGET, dtype: Any = np.float64):
        self.requested = max(int(capacity), MIN_SNAPSHOTS)
        self.budget = int(budget)
        self.dtype = np.dtype(dtype)
        self.capacity = 0
        self.columns: dict[str, np.ndarray] = {}
        self.steps = np.zeros(0, dtype=np.int64)
        self.n = 0
        self.stride = 1
        self.offers = 0
        self.thinned = 0

    def _allocate(self, values: dict[str, np.ndarray]) -> None:
        per = sum(v.size for v in values.values()) * self.dtype.itemsize
        self.capacity = int(max(MIN_SNAPSHOTS, min(self.requested, self.budget // max(per, 1))))
        self.columns = {k: np.full((self.capacity,) + v.shape, np.nan, dtype=self.dtype) for k, v in values.items()}
        self.steps = np.zeros(self.capacity, dtype=np.int64)

    def offer(self, step: int, values: dict[str, np.ndarray]) -> None:
        """A recorded row's wide values: kept when it is this store's turn (every ``stride``-th offer)."""
        if not values:
            return
        if not self.columns:
            self._allocate(values)
        self.offers += 1
        if (self.offers - 1) % self.stride:
            return
        if self.n == self.capacity:
            if self.capacity < THIN_FROM:
                self.n -= 1  # the newest replaces the last kept: the first and the latest stay
            else:
                self._thin()
        i = self.n
        self.steps[i] = int(step)
        for k, col in self.columns.items():
            v = values.get(k)
            col[i] = np.nan if v is None else v
        self.n += 1

    def _thin(self) -> None:
        idx = kept_when_thinned(self.capacity, self.n)
        for col in self.columns.values():
            col[: idx.size] = col[idx]
            col[idx.size :] = np.nan
        self.steps[: idx.size] = self.steps[idx]
        self.n = idx.size
        self.stride *= 2
        self.thinned += 1

    def __len__(self) -> int:
        return self.n

    def names(self) -> list[str]:
        return list(self.columns)

    def index(self, step: int) -> int:
        """Index of the last snapshot at or before ``step`` (the first one if none is earlier); -1 when empty."""
        if not self.n:
            return -1
        return max(bisect.bisect_right(self.steps[: self.n].tolist(), int(step)) - 1, 0)

    def at(self, step: int, name: str = "state") -> np.ndarray | None:
        """The snapshot ``name`` at the last kept step at or before ``step`` (the first one if none is earlier)."""
        i = self.index(step)
        col = self.columns.get(name)
        return None if i < 0 or col is None else col[i]

    def step_at(self, step: int) -> int | None:
        """The step whose snapshot :meth:`at` returns."""
        i = self.index(step)
        return None if i < 0 else int(self.steps[i])

    def keep_through(self, step: int) -> None:
        """Drop the snapshots taken after ``step`` (a run taken back to an earlier state)."""
        n = int(np.searchsorted(self.steps[: self.n], step, side="right"))
        for col in self.columns.values():
            col[n : self.n] = np.nan
        self.n = n

    def as_dict(self) -> dict[str, np.ndarray]:
        """Copies: ``snapshot_step`` (the steps) and each wide column, ``n`` snapshots long."""
        if not self.columns:
            return {}
        out = {"snapshot_step": self.steps[: self.n].copy()}
        out.update({k: v[: self.n].copy() for k, v in self.columns.items()})
        return out

    def load(self, table: dict[str, np.ndarray], stride: int, thinned: int) -> None:
        """Fill from :meth:`as_dict`'s table (a saved session), checked by the caller."""
        steps = np.asarray(table["snapshot_step"], dtype=np.int64)
        values = {k: np.asarray(v) for k, v in table.items() if k != "snapshot_step"}
        if not values:
            return
        self._allocate({k: v[0] if len(v) else np.zeros(v.shape[1:]) for k, v in values.items()})
        n = min(len(steps), self.capacity)
        first = len(steps) - n  # a smaller budget keeps the latest snapshots
        self.steps[:n] = steps[first:]
        for k, v in values.items():
            self.columns[k][:n] = v[first:]
        self.n = n
        self.stride = max(int(stride), 1)
        self.thinned = max(int(thinned), 0)

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.columns.values()) + self.steps.nbytes
