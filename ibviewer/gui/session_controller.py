"""The app's live state and its conversation with the training worker, apart from any widget.

:class:`SessionController` owns the :class:`~ibviewer.gui.client.WorkerClient`, the
:class:`~ibviewer.live.runs.RunCollection`, the configuration generations, the snapshot acknowledgements
(throttled to ``max_fps``, sent after the frame was drawn) and the debounce of configuration changes; it opens
and saves session files (rolling back a failed open).  It says what happened through signals; the window
(or a test) draws, and shows the messages.  Decisions about an edited setting are the Qt-free
:func:`ibviewer.live.policy.apply_edit`'s.

Generations: every set of runs the controller sends gets a new number; a Ready, a Snapshot, a ConfigError or a
Session of an older generation belongs to runs that were replaced and is dropped.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ibviewer.core.config import Config, ConfigError, build_config
from ibviewer.gui.client import WorkerClient
from ibviewer.live import protocol as msg
from ibviewer.live.markers import change_label, mark_change, mark_continued, mark_restart
from ibviewer.live.policy import Edit, apply_edit
from ibviewer.live.runs import RunCollection, RunRefused, RunView, entry_view

#: session files
SESSION_SUFFIX = ".ibvs"
#: the worker's stop statuses as the status bar says them
STATUS_TEXT = {"converged": "converged", "max_steps": "finished", "diverged": "diverged"}
#: debounce of configuration edits: typing a number rebuilds the runs once, not at every keystroke
CONFIG_DEBOUNCE_MS = 350


class SessionController(QObject):
    """Runs, worker and session files.  Public state: ``runs`` (a RunCollection), ``gen``, ``info`` (what the
    panels draw against, for the selected run), ``last_snap`` (the latest snapshot as the selected run sees
    it), ``worker_ready``, ``worker_dead``, ``playing``, ``speed``, ``preset``."""

    #: the runs of the current generation are built: the selected run's info (panels ``set_info`` it)
    ready = Signal(object)
    #: a snapshot was merged into the mirrors: its view for the selected run, and whether a history was
    #: replaced (the panels then draw from scratch).  The acknowledgement follows once the slots returned.
    snapshot_merged = Signal(object, bool)
    #: the runs or the selected run's config changed (list, controls, title, panel layout follow)
    runs_changed = Signal()
    #: one run's name or visibility changed (its line in the list; the plots)
    run_updated = Signal(int)
    #: another run is selected
    selection_changed = Signal(int)
    #: the histories were cleared or a run removed: the panels reset and draw again
    panels_stale = Signal()
    #: the selected run's stop status is no longer known (reset, new seed, new runs)
    status_reset = Signal()
    #: play/pause state as the GUI knows it
    playing_changed = Signal(bool)
    #: the worker's state in words, and a colour for it
    worker_status = Signal(str, str)
    #: one-line messages for the user
    error = Signal(str)
    info_message = Signal(str)
    #: the worker ended unexpectedly (the reason)
    died = Signal(str)
    #: loss tolerance of every run changed (the loss panel draws it)
    loss_tol_changed = Signal(float)
    #: a session file was opened (path, its saved view) / written (path, step)
    session_opened = Signal(str, object)
    session_saved = Signal(str, int)

    def __init__(self, runs: list[tuple[str, Config]], *, selected: int = 0, speed: int = 0,
                 max_fps: float = 30.0, preset: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.runs = RunCollection(runs, selected)
        self.preset = preset
        self.speed = int(speed)
        self.min_interval = 1.0 / max_fps if max_fps > 0 else 0.0
        self.gen = 0
        self.base_info: dict[str, Any] = {}
        self.info: dict[str, Any] = {}
        self.worker_ready = False
        self.worker_dead = False
        self.playing = False
        self.last_snap: dict[str, Any] | None = None
        self.snap_count = 0
        self.closed = False
        self._session_open: tuple[int, int, str] | None = None  # (gen, gen before, path) while one opens
        self._restart_label: str | None = None  # what the next runs restart for (their first marker)
        self._kept_gen: int | None = None  # a generation the worker answered by keeping its runs
        self._ack_seq: int | None = None
        self._last_ack = 0.0

        self.client = WorkerClient(self)
        self.client.ready.connect(self._on_ready)
        self.client.snapshot.connect(self._on_snapshot)
        self.client.error.connect(self.error)
        self.client.config_error.connect(self._on_config_error)
        self.client.died.connect(self._on_died)
        self.client.session.connect(self._on_session)
        self.client.session_error.connect(self._on_session_error)
        self.client.saved.connect(self.session_saved)
        self._ack_timer = QTimer(self)
        self._ack_timer.setSingleShot(True)
        self._ack_timer.timeout.connect(self._send_ack)
        self._config_timer = QTimer(self)
        self._config_timer.setSingleShot(True)
        self._config_timer.setInterval(CONFIG_DEBOUNCE_MS)
        self._config_timer.timeout.connect(self.send_config)

    # ================================================================================================ state
    @property
    def cfg(self) -> Config:
        """The selected run's configuration (the one the controls show and edit)."""
        return self.runs.cfg

    @property
    def comparing(self) -> bool:
        return self.runs.comparing

    @property
    def mirror(self):
        """The selected run's history mirror."""
        return self.runs.selected.mirror

    def run_info(self, run: RunView | None) -> dict[str, Any]:
        """The problem's info with ``run``'s own config and references (what the panels draw against)."""
        info = dict(self.base_info)
        if run is not None:
            info.update(cfg=run.cfg.to_dict(), refs=run.refs, parametrization=run.cfg.parametrization,
                        family=run.cfg.family, selected=run.id)
        return info

    def config_pending(self) -> bool:
        """An edit waits for its debounce before the runs are sent again."""
        return self._config_timer.isActive()

    # ================================================================================================ worker life
    def start(self, session: str | None = None, play: bool = False) -> None:
        """Start the worker with the runs (or a session file, the runs being the fallback)."""
        options: dict[str, Any] = {"gen": self.gen, "speed": self.speed, "runs": self.runs.specs(),
                                   "selected": self.runs.selected_id}
        if session:
            self._session_open = (self.gen, self.gen, str(session))
            options["session"] = str(session)
        self.client.start(self.cfg.to_dict(), options)
        self.worker_status.emit("starting the training worker…", "#8a6d00")
        if play:
            self.client.send(msg.Play())
            self._set_playing(True)

    @Slot()
    def restart_worker(self) -> None:
        self._new_generation()
        self.worker_dead = False
        self._ack_seq = None
        self.start()
        self.panels_stale.emit()

    def shutdown(self) -> None:
        """Stop the timers, the worker and its reader thread (idempotent)."""
        self.closed = True
        self._ack_timer.stop()
        self._config_timer.stop()
        self.client.stop()

    def _new_generation(self) -> None:
        """A new config generation: what the worker sends for older ones is dropped, the mirrors start empty."""
        self.gen += 1
        self.worker_ready = False
        self.runs.clear_histories()
        self.last_snap = None
        self.status_reset.emit()

    def _set_playing(self, playing: bool) -> None:
        self.playing = bool(playing)
        self.playing_changed.emit(self.playing)

    # ================================================================================================ messages
    @Slot(object)
    def _on_ready(self, ready: msg.Ready) -> None:
        if ready.gen != self.gen:
            return
        self.base_info = ready.info()
        self.runs.sync(ready)
        if self._kept_gen != ready.gen:
            mark_restart(self.runs, self._restart_label)
        self._restart_label = None
        self.info = self.run_info(self.runs.selected)
        self.worker_ready = True
        self.worker_dead = False
        self.runs.accept()
        self.last_snap = None
        self.runs_changed.emit()
        self.ready.emit(self.info)
        p = ready.problem
        backend = p.get("backend", "")
        label = f"worker ready ({backend})" if backend else "worker ready"
        if p.get("n_params"):
            # overparameterization at a glance: trainable parameters against training data
            label = f"{p['n_params']:,} parameters vs n = {p['n_samples']:,}  ·  {label}"
        self.worker_status.emit(label, "#1a7f37")

    @Slot(object)
    def _on_snapshot(self, snap: msg.Snapshot) -> None:
        self._ack_seq = snap.seq
        if snap.gen == self.gen and not self.closed:
            own, replaced = self.runs.merge(snap)
            self.last_snap = entry_view(snap, own)
            self.snap_count += 1
            self._set_playing(snap.playing)
            if self.comparing:
                self._note_other_runs()
            self.snapshot_merged.emit(self.last_snap, replaced)
        # acknowledge after this frame is painted, at most max_fps times a second
        wait = max(0.0, self._last_ack + self.min_interval - time.monotonic())
        self._ack_timer.start(int(wait * 1000))

    @Slot()
    def _send_ack(self) -> None:
        if self._ack_seq is not None:
            self._last_ack = time.monotonic()
            self.client.ack(self._ack_seq)
            self._ack_seq = None

    def _note_other_runs(self) -> None:
        """With several runs: say once when a run other than the selected one diverges."""
        for r in self.runs:
            en = r.entry
            if en is None or r.id == self.runs.selected_id:
                continue
            if en.status == "diverged" and r.said != en.step:
                r.said = en.step
                self.error.emit(f"run '{r.name}': {en.message}")
            elif en.status != "diverged":
                r.said = None

    @Slot(str, int, bool)
    def _on_config_error(self, text: str, gen: int, kept: bool) -> None:
        if gen != self.gen:
            return
        self.runs.rollback()
        self.runs_changed.emit()
        self._restart_label = None
        if kept:
            self._kept_gen = gen
            # the worker goes on with the runs it had, where they stood (a Ready and their histories follow)
            self.error.emit(f"{text}; nothing was changed")
        else:
            self.error.emit(f"{text} (the previous settings were restored)")
            self.send_config()

    @Slot(str)
    def _on_died(self, reason: str) -> None:
        if self.closed:
            return
        self.worker_ready = False
        self.worker_dead = True
        self._set_playing(False)
        self.worker_status.emit("worker stopped", "#b00020")
        self.died.emit(reason)

    # ================================================================================================ run actions
    def play_status(self) -> str | None:
        """The selected run's stop status, when every run has stopped (else None: play goes on)."""
        if self.last_snap is None:
            return None
        if self.comparing and not self.runs.all_stopped():
            return None
        return self.last_snap["status"]

    def play(self) -> None:
        status = self.play_status()
        if status == "diverged":
            again = "lower η and press C to go on, or R to reset" if self.last_snap.get("resume_step", -1) >= 0 \
                else "press R to reset"
            self.info_message.emit(f"the run has stopped ({self.last_snap['message']}); {again}")
            return
        if status in ("converged", "max_steps"):
            # the worker goes on if max steps or the loss tolerance were changed, else it stays paused
            hint = "raise max steps" if status == "max_steps" else "lower the loss tolerance"
            self.info_message.emit(
                f"{STATUS_TEXT[status]}: {self.last_snap['message']}; {hint} to go on, or press R to reset")
            self.client.send(msg.Play())
            return
        self._set_playing(True)
        self.client.send(msg.Play())

    def pause(self) -> None:
        self._set_playing(False)
        self.client.send(msg.Pause())

    def step(self, n: int) -> None:
        """``n`` steps, then paused."""
        self._set_playing(False)
        self.client.send(msg.Step(int(n)))

    def reset(self) -> None:
        """Every run back to step 0 with its seed."""
        self._set_playing(False)
        self.status_reset.emit()
        mark_restart(self.runs, None)
        self.client.send(msg.Reset())

    def continue_runs(self) -> bool:
        """Diverged runs go on from their last finite state (False, with a note, when none can)."""
        refusal = mark_continued(self.runs)
        if refusal:
            self.info_message.emit(refusal)
            return False
        self._set_playing(False)
        self.status_reset.emit()
        self.client.send(msg.Continue())
        return True

    def new_seed(self, seed: int | None = None) -> int:
        """The selected run gets a new initialization seed (random by default); every run restarts."""
        seed = random.randrange(1, 100000) if seed is None else int(seed)
        run = self.runs.selected
        run.cfg.run.seed = seed
        accepted = self.runs.accepted_cfg(run.id)
        if accepted is not None:
            accepted.run.seed = seed
        self.runs_changed.emit()
        self._set_playing(False)
        self.status_reset.emit()
        mark_restart(self.runs, change_label("run.seed", seed))
        self.client.send(msg.Reset(seed, run.id))
        together = " (all runs restart together)" if self.comparing else ""
        self.info_message.emit(f"new initialization seed {seed}: the run was reset" + together)
        return seed

    def set_speed(self, steps_per_frame: int) -> None:
        self.speed = int(steps_per_frame)
        self.client.send(msg.Speed(self.speed))

    # ================================================================================================ config
    def edit(self, key: str, value: Any) -> Edit | None:
        """An edited setting of the selected run (see :mod:`ibviewer.live.policy`).  A refused value gives one
        line and changes nothing (None)."""
        try:
            edit = apply_edit(self.runs, key, value)
        except ConfigError as exc:
            self.error.emit(str(exc))
            self.runs_changed.emit()  # the controls show the config as it is again
            return None
        for command in edit.commands:
            self.client.send(command)
        self._restart_label = mark_change(self.runs, edit.kind, key, value)
        if edit.kind == "live":
            if edit.renamed:
                self.run_updated.emit(self.runs.selected_id)
        elif edit.kind == "limits":
            if key == "run.loss_tol":
                self.loss_tol_changed.emit(float(self.cfg.run.loss_tol))
            self.status_reset.emit()
        elif edit.kind == "reseed":
            self._set_playing(False)
            self.status_reset.emit()
            if edit.renamed:
                self.run_updated.emit(self.runs.selected_id)
        else:
            self.preset = None
            self.runs_changed.emit()
            if edit.at_once:
                self.send_config()
            else:
                self._config_timer.start()
        if edit.note:
            self.info_message.emit(edit.note)
        return edit

    @Slot()
    def send_config(self) -> None:
        """Send the runs (a new generation): they restart together from step 0."""
        self._config_timer.stop()
        self._new_generation()
        self._set_playing(False)
        self.client.send(msg.Runs(self.runs.specs(), self.gen, self.runs.selected_id))
        self.panels_stale.emit()

    def apply_runs(self, runs: list[tuple[str, Config]], note: str = "", preset: str | None = None,
                   selected: int = 0) -> None:
        """Replace the runs (a preset's, a file's): they start together from step 0."""
        self.runs.replace(runs, selected)
        self.preset = preset
        self._restart_label = None  # new runs, not a change to mark
        self.runs_changed.emit()
        self.send_config()
        if note:
            self.info_message.emit(note)

    def load_preset(self, name: str) -> Config | None:
        """A preset with all the runs it compares; returns the preset's own config (None when refused)."""
        from ibviewer.core.compare import preset_runs

        try:
            base = build_config(preset=name)
            runs = preset_runs(name)
        except ConfigError as exc:
            self.error.emit(str(exc))
            return None
        # the controls edit the run that is the preset's own config (else the first)
        base_d = base.to_dict()
        selected = next((i for i, (_, c) in enumerate(runs) if c.to_dict() == base_d), 0)
        what = f"{len(runs)} runs restart" if len(runs) > 1 else "the run restarts"
        self.apply_runs(runs, f"preset '{name}' loaded: {what}", preset=name, selected=selected)
        return base

    # ================================================================================================ runs
    def select(self, rid: int) -> bool:
        """The run the controls edit, the heatmap shows and the recording exports; False if nothing changed."""
        if not self.runs.select(rid):
            return False
        self._selection_moved()
        return True

    def _selection_moved(self) -> None:
        """Another run is the selected one: its info, its view of the last snapshot; the worker is told."""
        run = self.runs.selected
        rid = run.id
        self.info = self.run_info(run)
        self.client.send(msg.Select(rid))
        if self.last_snap is not None and run.entry is not None:
            view = dict(self.last_snap)
            view.update({k: getattr(run.entry, k) for k in msg.RunEntry.__dataclass_fields__})
            view["product"] = run.product
            self.last_snap = view
        self.status_reset.emit()
        if self.comparing:
            self._note_other_runs()
        self.selection_changed.emit(rid)

    def set_visible(self, rid: int, visible: bool) -> bool:
        if not self.runs.set_visible(rid, visible):
            return False
        self.run_updated.emit(rid)
        self.panels_stale.emit()
        return True

    def rename(self, rid: int, name: str) -> bool:
        try:
            changed = self.runs.rename(rid, name)
        except RunRefused as exc:
            self.runs_changed.emit()  # the list shows the name it had
            self.error.emit(str(exc))
            return False
        if changed:
            run = self.runs.by_id(rid)
            self.client.send(msg.Rename(rid, run.name))
            self.run_updated.emit(rid)
        return changed

    def add_run(self, key: str, value: Any, name: str | None = None) -> RunView | None:
        """A copy of the selected run with ``key`` set to ``value``; every run restarts from step 0 (they train
        together).  Returns the new run, or None (with a one-line message) when the value is refused."""
        try:
            run = self.runs.add(key, value, name)
        except ConfigError as exc:
            self.error.emit(str(exc))
            return None
        self.runs_changed.emit()
        self.send_config()
        self.info_message.emit(f"run '{run.name}' added: {len(self.runs)} runs restart together from step 0")
        return run

    def remove_run(self, rid: int) -> bool:
        """Drop a run (the others go on where they are)."""
        was_selected = rid == self.runs.selected_id
        try:
            run = self.runs.remove(rid)
        except RunRefused as exc:
            self.error.emit(str(exc))
            return False
        if run is None:
            return False
        self.client.send(msg.RemoveRun(rid))
        if was_selected:
            self._selection_moved()
        self.runs_changed.emit()
        self.panels_stale.emit()
        self.info_message.emit(f"run '{run.name}' removed")
        return True

    # ================================================================================================ sessions
    def save_session(self, path: str | Path, view: dict[str, Any]) -> bool:
        """Ask the worker to write every run (config, state, history) and ``view`` to ``path`` (.ibvs),
        atomically; ``session_saved`` follows (or a one-line error)."""
        path = Path(path)
        if path.suffix != SESSION_SUFFIX:
            path = path.with_name(path.name + SESSION_SUFFIX)
        if not path.parent.is_dir():
            self.error.emit(f"cannot save the session: the folder {str(path.parent)!r} does not exist")
            return False
        if self.worker_dead or self.client.process is None:
            self.error.emit("cannot save the session: the training worker is not running")
            return False
        self.client.send(msg.SaveSession(str(path), tuple(r.name for r in self.runs), view))
        return True

    def open_session(self, path: str | Path) -> bool:
        """Open a session: its runs continue where they stopped, its view comes back.  A bad file leaves the
        current runs as they are and says why in one line."""
        path = Path(path)
        if not path.is_file():
            self.error.emit(f"session file {str(path)!r} does not exist")
            return False
        before = self.gen
        self.gen += 1
        self._session_open = (self.gen, before, str(path))
        self.worker_ready = False
        self._config_timer.stop()
        self.client.send(msg.OpenSession(str(path), self.gen))
        self.worker_status.emit(f"opening {path.name}…", "#8a6d00")
        return True

    @Slot(object)
    def _on_session(self, session: msg.Session) -> None:
        if session.gen != self.gen:
            return
        self._session_open = None
        view = dict(session.view or {})
        self.preset = view.get("preset") if isinstance(view.get("preset"), str) else None
        self.session_opened.emit(session.path, view)

    @Slot(str, int)
    def _on_session_error(self, text: str, gen: int) -> None:
        if self._session_open is not None and gen == self._session_open[0]:
            # the worker kept the runs it had (and their generation): listen to them again
            self.gen = self._session_open[1]
            self._session_open = None
            self.worker_ready = self.client.is_ready
            self.worker_status.emit("worker ready", "#1a7f37")
        self.error.emit(text)
