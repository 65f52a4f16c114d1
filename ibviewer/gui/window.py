"""The main window: controls and the run list on the left, plot panels as docks, run actions with shortcuts,
a status bar.

The window composes small parts, each with one job (see ``docs/architecture.md``):
:class:`~ibviewer.gui.session_controller.SessionController` (``window.controller``: the runs, the training worker,
session files), :class:`~ibviewer.gui.docks.PanelDocks` (``window.docks``: the plot panels, their docks and
layout), :class:`~ibviewer.gui.status.RunStatusBar` (``window.status``), :class:`~ibviewer.gui.appearance.Appearance`
(theme, text size), the action table (:mod:`ibviewer.gui.actions`), :mod:`ibviewer.gui.view_state` (what a
session keeps of the view), :class:`~ibviewer.gui.files.WindowFiles` (``window.files``: the File menu), and the
:class:`~ibviewer.gui.export_ui.Recording` (timeline, exports, live recording).  The window wires them together.

The controller merges every snapshot into each run's :class:`~ibviewer.live.series.HistoryMirror`; the window
draws it once on every visible panel, and the controller then acknowledges it, which lets the worker send the
next one (one snapshot in flight).

Several runs on one problem train together: the "Runs" dock lists them, every time panel overlays the visible
ones in their colours, and the selected run is the one the controls edit (``window.cfg``, ``window.mirror``,
``window.info`` are the selected run's).  Sessions (File > Save/Open session) keep every run's state and the
view; settings and recent files persist in the platform's config folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStyle,
    QToolBar,
    QWidget,
)

from ibviewer.core.config import Config
from ibviewer.gui import view_state
from ibviewer.gui.actions import build_actions, build_menus, build_toolbar, shortcuts_dialog
from ibviewer.gui.annotations import AnnotationSet
from ibviewer.gui.appearance import Appearance
from ibviewer.gui.banner import DivergenceBanner
from ibviewer.gui.controls import SPEEDS, ControlPanel
from ibviewer.gui.docks import PanelDocks, buckets_for, layout_for
from ibviewer.gui.export_ui import Recording
from ibviewer.gui.files import WindowFiles
from ibviewer.gui.gc_policy import collect_cycles_between_events
from ibviewer.gui.panels import Panel, setup_pyqtgraph
from ibviewer.gui.presentation import Presentation
from ibviewer.gui.runs import AddRunDialog, QtRunList
from ibviewer.gui.session_controller import SessionController
from ibviewer.gui.settings import AppSettings
from ibviewer.gui.side_width import SideWidth
from ibviewer.gui.status import RunStatusBar
from ibviewer.gui.x_axis import XAxisChooser
from ibviewer.live.draw import DrawContext, RunFrame
from ibviewer.live.runs import RunView
from ibviewer.live.series import Frame

#: builds a window's recording feature (timeline, exports, live recording) from the window
RecordingFactory = Callable[["MainWindow"], Recording]

def auto_speed(cfg: Config, seconds: float = 20.0, fps: float = 30.0) -> int:
    """Steps per frame that play ``run.steps`` in about ``seconds`` (0 = as fast as possible)."""
    if cfg.run.steps <= 0:
        return 0
    want = cfg.run.steps / (seconds * fps)
    for s in SPEEDS[:-1]:
        if s >= want:
            return s
    return 0


def side_dock(window: QMainWindow, title: str, name: str, widget: QWidget) -> QDockWidget:
    """A dock on the window's left holding ``widget`` (the controls, the run list)."""
    dock = QDockWidget(title, window)
    dock.setObjectName("dock_" + name)
    dock.setWidget(widget)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    return dock


