"""The timeline: every panel as of a chosen step of the recorded history, replay, "live".

Data side (no widgets):

- :class:`RunSource` -- a run's history columns, its panels' ``info`` and the product (the end-to-end W or x)
  at any recorded row.  Built from an :class:`~ibviewer.core.engine.Engine` (headless recording: the history holds
  the state of every row) or from the window (its history mirror; matrix products arrive with the snapshots
  only, so the window's source keeps them in a :class:`StateStore`).
- :class:`HistoryView` -- the first rows of a source, shaped like the window's
  :class:`~ibviewer.live.series.HistoryMirror` so that the panels draw it unchanged.

Qt side: :class:`QtTimeline`, a bar under the plots with a slider over the recorded rows, a "live" toggle,
replay (a chosen duration, linear or log in steps, loop) and a read-out of the step's values.  Dragging shows
every panel as of that step: a cursor line on the time plots (the curves stay whole), and the heatmap, stems
and data plot as they were then.  Training may go on meanwhile: new rows extend the slider, the view stays
where the user put it until "live" is pressed again.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import replace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from ibviewer.core.recording import first_visible_step, frame_schedule
from ibviewer.core.snapshots import Snapshots
from ibviewer.core.theory import rescale_divisor
from ibviewer.gui.marker_slider import MarkerSlider
from ibviewer.gui.panels import TimePanel, WNormPanel
from ibviewer.live.draw import DrawContext
from ibviewer.live.series import Frame

#: memory the window may spend on past products (matrix models: the snapshots' W), bytes
STATE_BUDGET = 64 * 2**20
#: past products kept at most: more positions than the timeline's slider has pixels and a minute-long export has
#: frames.  A product comes with every snapshot (30 a second), so a store bounded only by STATE_BUDGET kept
#: growing for minutes (tens of thousands of small products) after the history's budget was full; this count
#: fills within about a minute, and the window's memory is flat from then on (docs/benchmarks.md, "Long run")
MAX_STATES = 2048


class HistoryView:
    """The first ``rows`` rows of some columns, with the interface of a HistoryMirror (no tail row)."""

    tail = None

    def __init__(self, cols: dict[str, np.ndarray], rows: int, version: int = 0, init_scale: float | None = None):
        self.cols = cols
        self.n = int(rows)
        self.version = version
        self.init_scale = init_scale  # the run's α, for the rescaled time axis

    @property
    def size(self) -> int:
        return self.n

    def __contains__(self, name: str) -> bool:
        return name in self.cols

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name][: self.n]

    def get(self, name: str) -> np.ndarray | None:
        return self[name] if name in self.cols else None

    def last(self, name: str) -> Any:
        if name not in self.cols or self.n == 0:
            return None
        return self.cols[name][self.n - 1]


class StateStore:
    """Products (W or x) seen at given steps, bounded in memory: when full, every other later one is dropped."""

    def __init__(self, budget: int = STATE_BUDGET):
        self.budget = budget
        self.steps: list[int] = []
        self.items: list[np.ndarray] = []
        self.capacity: int | None = None

    def clear(self) -> None:
        self.steps, self.items = [], []

    def __len__(self) -> int:
        return len(self.steps)

    def add(self, step: int, product: np.ndarray | None) -> None:
        if product is None:
            return
        step = int(step)
        if self.steps and step < self.steps[-1]:  # a reset the caller did not report
            self.clear()
        p = np.array(product, dtype=np.float64, copy=True)
        if self.steps and step == self.steps[-1]:
            self.items[-1] = p
            return
        if self.capacity is None:
            self.capacity = int(max(64, min(MAX_STATES, self.budget // max(p.nbytes, 1))))
        if len(self.steps) >= self.capacity:
            keep = self.capacity // 4
            self.steps = self.steps[:keep] + self.steps[keep::2]
            self.items = self.items[:keep] + self.items[keep::2]
        self.steps.append(step)
        self.items.append(p)

    def index(self, step: int) -> int:
        """Index of the last stored step <= ``step`` (the first one if none is earlier); -1 when empty."""
        if not self.steps:
            return -1
        return max(bisect.bisect_right(self.steps, int(step)) - 1, 0)

    def at(self, step: int) -> np.ndarray | None:
        """The product at the last stored step <= ``step`` (the first one if none is earlier)."""
        i = self.index(step)
        return None if i < 0 else self.items[i]

    def step_at(self, step: int) -> int | None:
        """The step whose product :meth:`at` returns."""
        i = self.index(step)
        return None if i < 0 else self.steps[i]


class RunSource:
    """A run to draw: history columns, the panels' info, its config, and the product at each row."""

    def __init__(self, cols: dict[str, np.ndarray], n: int, info: dict[str, Any], cfg, *,
                 states: StateStore | Snapshots | None = None, name: str | None = None, current=None, version: int = 0):
        self.cols = cols
        self.n = int(n)
        self.info = info
        self.cfg = cfg
        self.states = states
        self.name = name
        self._current = current  # product at the last step (when the rows hold none)
        self.version = version
        #: the run's event markers and the view's annotations, drawn by exports as the window draws them
        self.markers: tuple[dict[str, Any], ...] = ()
        self.annotations: tuple[Any, ...] = ()

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_engine(cls, engine, name: str | None = None) -> RunSource:
        from ibviewer.live.worker import _problem_info

        h = engine.history
        cols = {k: h[k] for k in h.columns}
        info = _problem_info(engine)
        current = None if engine.cfg.family == "mlp" else engine.product()
        # a wide product is kept at the snapshots' own steps (ibviewer.core.snapshots): read it from there
        states = h.snapshots if "state" in h.snapshots.columns and len(h.snapshots) else None
        src = cls(cols, h.n, info, engine.cfg, states=states, name=name, current=current)
        from ibviewer.core.events import events

        src.markers = tuple(events(h.as_dict(), engine.cfg, engine.status, engine.step_count, engine.problem.target))
        return src

    @classmethod
    def from_window(cls, window, states: StateStore | None = None) -> RunSource:
        """A snapshot of the window's mirror (views of its columns: cheap; valid until the mirror grows)."""
        m = window.mirror
        cols = {k: v[: m.n] for k, v in m.cols.items()}
        snap = window.last_snap
        current = None if snap is None else snap.get("product")
        src = cls(cols, m.n, window.info, window.cfg, states=states, current=current, version=m.version)
        shown = window.controller.runs.selected
        src.markers = shown.markers() if shown is not None else ()
        src.annotations = tuple(window.annotations.items)
        return src

    # ------------------------------------------------------------------ reading
    @property
    def steps(self) -> np.ndarray:
        if "step" not in self.cols or self.n == 0:
            return np.zeros(0, dtype=np.int64)
        return self.cols["step"][: self.n]

    @property
    def last_step(self) -> int:
        s = self.steps
        return int(s[-1]) if len(s) else 0

    def index_of_step(self, step: int) -> int:
        """The last row recorded at or before ``step`` (0 if none)."""
        s = self.steps
        if len(s) == 0:
            return 0
        i = int(np.searchsorted(s, step, side="right")) - 1
        return max(i, 0)

    def view(self, rows: int) -> HistoryView:
        return HistoryView(self.cols, min(max(int(rows), 0), self.n), self.version, self.init_scale)

    @property
    def init_scale(self) -> float | None:
        """The run's initialization scale α (the rescaled time axis divides by ln(1/α)); None if unknown."""
        return getattr(getattr(self.cfg, "model", None), "init_scale", None)

    def product_at(self, row: int) -> np.ndarray | None:
        """The end-to-end product (matrix W or vector x) at history row ``row``."""
        if self.n == 0:
            return self._current
        row = min(max(int(row), 0), self.n - 1)
        st = self.cols.get("state")
        if st is not None and st.ndim >= 2:
            p = st[row]
            if np.all(np.isfinite(p)):
                return p
        if self.states is not None and len(self.states):
            return self.states.at(int(self.steps[row]))
        return self._current if row == self.n - 1 else None

    def value(self, name: str, row: int):
        col = self.cols.get(name)
        if col is None or self.n == 0:
            return None
        return col[min(max(int(row), 0), self.n - 1)]

    def schedule_rows(self, frames: int, kind: str = "linear", total_steps: int | None = None) -> np.ndarray:
        """The history row shown by each of ``frames`` frames (steps spaced ``kind``, then the row recorded at or
        before each step).  A log schedule starts where the history first changes visibly, as exports do
        (:func:`~ibviewer.core.recording.first_visible_step`): from step 1, a replay spent its first seconds on
        decades where nothing moves."""
        total = self.last_step if total_steps is None else int(total_steps)
        first = first_visible_step(self.steps, self.cols) if kind == "log" and self.n else None
        steps = frame_schedule(total, frames, kind, first_change=first)
        s = self.steps
        if len(s) == 0:
            return np.zeros(frames, dtype=np.int64)
        return np.clip(np.searchsorted(s, steps, side="right") - 1, 0, self.n - 1)


