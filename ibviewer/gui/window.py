"""The main window: controls and the run list on the left, plot panels as docks, run actions with shortcuts,
a status bar.

Training runs in the worker process (:class:`~ibviewer.gui.client.WorkerClient`).  Every snapshot it sends is
merged into each run's :class:`~ibviewer.live.series.HistoryMirror`, drawn once by every visible panel, and
then acknowledged, which lets the worker send the next one (backpressure: one snapshot in flight).

Several runs on one problem train together (issue 5): the "Runs" dock lists them, every time panel overlays the
visible ones in their colours, and the selected run is the one the controls edit (``window.cfg``,
``window.mirror``, ``window.info`` are the selected run's).  Sessions (File > Save/Open session) keep every
run's state and the view; settings and recent files persist in the platform's config folder.
"""

from __future__ import annotations

import itertools
import math
import random
import time
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

from ibviewer.core.config import Config, ConfigError, build_config, config_from_dict, dumps_toml, set_key
from ibviewer.gui.client import WorkerClient
from ibviewer.gui.controls import SPEEDS, ControlPanel
from ibviewer.gui.panels import PANEL_CLASSES, Panel, PlotPanel, panel_layout, saved_panel_states, setup_pyqtgraph
from ibviewer.gui.runs import RUN_COLOURS, AddRunDialog, QtRunList, RunView, pretty_name, run_label, value_of
from ibviewer.live.draw import DrawContext, RunFrame
from ibviewer.live.series import X_MODES, Frame, plain_symbols
from ibviewer.gui.settings import FONT_SCALES, AppSettings, qsettings
from ibviewer.core.io import atomic_write_text

#: session files
SESSION_SUFFIX = ".ibvs"
#: data files a problem can read (problem.source)
DATA_SUFFIXES = (".npy", ".npz", ".csv")

#: optimizer settings that apply live (the rest of a config change rebuilds the run)
LIVE_OPTIMIZER = ("optimizer.name", "optimizer.lr", "optimizer.momentum", "optimizer.batch_size",
                  "optimizer.weight_decay")
