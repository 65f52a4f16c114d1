"""The runs the app compares, as the GUI knows them (Qt-free): ids, names, colours, visibility, the selected run,
each run's history mirror, latest snapshot entry, product and reference solutions.

All runs share the problem and train together in the worker (:class:`~ibviewer.live.group.LiveGroup`); the
:class:`RunCollection` is the GUI's side of them.  It keeps the runs the worker last *accepted* so that a
configuration the worker cannot build is rolled back to them (the worker goes on with those), adopts what
the worker reports it built (:meth:`RunCollection.sync`) and merges every snapshot into the mirrors
(:meth:`RunCollection.merge`).  The selected run is the one the controls edit, the heatmap shows and the
recording exports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ibviewer.core.config import OPTIMIZERS, PARAMETRIZATIONS, Config, ConfigError, config_from_dict, set_key
from ibviewer.live.protocol import Ready, RunEntry, RunSpec, Snapshot
from ibviewer.live.series import HistoryMirror

#: run colours (Okabe-Ito, readable on white and on a projector; distinct for colour-blind viewers)
RUN_COLOURS = [
    (0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (230, 159, 0), (86, 180, 233),
    (90, 90, 90), (140, 86, 75),
]

#: what "Add run" may change, with the label shown
CHANGES = (
    ("model.depth", "depth N"),
    ("model.init_scale", "α (initialization scale)"),
    ("optimizer.name", "optimizer"),
    ("optimizer.lr", "learning rate η"),
    ("model.parametrization", "parametrization"),
    ("run.seed", "initialization seed"),
)
SHORT = {"model.depth": "depth", "model.init_scale": "α", "optimizer.name": "", "optimizer.lr": "η",
         "model.parametrization": "", "run.seed": "seed", "model.weight_norm": "weight norm"}

#: the stop statuses of a run (play does not go on by itself)
STOPPED = ("converged", "max_steps", "diverged")


class RunRefused(ValueError):
    """A change to the runs that cannot be made (the last run removed, an empty name); one line."""


@dataclass(eq=False)
class RunView:
    """The GUI's view of one run."""

    id: int
    name: str
    cfg: Config
    colour: tuple[int, int, int]
    visible: bool = True
    mirror: HistoryMirror = field(default_factory=HistoryMirror)
    entry: RunEntry | None = None  # the run's part of the last snapshot
    refs: dict[str, Any] = field(default_factory=dict)
    product: Any = None  # its latest product, when the worker sends it
    said: int | None = None  # the step at which its divergence was reported
    built_step: int = 0  # the step the worker built it at (an opened session's runs go on from theirs)
    events: list[dict[str, Any]] = field(default_factory=list)  # found by the worker from its history
    edits: list[dict[str, Any]] = field(default_factory=list)  # the user's changes, as event markers

    def markers(self) -> tuple[dict[str, Any], ...]:
        """Its event markers and the user's changes, by step."""
        return tuple(sorted(self.events + self.edits, key=lambda m: m["step"]))

    def note_edit(self, label: str, kind: str = "edit") -> dict[str, Any]:
        """Mark a change made now (at the run's current step) with ``label`` ("η = 0.05")."""
        step = self.entry.step if self.entry is not None else self.built_step
        marker = {"step": int(step), "kind": kind, "label": label}
        if self.entry is not None and self.entry.time == self.entry.time:  # not NaN
            marker["time"] = float(self.entry.time)
        self.edits.append(marker)
        return marker


# ================================================================================================ names


def fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def run_label(key: str, value: Any) -> str:
    """A run's name from what tells it apart: 'depth 2', 'α = 0.001', 'adam', 'seed 3'."""
    short = SHORT.get(key, key.split(".", 1)[-1])
    v = fmt_value(value)
    if not short:
        return v
    if short in ("α", "η"):
        return f"{short} = {v}"
    return f"{short} {v}"


