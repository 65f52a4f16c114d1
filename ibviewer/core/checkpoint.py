"""The last finite state of a run, so that a diverged run can go on from it.

A run diverges when its loss or parameters blow up; the lecturer then lowers the learning rate and wants to see
the same run go on, not start again.  The engine keeps a copy of its parameters, counters, record schedule and
minibatch sampler at every recorded row (the rows are where the loss and the parameters are checked finite), and
:meth:`ibviewer.core.engine.Engine.rewind` takes the run back there: the history loses the rows after it (the
blow-up), the optimizer starts afresh (its moments were built on the way to the blow-up) and the settings are
the ones the run has now, so a learning rate lowered after the divergence applies.

The copy costs one pass over the parameters per record; beyond :data:`MAX_ENTRIES` parameters none is kept
(a diverged run of that size can only be reset).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ibviewer.core.ops import to_numpy

if TYPE_CHECKING:
    from ibviewer.core.engine import Engine

#: parameters with more entries than this are not copied at every record (16 MB of float64)
MAX_ENTRIES = 2_000_000


def _entries(p) -> int:
    """Entries of a numpy array or a torch tensor."""
    return int(p.numel()) if hasattr(p, "numel") else int(np.size(p))


class LastGood:
    """The state of an engine at its last recorded (finite) row, or None."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None

    @property
    def step(self) -> int | None:
        """The step it holds (None: nothing kept)."""
        return None if self.state is None else int(self.state["step"])

    def clear(self) -> None:
        self.state = None

    def take(self, e: Engine) -> None:
        """Keep ``e``'s state now (called with each recorded row of a run that has not diverged)."""
        if sum(_entries(p) for p in e.params) > MAX_ENTRIES:
            self.state = None
            return
        self.state = {
            "params": [np.array(to_numpy(p)) for p in e.params],
            "step": e.step_count,
            "time": e.time,
            "schedule": e.schedule.state_dict(),
            "sampler": e.sampler.state_dict(),
        }

    def restore(self, e: Engine) -> bool:
        """Put ``e`` back in the kept state (see the module's docstring); False when nothing is kept or the
        parameters' shapes have changed since."""
        s = self.state
        if s is None or [p.shape for p in s["params"]] != [tuple(p.shape) for p in e.params]:
            return False
        e.params[:] = [e.lib.array(p.copy()) for p in s["params"]]
        e.step_count, e.time = int(s["step"]), float(s["time"])
        e.schedule.load_state_dict(s["schedule"], e.step_count)
        e.sampler.load_state_dict(s["sampler"])
        e.optimizer.state, e.optimizer.t = None, 0
        e.history.keep_through(e.step_count)
        return True
