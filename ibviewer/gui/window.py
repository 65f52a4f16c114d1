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

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QColor, QFont, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStyle,
    QToolBar,
    QWidget,
)

from ibviewer.core.config import Config, ConfigError, build_config, dumps_toml, set_key
from ibviewer.gui.session_controller import SESSION_SUFFIX, STATUS_TEXT, SessionController
from ibviewer.gui.controls import SPEEDS, ControlPanel
from ibviewer.gui.panels import PANEL_CLASSES, Panel, panel_layout, setup_pyqtgraph
from ibviewer.gui.runs import AddRunDialog, QtRunList
from ibviewer.live.runs import RunView
from ibviewer.live.series import X_MODES, Frame, plain_symbols
from ibviewer.gui.settings import FONT_SCALES, AppSettings, qsettings
from ibviewer.core.io import atomic_write_text

#: data files a problem can read (problem.source)
DATA_SUFFIXES = (".npy", ".npz", ".csv")

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
                 settings: AppSettings | None = None, restore_geometry: bool = True):
        """``runs``: several runs on cfg's problem (name, config), ``selected`` the index of the one the controls
        edit; ``session``: a session file to open instead (cfg is the fallback when it cannot be read)."""
        super().__init__(parent)
        setup_pyqtgraph()
        self.settings = settings if settings is not None else AppSettings.load()
        # the runs, the worker and session files: the window shows what the controller says
        self.controller = SessionController(runs or [("run", cfg)], selected=selected, preset=preset,
                                            speed=auto_speed(cfg) if speed is None else int(speed),
                                            max_fps=max_fps, parent=self)
        self.client = self.controller.client
        self.run_frames: list[tuple[RunView, Frame]] = []
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

        self._build_actions()
        self._build_menus()
        self._build_status()
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
        # issue 4 hook: timeline bar, File > Export animation/image/history, Record live (ibviewer.gui.export_ui)
        from ibviewer.gui.export_ui import install_recording

        install_recording(self)
        self._apply_settings()

        self.controller.start(session, play)

    # ================================================================================================ building
    def _act(self, key: str, text: str, slot, shortcut=None, tip: str = "", icon=None) -> QAction:
        a = QAction(text, self)
        a.setObjectName("action_" + key)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            a.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})" if shortcut else tip)
            a.setStatusTip(tip)
        if icon is not None:
            a.setIcon(self.style().standardIcon(icon))
        a.triggered.connect(slot)
        self.addAction(a)
        self.actions[key] = a
        return a

    def _build_actions(self) -> None:
        self.actions: dict[str, QAction] = {}
        SP = QStyle.StandardPixmap
        self._act("play", "Play", self.toggle_play, Qt.Key.Key_Space, "Play / pause the training", SP.SP_MediaPlay)
        self._act("step1", "Step", self.step_once, Qt.Key.Key_Right, "Take exactly one step", SP.SP_MediaSeekForward)
        self._act("stepn", "Step N", self._step_n_action, QKeySequence(Qt.Modifier.SHIFT | Qt.Key.Key_Right),
                  "Take exactly N steps (N in the Run group)", SP.SP_MediaSkipForward)
        self._act("reset", "Reset", self.reset_run, Qt.Key.Key_R, "Back to step 0 with the same seed",
                  SP.SP_BrowserReload)
        self._act("new_seed", "New seed", self.new_seed, None, "Draw a new initialization seed and reset")
        self._act("open", "Open config…", self.open_config_dialog, QKeySequence.StandardKey.Open,
                  "Open a TOML configuration", SP.SP_DialogOpenButton)
        self._act("save", "Save config…", self.save_config_dialog, QKeySequence.StandardKey.Save,
                  "Save the current configuration as TOML", SP.SP_DialogSaveButton)
        self._act("quit", "Quit", self.close, QKeySequence.StandardKey.Quit, "Quit ibviewer")
        self._act("fullscreen", "Full screen", self.toggle_full_screen, Qt.Key.Key_F11, "Toggle full screen")
        self._act("fit", "Fit plots", self.fit_plots, Qt.Key.Key_A, "Rescale every plot to its data")
        self._act("restart", "Restart worker", self.restart_worker, None, "Start a new training worker")
        self._act("shortcuts", "Keyboard shortcuts", self.show_shortcuts, Qt.Key.Key_F1, "List the shortcuts")
        self._act("add_run", "Add run…", self.add_run_dialog, QKeySequence(Qt.Modifier.CTRL | Qt.Key.Key_N),
                  "Clone the selected run with one change (depth, α, optimizer, η, parametrization, seed); "
                  "the runs train together on the same data")
        self._act("save_session", "Save session…", self.save_session_dialog,
                  QKeySequence(Qt.Modifier.CTRL | Qt.Modifier.SHIFT | Qt.Key.Key_S),
                  "Save every run (config, state, history) and the view to a session file (.ibvs)")
        self._act("open_session", "Open session…", self.open_session_dialog,
                  QKeySequence(Qt.Modifier.CTRL | Qt.Modifier.SHIFT | Qt.Key.Key_O),
                  "Open a session file: the runs and the view as saved; training goes on from there")
        self._act("gallery", "Gallery…", self.open_gallery, QKeySequence(Qt.Modifier.CTRL | Qt.Key.Key_G),
                  "Browse the experiments of the literature; opening one sets up all its runs")
        self._act("load_data", "Load data…", self.load_data_dialog, QKeySequence(Qt.Modifier.CTRL | Qt.Key.Key_L),
                  "Train on your own data: a target matrix, A and y, a mask, or a regression data set "
                  "(.npy, .npz, .csv)")
        self._act("font_larger", "Larger text", lambda: self.step_font_scale(1),
                  QKeySequence(Qt.Modifier.CTRL | Qt.Key.Key_Equal), "Larger text everywhere (for a projector)")
        self._act("font_smaller", "Smaller text", lambda: self.step_font_scale(-1),
                  QKeySequence(Qt.Modifier.CTRL | Qt.Key.Key_Minus), "Smaller text")
        self._act("dark_theme", "Dark theme", self._on_dark_action, None, "Light text on a dark background")
        self.actions["dark_theme"].setCheckable(True)
        self.actions["fullscreen"].setCheckable(True)
        self.x_group = QActionGroup(self)
        for mode in X_MODES:
            a = QAction(f"x axis: {X_MODE_TEXT[mode]}", self, checkable=True)
            a.setObjectName("action_x_" + mode)
            a.setData(mode)
            a.setChecked(mode == self.x_mode)
            self.x_group.addAction(a)
        self.x_group.triggered.connect(self._on_x_action)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        for k in ("gallery", "open", "save"):
            m.addAction(self.actions[k])
        m.addSeparator()
        for k in ("open_session", "save_session"):
            m.addAction(self.actions[k])
        self.recent_menu = m.addMenu("Recent files")
        self.recent_menu.setObjectName("recent_menu")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addSeparator()
        m.addAction(self.actions["load_data"])
        m.addSeparator()
        m.addAction(self.actions["quit"])
        self.file_menu = m
        m = mb.addMenu("&Run")
        for k in ("play", "step1", "stepn", "reset", "new_seed"):
            m.addAction(self.actions[k])
        m.addSeparator()
        m.addAction(self.actions["add_run"])
        m.addSeparator()
        m.addAction(self.actions["restart"])
        self.view_menu = mb.addMenu("&View")
        self._view_sep = self.view_menu.addSeparator()
        for a in self.x_group.actions():
            self.view_menu.addAction(a)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.actions["fit"])
        self.view_menu.addAction(self.actions["fullscreen"])
        self.view_menu.addSeparator()
        for k in ("font_larger", "font_smaller", "dark_theme"):
            self.view_menu.addAction(self.actions[k])
        m = mb.addMenu("&Help")
        m.addAction(self.actions["shortcuts"])

    def _build_toolbar(self) -> None:
        tb = QToolBar("Run")
        tb.setObjectName("toolbar_run")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for k in ("play", "step1", "stepn", "reset"):
            tb.addAction(self.actions[k])
        tb.addSeparator()
        tb.addWidget(QLabel(" x axis: "))
        self.x_combo = QComboBox()
        self.x_combo.setObjectName("x_axis")
        for mode in X_MODES:
            self.x_combo.addItem(X_MODE_TEXT[mode], mode)
        self.x_combo.setToolTip("x axis of the plots over time: step k, log10 k (shows plateaus), or η·k")
        self.x_combo.setCurrentIndex(self.x_combo.findData(self.x_mode))
        self.x_combo.activated.connect(self._on_x_combo)
        tb.addWidget(self.x_combo)
        tb.addSeparator()
        tb.addAction(self.actions["fit"])
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
        f = QFont(self.font())  # from the window's font: restyling (a new font scale) does not compound
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() + 1)
        dock.setFont(f)
        if dock.widget() is not None:
            dock.widget().setFont(QFont(self.font()))

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
            panel = PANEL_CLASSES[name](self)
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

    def _frame(self, panels: list[Panel]) -> Frame:
        """The selected run's frame; with several runs also every visible run's (``run_frames``)."""
        buckets = self._buckets(panels)
        frame = Frame(self.mirror, self.x_mode, buckets)
        if self.comparing:
            self.run_frames = [(r, frame if r.id == self.selected_id else Frame(r.mirror, self.x_mode, buckets))
                               for r in self.runs if r.visible]
        else:
            self.run_frames = []
        return frame

    @Slot()
    def redraw(self) -> None:
        """Draw the mirror again (x axis changed, a panel was shown, ...)."""
        if self._closed:
            return
        panels = self.visible_panels()
        frame = self._frame(panels)
        for p in panels:
            self._guard(p, p.update, frame, self.last_snap)

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
        frame = self._frame(panels)
        for p in panels:
            self._guard(p, p.update, frame, snap)
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
        try:
            atomic_write_text(path, dumps_toml(self.cfg))
        except OSError as exc:
            self.show_error(f"cannot save {path}: {exc.strerror or exc}")
            return False
        self.show_info(f"configuration saved to {path}")
        self._remember(path)
        return True

    def open_config(self, path: str | Path) -> bool:
        try:
            cfg = build_config(config_file=path)
        except ConfigError as exc:
            self.show_error(str(exc))
            return False
        self.apply_config(cfg, f"opened {path}: the run restarts")
        self._remember(path)
        return True

    @Slot()
    def save_config_dialog(self) -> None:
        start = str(Path(self.settings.start_dir()) / "ibviewer.toml")
        path, _ = QFileDialog.getSaveFileName(self, "Save configuration", start, "TOML (*.toml);;All files (*)")
        if path:
            if not path.endswith(".toml") and "." not in Path(path).name:
                path += ".toml"
            self.save_config(path)

    @Slot()
    def open_config_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open configuration", self.settings.start_dir(),
                                              "TOML (*.toml);;All files (*)")
        if path:
            self.open_config(path)

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
        tl = getattr(getattr(self, "recording", None), "timeline", None)
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
            "theory": sorted(n for n, p in self.panels.items() if getattr(p, "theory", False)),
            "panels": {},
        }
        for name, p in self.panels.items():
            if hasattr(p, "form"):
                view["panels"][name] = {"form": p.form}
            elif hasattr(p, "layer"):
                view["panels"][name] = {"layer": p.layer}
        tl = getattr(getattr(self, "recording", None), "timeline", None)
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
        for name, p in self.panels.items():
            if hasattr(p, "set_theory") and getattr(p, "theory_box", None) is not None:
                p.set_theory(name in (view.get("theory") or []))
            opts = (view.get("panels") or {}).get(name, {})
            combo = getattr(p, "combo", None)
            for key in ("form", "layer"):
                if key in opts and combo is not None:
                    i = combo.findData(opts[key])
                    if i >= 0:
                        combo.setCurrentIndex(i)

    def _restore_late(self, view: dict[str, Any]) -> None:
        """After the first snapshot of an opened session: the timeline where it was."""
        tl = getattr(getattr(self, "recording", None), "timeline", None)
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
        """Train on the data in ``path`` (problem.source): a matrix, A and y, a mask, a regression set.
        ``kind``: the problem kind it holds (default: the current kind if it reads files, else a guess from the
        file).  A file of the wrong shape or type gives one line and changes nothing."""
        from ibviewer.core.problems import FILE_LAYOUT, make_problem

        path = Path(path)
        if path.suffix.lower() not in DATA_SUFFIXES:
            self.show_error(f"{path.name}: not a data file; use .npy, .npz or .csv")
            return False
        if not path.is_file():
            self.show_error(f"data file {str(path)!r} does not exist")
            return False
        if kind is None:
            kind = guess_kind(path, prefer=self.cfg.problem.kind)
        if kind not in FILE_LAYOUT:
            self.show_error(f"problem kind {kind!r} does not read data files; kinds that do: {', '.join(FILE_LAYOUT)}")
            return False
        same_kind = kind == self.cfg.problem.kind
        try:
            trial = self.cfg.copy() if same_kind else build_config(overrides=[("problem.kind", kind)])
            set_key(trial, "problem.source", str(path.resolve()))
            if kind == "matrix_factorization":
                set_key(trial, "problem.target", "file")
            trial.validate()
            make_problem(trial)  # read and check the file here: a bad one is refused at once, in one line
        except ConfigError as exc:
            self.show_error(str(exc))
            return False
        except (ValueError, OSError) as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.show_error(f"{path.name} cannot be used for {kind}: {text}")
            return False
        if same_kind and self.comparing:
            runs = []
            for r in self.runs:
                c = r.cfg.copy()
                c.problem = trial.problem
                runs.append((r.name, c))
            sel = next((i for i, r in enumerate(self.runs) if r.id == self.selected_id), 0)
            self.apply_runs(runs, f"training on {path.name} ({kind}): the runs restart", selected=sel)
        else:
            self.apply_config(trial, f"training on {path.name} ({kind}): the run restarts")
        self._remember(path)
        return True

    @Slot()
    def load_data_dialog(self) -> None:
        from ibviewer.core.problems import FILE_LAYOUT

        path, _ = QFileDialog.getOpenFileName(self, "Load data", self.settings.start_dir(),
                                              "Data (*.npy *.npz *.csv);;All files (*)")
        if not path:
            return
        kinds = list(FILE_LAYOUT)
        guess = guess_kind(Path(path), prefer=self.cfg.problem.kind)
        items = [f"{k}: {FILE_LAYOUT[k]}" for k in kinds]
        item, ok = QInputDialog.getItem(self, "Load data", f"What does {Path(path).name} hold?", items,
                                        kinds.index(guess) if guess in kinds else 0, False)
        if ok:
            self.load_data(path, kinds[items.index(item)])

    # ================================================================================================ settings
    def _remember(self, path: str | Path) -> None:
        self.settings.add_recent(path)
        self.settings.save()

    def _fill_recent(self) -> None:
        m = self.recent_menu
        m.clear()
        recent = self.settings.existing_recent()
        if not recent:
            a = m.addAction("(none yet)")
            a.setEnabled(False)
            return
        for i, p in enumerate(recent):
            a = m.addAction(f"&{i + 1}  {Path(p).name}" if i < 9 else Path(p).name)
            a.setToolTip(p)
            a.setStatusTip(p)
            a.setData(p)
            a.triggered.connect(self._on_recent)

    @Slot()
    def _on_recent(self) -> None:
        a = self.sender()
        if isinstance(a, QAction) and a.data():
            self.open_path(a.data())

    def open_path(self, path: str | Path) -> bool:
        """Open a recent file by its type: a session, a configuration or a data file."""
        p = Path(path)
        if p.suffix == SESSION_SUFFIX:
            return self.open_session(p)
        if p.suffix.lower() in DATA_SUFFIXES:
            return self.load_data(p)
        return self.open_config(p)

    def _apply_settings(self) -> None:
        s = self.settings
        if s.note:
            self.show_error(s.note)
        geometry = qsettings().value("geometry") if self._restore_geometry else None
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.set_theme(s.theme)
        self.set_font_scale(s.font_scale)

    def save_settings(self) -> None:
        """Theme, font scale, this panel layout and the window geometry, for the next window."""
        if not self.settings.persist:
            return
        self._remember_layout()
        q = qsettings()
        q.setValue("geometry", self.saveGeometry())
        q.sync()
        self.settings.save()

    def _remember_layout(self) -> None:
        if self._layout is not None:
            self.settings.set_layout(self._layout_key(), bytes(self.saveState()))

    def set_font_scale(self, scale: float) -> None:
        """Every text of the window (controls, panels' axes and legends) at ``scale`` times its size."""
        self.settings.font_scale = min(3.0, max(0.5, float(scale)))
        app = QApplication.instance()
        base = app.font() if app is not None else QFont()
        f = QFont(self.font())
        if base.pointSizeF() > 0:
            f.setPointSizeF(base.pointSizeF() * self.settings.font_scale)
        self.setFont(f)
        for dock in [self.controls_dock, self.runs_dock, *self.docks.values()]:
            self._style_dock(dock)
        self._apply_fonts()

    def _apply_fonts(self) -> None:
        """The panels' fonts and theme (new panels after a layout change too)."""
        dark = self.settings.theme == "dark"
        for p in self.panels.values():
            if hasattr(p, "set_font_scale"):
                p.set_font_scale(self.settings.font_scale)
            if dark and hasattr(p, "set_dark"):
                p.set_dark(True)

    def step_font_scale(self, direction: int) -> None:
        cur = self.settings.font_scale
        if direction > 0:
            nxt = next((v for v in FONT_SCALES if v > cur + 1e-9), FONT_SCALES[-1])
        else:
            nxt = next((v for v in reversed(FONT_SCALES) if v < cur - 1e-9), FONT_SCALES[0])
        self.set_font_scale(nxt)
        self.show_info(f"text at {nxt:g}×")

    @Slot()
    def _on_dark_action(self) -> None:
        self.set_theme("dark" if self.actions["dark_theme"].isChecked() else "light")

    def set_theme(self, name: str) -> None:
        """Light (default) or dark: the window's widgets and the plots' backgrounds."""
        name = name if name in ("light", "dark") else "light"
        self.settings.theme = name
        self.actions["dark_theme"].setChecked(name == "dark")
        pal = QPalette() if name == "light" else dark_palette()
        if name == "light":
            app = QApplication.instance()
            pal = app.palette() if app is not None else QPalette()
        self.setPalette(pal)
        for p in self.panels.values():
            if hasattr(p, "set_dark"):
                p.set_dark(name == "dark")

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

    @Slot(QAction)
    def _on_x_action(self, action: QAction) -> None:
        self.set_x_mode(action.data())

    @Slot()
    def fit_plots(self) -> None:
        for p in self.panels.values():
            if hasattr(p, "fit_view"):
                p.fit_view()
        self.redraw()

    @Slot()
    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        self.actions["fullscreen"].setChecked(self.isFullScreen())

    @Slot()
    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", "\n".join((  # noqa: FLY002
            "Space\tplay / pause", "Right\tstep 1", "Shift+Right\tstep N", "R\treset (same seed)",
            "A\tfit plots", "Ctrl+S\tsave the configuration", "Ctrl+O\topen a configuration", "F11\tfull screen",
            "Ctrl+N\tadd a run (one change)", "Ctrl+G\tgallery of experiments", "Ctrl+L\tload data",
            "Ctrl+Shift+S\tsave the session", "Ctrl+Shift+O\topen a session", "Ctrl+= / Ctrl+-\ttext size",
            "Ctrl+Q\tquit")))

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


