"""The messages between the GUI and the training worker: one frozen dataclass per command and per message.

Both ends exchange these objects over :mod:`multiprocessing` pipes (they pickle), so a command carries its
fields by name instead of by position, and the worker dispatches on the type (``match``) rather than on a
string and a tuple length.  The module is Qt-free and numpy-free: the worker process imports it first.

Commands (GUI → worker): :class:`Play` :class:`Pause` :class:`Step` :class:`Speed` :class:`Ack` :class:`Quit`
:class:`Runs` :class:`Reset` :class:`SetOptimizer` :class:`SetMaxSteps` :class:`SetLossTol` :class:`Select`
:class:`RemoveRun` :class:`Rename` :class:`SaveSession` :class:`OpenSession`.

Messages (worker → GUI): :class:`Ready` :class:`Snapshot` (of :class:`RunEntry`) :class:`Error`
:class:`ConfigError` :class:`Session` :class:`SessionError` :class:`Saved` :class:`Fatal`.

``gen`` numbers the configurations the GUI sent: a Ready, a Snapshot, a ConfigError or a Session carries the
generation of the runs it comes from, so that the GUI drops what belongs to runs it has already replaced.
Backpressure: at most one Snapshot is in flight; the worker sends the next one after the GUI's ``Ack(seq)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# ================================================================================================ commands


@dataclass(frozen=True)
class RunSpec:
    """One run the GUI asks for: its id (stable while it lives), its name and its config as a dict."""

    id: int
    name: str
    cfg: dict[str, Any]


@dataclass(frozen=True)
class Play:
    """Train until paused (or until every run has stopped)."""


@dataclass(frozen=True)
class Pause:
    """Stop training (and drop what is left of a Step)."""


@dataclass(frozen=True)
class Step:
    """Take ``n`` steps, then pause."""

    n: int


@dataclass(frozen=True)
class Speed:
    """Steps per frame at about 30 frames a second; 0 = as fast as possible."""

    steps_per_frame: int


@dataclass(frozen=True)
class Ack:
    """The GUI has drawn snapshot ``seq``: the worker may send the next one."""

    seq: int


@dataclass(frozen=True)
class Quit:
    """End the worker process."""


@dataclass(frozen=True)
class Runs:
    """Build these runs on one problem, all from step 0 (unchanged engines are reused), as generation ``gen``;
    ``selected``: the id of the run that leads every snapshot (None: the first)."""

    specs: tuple[RunSpec, ...]
    gen: int
    selected: int | None = None


@dataclass(frozen=True)
class Reset:
    """Every run back to step 0; ``seed`` (if given) becomes run ``run_id``'s (None: the selected run's)."""

    seed: int | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class Continue:
    """Every diverged run goes on from its last finite state with the settings it has now
    (:meth:`ibviewer.core.engine.Engine.rewind`); the others are left as they are."""


@dataclass(frozen=True)
class SetOptimizer:
    """Live optimizer settings (``{"lr": 0.1}``, ``{"name": "adam"}``) for run ``run_id`` (None: selected)."""

    values: dict[str, Any]
    run_id: int | None = None


@dataclass(frozen=True)
class SetMaxSteps:
    """``run.steps`` of every run."""

    steps: int


@dataclass(frozen=True)
class SetLossTol:
    """``run.loss_tol`` of every run."""

    tol: float


@dataclass(frozen=True)
class Select:
    """The run that leads every snapshot (its product is always sent)."""

    run_id: int


@dataclass(frozen=True)
class RemoveRun:
    """Drop a run (not the last one); the others go on where they are."""

    run_id: int


@dataclass(frozen=True)
class Rename:
    run_id: int
    name: str


@dataclass(frozen=True)
class SaveSession:
    """Write every run and ``view`` to ``path``; ``names``: the runs' names as the GUI shows them."""

    path: str
    names: tuple[str, ...] | None = None
    view: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OpenSession:
    """Replace the runs by a session file's, as generation ``gen``."""

    path: str
    gen: int


Command = (Play | Pause | Step | Speed | Ack | Quit | Runs | Reset | Continue | SetOptimizer | SetMaxSteps
           | SetLossTol | Select | RemoveRun | Rename | SaveSession | OpenSession)

# ================================================================================================ messages


@dataclass(frozen=True)
class ReadyRun:
    """One run as the worker built it."""

    id: int
    name: str
    cfg: dict[str, Any]
    parametrization: str
    refs: dict[str, Any]
    step: int


@dataclass(frozen=True)
class Ready:
    """The runs of generation ``gen`` are built.  ``problem``: the static arrays the panels draw against
    (target, references, data, support; see :func:`ibviewer.live.worker.problem_info`) for the selected run."""

    gen: int
    selected: int
    problem: dict[str, Any]
    runs: tuple[ReadyRun, ...]

    def info(self) -> dict[str, Any]:
        """``problem`` with ``gen`` and ``selected``: the dict the panels receive with ``set_info``."""
        return dict(self.problem, gen=self.gen, selected=self.selected)


@dataclass(frozen=True)
class RunEntry:
    """One run's part of a snapshot: its new history rows (all of them when ``replace``), its counters and,
    when sent, its product.  ``tail``: a provisional row of the current metrics when paused between recorded
    steps."""

    id: int
    name: str
    step: int
    time: float
    status: str
    message: str
    loss: float
    wall: float
    replace: bool
    rows: dict[str, Any]
    tail: dict[str, Any] | None
    product: Any
    lr: float
    optimizer: str
    seed: int
    #: the run's event markers (:func:`ibviewer.core.events.events`), when they changed since the last entry
    events: tuple[dict[str, Any], ...] | None = None
    #: a diverged run: the step it can go on from (:class:`Continue`); -1 when it cannot
    resume_step: int = -1


@dataclass(frozen=True)
class Snapshot:
    """Progress of every run since the last snapshot; ``selected`` names the entry that leads."""

    seq: int
    gen: int
    rate: float
    playing: bool
    pending: int
    selected: int
    runs: tuple[RunEntry, ...]
    sent_at: float

    @property
    def lead(self) -> RunEntry:
        """The selected run's entry (the first when it is not among them)."""
        return next((e for e in self.runs if e.id == self.selected), self.runs[0])


@dataclass(frozen=True)
class Error:
    """A command was refused (one line); the runs go on unchanged."""

    text: str


@dataclass(frozen=True)
class ConfigError:
    """The runs of generation ``gen`` cannot be built (one line).  ``kept``: the worker had runs and keeps them,
    where they stood, under generation ``gen`` (a Ready for them follows, and their histories are sent again
    whole): a refused edit changes nothing.  Without ``kept`` there are no runs until valid ones are sent."""

    text: str
    gen: int
    kept: bool = False


@dataclass(frozen=True)
class Session:
    """A session file was opened (its Ready came first): its path, the view it saved, its format version."""

    path: str
    gen: int
    view: dict[str, Any]
    version: int


@dataclass(frozen=True)
class SessionError:
    """A session cannot be opened (``gen``: the generation it was to be) or saved (``gen`` None)."""

    text: str
    gen: int | None = None


@dataclass(frozen=True)
class Saved:
    """A session file was written at step ``step``."""

    path: str
    step: int


@dataclass(frozen=True)
class Fatal:
    """An unexpected exception (its traceback); the worker exits."""

    traceback: str


Message = Ready | Snapshot | Error | ConfigError | Session | SessionError | Saved | Fatal