def x_of(source: RunSource, row: int, x_mode: str) -> float:
    """The x coordinate of row ``row`` on a time plot (step, log10 step, η·k or η·k / ln(1/α))."""
    if source.n == 0:
        return float("nan")
    if x_mode in ("time", "rescaled") and "time" in source.cols:
        t = float(source.cols["time"][row])
        return t / rescale_divisor(source.init_scale) if x_mode == "rescaled" else t
    step = float(source.steps[row])
    if x_mode == "log_step":
        return math.log10(step) if step > 0 else float("nan")
    return step


# ====================================================================================================== Qt
STATE_PANELS = ("heatmap", "stems", "data", "geometry")


def is_time_panel(panel) -> bool:
    return isinstance(panel, (TimePanel, WNormPanel))


class Cursor:
    """A vertical line on a time plot at the shown step."""

    def __init__(self, panel, colour=(200, 30, 30), width: int = 2):
        p = pg.mkPen(colour, width=width)
        p.setCosmetic(True)
        p.setStyle(Qt.PenStyle.DashLine)
        self.panel = panel
        self.line = pg.InfiniteLine(pos=0.0, angle=90, pen=p, movable=False)
        self.line.setZValue(20)
        self.line.hide()
        panel.plot.addItem(self.line, ignoreBounds=True)

    def set(self, x: float | None) -> None:
        if x is None or not math.isfinite(x):
            self.line.hide()
            return
        self.line.setPos(x)
        self.line.show()

    def remove(self) -> None:
        try:
            self.panel.plot.removeItem(self.line)
        except (RuntimeError, AttributeError):  # the panel was rebuilt and deleted
            pass


