"""A preallocated, memory-bounded history of recorded training steps.

Columns are numpy arrays of shape (capacity, *shape), allocated at the first row.  When the history is full it
thins itself: the first quarter of the rows (the early, log-spaced steps) is kept whole and every other later row
is dropped; the engine then doubles its recording stride.  The memory is therefore fixed whatever the number
of steps: a 10^7-step run costs what ``capacity`` rows cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: upper bound of the memory a history may take (bytes); the capacity shrinks for wide rows
MEMORY_BUDGET = 200 * 2**20


class History:
    def __init__(self, capacity: int = 20000, memory_budget: int = MEMORY_BUDGET):
        self.requested = int(capacity)
        self.memory_budget = memory_budget
        self.capacity = self.requested
        self.columns: dict[str, np.ndarray] = {}
        self.n = 0
        self.thinned = 0  # how many times the history was thinned

    def _allocate(self, row: dict[str, Any]) -> None:
        specs = {k: np.asarray(v) for k, v in row.items()}
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
        keep = self.capacity // 4
        idx = np.concatenate([np.arange(keep), np.arange(keep, self.n, 2)])
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
        return {k: v[self.n - 1] for k, v in self.columns.items()} if self.n else {}

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

    def as_dict(self) -> dict[str, np.ndarray]:
        return {k: v[: self.n].copy() for k, v in self.columns.items()}

    def index_of_step(self, step: int) -> int:
        """Index of the last row recorded at or before ``step`` (0 if none)."""
        steps = self["step"]
        i = int(np.searchsorted(steps, step, side="right")) - 1
        return max(i, 0)

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.columns.values())

    def scalar_names(self) -> list[str]:
        return [k for k, v in self.columns.items() if v.ndim == 1]
