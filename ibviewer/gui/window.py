"""The main window: controls on the left, plot panels as docks, run actions with shortcuts, a status bar.

Training runs in the worker process (:class:`~ibviewer.gui.client.WorkerClient`).  Every snapshot it sends is
merged into the window's :class:`~ibviewer.gui.series.HistoryMirror`, drawn once by every visible panel, and
then acknowledged, which lets the worker send the next one (backpressure: one snapshot in flight).
"""

from __future__ import annotations

import itertools
import math
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QFont, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStyle,
    QToolBar,
    QWidget,
)

from ibviewer.config import Config, ConfigError, build_config, dumps_toml, set_key
from ibviewer.gui.client import WorkerClient
from ibviewer.gui.controls import SPEEDS, ControlPanel
from ibviewer.gui.panels import PANEL_CLASSES, Panel, panel_layout, setup_pyqtgraph
from ibviewer.gui.series import X_MODES, Frame, HistoryMirror

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


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent or "."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class MainWindow(QMainWindow):
    #: emitted after a snapshot was drawn (tests and the benchmark listen)
    drawn = Signal()

    def __init__(self, cfg: Config, *, preset: str | None = None, play: bool = False, speed: int | None = None,
                 x_mode: str = "log_step", max_fps: float = 30.0, parent: QWidget | None = None):
        super().__init__(parent)
        setup_pyqtgraph()
        self.cfg = cfg
        self.accepted_cfg = cfg
        self.preset = preset
        self.x_mode = x_mode
        self.speed = auto_speed(cfg) if speed is None else int(speed)
        self.min_interval = 1.0 / max_fps if max_fps > 0 else 0.0
        self.gen = 0
        self.info: dict[str, Any] = {}
        self.worker_ready = False
        self.worker_dead = False
        self.mirror = HistoryMirror()
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
        self.controls.set_config(cfg, preset)
        self.controls.set_speed(self.speed)
        self._build_toolbar()
        self._rebuild_panels(cfg)
        self._update_title()
        self.resize(1560, 940)
        # issue 4 hook: timeline bar, File > Export animation/image/history, Record live (ibviewer.gui.export_ui)
        from ibviewer.gui.export_ui import install_recording

        install_recording(self)

        self.client.start(cfg.to_dict(), {"gen": self.gen, "speed": self.speed})
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
        for k in ("open", "save"):
            m.addAction(self.actions[k])
        m.addSeparator()
        m.addAction(self.actions["quit"])
        m = mb.addMenu("&Run")
        for k in ("play", "step1", "stepn", "reset", "new_seed"):
            m.addAction(self.actions[k])
        m.addSeparator()
        m.addAction(self.actions["restart"])
        self.view_menu = mb.addMenu("&View")
        self._view_sep = self.view_menu.addSeparator()
        for a in self.x_group.actions():
            self.view_menu.addAction(a)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.actions["fit"])
        self.view_menu.addAction(self.actions["fullscreen"])
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
        f = QFont(dock.font())
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() + 1)
        dock.setFont(f)
        if dock.widget() is not None:
            dock.widget().setFont(QFont(self.font()))

    # ================================================================================================ panels
    def _rebuild_panels(self, cfg: Config) -> None:
        layout = panel_layout(cfg.family, cfg.model.depth, cfg.parametrization, cfg.problem.kind)
        if layout == self._layout:
            return
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
            dock = QDockWidget(panel.title, self)
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

    @Slot()
    def redraw(self) -> None:
        """Draw the mirror again (x axis changed, a panel was shown, ...)."""
        if self._closed:
            return
        panels = self.visible_panels()
        frame = Frame(self.mirror, self.x_mode, self._buckets(panels))
        for p in panels:
            self._guard(p, p.update, frame, self.last_snap)

    # ================================================================================================ worker
    @Slot(object)
    def _on_ready(self, info: dict[str, Any]) -> None:
        if info.get("gen") != self.gen:
            return
        self.info = info
        self.worker_ready = True
        self.worker_dead = False
        self.accepted_cfg = self.cfg
        self.mirror.clear()
        self.last_snap = None
        for p in self.panels.values():
            self._guard(p, p.set_info, info)
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
        if snap.get("gen") == self.gen and not self._closed:
            self.mirror.update(snap["rows"], snap["replace"], snap.get("tail"))
            if snap["replace"]:
                for p in self.panels.values():
                    p.reset()
            self.last_snap = snap
            self.snap_count += 1
            self.playing = bool(snap["playing"])
            self._sync_play_action()
            panels = self.visible_panels()
            frame = Frame(self.mirror, self.x_mode, self._buckets(panels))
            for p in panels:
                self._guard(p, p.update, frame, snap)
            self.frames_drawn += 1
            self._show_progress(snap)
            self.drawn.emit()
        # acknowledge after this frame is painted, at most max_fps times a second
        wait = max(0.0, self._last_ack + self.min_interval - time.monotonic())
        self._ack_timer.start(int(wait * 1000))

    @Slot()
    def _send_ack(self) -> None:
        if self._ack_seq is not None:
            self._last_ack = time.monotonic()
            self.client.ack(self._ack_seq)
            self._ack_seq = None

    def _show_progress(self, snap: dict[str, Any]) -> None:
        self.lbl_step.setText(f"step {snap['step']:,}")
        self.lbl_loss.setText(f"loss {fmt_num(snap['loss'])}")
        rate = snap.get("rate", 0.0)
        self.lbl_rate.setText(f"{rate:,.0f} steps/s" if self.playing and rate > 0 else "paused" if not self.playing else "")
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
        self.cfg = self.accepted_cfg
        self.controls.set_config(self.cfg, self.preset)
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

    @Slot()
    def restart_worker(self) -> None:
        self.gen += 1
        self.worker_ready = False
        self.worker_dead = False
        self.mirror.clear()
        self.last_snap = None
        self._ack_seq = None
        self._last_status = None
        self.btn_restart.hide()
        self._set_worker_label("starting the training worker…", "#8a6d00")
        self.client.start(self.cfg.to_dict(), {"gen": self.gen, "speed": self.speed})
        self.redraw()

    # ================================================================================================ run actions
    @Slot()
    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    @Slot()
    def play(self) -> None:
        status = None if self.last_snap is None else self.last_snap["status"]
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
        self.client.send("reset", seed)
        self.show_info(f"new initialization seed {seed}: the run was reset")

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
        try:
            if key == "problem.kind":
                trial = build_config(overrides=[("problem.kind", value)])
            else:
                trial = self.cfg.copy()
                set_key(trial, key, value)
                trial.validate()
        except ConfigError as exc:
            self.show_error(str(exc))
            self.controls.set_config(self.cfg, self.preset)
            return
        if key in LIVE_OPTIMIZER:
            self.cfg = trial
            self.accepted_cfg.optimizer = trial.optimizer
            self.client.send("set_optimizer", {key.split(".", 1)[1]: getattr(trial.optimizer, key.split(".", 1)[1])})
            self.show_info(f"{key} = {value:g} applied live" if isinstance(value, float) else f"{key} = {value} applied live")
            return
        if key == "run.steps":
            self.cfg = trial
            self.accepted_cfg.run.steps = trial.run.steps
            self.client.send("set_max_steps", trial.run.steps)
            self._last_status = None
            return
        if key == "run.loss_tol":
            self.cfg = trial
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
            self.client.send("reset", trial.run.seed)
            self.show_info(f"initialization seed {trial.run.seed}: the run was reset")
            return
        # problem / model: a new run
        self.cfg = trial
        self.preset = None
        self.controls.set_config(trial, None)
        self._update_title()
        self._rebuild_panels(trial)
        self.show_info(f"{key} changed: the run restarts from step 0")
        if key == "problem.kind":
            self._send_config()
        else:
            self._config_timer.start()

    @Slot()
    def _send_config(self) -> None:
        self._config_timer.stop()
        self.gen += 1
        self.worker_ready = False
        self.mirror.clear()
        self.last_snap = None
        self.playing = False
        self._last_status = None
        self._set_run_label("", None)
        self._sync_play_action()
        self.client.send("config", self.cfg.to_dict(), self.gen)
        for p in self.panels.values():
            p.reset()
        self.redraw()

    def apply_config(self, cfg: Config, note: str = "", preset: str | None = None) -> None:
        """Replace the configuration (preset, opened file): the run restarts."""
        self.cfg = cfg
        self.preset = preset
        self.controls.set_config(cfg, preset)
        self._update_title()
        self._rebuild_panels(cfg)
        self._send_config()
        if note:
            self.show_info(note)

    @Slot(str)
    def load_preset(self, name: str) -> None:
        try:
            cfg = build_config(preset=name)
        except ConfigError as exc:
            self.show_error(str(exc))
            return
        self.apply_config(cfg, f"preset '{name}' loaded: the run restarts", preset=name)
        self.controls.set_speed(auto_speed(cfg))
        self.set_speed(auto_speed(cfg))

    def save_config(self, path: str | Path) -> bool:
        try:
            write_atomic(path, dumps_toml(self.cfg))
        except OSError as exc:
            self.show_error(f"cannot save {path}: {exc.strerror or exc}")
            return False
        self.show_info(f"configuration saved to {path}")
        return True

    def open_config(self, path: str | Path) -> bool:
        try:
            cfg = build_config(config_file=path)
        except ConfigError as exc:
            self.show_error(str(exc))
            return False
        self.apply_config(cfg, f"opened {path}: the run restarts")
        return True

    @Slot()
    def save_config_dialog(self) -> None:
        start = str(Path(QSettings("ibviewer", "ibviewer").value("last_dir", str(Path.home()))) / "ibviewer.toml")
        path, _ = QFileDialog.getSaveFileName(self, "Save configuration", start, "TOML (*.toml);;All files (*)")
        if path:
            if not path.endswith(".toml") and "." not in Path(path).name:
                path += ".toml"
            QSettings("ibviewer", "ibviewer").setValue("last_dir", str(Path(path).parent))
            self.save_config(path)

    @Slot()
    def open_config_dialog(self) -> None:
        start = str(QSettings("ibviewer", "ibviewer").value("last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open configuration", start, "TOML (*.toml);;All files (*)")
        if path:
            QSettings("ibviewer", "ibviewer").setValue("last_dir", str(Path(path).parent))
            self.open_config(path)

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
        cols, _ = self._layout or ([], [])
        docks = [self.docks[c[0]] for c in cols if c[0] in self.docks]
        if docks and heads:
            w = max(1, self.width() - 390)
            self.resizeDocks(docks, [w // len(docks)] * len(docks), Qt.Orientation.Horizontal)

    # ================================================================================================ closing
    def closeEvent(self, event) -> None:
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
