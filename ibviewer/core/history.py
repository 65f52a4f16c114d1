"""A preallocated, memory-bounded history of recorded training steps.

Columns are numpy arrays of shape (capacity, *shape), allocated at the first row.  When the history is full it
thins itself: the first quarter of the rows (the early, log-spaced steps) is kept whole and every other later row
is dropped; the engine then doubles its recording stride.  The memory is therefore fixed whatever the number
of steps: a 10^7-step run costs what ``capacity`` rows cost.

Wide arrays (a matrix model's product W, see :func:`~ibviewer.core.snapshots.is_wide`) are not kept in the rows:
they go to :attr:`History.snapshots`, a store with its own budget, dtype and thinning, so that the scalar series
keep their rows at d = 1,000 and beyond.  The latest row's wide values are kept as well (:meth:`History.last`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ibviewer.core.snapshots import SNAPSHOT_BUDGET, Snapshots, is_wide, kept_when_thinned

#: upper bound of the memory a history may take (bytes); the capacity shrinks for wide rows
MEMORY_BUDGET = 200 * 2**20


class History:
    def __init__(self, capacity: int = 20000, memory_budget: int = MEMORY_BUDGET,
                 snapshot_budget: int = SNAPSHOT_BUDGET, snapshot_dtype: Any = np.float64):
        self.requested = int(capacity)
        self.memory_budget = memory_budget
        self.capacity = self.requested
        self.columns: dict[str, np.ndarray] = {}
        self.n = 0
        self.thinned = 0  # how many times the history was thinned
        #: the wide columns' values at some of the rows' steps, and at the latest row (``latest``)
        self.snapshots = Snapshots(self.requested, snapshot_budget, snapshot_dtype)
        self.wide: tuple[str, ...] = ()
        self.latest: dict[str, np.ndarray] = {}
        self.latest_step = -1

    def _allocate(self, row: dict[str, Any]) -> None:
        specs = {k: np.asarray(v) for k, v in row.items()}
        self.wide = tuple(k for k, v in specs.items() if is_wide(v))
        specs = {k: v for k, v in specs.items() if k not in self.wide}
        row_bytes = sum(max(v.size, 1) * 8 for v in specs.values())
        self.capacity = int(max(16, min(self.requested, self.memory_budget // row_bytes)))
        self.columns = {}
        for k, v in specs.items():
            if v.dtype.kind in "iub":
                self.columns[k] = np.zeros((self.capacity,) + v.shape, dtype=np.int64)
            else:
                self.columns[k] = np.full((self.capacity,) + v.shape, np.nan, dtype=np.float64)

    def append(self, row: dict[str, Any]) -> bool:
        """Store a row; returns True when the history thinned itself to make room (stride should double)."""
        if not self.columns:
            self._allocate(row)
        thinned = False
        if self.n == self.capacity:
            self._thin()
            thinned = True
        if self.wide:
            values = {k: np.asarray(row[k]) for k in self.wide if row.get(k) is not None}
            self.latest = {k: np.array(v, dtype=self.snapshots.dtype) for k, v in values.items()}
            self.latest_step = int(row["step"])
            self.snapshots.offer(int(row["step"]), values)
        i = self.n
        for k, col in self.columns.items():
            v = row.get(k)
            if v is None:
                col[i] = np.nan if col.dtype.kind == "f" else 0
            else:
                col[i] = v
        self.n += 1
        return thinned

    def _thin(self) -> None:
        idx = kept_when_thinned(self.capacity, self.n)
        for col in self.columns.values():
            col[: idx.size] = col[idx]
            if col.dtype.kind == "f":
                col[idx.size :] = np.nan
        self.n = idx.size
        self.thinned += 1

    def __len__(self) -> int:
        return self.n

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name][: self.n]

    def keys(self):
        return self.columns.keys()

    def last(self) -> dict[str, np.ndarray]:
        """The latest row, with its wide values."""
        if not self.n:
            return {}
        out = {k: v[self.n - 1] for k, v in self.columns.items()}
        out.update(self.latest)
        return out

    def since(self, start: int) -> dict[str, np.ndarray]:
        """Rows start..n-1 as copies (what a consumer has not seen yet)."""
        return {k: v[start : self.n].copy() for k, v in self.columns.items()}

    def keep_through(self, step: int) -> None:
        """Drop the rows recorded after ``step`` (a run taken back to an earlier state)."""
        if not self.n:
            return
        n = int(np.searchsorted(self["step"], step, side="right"))
        for col in self.columns.values():
            if col.dtype.kind == "f":
                col[n : self.n] = np.nan
        self.n = n
        self.snapshots.keep_through(step)
        if self.latest_step > step:  # the latest row went: its wide values are known again if a snapshot has them
            self.latest, self.latest_step = {}, -1
            last = int(self["step"][-1]) if n else -1
            if n and self.snapshots.step_at(step) == last:
                i = self.snapshots.index(step)
                self.latest = {k: c[i].copy() for k, c in self.snapshots.columns.items()}
                self.latest_step = last

    def as_dict(self) -> dict[str, np.ndarray]:
        return {k: v[: self.n].copy() for k, v in self.columns.items()}

    def index_of_step(self, step: int) -> int:
        """Index of the last row recorded at or before ``step`` (0 if none)."""
        steps = self["step"]
        i = int(np.searchsorted(steps, step, side="right")) - 1
        return max(i, 0)

    @property
    def nbytes(self) -> int:
        """The rows' and the snapshots' memory."""
        return (sum(c.nbytes for c in self.columns.values()) + self.snapshots.nbytes
                + sum(v.nbytes for v in self.latest.values()))

    def scalar_names(self) -> list[str]:
        return [k for k, v in self.columns.items() if v.ndim == 1]
