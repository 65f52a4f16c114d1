"""The main window: controls and the run list on the left, plot panels as docks, run actions with shortcuts,
a status bar.

The runs, the training worker and session files are the
:class:`~ibviewer.gui.session_controller.SessionController`'s (``window.controller``): it merges every snapshot
into each run's :class:`~ibviewer.live.series.HistoryMirror`; the window draws it once on every visible panel,
and the controller then acknowledges it, which lets the worker send the next one (one snapshot in flight).

Several runs on one problem train together (issue 5): the "Runs" dock lists them, every time panel overlays the
visible ones in their colours, and the selected run is the one the controls edit (``window.cfg``,
``window.mirror``, ``window.info`` are the selected run's).  Sessions (File > Save/Open session) keep every
run's state and the view; settings and recent files persist in the platform's config folder.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

from collections.abc import Callable

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QStyle,
    QToolBar,
    QWidget,
)

from ibviewer.core.config import Config
from ibviewer.gui import data_files, files
from ibviewer.gui.actions import build_actions, build_menus, build_toolbar, shortcut_lines
from ibviewer.gui.appearance import Appearance
from ibviewer.gui.session_controller import STATUS_TEXT, SessionController
from ibviewer.gui.controls import SPEEDS, ControlPanel
from ibviewer.gui.panels import PANEL_CLASSES, Panel, PlotPanel, panel_layout, saved_panel_states, setup_pyqtgraph
from ibviewer.gui.runs import AddRunDialog, QtRunList
from ibviewer.live.draw import DrawContext, RunFrame
from ibviewer.live.runs import RunView
from ibviewer.live.series import X_MODES, Frame, plain_symbols
from ibviewer.gui.export_ui import Recording
from ibviewer.gui.files import SESSION_SUFFIX
from ibviewer.gui.settings import AppSettings

#: builds a window's recording feature (timeline, exports, live recording) from the window
RecordingFactory = Callable[["MainWindow"], Recording]

X_MODE_TEXT = {"step": "step", "log_step": "log step", "time": "time η·k"}


def fmt_num(v: float) -> str:
    if v is None or not math.isfinite(v):
        return "—" if v is None else str(v)
    return f"{v:.3e}" if (v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4)) else f"{v:.4g}"


def auto_speed(cfg: Config, seconds: float = 20.0, fps: float = 30.0) -> int:
    """Steps per frame that play ``run.steps`` in about ``seconds`` (0 = as fast as possible)."""
    if cfg.run.steps <= 0:
        return 0
    want = cfg.run.steps / (seconds * fps)
    for s in SPEEDS[:-1]:
        if s >= want:
            return s
    return 0


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
        self.settings = settings if settings is not None else AppSettings.load()
        self.appearance = Appearance(self, self.settings)
        # the runs, the worker and session files: the window shows what the controller says
        self.controller = SessionController(runs or [("run", cfg)], selected=selected, preset=preset,
                                            speed=auto_speed(cfg) if speed is None else int(speed),
                                            max_fps=max_fps, parent=self)
        self.client = self.controller.client
        self._pending_view: dict[str, Any] | None = None
        self._restore_geometry = restore_geometry
        self.x_mode = x_mode
        self.frames_drawn = 0
        self.messages: list[str] = []
        self.panel_errors: list[str] = []
        self.panels: dict[str, Panel] = {}
        self.docks: dict[str, QDockWidget] = {}
        self._layout = None
        self._last_status = None
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

        c = self.controller
        c.ready.connect(self._on_ready)
        c.snapshot_merged.connect(self._on_snapshot)
        c.runs_changed.connect(self._on_runs_changed)
        c.run_updated.connect(self._on_run_updated)
        c.selection_changed.connect(self._on_selection_changed)
        c.panels_stale.connect(self._on_panels_stale)
        c.status_reset.connect(self._on_status_reset)
        c.playing_changed.connect(self._on_playing)
        c.worker_status.connect(self._set_worker_label)
        c.error.connect(self.show_error)
        c.info_message.connect(self.show_info)
        c.died.connect(self._on_died)
        c.loss_tol_changed.connect(self._on_loss_tol)
        c.session_opened.connect(self._on_session)
        c.session_saved.connect(self._on_saved)
        # deferred work on timers the window owns (they die with it; no free-standing single shots)
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(0)
        self._redraw_timer.timeout.connect(self.redraw)
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self._fit_docks)

        self._build_status()
        # before the actions: the table binds the recording's actions to it
        self.recording: Recording | None = recording(self) if recording is not None else None
        self._build_actions()
        self._build_menus()
        self.controls = ControlPanel(self.actions)
        self.controls.edited.connect(self.controller.edit)
        self.controls.preset_chosen.connect(self.load_preset)
        self.controls.speed_changed.connect(self.set_speed)
        self.controls.new_seed.connect(self.new_seed)
        self.controls.invalid.connect(self.show_error)
        self.controls.setMinimumWidth(300)
        self.controls_dock = QDockWidget("Controls", self)
        self.controls_dock.setObjectName("dock_controls")
        self.controls_dock.setWidget(self.controls)
        self._style_dock(self.controls_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.controls_dock)
        self.view_menu.insertAction(self._view_sep, self.controls_dock.toggleViewAction())
        self.runs_list = QtRunList()
        self.runs_list.selected.connect(self.select_run)
        self.runs_list.visibility.connect(self.set_run_visible)
        self.runs_list.renamed.connect(self.rename_run)
        self.runs_list.add_requested.connect(self.add_run_dialog)
        self.runs_list.remove_requested.connect(self.remove_run)
        self.runs_dock = QDockWidget("Runs", self)
        self.runs_dock.setObjectName("dock_runs")
        self.runs_dock.setWidget(self.runs_list)
        self._style_dock(self.runs_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.runs_dock)
        self.splitDockWidget(self.controls_dock, self.runs_dock, Qt.Orientation.Vertical)
        self.view_menu.insertAction(self._view_sep, self.runs_dock.toggleViewAction())
        self.runs_list.set_runs(self.runs, self.selected_id)
        self.controls.set_config(self.cfg, preset)
        self.controls.set_speed(self.speed)
        self._build_toolbar()
        self._rebuild_panels(self.cfg)
        self._update_title()
        self.resize(1560, 940)
        self._apply_settings()

        self.controller.start(session, play)

    # ================================================================================================ building
    def _build_actions(self) -> None:
        """The actions of the table in :mod:`ibviewer.gui.actions` (those of absent features left out)."""
        self.actions, groups = build_actions(self)
        self.x_group = groups["x_axis"]
        self.actions["x_" + self.x_mode].setChecked(True)

    def _build_menus(self) -> None:
        def recent(m: QMenu) -> None:
            self.recent_menu = m.addMenu("Recent files")
            self.recent_menu.setObjectName("recent_menu")
            self.recent_menu.aboutToShow.connect(self._fill_recent)

        def docks(m: QMenu) -> None:
            self._view_sep = m.addSeparator()  # the docks' toggles go above it

        menus = build_menus(self.menuBar(), self.actions, {("&File", "session"): recent, ("&View", "docks"): docks})
        self.file_menu = menus["File"]
        self.view_menu = menus["View"]

    def _build_toolbar(self) -> None:
        def x_axis(tb: QToolBar) -> None:
            tb.addWidget(QLabel(" x axis: "))
            self.x_combo = QComboBox()
            self.x_combo.setObjectName("x_axis")
            for mode in X_MODES:
                self.x_combo.addItem(X_MODE_TEXT[mode], mode)
            self.x_combo.setToolTip("x axis of the plots over time: step k, log10 k (shows plateaus), or η·k")
            self.x_combo.setCurrentIndex(self.x_combo.findData(self.x_mode))
            self.x_combo.activated.connect(self._on_x_combo)
            tb.addWidget(self.x_combo)

        tb = QToolBar("Run")
        tb.setObjectName("toolbar_run")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        build_toolbar(tb, self.actions, {"x_axis": x_axis})
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.lbl_run = QLabel("")
        self.lbl_run.setObjectName("run_status")
        self.lbl_run.setTextFormat(Qt.TextFormat.PlainText)
        self.lbl_step = QLabel("step 0")
        self.lbl_loss = QLabel("loss —")
        self.lbl_rate = QLabel("")
        self.lbl_worker = QLabel("")
        self.lbl_worker.setObjectName("worker_status")
        for w in (self.lbl_step, self.lbl_loss, self.lbl_rate):
            w.setMinimumWidth(110)
        self.lbl_loss.setMinimumWidth(150)
        self.btn_restart = QPushButton("Restart worker")
        self.btn_restart.setObjectName("restart_worker")
        self.btn_restart.clicked.connect(self.restart_worker)
        self.btn_restart.hide()
        sb.addWidget(self.lbl_run, 1)
        for w in (self.lbl_step, self.lbl_loss, self.lbl_rate, self.lbl_worker, self.btn_restart):
            sb.addPermanentWidget(w)

    def _style_dock(self, dock: QDockWidget) -> None:
        self.appearance.style_dock(dock)

    # ================================================================================================ panels
    def _layout_for(self, cfg: Config):
        """The panels of cfg's family; with several runs, those of the deepest (balancedness from depth 2)."""
        same = [r.cfg for r in self.runs if r.cfg.family == cfg.family] or [cfg]
        deep = [c for c in same if c.model.depth > 1 and c.parametrization in ("product", "hadamard")]
        c = max(deep, key=lambda c: c.model.depth) if deep else cfg
        return panel_layout(cfg.family, c.model.depth, c.parametrization, cfg.problem.kind)

    def _layout_key(self) -> str:
        cols, tabs = self._layout or ([], [])
        return "/".join(["|".join(c) for c in cols] + [f"{a}>{b}" for a, b in tabs])

    def _rebuild_panels(self, cfg: Config) -> None:
        layout = self._layout_for(cfg)
        if layout == self._layout:
            return
        if self._layout is not None and self.docks:
            self._remember_layout()
        self._layout = layout
        for dock in self.docks.values():
            dock.hide()  # hidden first: removing tabified docks otherwise leaves their tab bar behind
        for dock in self.docks.values():
            self.removeDockWidget(dock)
            self.view_menu.removeAction(dock.toggleViewAction())
            dock.setParent(None)
            dock.deleteLater()
        self.docks, self.panels = {}, {}
        cols, tabs = layout
        names = [n for col in cols for n in col] + [t for t, _ in tabs]
        for name in names:
            panel = PANEL_CLASSES[name](x_mode=self.x_mode)
            panel.redraw_requested.connect(self.redraw)
            dock = QDockWidget(plain_symbols(panel.title), self)  # a dock title is plain text: σᵢ, not σ_i
            dock.setObjectName("dock_" + name)
            dock.setWidget(panel.widget)
            dock.setToolTip(panel.tooltip)
            self._style_dock(dock)
            dock.visibilityChanged.connect(self._on_dock_visibility)
            self.panels[name] = panel
            self.docks[name] = dock
            self.view_menu.insertAction(self._view_sep, dock.toggleViewAction())
        heads = [col[0] for col in cols]
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.docks[heads[0]])
        for a, b in itertools.pairwise(heads):
            self.splitDockWidget(self.docks[a], self.docks[b], Qt.Orientation.Horizontal)
        for col in cols:
            for a, b in itertools.pairwise(col):
                self.splitDockWidget(self.docks[a], self.docks[b], Qt.Orientation.Vertical)
        for name, behind in tabs:
            # lay out first: tabifying into a layout that has pending splits leaves a duplicate tab bar (Qt 6.11)
            self.layout().activate()
            self.tabifyDockWidget(self.docks[behind], self.docks[name])
            self.docks[behind].raise_()
        self.layout().activate()
        self._fit_docks()
        self._fit_timer.start()  # again once the new docks are laid out
        saved = self.settings.layout(self._layout_key())
        if saved is not None:
            self.restoreState(QByteArray(saved))  # the user's arrangement of these panels, from last time
        self._apply_fonts()
        self.redraw()  # the panels get the problem's arrays when the worker reports the new run ready

    def _guard(self, panel: Panel, fn, *args) -> None:
        """Run a panel method; a failure is reported once in the status bar (never a traceback dialog)."""
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - a drawing bug must not stop the app or the training
            self.panel_errors.append(f"{panel.name}: {type(exc).__name__}: {exc}")
            if len(self.panel_errors) <= 3:
                self.show_error(f"the {panel.title} panel could not draw: {type(exc).__name__}: {exc}")

    @Slot(bool)
    def _on_dock_visibility(self, visible: bool) -> None:
        if visible:
            self._redraw_timer.start()

    @staticmethod
    def _buckets(panels: list[Panel]) -> int:
        """Min/max buckets for this frame: one per 2 pixels of the widest plot (200 to 1000)."""
        widest = max((p.widget.width() for p in panels), default=0)
        return int(min(1000, max(200, widest // 2)))

    def visible_panels(self) -> list[Panel]:
        return [p for p in self.panels.values() if p.widget.isVisible()]

    def draw_context(self, panels: list[Panel], snap: dict[str, Any] | None) -> DrawContext:
        """What the panels draw: the selected run's frame and ``snap``; with several runs also every visible
        run's frame (decimated for the widest of ``panels``)."""
        buckets = self._buckets(panels)
        frame = Frame(self.mirror, self.x_mode, buckets)
        runs = tuple(RunFrame(r.id, r.name, r.colour, frame if r.id == self.selected_id else
                              Frame(r.mirror, self.x_mode, buckets), r.cfg, r.refs, r.product)
                     for r in self.runs if r.visible) if self.comparing else ()
        return DrawContext(frame, snap, self.x_mode, runs, self.selected_id, comparing=self.comparing,
                           ready=self.worker_ready)

    @Slot()
    def redraw(self) -> None:
        """Draw the mirror again (x axis changed, a panel was shown, a panel asked for it...)."""
        if self._closed:
            return
        panels = self.visible_panels()
        ctx = self.draw_context(panels, self.last_snap)
        for p in panels:
            self._guard(p, p.update, ctx)

    # ================================================================================================ worker
    @Slot(object)
    def _on_ready(self, info: dict[str, Any]) -> None:
        """The runs of the current generation are built: the panels get their static arrays."""
        self._rebuild_panels(self.cfg)
        for p in self.panels.values():
            self._guard(p, p.set_info, info)
        self.btn_restart.hide()

    @Slot(object, bool)
    def _on_snapshot(self, snap: dict[str, Any], replaced: bool) -> None:
        """Draw the merged snapshot once on every visible panel (the controller acknowledges it afterwards)."""
        if self._closed:
            return
        if replaced:
            for p in self.panels.values():
                p.reset()
        panels = self.visible_panels()
        ctx = self.draw_context(panels, snap)
        for p in panels:
            self._guard(p, p.update, ctx)
        self.frames_drawn += 1
        self._show_progress(snap)
        self.drawn.emit()
        if self._pending_view is not None:
            view, self._pending_view = self._pending_view, None
            self._restore_late(view)

    def _show_progress(self, snap: dict[str, Any]) -> None:
        self.lbl_step.setText(f"step {snap['step']:,}")
        self.lbl_loss.setText(f"loss {fmt_num(snap['loss'])}")
        rate = snap.get("rate", 0.0)
        if self.comparing and rate > 0:
            rate_text = f"{rate:,.0f} steps/s × {len(self.runs)} runs"
        else:
            rate_text = f"{rate:,.0f} steps/s"
        self.lbl_rate.setText(rate_text if self.playing and rate > 0 else "paused" if not self.playing else "")
        status = snap["status"]
        if status != self._last_status:
            self._last_status = status
            if status == "diverged":
                self._set_run_label(f"⚠ {snap['message']}; then press R to reset", "#b00020")
                self.messages.append(snap["message"])
            elif status in ("converged", "max_steps"):
                self._set_run_label(f"{STATUS_TEXT[status]}: {snap['message']}", "#1a5fb4")
            else:
                self._set_run_label("", None)

    def _set_run_label(self, text: str, color: str | None) -> None:
        self.lbl_run.setText(text)
        self.lbl_run.setStyleSheet(f"color: {color}; font-weight: bold;" if color else "")

    def _set_worker_label(self, text: str, color: str) -> None:
        self.lbl_worker.setText(text)
        self.lbl_worker.setStyleSheet(f"color: {color};")

    @Slot(str)
    def _on_died(self, reason: str) -> None:
        if self._closed:
            return
        self.btn_restart.show()
        self.show_error(f"{reason}; press 'Restart worker' to start a new one")

    @Slot()
    def _on_panels_stale(self) -> None:
        """The histories were cleared or the runs shown changed: every panel draws from scratch."""
        for p in self.panels.values():
            p.reset()
        self.redraw()

    @Slot()
    def _on_status_reset(self) -> None:
        self._last_status = None
        self._set_run_label("", None)

    @Slot(bool)
    def _on_playing(self, _playing: bool) -> None:
        self._sync_play_action()

    @Slot(float)
    def _on_loss_tol(self, tol: float) -> None:
        if "loss" in self.panels:
            self.panels["loss"].set_tol(tol)

    @Slot()
    def restart_worker(self) -> None:
        self.btn_restart.hide()
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

    @Slot()
    def _step_n_action(self) -> None:  # triggered(bool) must not reach step_n's n
        self.step_n()

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

    def _sync_play_action(self) -> None:
        a = self.actions["play"]
        SP = QStyle.StandardPixmap
        a.setText("Pause" if self.playing else "Play")
        a.setIcon(self.style().standardIcon(SP.SP_MediaPause if self.playing else SP.SP_MediaPlay))

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

    def save_config(self, path: str | Path) -> bool:
        return files.save_config(self, path)

    def open_config(self, path: str | Path) -> bool:
        return files.open_config(self, path)

    @Slot()
    def save_config_dialog(self) -> None:
        files.save_config_dialog(self)

    @Slot()
    def open_config_dialog(self) -> None:
        files.open_config_dialog(self)

    # ================================================================================================ runs
    @property
    def cfg(self) -> Config:
        """The selected run's configuration (the one the controls show and edit)."""
        return self.controller.cfg

    @property
    def comparing(self) -> bool:
        """Several runs: the panels overlay them, colour-coded."""
        return self.controller.comparing

    # the controller's state, as the panels, the recording and the tests read it from the window
    runs = property(lambda self: self.controller.runs.runs, doc="The runs (RunView), in list order.")
    selected_id = property(lambda self: self.controller.runs.selected_id, doc="The selected run's id.")
    mirror = property(lambda self: self.controller.mirror, doc="The selected run's history mirror.")
    info = property(lambda self: self.controller.info, doc="The selected run's info (panels draw against it).")
    last_snap = property(lambda self: self.controller.last_snap,
                         doc="The latest snapshot, as the selected run sees it.")
    gen = property(lambda self: self.controller.gen)
    worker_ready = property(lambda self: self.controller.worker_ready)
    worker_dead = property(lambda self: self.controller.worker_dead)
    playing = property(lambda self: self.controller.playing)
    snap_count = property(lambda self: self.controller.snap_count)
    speed = property(lambda self: self.controller.speed)

    @property
    def preset(self) -> str | None:
        return self.controller.preset

    @preset.setter
    def preset(self, name: str | None) -> None:
        self.controller.preset = name

    @property
    def runs_version(self) -> int:
        """Bumped at every change of the runs (the panels cache what they drew of them by it)."""
        return self.controller.runs.version

    @runs_version.setter
    def runs_version(self, value: int) -> None:
        self.controller.runs.version = int(value)

    def selected_run(self) -> RunView | None:
        controller = getattr(self, "controller", None)
        return None if controller is None else controller.runs.by_id(controller.runs.selected_id)

    def run_by_id(self, rid: int) -> RunView | None:
        return self.controller.runs.by_id(rid)

    @Slot(int)
    def select_run(self, rid: int) -> None:
        """The run the controls edit, the heatmap shows and the recording exports."""
        self.controller.select(rid)

    @Slot(int)
    def _on_selection_changed(self, rid: int) -> None:
        self.controls.set_config(self.cfg, self.preset)
        self.runs_list.set_current(rid)
        tl = self.recording.timeline if self.recording is not None else None
        if tl is not None:  # its stored products belong to the previously selected run
            tl.states.clear()
            tl.go_live()
        self._rebuild_panels(self.cfg)
        for p in self.panels.values():
            self._guard(p, p.set_info, self.info)
        if self.last_snap is not None:
            self._show_progress(self.last_snap)
        self._update_title()
        self.redraw()

    @Slot()
    def _on_runs_changed(self) -> None:
        """The runs or the selected run's config changed: the list, the controls, the title, the panels."""
        self.runs_list.set_runs(self.runs, self.selected_id)
        self.controls.set_config(self.cfg, self.preset)
        self._update_title()
        self._rebuild_panels(self.cfg)

    @Slot(int)
    def _on_run_updated(self, rid: int) -> None:
        run = self.run_by_id(rid)
        if run is not None:
            self.runs_list.update_run(run)
        self._update_title()
        self.redraw()

    @Slot(int, bool)
    def set_run_visible(self, rid: int, visible: bool) -> None:
        self.controller.set_visible(rid, visible)

    @Slot(int, str)
    def rename_run(self, rid: int, name: str) -> None:
        self.controller.rename(rid, name)

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

    @Slot(int)
    def remove_run(self, rid: int) -> bool:
        """Drop a run (the others go on where they are)."""
        return self.controller.remove_run(rid)

    # ================================================================================================ sessions
    def view_state(self) -> dict[str, Any]:
        """What a session keeps of the view: dock layout, x axis, runs' looks, theory toggles, timeline."""
        import base64

        view: dict[str, Any] = {
            "layout": base64.b64encode(bytes(self.saveState())).decode("ascii"),
            "x_mode": self.x_mode,
            "speed": self.speed,
            "preset": self.preset,
            "selected_index": next((i for i, r in enumerate(self.runs) if r.id == self.selected_id), 0),
            "runs": [{"name": r.name, "visible": r.visible, "colour": list(r.colour)} for r in self.runs],
            "panels": {name: p.state() for name, p in self.panels.items()},
        }
        tl = self.recording.timeline if self.recording is not None else None
        if tl is not None:
            live = bool(getattr(tl, "live", True))
            step = None
            if not live and self.mirror.n and getattr(tl, "row", -1) >= 0:
                step = int(self.mirror["step"][min(tl.row, self.mirror.n - 1)])
            view["timeline"] = {"live": live or step is None, "step": step}
        return view

    def save_session(self, path: str | Path) -> bool:
        """Ask the worker to write every run (config, state, history) and the view to ``path`` (.ibvs),
        atomically; ``session_saved`` follows (or a one-line error)."""
        return self.controller.save_session(path, self.view_state())

    @Slot(str, int)
    def _on_saved(self, path: str, step: int) -> None:
        self.show_info(f"session saved to {path} (step {step:,})")
        self._remember(path)
        self.session_saved.emit(path)

    def open_session(self, path: str | Path) -> bool:
        """Open a session: its runs continue where they stopped, its view comes back.  A bad file leaves the
        current runs as they are and says why in one line."""
        return self.controller.open_session(path)

    @Slot(str, object)
    def _on_session(self, path: str, view: dict[str, Any]) -> None:
        self.controls.set_config(self.cfg, self.preset)
        self._update_title()
        self._restore_view(view)
        self._pending_view = view  # the timeline position once the histories have arrived
        self._remember(path)
        self.show_info(f"opened session {path} at step {self.selected_step():,}")
        self.session_opened.emit(path)

    def selected_step(self) -> int:
        return self.controller.runs.selected_step()

    def _restore_view(self, view: dict[str, Any]) -> None:
        import base64

        for r, saved in zip(self.runs, view.get("runs") or []):
            r.visible = bool(saved.get("visible", True))
            c = saved.get("colour")
            if isinstance(c, list) and len(c) == 3:
                r.colour = tuple(int(v) for v in c)
        self.runs_version += 1
        self.runs_list.set_runs(self.runs, self.selected_id)
        layout = view.get("layout")
        if isinstance(layout, str):
            try:
                self.restoreState(QByteArray(base64.b64decode(layout)))
            except ValueError:
                pass
        if view.get("x_mode") in X_MODES:
            self.set_x_mode(view["x_mode"])
        if isinstance(view.get("speed"), int):
            self.controls.set_speed(view["speed"])
            self.set_speed(view["speed"])
        for name, state in saved_panel_states(view, self.panels).items():
            self._guard(self.panels[name], self.panels[name].restore, state)

    def _restore_late(self, view: dict[str, Any]) -> None:
        """After the first snapshot of an opened session: the timeline where it was."""
        tl = self.recording.timeline if self.recording is not None else None
        t = view.get("timeline") or {}
        if tl is not None and not t.get("live", True) and t.get("step") is not None and self.mirror.n:
            try:
                tl.seek_step(int(t["step"]))
            except Exception as exc:  # noqa: BLE001 - the view is a convenience: never fail the session for it
                self.show_error(f"the timeline position was not restored: {exc}")

    @Slot()
    def save_session_dialog(self) -> None:
        start = str(Path(self.settings.start_dir()) / ((self.preset or "session") + SESSION_SUFFIX))
        path, _ = QFileDialog.getSaveFileName(self, "Save session", start,
                                              f"ibviewer session (*{SESSION_SUFFIX});;All files (*)")
        if path:
            self.save_session(path)

    @Slot()
    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", self.settings.start_dir(),
                                              f"ibviewer session (*{SESSION_SUFFIX});;All files (*)")
        if path:
            self.open_session(path)

    # ================================================================================================ gallery
    @Slot()
    def open_gallery(self):
        """The gallery of experiments; choosing one opens it with all its runs."""
        from ibviewer.gui.gallery import QtGallery

        dlg = QtGallery(self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if self.preset:
            try:
                dlg.select(self.preset)
            except KeyError:
                pass
        dlg.chosen.connect(self.load_preset)
        self.gallery = dlg
        dlg.open()
        return dlg

    # ================================================================================================ own data
    def load_data(self, path: str | Path, kind: str | None = None) -> bool:
        """Train on the data in ``path`` (see :func:`ibviewer.gui.data_files.load_data`)."""
        return data_files.load_data(self, path, kind)

    @Slot()
    def load_data_dialog(self) -> None:
        data_files.load_data_dialog(self)

    # ================================================================================================ settings
    def _remember(self, path: str | Path) -> None:
        self.settings.add_recent(path)
        self.settings.save()

    @Slot()
    def _fill_recent(self) -> None:
        files.fill_recent(self.recent_menu, self.settings, self.open_path)

    def open_path(self, path: str | Path) -> bool:
        """Open a recent file by its type: a session, a configuration or a data file."""
        return files.open_path(self, path)

    def _apply_settings(self) -> None:
        s = self.settings
        if s.note:
            self.show_error(s.note)
        geometry = s.geometry_bytes() if self._restore_geometry else None
        if geometry is not None:
            self.restoreGeometry(QByteArray(geometry))
        self.set_theme(s.theme)
        self.set_font_scale(s.font_scale)

    def save_settings(self) -> None:
        """Theme, font scale, this panel layout and the window geometry, for the next window."""
        if not self.settings.persist:
            return
        self._remember_layout()
        self.settings.set_geometry(bytes(self.saveGeometry()))
        self.settings.save()

    def _remember_layout(self) -> None:
        if self._layout is not None:
            self.settings.set_layout(self._layout_key(), bytes(self.saveState()))

    def set_font_scale(self, scale: float) -> None:
        """Every text of the window (controls, panels' axes and legends) at ``scale`` times its size."""
        self.appearance.set_font_scale(scale)

    def _apply_fonts(self) -> None:
        """The panels' fonts and theme (new panels after a layout change too)."""
        dark = self.settings.theme == "dark"
        for p in self.panels.values():
            if isinstance(p, PlotPanel):  # the heatmap keeps its looks
                p.set_font_scale(self.settings.font_scale)
                if dark:
                    p.set_dark(True)

    def step_font_scale(self, direction: int) -> None:
        self.show_info(f"text at {self.appearance.step_font_scale(direction):g}×")

    @Slot()
    def _on_dark_action(self) -> None:
        self.set_theme("dark" if self.actions["dark_theme"].isChecked() else "light")

    def set_theme(self, name: str) -> None:
        """Light (default) or dark: the window's widgets and the plots' backgrounds."""
        self.appearance.set_theme(name)

    def _update_title(self) -> None:
        title = (self.cfg.meta or {}).get("title") if self.preset else None
        kind = self.cfg.problem.kind.replace("_", " ")
        self.setWindowTitle(f"ibviewer — {title}" if title else f"ibviewer — {kind}, depth {self.cfg.model.depth}")

    # ================================================================================================ view
    def set_x_mode(self, mode: str) -> None:
        if mode not in X_MODES:
            raise ValueError(mode)
        self.x_mode = mode
        for p in self.panels.values():
            p.set_x_mode(mode)
        i = self.x_combo.findData(mode)
        self.x_combo.setCurrentIndex(i)
        for a in self.x_group.actions():
            a.setChecked(a.data() == mode)
        self.redraw()

    @Slot(int)
    def _on_x_combo(self, _i: int) -> None:
        self.set_x_mode(self.x_combo.currentData())

    @Slot()
    def fit_plots(self) -> None:
        for p in self.panels.values():
            if isinstance(p, PlotPanel):
                p.fit_view()
        self.redraw()

    @Slot()
    def toggle_full_screen(self) -> None:
        self.appearance.toggle_full_screen()

    @Slot()
    def show_shortcuts(self) -> QMessageBox:
        """Every shortcut of the window's actions (from the action table), in a dialog that does not block."""
        dlg = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", "\n".join(shortcut_lines(self.actions)),
                          QMessageBox.StandardButton.Ok, self)
        dlg.setObjectName("shortcuts_dialog")
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()
        return dlg

    def show_error(self, text: str) -> None:
        text = " ".join(str(text).split())
        self.messages.append(text)
        self.statusBar().showMessage("⚠ " + text, 15000)

    def show_info(self, text: str) -> None:
        self.messages.append(text)
        self.statusBar().showMessage(text, 6000)

    def status_text(self) -> str:
        return " | ".join(t for t in (self.statusBar().currentMessage(), self.lbl_run.text(), self.lbl_step.text(),
                                      self.lbl_loss.text(), self.lbl_rate.text(), self.lbl_worker.text()) if t)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not getattr(self, "_sized", False):
            self._sized = True
            self._fit_docks()

    def _fit_docks(self) -> None:
        """Controls about 340 px wide, the plot columns share the rest equally."""
        heads = [d for d in self.docks.values() if not d.isFloating() and self.dockWidgetArea(d) ==
                 Qt.DockWidgetArea.RightDockWidgetArea]
        self.resizeDocks([self.controls_dock], [370], Qt.Orientation.Horizontal)
        if getattr(self, "runs_dock", None) is not None and not self.runs_dock.isFloating():
            # the run list: a few lines under the controls
            h = max(200, self.height() - 60)
            self.resizeDocks([self.controls_dock, self.runs_dock], [h - 170, 170], Qt.Orientation.Vertical)
        cols, _ = self._layout or ([], [])
        docks = [self.docks[c[0]] for c in cols if c[0] in self.docks]
        if docks and heads:
            w = max(1, self.width() - 390)
            self.resizeDocks(docks, [w // len(docks)] * len(docks), Qt.Orientation.Horizontal)

    # ================================================================================================ closing
    def closeEvent(self, event) -> None:
        if not self._closed:
            try:
                self.save_settings()
            except Exception as exc:  # noqa: BLE001 - settings are a convenience: closing must work
                self.messages.append(f"settings not saved: {exc}")
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the worker and the reader thread (idempotent; within about a second)."""
        if self._closed:
            return
        self._closed = True
        for t in (self._redraw_timer, self._fit_timer):
            t.stop()
        self.controller.shutdown()