#: short names of compared keys (as ibviewer.core.compare names runs: "depth=2, init_scale=0.1")
_KEYS = {"depth": "model.depth", "init_scale": "model.init_scale", "lr": "optimizer.lr", "name": "optimizer.name",
         "parametrization": "model.parametrization", "seed": "run.seed", "weight_norm": "model.weight_norm"}


def pretty_name(name: str) -> str:
    """'depth=2, init_scale=0.1' -> 'depth 2, α = 0.1' (names that are not key=value lists stay)."""
    parts = [p.strip() for p in str(name).split(",")]
    if not parts or not all("=" in p for p in parts):
        return str(name)
    out = []
    for p in parts:
        k, v = (x.strip() for x in p.split("=", 1))
        if k not in _KEYS:
            return str(name)
        if v in ("True", "False"):
            v = "on" if v == "True" else "off"
        out.append(run_label(_KEYS[k], v))
    return ", ".join(out)


def value_of(cfg: Config, key: str) -> Any:
    table, name = key.split(".", 1)
    return getattr(getattr(cfg, table), name)


def suggestions(cfg: Config, key: str) -> list[str]:
    """Values offered for ``key`` in the Add run dialog, the most likely first."""
    v = value_of(cfg, key)
    if key == "model.depth":
        return [str(d) for d in (v + 1, v - 1, 1, 2, 3, 4) if d >= 1 and d != v][:5] or ["2"]
    if key == "model.init_scale":
        return [f"{v * f:g}" for f in (0.1, 10, 0.01, 100)]
    if key == "optimizer.lr":
        return [f"{v * f:g}" for f in (0.5, 2, 0.1, 0.25)]
    if key == "optimizer.name":
        return [o for o in OPTIMIZERS if o != v]
    if key == "model.parametrization":
        return [p for p in PARAMETRIZATIONS.get(cfg.family, ()) if p != cfg.parametrization] or ["auto"]
    if key == "run.seed":
        return [str(v + i) for i in (1, 2, 3)]
    return [fmt_value(v)]