def guess_kind(path: Path, prefer: str = "") -> str:
    """The problem kind a data file most likely holds (by its arrays' names and shapes); ``prefer`` (the current
    kind) decides between kinds the file fits equally (A and y: sensing or sparse recovery)."""
    import numpy as np

    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = set(z.files)
                if {"X", "labels"} <= keys:
                    return "logistic_separable"
                if {"X", "Y"} <= keys:
                    return "linear_regression"
                if {"A", "y"} <= keys:
                    a = z["A"]
                    if "W" in keys or a.ndim == 3:
                        return "matrix_sensing"
                    if "x" in keys:
                        return "sparse_recovery"
                    square = a.ndim == 2 and round(a.shape[1] ** 0.5) ** 2 == a.shape[1]
                    return "matrix_sensing" if square and prefer == "matrix_sensing" else "sparse_recovery"
                if "mask" in keys or ("M" in keys and np.isnan(np.asarray(z["M"], float)).any()):
                    return "matrix_completion"
                return "matrix_factorization"
        m = np.load(path, allow_pickle=False) if suffix == ".npy" else np.genfromtxt(path, delimiter=",")
        if np.issubdtype(np.asarray(m).dtype, np.floating) and np.isnan(m).any():
            return "matrix_completion"
    except (OSError, ValueError):
        pass
    return "matrix_factorization"


def dark_palette() -> QPalette:
    pal = QPalette()
    base, text, mid = QColor(30, 32, 36), QColor(228, 228, 228), QColor(48, 51, 57)
    for role, c in ((QPalette.ColorRole.Window, mid), (QPalette.ColorRole.WindowText, text),
                    (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, mid),
                    (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, mid),
                    (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.ToolTipBase, base),
                    (QPalette.ColorRole.ToolTipText, text), (QPalette.ColorRole.Highlight, QColor(60, 120, 200)),
                    (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))):
        pal.setColor(role, c)
    return pal