class MainWindow(QMainWindow):
    #: emitted after a snapshot was drawn (tests and the benchmark listen)
    drawn = Signal()
    #: a session file was opened (its path) and its view restored / written
    session_opened = Signal(str)
    session_saved = Signal(str)

    def __init__(self, cfg: Config, *, preset: str | None = None, play: bool = False, speed: int | None = None,
                 x_mode: str = "log_step", max_fps: float = 30.0, parent: QWidget | None = None,
                 runs: list[tuple[str, Config]] | None = None, selected: int = 0, session: str | None = None,
                 settings: AppSettings | None = None, restore_geometry: bool = True,
                 recording: RecordingFactory | None = Recording):
        """``runs``: several runs on cfg's problem (name, config), ``selected`` the index of the one the controls
        edit; ``session``: a session file to open instead (cfg is the fallback when it cannot be read);
        ``settings``: the app settings (default: the stored ones); ``recording``: builds the timeline, exports
        and live recording for this window (None: a window without them, its actions left out)."""
        super().__init__(parent)
        setup_pyqtgraph()
        collect_cycles_between_events()
        self.settings = settings if settings is not None else AppSettings.load()
        self.appearance = Appearance(self, self.settings)
        # the runs, the worker and session files: the window shows what the controller says
        self.controller = SessionController(runs or [("run", cfg)], selected=selected, preset=preset,
                                            speed=auto_speed(cfg) if speed is None else int(speed),
                                            max_fps=max_fps, parent=self)
        self.client = self.controller.client
        self._restore_geometry = restore_geometry
        self.x_mode = x_mode
        self.frames_drawn = 0
        self._closed = False

        self.setWindowTitle("ibviewer")
        # deleted by Qt, on the GUI thread, once closed: left to Python's cyclic garbage collector, the window
        # could be destroyed on the pipe reader's thread, leaving its timers registered (a crash seconds later)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setDockNestingEnabled(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowNestedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        placeholder = QWidget()
        placeholder.setObjectName("central_placeholder")
        self.setCentralWidget(placeholder)
        placeholder.hide()

        self.status = RunStatusBar()
        self.setStatusBar(self.status)
        self.status.restart_button.clicked.connect(self.restart_worker)
        c = self.controller
        c.ready.connect(self._on_ready)
        c.snapshot_merged.connect(self._on_snapshot)
        c.runs_changed.connect(self._on_runs_changed)
        c.run_updated.connect(self._on_run_updated)
        c.selection_changed.connect(self._on_selection_changed)
        c.panels_stale.connect(self._on_panels_stale)
        c.status_reset.connect(self.status.reset_run_status)
        c.playing_changed.connect(self._on_playing)
        c.worker_status.connect(self.status.set_worker_label)
        c.error.connect(self.show_error)
        c.info_message.connect(self.show_info)
        c.died.connect(self._on_died)
        c.loss_tol_changed.connect(self._on_loss_tol)

        # before the actions: the table binds the File menu's and the recording's actions to them
        self.files = WindowFiles(self)
        self.sessions = view_state.SessionView(self)
        self.recording: Recording | None = recording(self) if recording is not None else None
        self.presentation = Presentation(self)
        self.annotations = AnnotationSet(self)
        self._build_actions()
        self.actions["leave_present"].setEnabled(False)
        self._build_menus()
        self.docks = PanelDocks(self, self.settings, self.view_menu, self._view_sep, self.appearance.style_dock,
                                self.show_error, lambda: [self.controls_dock, self.runs_dock])
        self.docks.redraw_requested.connect(self.redraw)
        self.docks.marker_clicked.connect(self.show_step)
        self.annotations.changed.connect(self.redraw)
        self.controls = ControlPanel(self.actions)
        self.controls.edited.connect(self.controller.edit)
        self.controls.preset_chosen.connect(self.load_preset)
        self.controls.speed_changed.connect(self.set_speed)
        self.controls.new_seed.connect(self.new_seed)
        self.controls.invalid.connect(self.show_error)
        self.controls.setMinimumWidth(300)
        self.controls_dock = side_dock(self, "Controls", "controls", self.controls)
        self.runs_list = QtRunList()
        self.runs_list.selected.connect(c.select)
        self.runs_list.visibility.connect(c.set_visible)
        self.runs_list.renamed.connect(c.rename)
        self.runs_list.add_requested.connect(self.add_run_dialog)
        self.runs_list.remove_requested.connect(c.remove_run)
        self.runs_dock = side_dock(self, "Runs", "runs", self.runs_list)
        self.splitDockWidget(self.controls_dock, self.runs_dock, Qt.Orientation.Vertical)
        self.side_width = SideWidth(self, self.controls_dock)  # when the window grows, the plots take the space
        for dock in (self.controls_dock, self.runs_dock):
            self.appearance.style_dock(dock)
            self.view_menu.insertAction(self._view_sep, dock.toggleViewAction())
        self.runs_list.set_runs(self.runs, self.selected_id)
        self.controls.set_config(self.cfg, preset)
        self.controls.set_speed(self.speed)
        self._build_toolbar()
        self.banner = DivergenceBanner(self)  # on a row of its own, under the toolbar
        self.controller.status_reset.connect(self.banner.hide)
        self._rebuild_panels()
        self.update_title()
        self.resize(1560, 940)
        self._apply_settings()

        self.controller.start(session, play)

    # ================================================================================================ building
    def _build_actions(self) -> None:
        """The actions of the table in :mod:`ibviewer.gui.actions` (those of absent features left out)."""
        self.actions, groups = build_actions(self)
        self.x_axis = XAxisChooser(groups["x_axis"], self.x_mode, self)
        self.x_axis.chosen.connect(self.set_x_mode)

    def _build_menus(self) -> None:
        def docks(m: QMenu) -> None:
            self._view_sep = m.addSeparator()  # the docks' toggles go above it

        menus = build_menus(self.menuBar(), self.actions,
                            {("&File", "session"): self.files.add_recent_menu, ("&View", "docks"): docks})
        self.file_menu = menus["File"]
        self.view_menu = menus["View"]

    def _build_toolbar(self) -> None:
        tb = QToolBar("Run")
        tb.setObjectName("toolbar_run")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        build_toolbar(tb, self.actions, {"x_axis": self.x_axis.add_to})
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)

    # ================================================================================================ panels
    @property
    def panels(self) -> dict[str, Panel]:
        """The plot panels by name (``window.docks`` owns them; a new dict when the layout changes)."""
        return self.docks.panels

    def _rebuild_panels(self) -> None:
        """The panels of the selected run's family (the deepest run's); the panels get the problem's arrays
        when the worker reports the new runs ready."""
        if self.docks.rebuild(layout_for(self.cfg, (r.cfg for r in self.runs)), self.x_mode):
            self.annotations.attach(self.panels)
            self.redraw()

    def draw_context(self, panels: list[Panel], snap: dict[str, Any] | None) -> DrawContext:
        """What the panels draw: the selected run's frame and ``snap``; with several runs also every visible
        run's frame (decimated for the widest of ``panels``)."""
        buckets = buckets_for(panels)
        frame = Frame(self.mirror, self.x_mode, buckets)
        runs = tuple(RunFrame(r.id, r.name, r.colour, frame if r.id == self.selected_id else
                              Frame(r.mirror, self.x_mode, buckets), r.cfg, r.refs, r.product)
                     for r in self.runs if r.visible) if self.comparing else ()
        shown = self.controller.runs.selected
        return DrawContext(frame, snap, self.x_mode, runs, self.selected_id, comparing=self.comparing,
                           ready=self.worker_ready, markers=shown.markers() if shown is not None else (),
                           annotations=tuple(self.annotations.items))

    @Slot()
    def redraw(self) -> None:
        """Draw the mirror again (x axis changed, a panel was shown, a panel asked for it...)."""
        if self._closed:
            return
        panels = self.docks.visible()
        self.docks.draw(panels, self.draw_context(panels, self.last_snap))

    # ================================================================================================ worker
    @Slot(object)
    def _on_ready(self, info: dict[str, Any]) -> None:
        """The runs of the current generation are built: the panels get their static arrays."""
        self._rebuild_panels()
        self.docks.set_info(info)
        self.status.restart_button.hide()

    @Slot(object, bool)
    def _on_snapshot(self, snap: dict[str, Any], replaced: bool) -> None:
        """Draw the merged snapshot once on every visible panel (the controller acknowledges it afterwards)."""
        if self._closed:
            return
        if replaced:
            self.docks.reset()
        panels = self.docks.visible()
        self.docks.draw(panels, self.draw_context(panels, snap))
        self.frames_drawn += 1
        self._show_progress(snap)
        self.drawn.emit()
        self.sessions.after_snapshot()

    def _show_progress(self, snap: dict[str, Any]) -> None:
        self.status.show_progress(snap, self.playing, len(self.runs) if self.comparing else 0)
        self.banner.show_for(snap, self.cfg.optimizer.lr)

    def continue_run(self) -> bool:
        """Diverged runs go on from their last finite state with the settings they have now (C)."""
        return self.controller.continue_runs()

    @Slot(str)
    def _on_died(self, reason: str) -> None:
        if self._closed:
            return
        self.status.restart_button.show()
        self.show_error(f"{reason}; press 'Restart worker' to start a new one")

    @Slot()
    def _on_panels_stale(self) -> None:
        """The histories were cleared or the runs shown changed: every panel draws from scratch."""
        self.docks.reset()
        self.redraw()

    @Slot(bool)
    def _on_playing(self, _playing: bool) -> None:
        a = self.actions["play"]
        SP = QStyle.StandardPixmap
        a.setText("Pause" if self.playing else "Play")
        a.setIcon(self.style().standardIcon(SP.SP_MediaPause if self.playing else SP.SP_MediaPlay))

    @Slot(float)
    def _on_loss_tol(self, tol: float) -> None:
        if "loss" in self.panels:
            self.panels["loss"].set_tol(tol)

    @Slot()
    def restart_worker(self) -> None:
        self.status.restart_button.hide()
        self.controller.restart_worker()

    # ================================================================================================ run actions
    @Slot()
    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    @Slot()
    def play(self) -> None:
        self.controller.play()

    @Slot()
    def pause(self) -> None:
        self.controller.pause()

    @Slot()
    def step_once(self) -> None:
        self.controller.step(1)

    def step_n(self, n: int | None = None) -> None:
        """``n`` steps (default: the controls' "step N" value), then paused."""
        self.controller.step(int(self.controls.widgets["step_n"].value() if n is None else n))

    @Slot()
    def reset_run(self) -> None:
        self.controller.reset()

    @Slot()
    def new_seed(self) -> None:
        self.controller.new_seed()

    @Slot(int)
    def set_speed(self, steps_per_frame: int) -> None:
        self.controller.set_speed(steps_per_frame)

    def set_lr(self, lr: float) -> None:
        """Change the learning rate live (as the lr control does)."""
        self.controller.edit("optimizer.lr", lr)
        self.controls.set_config(self.cfg, self.preset)

    # ================================================================================================ config
    def apply_config(self, cfg: Config, note: str = "", preset: str | None = None) -> None:
        """Replace the configuration (preset, opened file) with one run: it restarts."""
        self.apply_runs([("run", cfg)], note, preset)

    def apply_runs(self, runs: list[tuple[str, Config]], note: str = "", preset: str | None = None,
                   selected: int = 0) -> None:
        """Replace the runs (a preset's, a session's): they start together from step 0."""
        self.controller.apply_runs(runs, note, preset, selected)

    @Slot(str)
    def load_preset(self, name: str) -> None:
        """Open a preset with all the runs it compares (its [meta] runs / compare), at its own speed."""
        base = self.controller.load_preset(name)
        if base is not None:
            self.controls.set_speed(auto_speed(base))
            self.set_speed(auto_speed(base))

    # ================================================================================================ runs
    # the controller's state, as the panels, the recording and the tests read it from the window
    cfg = property(lambda self: self.controller.cfg,
                   doc="The selected run's configuration (the one the controls show and edit).")
    comparing = property(lambda self: self.controller.comparing,
                         doc="Several runs: the panels overlay them, colour-coded.")
    runs = property(lambda self: self.controller.runs.runs, doc="The runs (RunView), in list order.")
    selected_id = property(lambda self: self.controller.runs.selected_id, doc="The selected run's id.")
    mirror = property(lambda self: self.controller.mirror, doc="The selected run's history mirror.")
    info = property(lambda self: self.controller.info, doc="The selected run's info (panels draw against it).")
    last_snap = property(lambda self: self.controller.last_snap,
                         doc="The latest snapshot, as the selected run sees it.")
    preset = property(lambda self: self.controller.preset, doc="The preset the runs came from (None: none).")
    gen = property(lambda self: self.controller.gen)
    worker_ready = property(lambda self: self.controller.worker_ready)
    worker_dead = property(lambda self: self.controller.worker_dead)
    playing = property(lambda self: self.controller.playing)
    snap_count = property(lambda self: self.controller.snap_count)
    speed = property(lambda self: self.controller.speed)

    @Slot(int)
    def show_step(self, step: int) -> None:
        """Every panel as of ``step`` (an event marker was clicked): the timeline leaves live and goes there."""
        tl = self.recording.timeline if self.recording is not None else None
        if tl is not None and self.mirror.n:
            tl.seek_step(int(step))

    @Slot(int)
    def _on_selection_changed(self, rid: int) -> None:
        self.controls.set_config(self.cfg, self.preset)
        self.runs_list.set_current(rid)
        tl = self.recording.timeline if self.recording is not None else None
        if tl is not None:  # its stored products belong to the previously selected run
            tl.states.clear()
            tl.go_live()
        self._rebuild_panels()
        self.docks.set_info(self.info)
        if self.last_snap is not None:
            self._show_progress(self.last_snap)
        self.update_title()
        self.redraw()

    @Slot()
    def _on_runs_changed(self) -> None:
        """The runs or the selected run's config changed: the list, the controls, the title, the panels."""
        self.runs_list.set_runs(self.runs, self.selected_id)
        if self.presentation.active:
            self.presentation.set_caption()
        self.controls.set_config(self.cfg, self.preset)
        self.update_title()
        self._rebuild_panels()

    @Slot(int)
    def _on_run_updated(self, rid: int) -> None:
        run = self.controller.runs.by_id(rid)
        if run is not None:
            self.runs_list.update_run(run)
        self.update_title()
        self.redraw()

    def add_run(self, key: str, value: Any, name: str | None = None) -> RunView | None:
        """A copy of the selected run with ``key`` set to ``value``; every run restarts from step 0.  Returns the
        new run, or None (with a one-line message) when the value is refused."""
        return self.controller.add_run(key, value, name)

    @Slot()
    def add_run_dialog(self) -> None:
        dlg = AddRunDialog(self.cfg, self)
        if dlg.exec() == AddRunDialog.DialogCode.Accepted:
            key, value = dlg.choice()
            if value:
                self.add_run(key, value)

    # ================================================================================================ sessions
    def view_state(self) -> dict[str, Any]:
        """What a session keeps of the view (see :mod:`ibviewer.gui.view_state`)."""
        return view_state.view_state(self)

    def save_session(self, path: str | Path) -> bool:
        """Write every run (config, state, history) and the view to ``path`` (.ibvs), atomically."""
        return self.sessions.save(path)

    def open_session(self, path: str | Path) -> bool:
        """Open a session: its runs continue where they stopped, its view comes back."""
        return self.sessions.open(path)

    # ================================================================================================ settings
    def _apply_settings(self) -> None:
        s = self.settings
        if s.note:
            self.show_error(s.note)
        geometry = s.geometry_bytes() if self._restore_geometry else None
        if geometry is not None:
            self.restoreGeometry(QByteArray(geometry))
        self.appearance.set_theme(s.theme)
        self.appearance.set_font_scale(s.font_scale)

    def save_settings(self) -> None:
        """Theme, font scale, this panel layout and the window geometry, for the next window."""
        if not self.settings.persist:
            return
        self.docks.remember_layout()
        self.settings.set_geometry(bytes(self.saveGeometry()))
        self.settings.save()

    def update_title(self) -> None:
        """The preset's title, or the problem and the depth."""
        title = (self.cfg.meta or {}).get("title") if self.preset else None
        kind = self.cfg.problem.kind.replace("_", " ")
        size = (f"{self.cfg.model.components} components" if self.cfg.family == "tensor"
                else f"depth {self.cfg.model.depth}")
        self.setWindowTitle(f"ibviewer — {title}" if title else f"ibviewer — {kind}, {size}")

    # ================================================================================================ view
    @Slot(str)
    def set_x_mode(self, mode: str) -> None:
        """The plots over time against ``mode`` (one of :data:`~ibviewer.live.series.X_MODES`)."""
        self.x_axis.show(mode)
        self.x_mode = mode
        self.docks.set_x_mode(mode)
        self.redraw()

    @Slot()
    def fit_plots(self) -> None:
        self.docks.fit_plots()
        self.redraw()

    @Slot()
    def show_shortcuts(self) -> QMessageBox:
        """Every shortcut of the window's actions, in a dialog that does not block."""
        return shortcuts_dialog(self, self.actions)

    def show_panel_guide(self):
        """Help > Guide to the panels: each panel and its quantities, from the panel registry (does not block)."""
        from ibviewer.gui.panel_guide import panel_guide_dialog

        return panel_guide_dialog(self)

    def show_error(self, text: str) -> None:
        """One line in the status bar, marked ⚠ (kept in ``status.messages``)."""
        self.status.show_error(text)

    def show_info(self, text: str) -> None:
        self.status.show_info(text)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not getattr(self, "_sized", False):
            self._sized = True
            self.docks.fit()

    # ================================================================================================ closing
    def closeEvent(self, event) -> None:
        self.presentation.leave()  # the settings keep the working window's text size
        if not self._closed:
            try:
                self.save_settings()
            except Exception as exc:  # noqa: BLE001 - settings are a convenience: closing must work
                self.status.messages.append(f"settings not saved: {exc}")
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the worker and the reader thread (idempotent; within about a second)."""
        if self._closed:
            return
        self._closed = True
        self.docks.stop()
        self.controller.shutdown()