def describe(cfg: Config) -> str:
    o = cfg.optimizer
    size = f"{cfg.model.components} components" if cfg.family == "tensor" else f"depth {cfg.model.depth}"
    return (f"{size}, α = {cfg.model.init_scale:g}, {cfg.parametrization}, {o.name}, "
            f"η = {o.lr:g}, seed {cfg.run.seed}")


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``, ... the first that is not taken."""
    stem, i = name, 2
    while name in taken:
        name, i = f"{stem} ({i})", i + 1
    return name


def free_colour(taken: list[RunView]) -> tuple[int, int, int]:
    """The first run colour no run in ``taken`` has (they cycle when all are used)."""
    used = {r.colour for r in taken}
    return next((c for c in RUN_COLOURS if c not in used), RUN_COLOURS[len(taken) % len(RUN_COLOURS)])


# ================================================================================================ the collection


class RunCollection:
    """The runs on one problem and the selected one.  Every change bumps :attr:`version` (the panels cache
    what they drew of the runs by it).  The collection never talks to the worker: its owner sends the commands
    that go with a change."""

    def __init__(self, runs: list[tuple[str, Config]], selected: int = 0):
        self.runs: list[RunView] = []
        self.selected_id = 0
        self.version = 0
        self.next_id = 0
        self.accepted: list[tuple[int, str, Config]] = []
        self.replace(runs, selected)
        self.accept()

    # ------------------------------------------------------------------------------------------------ access
    def __iter__(self):
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    @property
    def comparing(self) -> bool:
        """Several runs: the panels overlay them, colour-coded."""
        return len(self.runs) > 1

    @property
    def selected(self) -> RunView:
        return next(r for r in self.runs if r.id == self.selected_id)

    @property
    def cfg(self) -> Config:
        """The selected run's configuration (the one the controls show and edit)."""
        return self.selected.cfg

    @cfg.setter
    def cfg(self, value: Config) -> None:
        self.selected.cfg = value

    def by_id(self, rid: int) -> RunView | None:
        return next((r for r in self.runs if r.id == rid), None)

    def index_of_selected(self) -> int:
        return next((i for i, r in enumerate(self.runs) if r.id == self.selected_id), 0)

    def specs(self) -> tuple[RunSpec, ...]:
        """What the worker is asked to build."""
        return tuple(RunSpec(r.id, r.name, r.cfg.to_dict()) for r in self.runs)

    def selected_step(self) -> int:
        """The selected run's step (before its first snapshot entry: the last recorded one, else the step the
        worker built it at)."""
        run = self.selected
        if run.entry is None:
            return int(run.mirror["step"][-1]) if run.mirror.n else run.built_step
        return int(run.entry.step)

    def all_stopped(self) -> bool:
        """Every run has reported a stop status (converged, finished, diverged)."""
        return all(r.entry is not None and r.entry.status in STOPPED for r in self.runs)

    # ------------------------------------------------------------------------------------------------ whole sets
    def replace(self, runs: list[tuple[str, Config]], selected: int = 0) -> None:
        """New runs (fresh ids and colours, empty histories); ``selected`` is an index."""
        if not runs:
            raise RunRefused("a comparison needs at least one run")
        fresh: list[RunView] = []
        for name, cfg in runs:
            fresh.append(RunView(self.next_id, pretty_name(name), cfg, free_colour(fresh)))
            self.next_id += 1
        self._adopt(fresh, fresh[min(max(int(selected), 0), len(fresh) - 1)].id)

    def _adopt(self, runs: list[RunView], selected_id: int | None = None) -> None:
        """``runs`` become the collection; the selected run is ``selected_id`` (or stays), else the first."""
        self.runs = runs
        if selected_id is not None:
            self.selected_id = int(selected_id)
        if self.by_id(self.selected_id) is None:
            self.selected_id = runs[0].id
        self.version += 1

    def accept(self) -> None:
        """The worker runs these now: a later configuration it refuses rolls back to them."""
        self.accepted = [(r.id, r.name, r.cfg.copy()) for r in self.runs]

    def rollback(self) -> None:
        """Back to the runs the worker last accepted (ids, names and configs; colours kept where they can be)."""
        old = {r.id: r for r in self.runs}
        runs: list[RunView] = []
        for rid, name, cfg in self.accepted:
            r = old.get(rid) or RunView(rid, name, cfg, free_colour(runs))
            r.name, r.cfg = name, cfg.copy()
            runs.append(r)
        self._adopt(runs)

    def accepted_cfg(self, rid: int) -> Config | None:
        """The accepted config of run ``rid`` (live changes are written into it: the worker has them)."""
        return next((c for i, _, c in self.accepted if i == rid), None)

    def sync(self, ready: Ready) -> None:
        """The runs the worker built: configs, names and references as it has them; histories start empty."""
        old = {r.id: r for r in self.runs}
        runs: list[RunView] = []
        for item in ready.runs:
            cfg = config_from_dict(item.cfg)
            r = old.get(item.id)
            if r is None:
                r = RunView(int(item.id), str(item.name), cfg, free_colour(runs))
            r.cfg, r.name = cfg, str(item.name)
            r.refs = dict(item.refs)
            r.built_step = int(item.step)
            r.mirror.clear()
            r.mirror.init_scale = float(cfg.model.init_scale)  # the rescaled time axis divides by ln(1/α)
            r.entry = None
            r.product = None
            runs.append(r)
        self.next_id = max(self.next_id, max(r.id for r in runs) + 1)
        self._adopt(runs, ready.selected)

    def merge(self, snap: Snapshot) -> tuple[RunEntry | None, bool]:
        """Every entry's rows into its run's mirror; returns the selected run's entry (None if the snapshot
        has none for it) and whether any history was replaced (the panels then draw from scratch)."""
        replaced = False
        own = None
        for en in snap.runs:
            r = self.by_id(en.id)
            if r is None:
                continue
            r.mirror.update(en.rows, en.replace, en.tail)
            r.entry = en
            if en.events is not None:
                r.events = list(en.events)
            if en.product is not None:
                r.product = en.product
            replaced = replaced or bool(en.replace)
            if r.id == self.selected_id:
                own = en
        return own, replaced

    def clear_histories(self) -> None:
        for r in self.runs:
            r.mirror.clear()

    # ------------------------------------------------------------------------------------------------ one run
    def add(self, key: str, value: Any, name: str | None = None) -> RunView:
        """A copy of the selected run with ``key`` set to ``value`` (a unique name, a free colour).  Raises
        ConfigError (and changes nothing) for a problem key, a refused value or the value it has already."""
        if key.startswith("problem."):
            raise ConfigError(f"{key}: runs of a comparison share the problem; change the model, optimizer or seed")
        base = self.selected
        cfg = base.cfg.copy()
        set_key(cfg, key, value)
        cfg.validate()
        new_value = value_of(cfg, key)
        if new_value == value_of(base.cfg, key):
            raise ConfigError(f"{key} is {new_value} already; choose another value")
        if len(self.runs) == 1 and base.name == "run":
            base.name = run_label(key, value_of(base.cfg, key))  # name the first run by what tells it apart
        name = unique_name(name or run_label(key, new_value), {r.name for r in self.runs})
        run = RunView(self.next_id, name, cfg, free_colour(self.runs))
        self.next_id += 1
        self.runs.append(run)
        self.version += 1
        return run

    def remove(self, rid: int) -> RunView | None:
        """Drop run ``rid`` (None if there is none); the selection moves to the first run when it was the
        selected one.  Raises RunRefused for the last run."""
        run = self.by_id(rid)
        if run is None:
            return None
        if len(self.runs) == 1:
            raise RunRefused("the last run cannot be removed; open another preset or configuration instead")
        self.runs.remove(run)
        self.accepted = [s for s in self.accepted if s[0] != rid]
        if rid == self.selected_id:
            self.selected_id = self.runs[0].id
        self.version += 1
        return run

    def rename(self, rid: int, name: str) -> bool:
        """Run ``rid`` takes ``name`` (runs of white space become one space); False when nothing changes.
        Raises RunRefused for an empty name."""
        run = self.by_id(rid)
        name = " ".join(str(name).split())
        if run is None or name == run.name:
            return False
        if not name:
            raise RunRefused("a run needs a name")
        run.name = name
        self.version += 1
        return True

    def rename_for(self, run: RunView, key: str, old: Any) -> bool:
        """A run named after ``key``'s old value (``old``) takes the name of the value it has now."""
        short = key.split(".", 1)[1]
        if run.name in {run_label(key, old), f"{short}={old}"}:
            new = run_label(key, value_of(run.cfg, key))
            if new != run.name:
                run.name = new
                self.version += 1
                return True
        return False

    def select(self, rid: int) -> bool:
        """Run ``rid`` becomes the selected one; False when it is already, or there is no such run."""
        if self.by_id(rid) is None or rid == self.selected_id:
            return False
        self.selected_id = int(rid)
        return True

    def set_visible(self, rid: int, visible: bool) -> bool:
        run = self.by_id(rid)
        if run is None or run.visible == bool(visible):
            return False
        run.visible = bool(visible)
        self.version += 1
        return True


def entry_view(snap: Snapshot, entry: RunEntry | None, product: Any = None) -> dict[str, Any]:
    """A snapshot as one run sees it, the dict the panels draw from: that run's entry (``step``, ``loss``,
    ``status``, ``product`` ...) with the snapshot's ``seq``, ``gen``, ``rate``, ``playing``, ``pending``,
    ``selected`` and every run's entry in ``runs``.  ``product`` stands in when the entry carries none."""
    entry = entry if entry is not None else snap.lead
    view = {k: getattr(entry, k) for k in RunEntry.__dataclass_fields__}
    if view["product"] is None and product is not None:
        view["product"] = product
    view.update(seq=snap.seq, gen=snap.gen, rate=snap.rate, playing=snap.playing, pending=snap.pending,
                selected=snap.selected, runs=snap.runs, sent_at=snap.sent_at)
    return view