X_MODE_TEXT = {"step": "step", "log_step": "log step", "time": "time η·k"}
STATUS_TEXT = {"converged": "converged", "max_steps": "finished", "diverged": "diverged"}


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
        self.runs: list[RunView] = []
        self.selected_id = 0
        self._next_id = 0
        self.run_frames: list[tuple[RunView, Frame]] = []
        self.runs_version = 0
        self.base_info: dict[str, Any] = {}
        self._pending_view: dict[str, Any] | None = None
        self._restore_geometry = restore_geometry
        self._session_open: tuple[int, int, str] | None = None  # (gen, gen before, path) while one opens
        self._cfg = cfg
        self._set_runs(runs or [("run", cfg)], selected)
        self.accepted_cfg = self.cfg
        self.accepted_runs = self._specs_copy()
        self.preset = preset
        self.x_mode = x_mode
        self.speed = auto_speed(cfg) if speed is None else int(speed)
        self.min_interval = 1.0 / max_fps if max_fps > 0 else 0.0
        self.gen = 0
        self.info: dict[str, Any] = {}
        self.worker_ready = False
        self.worker_dead = False
        self.last_snap: dict[str, Any] | None = None
        self.snap_count = 0
        self.frames_drawn = 0
        self.playing = False
        self.messages: list[str] = []
        self.panel_errors: list[str] = []
        self.panels: dict[str, Panel] = {}
        self.docks: dict[str, QDockWidget] = {}
        self._layout = None
        self._last_status = None
        self._ack_seq: int | None = None
        self._last_ack = 0.0
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

        self.client = WorkerClient(self)
        self.client.ready.connect(self._on_ready)
        self.client.snapshot.connect(self._on_snapshot)
        self.client.error.connect(self._on_error)
        self.client.config_error.connect(self._on_config_error)
        self.client.died.connect(self._on_died)
        self.client.session.connect(self._on_session)
        self.client.session_error.connect(self._on_session_error)
        self.client.saved.connect(self._on_saved)

        self._ack_timer = QTimer(self)
        self._ack_timer.setSingleShot(True)
        self._ack_timer.timeout.connect(self._send_ack)
        self._config_timer = QTimer(self)
        self._config_timer.setSingleShot(True)
        self._config_timer.setInterval(350)
        self._config_timer.timeout.connect(self._send_config)
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
        self.controls.edited.connect(self._on_edited)
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

        options = {"gen": self.gen, "speed": self.speed, "runs": self._specs(), "selected": self.selected_id}
        if session:
            self._session_open = (self.gen, self.gen, str(session))
            options["session"] = str(session)
        self.client.start(self.cfg.to_dict(), options)
        self._set_worker_label("starting the training worker…", "#8a6d00")
        if play:
            self.client.send("play")
            self.playing = True
            self._sync_play_action()

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
        if info.get("gen") != self.gen:
            return
        self.base_info = info
        self._sync_runs(info)
        self.info = self._run_info(self.selected_run())
        self.worker_ready = True
        self.worker_dead = False
        self.accepted_cfg = self.cfg
        self.accepted_runs = self._specs_copy()
        self.last_snap = None
        self._rebuild_panels(self.cfg)
        for p in self.panels.values():
            self._guard(p, p.set_info, self.info)
        backend = info.get("backend", "")
        label = f"worker ready ({backend})" if backend else "worker ready"
        if info.get("n_params"):
            # overparameterization at a glance: trainable parameters against training data
            label = f"{info['n_params']:,} parameters vs n = {info['n_samples']:,}  ·  {label}"
        self._set_worker_label(label, "#1a7f37")
        self.btn_restart.hide()

    @Slot(object)
    def _on_snapshot(self, snap: dict[str, Any]) -> None:
        self._ack_seq = snap["seq"]
        if snap.get("gen") == self.gen and not self._closed and self.runs:
            snap = self._merge_snapshot(snap)
            if snap["replaced_any"]:
                for p in self.panels.values():
                    p.reset()
            self.last_snap = snap
            self.snap_count += 1
            self.playing = bool(snap["playing"])
            self._sync_play_action()
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
            if en is None or r.id == self.selected_id:
                continue
            if en["status"] == "diverged" and r.said != en["step"]:
                r.said = en["step"]
                self.show_error(f"run '{r.name}': {en['message']}")
            elif en["status"] != "diverged":
                r.said = None

    def _show_progress(self, snap: dict[str, Any]) -> None:
        if self.comparing:
            self._note_other_runs()
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
    def _on_error(self, text: str) -> None:
        self.show_error(text)

    @Slot(str, int)
    def _on_config_error(self, text: str, gen: int) -> None:
        if gen != self.gen:
            return
        self.show_error(f"{text} (the previous settings were restored)")
        self._restore_runs(self.accepted_runs)
        self.controls.set_config(self.cfg, self.preset)
        self.runs_list.set_runs(self.runs, self.selected_id)
        self._rebuild_panels(self.cfg)
        self._send_config()

    @Slot(str)
    def _on_died(self, reason: str) -> None:
        if self._closed:
            return
        self.worker_ready = False
        self.worker_dead = True
        self.playing = False
        self._sync_play_action()
        self._set_worker_label("worker stopped", "#b00020")
        self.btn_restart.show()
        self.show_error(f"{reason}; press 'Restart worker' to start a new one")

    def _new_generation(self) -> None:
        """A new config generation: what the worker sends for older ones is dropped, the mirrors start empty."""
        self.gen += 1
        self.worker_ready = False
        for r in self.runs:
            r.mirror.clear()
        self.last_snap = None
        self._last_status = None

    @Slot()
    def restart_worker(self) -> None:
        self._new_generation()
        self.worker_dead = False
        self._ack_seq = None
        self.btn_restart.hide()
        self._set_worker_label("starting the training worker…", "#8a6d00")
        self.client.start(self.cfg.to_dict(), {"gen": self.gen, "speed": self.speed, "runs": self._specs(),
                                               "selected": self.selected_id})
        self.redraw()

    # ================================================================================================ run actions
    @Slot()
    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    @Slot()
    def play(self) -> None:
        status = self._play_status()
        if status == "diverged":
            self.show_info(f"the run has stopped ({self.last_snap['message']}); press R to reset")
            return
        if status in ("converged", "max_steps"):
            # the worker goes on if max steps or the loss tolerance were changed, else it stays paused
            hint = "raise max steps" if status == "max_steps" else "lower the loss tolerance"
            self.show_info(f"{STATUS_TEXT[status]}: {self.last_snap['message']}; {hint} to go on, or press R to reset")
            self.client.send("play")
            return
        self.playing = True
        self._sync_play_action()
        self.client.send("play")

    @Slot()
    def pause(self) -> None:
        self.playing = False
        self._sync_play_action()
        self.client.send("pause")

    @Slot()
    def step_once(self) -> None:
        self.playing = False
        self._sync_play_action()
        self.client.send("step", 1)

    @Slot()
    def _step_n_action(self) -> None:  # triggered(bool) must not reach step_n's n
        self.step_n()

    def step_n(self, n: int | None = None) -> None:
        n = int(self.controls.widgets["step_n"].value() if n is None else n)
        self.playing = False
        self._sync_play_action()
        self.client.send("step", n)

    @Slot()
    def reset_run(self) -> None:
        self.playing = False
        self._sync_play_action()
        self._last_status = None
        self._set_run_label("", None)
        self.client.send("reset", None)

    @Slot()
    def new_seed(self) -> None:
        seed = random.randrange(1, 100000)
        self.cfg.run.seed = seed
        self.accepted_cfg.run.seed = seed
        self.controls.set_config(self.cfg, self.preset)
        self.playing = False
        self._sync_play_action()
        self._last_status = None
        self.client.send("reset", seed, self.selected_id)
        self.show_info(f"new initialization seed {seed}: the run was reset" + self._together())

    @Slot(int)
    def set_speed(self, steps_per_frame: int) -> None:
        self.speed = int(steps_per_frame)
        self.client.send("speed", self.speed)

    def set_lr(self, lr: float) -> None:
        """Change the learning rate live (as the lr control does)."""
        self._on_edited("optimizer.lr", lr)
        self.controls.set_config(self.cfg, self.preset)

    def _sync_play_action(self) -> None:
        a = self.actions["play"]
        SP = QStyle.StandardPixmap
        a.setText("Pause" if self.playing else "Play")
        a.setIcon(self.style().standardIcon(SP.SP_MediaPause if self.playing else SP.SP_MediaPlay))

    # ================================================================================================ config
    @Slot(str, object)
    def _on_edited(self, key: str, value: Any) -> None:
        others: dict[int, Config] = {}
        try:
            if key == "problem.kind":
                trial = build_config(overrides=[("problem.kind", value)])
            else:
                trial = self.cfg.copy()
                set_key(trial, key, value)
                trial.validate()
                if key.startswith("problem.") or key in ("run.steps", "run.loss_tol"):
                    # runs share the problem and train to the same limits: the change applies to every run
                    for r in self.runs:
                        if r.id != self.selected_id:
                            c = r.cfg.copy()
                            set_key(c, key, value)
                            others[r.id] = c.validate()
        except ConfigError as exc:
            self.show_error(str(exc))
            self.controls.set_config(self.cfg, self.preset)
            return
        if key in LIVE_OPTIMIZER:
            self.cfg = trial
            self.accepted_cfg.optimizer = trial.optimizer
            name = key.split(".", 1)[1]
            self.client.send("set_optimizer", {name: getattr(trial.optimizer, name)}, self.selected_id)
            self._rename_for(self.selected_run(), key, value)
            who = f" to '{self.selected_run().name}'" if self.comparing else ""
            self.show_info((f"{key} = {value:g} applied live" if isinstance(value, float)
                            else f"{key} = {value} applied live") + who)
            return
        if key in ("run.steps", "run.loss_tol"):
            self.cfg = trial
            for r in self.runs:
                if r.id in others:
                    r.cfg = others[r.id]
            for _, _, c in self.accepted_runs:
                setattr(c.run, key.split(".", 1)[1], getattr(trial.run, key.split(".", 1)[1]))
            if key == "run.steps":
                self.accepted_cfg.run.steps = trial.run.steps
                self.client.send("set_max_steps", trial.run.steps)
            else:
                self.accepted_cfg.run.loss_tol = trial.run.loss_tol
                self.client.send("set_loss_tol", trial.run.loss_tol)
                if "loss" in self.panels:
                    self.panels["loss"].set_tol(trial.run.loss_tol)
            self._last_status = None
            return
        if key == "run.seed":
            self.cfg = trial
            self.accepted_cfg.run.seed = trial.run.seed
            self.playing = False
            self._sync_play_action()
            self._last_status = None
            self._rename_for(self.selected_run(), key, value)
            self.client.send("reset", trial.run.seed, self.selected_id)
            self.show_info(f"initialization seed {trial.run.seed}: the run was reset" + self._together())
            return
        # problem / model: a new run (a new kind: one run of that kind)
        if key == "problem.kind" and self.comparing:
            self._set_runs([("run", trial)])
        else:
            old = value_of(self.cfg, key) if "." in key else None
            self.cfg = trial
            for r in self.runs:
                if r.id in others:
                    r.cfg = others[r.id]
            if key.startswith(("model.", "optimizer.")):
                self._rename_for(self.selected_run(), key, value, old)
        self.preset = None
        self.controls.set_config(trial, None)
        self.runs_list.set_runs(self.runs, self.selected_id)
        self._update_title()
        self._rebuild_panels(trial)
        self.show_info(f"{key} changed: the run restarts from step 0" + self._together())
        if key == "problem.kind":
            self._send_config()
        else:
            self._config_timer.start()

    def _together(self) -> str:
        return " (all runs restart together)" if self.comparing else ""

    def _rename_for(self, run: RunView | None, key: str, value: Any, old: Any = None) -> None:
        """A run named after the value that was just changed takes the new value's name."""
        if run is None:
            return
        old = value_of(run.cfg, key) if old is None else old
        short = key.split(".", 1)[1]
        names = {run_label(key, old), f"{short}={old}"}
        if run.name in names:
            run.name = run_label(key, value_of(run.cfg, key))
            self.runs_version += 1
            self.runs_list.set_runs(self.runs, self.selected_id)
            self.client.send("rename", run.id, run.name)

    @Slot()
    def _send_config(self) -> None:
        self._config_timer.stop()
        self._new_generation()
        self.playing = False
        self._set_run_label("", None)
        self._sync_play_action()
        self.client.send("runs", self._specs(), self.gen, self.selected_id)
        for p in self.panels.values():
            p.reset()
        self.redraw()

    def apply_config(self, cfg: Config, note: str = "", preset: str | None = None) -> None:
        """Replace the configuration (preset, opened file) with one run: it restarts."""
        self.apply_runs([("run", cfg)], note, preset)

    def apply_runs(self, runs: list[tuple[str, Config]], note: str = "", preset: str | None = None,
                   selected: int = 0) -> None:
        """Replace the runs (a preset's, a session's): they start together from step 0."""
        self._set_runs(runs, selected)
        self.preset = preset
        self.controls.set_config(self.cfg, preset)
        self.runs_list.set_runs(self.runs, self.selected_id)
        self._update_title()
        self._rebuild_panels(self.cfg)
        self._send_config()
        if note:
            self.show_info(note)

    @Slot(str)
    def load_preset(self, name: str) -> None:
        """Open a preset with all the runs it compares (its [meta] runs / compare)."""
        from ibviewer.core.compare import preset_runs

        try:
            base = build_config(preset=name)
            runs = preset_runs(name)
        except ConfigError as exc:
            self.show_error(str(exc))
            return
        # the controls edit the run that is the preset's own config (else the first)
        base_d = base.to_dict()
        selected = next((i for i, (_, c) in enumerate(runs) if c.to_dict() == base_d), 0)
        what = f"{len(runs)} runs restart" if len(runs) > 1 else "the run restarts"
        self.apply_runs(runs, f"preset '{name}' loaded: {what}", preset=name, selected=selected)
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
        return self._cfg

    @cfg.setter
    def cfg(self, value: Config) -> None:
        self._cfg = value
        run = self.selected_run()
        if run is not None:
            run.cfg = value

    @property
    def comparing(self) -> bool:
        """Several runs: the panels overlay them, colour-coded."""
        return len(self.runs) > 1

    def selected_run(self) -> RunView | None:
        for r in getattr(self, "runs", ()):
            if r.id == self.selected_id:
                return r
        return None

    def run_by_id(self, rid: int) -> RunView | None:
        return next((r for r in self.runs if r.id == rid), None)

    def _free_colour(self, taken: list[RunView]) -> tuple[int, int, int]:
        used = {r.colour for r in taken}
        return next((c for c in RUN_COLOURS if c not in used), RUN_COLOURS[len(taken) % len(RUN_COLOURS)])

    def _set_runs(self, runs: list[tuple[str, Config]], selected: int = 0) -> None:
        """New runs (fresh ids and colours, empty histories); ``selected`` is an index."""
        self.runs = []
        for name, cfg in runs:
            self.runs.append(RunView(self._next_id, pretty_name(name), cfg, self._free_colour(self.runs)))
            self._next_id += 1
        self._adopt_runs(self.runs, self.runs[min(max(int(selected), 0), len(self.runs) - 1)].id)

    def _adopt_runs(self, runs: list[RunView], selected_id: int | None = None) -> None:
        """``runs`` become the window's; the selected run is ``selected_id`` (or stays), else the first."""
        self.runs = runs
        if selected_id is not None:
            self.selected_id = int(selected_id)
        if self.selected_run() is None:
            self.selected_id = runs[0].id
        sel = self.selected_run()
        self._cfg = sel.cfg
        self.mirror = sel.mirror
        self.runs_version += 1

    def _specs(self) -> list[tuple[int, str, dict[str, Any]]]:
        return [(r.id, r.name, r.cfg.to_dict()) for r in self.runs]

    def _specs_copy(self) -> list[tuple[int, str, Config]]:
        return [(r.id, r.name, r.cfg.copy()) for r in self.runs]

    def _restore_runs(self, specs: list[tuple[int, str, Config]]) -> None:
        """Back to the runs the worker last accepted (ids, names and configs; colours kept where they can be)."""
        old = {r.id: r for r in self.runs}
        runs = []
        for rid, name, cfg in specs:
            r = old.get(rid) or RunView(rid, name, cfg, self._free_colour(runs))
            r.name, r.cfg = name, cfg.copy()
            runs.append(r)
        self._adopt_runs(runs)

    def _sync_runs(self, info: dict[str, Any]) -> None:
        """The runs the worker built (after "ready"): configs, names and references as it has them."""
        listed = info.get("runs") or [{"id": self.selected_id, "name": getattr(self.selected_run(), "name", "run"),
                                       "cfg": info["cfg"], "refs": info.get("refs", {})}]
        old = {r.id: r for r in self.runs}
        runs: list[RunView] = []
        for item in listed:
            cfg = config_from_dict(item["cfg"])
            r = old.get(item["id"])
            if r is None:
                r = RunView(int(item["id"]), str(item["name"]), cfg, self._free_colour(runs))
            r.cfg, r.name = cfg, str(item["name"])
            r.refs = dict(item.get("refs", {}))
            r.mirror.clear()
            r.entry = None
            r.product = None
            runs.append(r)
        self._next_id = max(self._next_id, max(r.id for r in runs) + 1)
        self._adopt_runs(runs, info.get("selected", runs[0].id))
        self.runs_list.set_runs(self.runs, self.selected_id)
        self.controls.set_config(self.cfg, self.preset)
        self._update_title()

    def _run_info(self, run: RunView | None) -> dict[str, Any]:
        """The problem's info with ``run``'s own config and references (what the panels draw against)."""
        info = dict(self.base_info)
        if run is not None:
            info.update(cfg=run.cfg.to_dict(), refs=run.refs, parametrization=run.cfg.parametrization,
                        family=run.cfg.family, selected=run.id)
        return info

    def _merge_snapshot(self, snap: dict[str, Any]) -> dict[str, Any]:
        """Every run's rows into its mirror; returns the snapshot as the selected run sees it."""
        entries = snap.get("runs") or [dict(snap, id=self.selected_id)]
        replaced = False
        own = None
        for en in entries:
            r = self.run_by_id(en["id"])
            if r is None:
                continue
            r.mirror.update(en["rows"], en["replace"], en.get("tail"))
            r.entry = en
            if en.get("product") is not None:
                r.product = en["product"]
            replaced = replaced or bool(en["replace"])
            if r.id == self.selected_id:
                own = en
        out = dict(snap)
        if own is not None:
            out.update(own)
        out["replaced_any"] = replaced
        return out

    def _play_status(self) -> str | None:
        """The selected run's stop status, when every run has stopped (else None: play goes on)."""
        if self.last_snap is None:
            return None
        status = self.last_snap["status"]
        if self.comparing:
            stopped = ("converged", "max_steps", "diverged")
            if any(r.entry is None or r.entry["status"] not in stopped for r in self.runs):
                return None
        return status

    @Slot(int)
    def select_run(self, rid: int) -> None:
        """The run the controls edit, the heatmap shows and the recording exports."""
        run = self.run_by_id(rid)
        if run is None or rid == self.selected_id:
            return
        self.selected_id = rid
        self._cfg = run.cfg
        self.mirror = run.mirror
        self.info = self._run_info(run)
        self.client.send("select", rid)
        self.controls.set_config(self.cfg, self.preset)
        item = self.runs_list.item(rid)
        if item is not None and self.runs_list.list.currentItem() is not item:
            self.runs_list.list.setCurrentItem(item)
        if self.last_snap is not None and run.entry is not None:
            snap = dict(self.last_snap)
            snap.update(run.entry)
            snap["product"] = run.product
            self.last_snap = snap
        self._last_status = None
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

    @Slot(int, bool)
    def set_run_visible(self, rid: int, visible: bool) -> None:
        run = self.run_by_id(rid)
        if run is not None and run.visible != visible:
            run.visible = bool(visible)
            self.runs_version += 1
            item = self.runs_list.item(rid)
            if item is not None:
                want = Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked
                if item.checkState() != want:
                    self.runs_list._filling = True
                    item.setCheckState(want)
                    self.runs_list._filling = False
            for p in self.panels.values():
                p.reset()
            self.redraw()

    @Slot(int, str)
    def rename_run(self, rid: int, name: str) -> None:
        run = self.run_by_id(rid)
        name = " ".join(str(name).split())
        if run is None or name == run.name:
            return
        if not name:
            self.runs_list.set_runs(self.runs, self.selected_id)
            self.show_error("a run needs a name")
            return
        run.name = name
        self.runs_version += 1
        self.client.send("rename", rid, name)
        item = self.runs_list.item(rid)
        if item is not None and item.text() != name:
            self.runs_list._filling = True
            item.setText(name)
            self.runs_list._filling = False
        self._update_title()
        self.redraw()

    def add_run(self, key: str, value: Any, name: str | None = None) -> RunView | None:
        """A copy of the selected run with ``key`` set to ``value``; every run restarts from step 0 (they train
        together).  Returns the new run, or None (with a one-line message) when the value is refused."""
        if key.startswith("problem."):
            self.show_error(f"{key}: runs of a comparison share the problem; change the model, optimizer or seed")
            return None
        base = self.selected_run()
        try:
            cfg = base.cfg.copy()
            set_key(cfg, key, value)
            cfg.validate()
        except ConfigError as exc:
            self.show_error(str(exc))
            return None
        new_value = value_of(cfg, key)
        if new_value == value_of(base.cfg, key):
            self.show_error(f"{key} is {new_value} already; choose another value")
            return None
        if len(self.runs) == 1 and base.name == "run":
            base.name = run_label(key, value_of(base.cfg, key))  # name the first run by what tells it apart
        names = {r.name for r in self.runs}
        name = name or run_label(key, new_value)
        stem, i = name, 2
        while name in names:
            name, i = f"{stem} ({i})", i + 1
        run = RunView(self._next_id, name, cfg, self._free_colour(self.runs))
        self._next_id += 1
        self.runs.append(run)
        self.runs_version += 1
        self.runs_list.set_runs(self.runs, self.selected_id)
        self._rebuild_panels(self.cfg)
        self._send_config()
        self.show_info(f"run '{name}' added: {len(self.runs)} runs restart together from step 0")
        return run

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
        run = self.run_by_id(rid)
        if run is None:
            return False
        if len(self.runs) == 1:
            self.show_error("the last run cannot be removed; open another preset or configuration instead")
            return False
        self.runs.remove(run)
        self.accepted_runs = [s for s in self.accepted_runs if s[0] != rid]
        self.client.send("remove_run", rid)
        self.runs_version += 1
        if rid == self.selected_id:
            nxt = self.runs[0]
            self.selected_id = -1
            self.runs_list.set_runs(self.runs, None)
            self.select_run(nxt.id)
        self.runs_list.set_runs(self.runs, self.selected_id)
        for p in self.panels.values():
            p.reset()
        self.show_info(f"run '{run.name}' removed")
        self.redraw()
        return True

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
        path = Path(path)
        if path.suffix != SESSION_SUFFIX:
            path = path.with_name(path.name + SESSION_SUFFIX)
        if not path.parent.is_dir():
            self.show_error(f"cannot save the session: the folder {str(path.parent)!r} does not exist")
            return False
        if self.worker_dead or self.client.process is None:
            self.show_error("cannot save the session: the training worker is not running")
            return False
        self.client.send("save_session", str(path), [r.name for r in self.runs], self.view_state())
        return True

    @Slot(str, int)
    def _on_saved(self, path: str, step: int) -> None:
        self.show_info(f"session saved to {path} (step {step:,})")
        self._remember(path)
        self.session_saved.emit(path)

    def open_session(self, path: str | Path) -> bool:
        """Open a session: its runs continue where they stopped, its view comes back.  A bad file leaves the
        current runs as they are and says why in one line."""
        path = Path(path)
        if not path.is_file():
            self.show_error(f"session file {str(path)!r} does not exist")
            return False
        before = self.gen
        self.gen += 1
        self._session_open = (self.gen, before, str(path))
        self.worker_ready = False
        self._config_timer.stop()
        self.client.send("open_session", str(path), self.gen)
        self._set_worker_label(f"opening {path.name}…", "#8a6d00")
        return True

    @Slot(object)
    def _on_session(self, info: dict[str, Any]) -> None:
        if info.get("gen") != self.gen:
            return
        self._session_open = None
        view = dict(info.get("view") or {})
        self.preset = view.get("preset") if isinstance(view.get("preset"), str) else None
        self.controls.set_config(self.cfg, self.preset)
        self._update_title()
        self._restore_view(view)
        self._pending_view = view  # the timeline position once the histories have arrived
        self._remember(info["path"])
        self.show_info(f"opened session {info['path']} at step {self.selected_step():,}")
        self.session_opened.emit(info["path"])

    @Slot(str, int)
    def _on_session_error(self, text: str, gen: int) -> None:
        if self._session_open is not None and gen == self._session_open[0]:
            # the worker kept the runs it had (and their generation): listen to them again
            self.gen = self._session_open[1]
            self._session_open = None
            self.worker_ready = self.client.is_ready
            self._set_worker_label("worker ready", "#1a7f37")
        self.show_error(text)

    def selected_step(self) -> int:
        run = self.selected_run()
        if run is None or run.entry is None:
            return int(run.mirror["step"][-1]) if run is not None and run.mirror.n else 0
        return int(run.entry["step"])

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
            if isinstance(p, PlotPanel):  # the heatmap keeps its looks
                p.set_font_scale(self.settings.font_scale)
                if dark:
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
            if isinstance(p, PlotPanel):
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
        for t in (self._ack_timer, self._config_timer, self._redraw_timer, self._fit_timer):
            t.stop()
        self.client.stop()


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
