"""When a run records its metrics: every step for the first ~20 steps, then log-spaced, then every ``stride``.

Metrics cost more than a step, so they are computed at recorded steps only.  The stride is ``run.record_every``,
or automatic (a few percent of the cost, smooth curves), and doubles whenever the bounded history thins itself,
so that the rows stay spread over the whole run.
"""

from __future__ import annotations

from typing import Any

from ibviewer.core.config import Config

#: the automatic recording stride (after the log-spaced early steps): smooth curves at a few percent of the cost
AUTO_STRIDE = 25
#: MLP records (layer spectra, a test-set pass) cost several ms: record them less often
AUTO_STRIDE_MLP = 100


class RecordSchedule:
    """The step of the next record (``next``) and the stride between records (``stride``)."""

    def __init__(self, cfg: Config):
        rec = cfg.run.record_every
        auto = AUTO_STRIDE_MLP if cfg.family == "mlp" else AUTO_STRIDE
        self.stride = rec if rec > 0 else max(auto, cfg.run.steps // 8000)
        self.next = 0

    def recorded(self, step: int, thinned: bool) -> None:
        """A row was recorded at ``step`` (``thinned``: the history halved its rows to make room)."""
        if thinned:
            self.stride *= 2
        self.next = max(step + 1, min((step // self.stride + 1) * self.stride, int(step * 1.05)))

    def state_dict(self) -> dict[str, Any]:
        return {"stride": self.stride, "next_record": self.next}

    @staticmethod
    def checked(state: Any, step: int) -> tuple[int, int]:
        """(stride, next record) of ``state`` for a run at ``step``; a ValueError with one line otherwise.  The
        next record is never behind the run nor more than one stride ahead of it."""
        if not isinstance(state, dict) or set(state) != {"stride", "next_record"}:
            raise ValueError("schedule must be a table with the keys stride, next_record")
        stride, nxt = state["stride"], state["next_record"]
        for name, v in (("stride", stride), ("next_record", nxt)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"schedule.{name} = {v!r} must be an integer")
        if stride < 1:
            raise ValueError(f"schedule.stride = {stride} must be >= 1")
        if not step <= nxt <= step + stride:
            raise ValueError(f"schedule.next_record = {nxt} must lie between the step count {step} and one stride "
                             f"({stride}) beyond it")
        return stride, nxt

    def load_state_dict(self, state: dict[str, Any], step: int) -> None:
        self.stride, self.next = self.checked(state, step)