def product_as_of(mirror, step: int, default: Any = None) -> Any:
    """A run's recorded state (its product) at its last row at or before ``step``; ``default`` when its rows
    hold no finite state there."""
    m = mirror
    if m is None or not m.n or "state" not in m.cols or "step" not in m.cols:
        return default
    i = max(int(np.searchsorted(m.cols["step"][: m.n], step, side="right")) - 1, 0)
    p = m.cols["state"][i]
    return p if np.all(np.isfinite(p)) else default


def cursor_x(panel, source: RunSource, row: int, x_mode: str) -> float:
    if isinstance(panel, WNormPanel):
        s = float(source.steps[row]) if source.n else 0.0
        return math.log(s) if s >= 1 else float("nan")
    return x_of(source, row, x_mode)


class QtTimeline(QWidget):
    """Slider over the window's recorded rows; live / scrubbed; replay with loop."""

    #: the row shown changed (``-1``: live)
    moved = Signal(int)

    REPLAY_SECONDS = (5, 10, 20, 40, 80)
    FPS = 30

    def __init__(self, window):
        super().__init__()
        self.window = window
        self.setObjectName("timeline")
        self.states = StateStore()
        self.live = True
        self.row = -1  # the shown row when not live
        self.cursors: dict[str, Cursor] = {}
        self._panels: dict | None = None  # the panel set the cursors are on (held: an id could be reused)
        self._gen = None
        self._replay_rows: np.ndarray | None = None
        self._replay_i = 0

        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 2, 8, 2)
        self.btn_live = QPushButton("● Live")
        self.btn_live.setObjectName("timeline_live")
        self.btn_live.setCheckable(True)
        self.btn_live.setChecked(True)
        self.btn_live.setToolTip("Follow the training (the plots show the latest step)")
        self.btn_live.toggled.connect(self._on_live)
        self.btn_replay = QPushButton("▶ Replay")
        self.btn_replay.setObjectName("timeline_replay")
        self.btn_replay.setCheckable(True)
        self.btn_replay.setToolTip("Play the recorded history back in the chosen time")
        self.btn_replay.toggled.connect(self._on_replay)
        self.rate = QComboBox()
        self.rate.setObjectName("timeline_rate")
        for s in self.REPLAY_SECONDS:
            self.rate.addItem(f"in {s} s", s)
        self.rate.setCurrentIndex(1)
        self.rate.setToolTip("How long a replay of the whole history takes")
        self.sched = QComboBox()
        self.sched.setObjectName("timeline_schedule")
        self.sched.addItem("linear in steps", "linear")
        self.sched.addItem("log in steps", "log")
        self.sched.setCurrentIndex(1)
        self.sched.setToolTip("Replay speed: steady in steps, or steady in log(step) (plateaus, then jumps)")
        self.loop = QCheckBox("loop")
        self.loop.setObjectName("timeline_loop")
        self.slider = MarkerSlider()
        self.slider.setObjectName("timeline_slider")
        self.slider.marker_chosen.connect(self.seek_step)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Drag to see every panel as of that step")
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderPressed.connect(self._on_pressed)
        self.readout = QLabel("live")
        self.readout.setObjectName("timeline_readout")
        self.readout.setMinimumWidth(280)
        for w in (self.btn_live, self.btn_replay, self.rate, self.sched, self.loop):
            lay.addWidget(w)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.readout)
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / self.FPS))
        self.timer.timeout.connect(self._tick)

        window.drawn.connect(self.on_drawn)

    # -------------------------------------------------------------- data
    def source(self) -> RunSource:
        return RunSource.from_window(self.window, self.states)

    @Slot()
    def on_drawn(self) -> None:
        """After the window drew a snapshot: keep its product, grow the slider, update the read-out."""
        w = self.window
        snap = w.last_snap
        if snap is None:
            return
        if snap.get("gen") != self._gen or (snap.get("replace") and snap.get("step", 0) == 0):
            # a new run or a reset: the old history is gone
            self.states.clear()
            self._gen = snap.get("gen")
            if not self.live:
                self.go_live()
        self.states.add(snap["step"], snap.get("product"))
        n = w.mirror.n
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(n - 1, 0))
        if self.live:
            self.slider.setValue(max(n - 1, 0))
        self.slider.blockSignals(False)
        if not self.live and self.row >= n:
            self.show_row(n - 1)  # the history was thinned under the view
        self._show_markers()

    def _show_markers(self) -> None:
        """The shown run's event markers as ticks on the slider, each at its recorded row."""
        run = self.window.controller.runs.selected
        markers = run.markers() if run is not None else ()
        src = self.source() if markers else None
        self.slider.set_markers(markers, [src.index_of_step(m["step"]) for m in markers] if src else [])

    # -------------------------------------------------------------- showing
    def _sync_panels(self) -> None:
        """Cursors on the time plots and a wrapped ``update`` on every panel of the window (once per panel set).

        The wrapper makes every draw of the window (a snapshot, a redraw after an x-axis change, a dock shown)
        respect a scrubbed view: state panels draw the product at the shown step, time plots draw as usual and
        then put their cursor at the shown step (in the current x axis)."""
        panels = self.window.panels
        if self._panels is panels:
            return
        for c in self.cursors.values():
            c.remove()
        self.cursors = {}
        self._panels = panels
        for name, p in panels.items():
            if is_time_panel(p):
                self.cursors[name] = Cursor(p)
            if getattr(p, "_timeline_wrapped", False):
                continue
            p._timeline_wrapped = True
            p.update = self._wrapped_update(name, p, p.update)

    def _wrapped_update(self, name: str, panel, original):
        def update(ctx: DrawContext):
            if self.live or self.row < 0:
                return original(ctx)
            if name in STATE_PANELS:
                shown = self._scrubbed(ctx)
                return original(ctx if shown is None else shown)
            src = self.source()
            out = original(replace(ctx, shown_step=int(src.steps[min(self.row, src.n - 1)])) if src.n else ctx)
            c = self.cursors.get(name)
            if c is not None:
                c.set(cursor_x(panel, self.source(), self.row, ctx.x_mode))
            return out

        return update

    def _scrubbed(self, ctx: DrawContext) -> DrawContext | None:
        """``ctx`` as of the scrubbed row, for the state panels: the shown run's rows and product then, and every
        compared run's product as of that step (its last recorded row at or before it); None when there is no
        product for the row."""
        src = self.source()
        if src.n == 0:
            return None
        row = min(self.row, src.n - 1)
        product = src.product_at(row)
        if product is None:
            return None
        step = int(src.steps[row])
        runs = tuple(replace(r, product=product_as_of(r.mirror, step, r.product)) for r in ctx.runs)
        return replace(ctx, frame=Frame(src.view(row + 1), ctx.x_mode), snap={"product": product, "step": step},
                       runs=runs)

    def show_row(self, row: int) -> None:
        """Every panel as of history row ``row``: cursors on the time plots, state panels as they were."""
        w = self.window
        src = self.source()
        if src.n == 0:
            return
        row = min(max(int(row), 0), src.n - 1)
        self.row = row
        self._sync_panels()
        x_mode = getattr(w, "x_mode", "step")
        for name, c in self.cursors.items():
            c.set(cursor_x(w.panels[name], src, row, x_mode))
        ctx = w.draw_context(w.docks.visible(), w.last_snap)
        if self._scrubbed(ctx) is not None:
            for name in STATE_PANELS:
                p = w.panels.get(name)
                if p is not None:
                    w.docks.guard(p, p.update, ctx)  # the wrapped update: the panel as of the shown step
        self._readout(row, src)
        self.moved.emit(row)

    def go_live(self) -> None:
        self.btn_live.setChecked(True)

    def _readout(self, row: int | None, src: RunSource | None = None) -> None:
        if row is None:
            self.readout.setText("live")
            return
        src = src or self.source()
        step = int(src.steps[row])
        parts = [f"step {step:,}"]
        loss = src.value("loss", row)
        if loss is not None:
            parts.append(f"loss {float(loss):.3e}")
        er = src.value("erank_entropy", row)
        if er is not None and np.isfinite(er):
            parts.append(f"eff. rank {float(er):.2f}")
        if "state" not in src.cols and src.states is not None and len(src.states):
            # matrix products come with the snapshots only: say when the heatmap shows a nearby step
            s = src.states.step_at(step)
            if s is not None and s != step:
                parts.append(f"W as of step {s:,}")
        self.readout.setText(" · ".join(parts))

    # -------------------------------------------------------------- interaction
    @Slot(bool)
    def _on_live(self, on: bool) -> None:
        self.live = on
        if on:
            self.btn_replay.setChecked(False)
            self._sync_panels()  # the panels may have been rebuilt since: their cursors went with them
            for c in self.cursors.values():
                c.set(None)
            self._readout(None)
            n = self.window.mirror.n
            self.slider.blockSignals(True)
            self.slider.setValue(max(n - 1, 0))
            self.slider.blockSignals(False)
            self.window.redraw()  # the state panels back to the latest snapshot
            self.moved.emit(-1)
        else:
            self.show_row(self.slider.value())

    @Slot()
    def _on_pressed(self) -> None:
        if self.live:
            self.btn_live.setChecked(False)

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        if self.live:
            self.btn_live.blockSignals(True)
            self.btn_live.setChecked(False)
            self.btn_live.blockSignals(False)
            self.live = False
        self.show_row(value)

    def seek_step(self, step: int) -> int:
        """Show the row recorded at or before ``step`` (leaves live); returns the row."""
        src = self.source()
        row = src.index_of_step(step)
        self.slider.setValue(row)  # -> _on_slider
        if self.slider.value() == row and (self.live or self.row != row):
            self._on_slider(row)
        return row

    @Slot(bool)
    def _on_replay(self, on: bool) -> None:
        if on:
            src = self.source()
            if src.n < 2:
                self.btn_replay.setChecked(False)
                return
            frames = int(self.rate.currentData() * self.FPS)
            self._replay_rows = src.schedule_rows(frames, self.sched.currentData())
            self._replay_i = 0
            if self.live:
                self.btn_live.blockSignals(True)
                self.btn_live.setChecked(False)
                self.btn_live.blockSignals(False)
                self.live = False
            self.timer.start()
        else:
            self.timer.stop()

    @Slot()
    def _tick(self) -> None:
        rows = self._replay_rows
        if rows is None or self.live:
            self.btn_replay.setChecked(False)
            return
        if self._replay_i >= len(rows):
            if self.loop.isChecked():
                self._replay_i = 0
            else:
                self.btn_replay.setChecked(False)
                return
        row = int(rows[self._replay_i])
        self._replay_i += 1
        self.slider.blockSignals(True)
        self.slider.setValue(row)
        self.slider.blockSignals(False)
        self.show_row(row)
