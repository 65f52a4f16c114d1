"""The panel base classes: :class:`Panel` (a dockable view that draws from a :class:`DrawContext`),
:class:`PlotPanel` (one pyqtgraph plot with managed 1-2-5 ranges, run overlays, a theory toggle) and
:class:`TimePanel` (quantities over the training).

A panel never sees the window: it is built with explicit arguments, is told the problem once per run
(:meth:`Panel.set_info`), draws from the :class:`~ibviewer.live.draw.DrawContext` it is handed on every
:meth:`Panel.update`, asks for a redraw through its ``redraw_requested`` signal, and saves and restores its own
choices (:meth:`Panel.state` / :meth:`Panel.restore`) for sessions and exports alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ibviewer.core.config import cfg_get
from ibviewer.gui.panels.annotation_layer import AnnotationLayer
from ibviewer.gui.panels.ink import LIGHT, Ink
from ibviewer.gui.panels.markers import MarkerLayer
from ibviewer.gui.panels.range_lock import RangeLock
from ibviewer.gui.panels.style import (
    BLACK,
    FONT_PT,
    STYLES,
    HtmlLegend,
    LegendSample,
    NiceAxis,
    ThickCurve,
    colour,
    dashed,
    pen,
    pick_columns,
    style_axis,
)
from ibviewer.live.draw import DrawContext
from ibviewer.live.series import X_LABELS, Frame, RangeKeeper, finite_bounds, nan_joined, plain_symbols, symbols


class PanelSignals(QObject):
    """A panel's signals (a panel is not a QObject: it owns one)."""

    #: the panel's look changed (a toggle, a combo): draw everything again
    redraw_requested = Signal()
    #: an event marker was clicked: show the panels as of that step
    marker_clicked = Signal(int)


# ====================================================================================================== Panel
class Panel:
    """A dockable view.  ``widget`` goes into the dock; :meth:`update` draws a :class:`DrawContext`."""

    name = "panel"
    title = "Panel"
    tooltip = ""

    def __init__(self, x_mode: str = "step"):
        self.info: dict[str, Any] = {}
        self.signals = PanelSignals()
        self.widget = QWidget()
        self.x_mode = x_mode

    @property
    def widget(self) -> QWidget:
        """What goes into the dock (or an export's layout)."""
        return self._widget

    @widget.setter
    def widget(self, w: QWidget) -> None:
        # the signals' QObject belongs to the widget, so Qt deletes it with the widget, on the GUI thread. Owned by
        # Python, it would be deleted whenever the garbage collector breaks the panel's reference cycles, which can
        # happen inside a Qt call that holds the signal mutex: QObject's destructor then waits on it forever.
        self.signals.setParent(w)  # first: dropping the previous widget deletes its children
        self._widget = w

    @property
    def redraw_requested(self):
        """Emitted when the panel needs a new drawing (connect it to whatever builds the DrawContexts)."""
        return self.signals.redraw_requested

    def request_redraw(self) -> None:
        self.signals.redraw_requested.emit()

    def set_info(self, info: dict[str, Any]) -> None:
        """The problem of the shown run (shape, ground truth, references, config as a dict): once per run."""
        self.info = info
        self.reset()

    def setting(self, path: str, default: Any = None) -> Any:
        """A value of the shown run's config ("model.depth"), from :attr:`info`."""
        return cfg_get(self.info.get("cfg"), path, default)

    def reset(self) -> None:
        """The history was replaced (reset, new run, thinning): forget ranges."""

    def set_x_mode(self, mode: str) -> None:
        """The x axis changed (step / log_step / time)."""
        self.x_mode = mode

    def update(self, ctx: DrawContext) -> None:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """The user's choices that change what this panel draws (JSON-ready), for sessions and exports."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back choices saved by :meth:`state`; unknown keys are ignored (older or newer files)."""


# ====================================================================================================== PlotPanel
class PlotPanel(Panel):
    """A single pyqtgraph plot with managed (1-2-5) ranges."""

    y_log = False
    y_zero = False
    y_label = ""
    x_label = ""
    legend = True

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.plot_widget = pg.PlotWidget(axisItems={"left": NiceAxis("left"), "bottom": NiceAxis("bottom")})
        self.plot_widget.setToolTip(plain_symbols(self.tooltip))
        # the plot below a header row (extra controls) and an HTML legend: outside the scene, so neither is
        # repainted with every frame nor hides a curve
        box = QWidget()
        self.box_layout = QVBoxLayout(box)
        self.box_layout.setContentsMargins(0, 0, 0, 0)
        self.box_layout.setSpacing(0)
        self.header = QHBoxLayout()
        self.header.setContentsMargins(6, 2, 6, 0)
        self.box_layout.addLayout(self.header)
        self.legend_label = QLabel()
        self.legend_label.setObjectName("legend")
        self.legend_label.setWordWrap(True)
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        self.legend_label.setContentsMargins(8, 2, 6, 0)
        self.legend_label.setStyleSheet("background: white;")
        self.legend_label.hide()
        self.box_layout.addWidget(self.legend_label)
        self.box_layout.addWidget(self.plot_widget, 1)
        self.widget = box
        pi = self.plot = self.plot_widget.getPlotItem()
        pi.hideButtons()
        self.vb = pi.getViewBox()
        self.vb.disableAutoRange()
        self.vb.setDefaultPadding(0.0)
        for side in ("left", "bottom"):
            style_axis(pi.getAxis(side))
        pi.getAxis("left").setLogMode(self.y_log)
        pi.getAxis("left").setWidth(70)
        lbl = {"font-size": f"{FONT_PT + 1}pt", "color": "#141414"}
        if self.y_label:
            pi.setLabel("left", symbols(self.y_label), **lbl)
        if self.x_label:
            pi.setLabel("bottom", symbols(self.x_label), **lbl)
        self._label_style = lbl
        self.xkeep = RangeKeeper(log=False, include_zero=True)
        self.ykeep = RangeKeeper(log=self.y_log, include_zero=self.y_zero)
        self.manual = False
        self.vb.sigRangeChangedManually.connect(self._on_manual)
        self.legend_item = HtmlLegend(self.legend_label) if self.legend else None
        self.empty_text = pg.TextItem("", color=(110, 110, 110), anchor=(0.5, 0.5))
        self.empty_text.setZValue(10)
        f = QFont()
        f.setPointSize(FONT_PT + 1)
        self.empty_text.setFont(f)
        self.vb.addItem(self.empty_text, ignoreBounds=True)
        # comparing runs: the panel's own curves hide, one curve per (run, quantity) in the run's colour
        self._own: list[pg.PlotCurveItem] = []
        self._keep: set[int] = set()  # ids of own curves that stay visible while comparing
        #: what each compared run shows, by (run id, quantity): curves and markers in the run's colour
        self.run_items: dict[tuple[int, Any], pg.PlotCurveItem] = {}
        self.comparing = False
        self._cmp_legend: tuple | None = None
        self.compare_entries: list = []
        self.theory = False
        self.theory_box: QCheckBox | None = None
        self.ink = Ink(self.plot)
        #: "Lock ranges" in the plot's context menu: the ranges held as they are (saved with state())
        self.range_lock = RangeLock(self)

    def set_info(self, info: dict[str, Any]) -> None:
        self._cmp_legend = None  # the panel's own legend is rendered again below: draw the runs' one next time
        super().set_info(info)

    # ------------------------------------------------------------------ saved choices
    def state(self) -> dict[str, Any]:
        own = {"theory": self.theory} if self.theory_box is not None else {}
        return {**own, **self.range_lock.state()}

    def restore(self, state: dict[str, Any]) -> None:
        if "theory" in state and self.theory_box is not None:
            self.set_theory(bool(state["theory"]))
        self.range_lock.restore(state)

    # ------------------------------------------------------------------ comparing runs
    def set_comparing(self, on: bool) -> None:
        if on == self.comparing:
            return
        self.comparing = on
        for c in self._own:
            if id(c) not in self._keep:
                c.setVisible(not on)
        if not on:
            for c in self.run_items.values():
                self.plot.removeItem(c)
            self.run_items = {}
            self._cmp_legend = None
            if self.legend_item is not None:
                self.legend_item._render()
            else:
                self.legend_label.hide()
        self.on_comparing(on)

    def on_comparing(self, on: bool) -> None:
        """Restyle what is not a run's curve (target lines...) when comparison starts or ends."""

    def run_curve(self, run, key, style=Qt.PenStyle.SolidLine, width: float = 2) -> pg.PlotCurveItem:
        """The curve of quantity ``key`` of ``run`` (created once, in the run's colour)."""
        c = self.run_items.get((run.id, key))
        if c is None or getattr(c, "_run_colour", None) != run.colour:
            if c is not None:
                self.plot.removeItem(c)
            if width >= 2:
                c = ThickCurve(pen=pen(run.colour, 1, style), connect="finite", skipFiniteCheck=True,
                               antialias=False, thickness=min(int(width), 3))
            else:
                c = pg.PlotCurveItem(pen=pen(run.colour, width, style), connect="finite", skipFiniteCheck=True,
                                     antialias=False)
            c._run_colour = run.colour
            c.setZValue(3)
            self.plot.addItem(c)
            self.run_items[(run.id, key)] = c
        return c

    def drop_run_curves(self, keep_ids: set[int]) -> None:
        """Remove the curves of runs that are gone or hidden."""
        for key in [k for k in self.run_items if k[0] not in keep_ids]:
            self.plot.removeItem(self.run_items.pop(key))

    def compare_legend(self, runs, keys: list[tuple[Any, str]] = ()) -> None:
        """One legend entry per run (its colour), then the line styles of the quantities (black)."""
        sig = (tuple((r.id, r.name, r.colour) for r, _ in runs), tuple((id(st), str(st), t) for st, t in keys))
        if sig == self._cmp_legend:
            return
        self._cmp_legend = sig
        legend = HtmlLegend(self.legend_label, self.legend_item.pt if self.legend_item is not None else None)
        legend.entries = [(LegendSample(pen(r.colour, 2)), r.name) for r, _ in runs]
        ink = LIGHT if self.ink.dark else BLACK  # the quantities' samples in the theme's neutral ink
        legend.entries += [(st if hasattr(st, "opts") else LegendSample(pen(ink, 1, st)), text) for st, text in keys]
        legend._render()
        self.compare_entries = legend.entries  # an export renders them again in its theme

    # ------------------------------------------------------------------ theory overlay toggle
    def add_theory_toggle(self, text: str, tip: str) -> None:
        """A 'theory' check box in the header row; toggling redraws (``self.theory``)."""
        box = QCheckBox(plain_symbols(text))
        box.setObjectName("theory")
        box.setToolTip(plain_symbols(tip))
        box.toggled.connect(self.set_theory)
        self.header.addWidget(box)
        self.header.addStretch(1)
        self.theory_box = box

    def set_theory(self, on: bool) -> None:
        self.theory = bool(on)
        if self.theory_box is not None and self.theory_box.isChecked() != self.theory:
            self.theory_box.blockSignals(True)
            self.theory_box.setChecked(self.theory)
            self.theory_box.blockSignals(False)
        self.on_theory(self.theory)
        self.ykeep.reset()
        self.request_redraw()

    def on_theory(self, on: bool) -> None:
        """Show or hide the theory items (the next draw fills them)."""

    def _on_manual(self, *_args) -> None:
        self.manual = True

    # ------------------------------------------------------------------ looks (app settings)
    def set_font_scale(self, scale: float) -> None:
        """Axis ticks, labels and the legend at ``scale`` times their size."""
        pt = FONT_PT * scale
        pi = self.plot
        for side in ("left", "bottom"):
            ax = pi.getAxis(side)
            f = QFont()
            f.setPointSizeF(pt)
            ax.setStyle(tickFont=f)
        self._label_style = dict(self._label_style, **{"font-size": f"{pt + 1:g}pt"})
        for side in ("left", "bottom"):
            ax = pi.getAxis(side)
            if ax.labelText:
                pi.setLabel(side, ax.labelText, **self._label_style)
        pi.getAxis("left").setWidth(int(70 * max(1.0, scale)))
        self.legend_label._legend_pt = pt
        if self.legend_item is not None:
            self.legend_item.pt = pt
            if not self.comparing:
                self.legend_item._render()
        self._cmp_legend = None

    def set_dark(self, on: bool) -> None:
        """Light text on a dark plot (the curves keep their colours)."""
        bg, fg = ((30, 32, 36), (225, 225, 225)) if on else ("w", BLACK)
        self.plot_widget.setBackground(bg)
        self.ink.set_dark(on, [e for e, _ in (self.legend_item.entries if self.legend_item is not None else [])]
                          + [e for e, _ in self.compare_entries])
        if self.legend_item is not None and not self.comparing:
            self.legend_item._render()
        self._cmp_legend = None
        for side in ("left", "bottom"):
            ax = self.plot.getAxis(side)
            ax.setPen(pg.mkPen(fg))
            ax.setTextPen(pg.mkPen(fg))
        self.legend_label.setStyleSheet("background: #1e2024; color: #e1e1e1;" if on else "background: white;")

    def fit_view(self) -> None:
        """Back to the managed ranges (after the user zoomed); a locked panel keeps its ranges."""
        self.manual = self.range_lock.locked
        self.xkeep.reset()
        self.ykeep.reset()

    def add_curve(self, c, name: str | None = None, width: float = 2, style=Qt.PenStyle.SolidLine,
                  z: float = 0) -> pg.PlotCurveItem:
        if width >= 2:
            curve = ThickCurve(pen=pen(c, 1, style), connect="finite", skipFiniteCheck=True, antialias=False,
                               thickness=min(int(width), 3))
        else:
            curve = pg.PlotCurveItem(pen=pen(c, width, style), connect="finite", skipFiniteCheck=True,
                                     antialias=False)
        curve.setZValue(z)
        self.plot.addItem(curve)
        if name and self.legend_item is not None:
            self.legend_item.addItem(curve, name)
        self._own = [c for c in self._own if c.scene() is not None]
        self._own.append(curve)
        if self.comparing:
            curve.setVisible(False)
        return curve

    def add_hline(self, y: float, c, name: str | None = None) -> pg.InfiniteLine:
        line = pg.InfiniteLine(pos=y, angle=0, pen=dashed(c), movable=False)
        self.plot.addItem(line, ignoreBounds=True)
        if name and self.legend_item is not None:
            self.legend_item.addItem(line, name)
        return line

    def show_empty(self, text: str) -> None:
        self.empty_text.setText(text)
        if text:
            (x0, x1), (y0, y1) = self.vb.viewRange()
            self.empty_text.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    def set_x_label(self, text: str) -> None:
        self.plot.setLabel("bottom", symbols(text), **self._label_style)

    def apply_ranges(self, xb: tuple[float, float] | None, yb: tuple[float, float] | None) -> None:
        if self.range_lock.locked:
            self.range_lock.hold(xb)
            return
        if self.manual:
            return
        if xb is not None:
            r = self.xkeep.fit(*xb)
            if r is not None:
                self.vb.setXRange(*r, padding=0.02)
        if yb is not None:
            r = self.ykeep.fit(*yb)
            if r is not None:
                self.vb.setYRange(*r, padding=0.03)



# ====================================================================================================== TimePanel
class TimePanel(PlotPanel):
    """Quantities over the training: x is step, log-step or time (the context's ``x_mode``)."""

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.markers = MarkerLayer(self.plot, self.signals.marker_clicked.emit)
        self.annotations = AnnotationLayer(self.plot, self.y_log)
        self.set_x_mode(x_mode)

    def set_x_mode(self, mode: str) -> None:
        self.x_mode = mode
        self.xkeep = RangeKeeper(log=(mode == "log_step"), include_zero=(mode != "log_step"))
        self.plot.getAxis("bottom").setLogMode(mode == "log_step")
        self.set_x_label(X_LABELS[mode])
        self.manual = False
        self.range_lock.x_mode_changed(mode)

    def reset(self) -> None:
        self.xkeep.reset()
        self.ykeep.reset()

    def set_dark(self, on: bool) -> None:
        super().set_dark(on)
        self.markers.set_dark(on)
        self.annotations.set_dark(on)

    def set_font_scale(self, scale: float) -> None:
        super().set_font_scale(scale)
        self.markers.set_font_scale(scale)
        self.annotations.set_font_scale(scale)

    def update(self, ctx: DrawContext) -> None:
        if ctx.x_mode != self.x_mode:
            self.set_x_mode(ctx.x_mode)
        runs = ctx.compared()
        self.set_comparing(runs is not None)
        frame = ctx.frame
        if runs is not None:
            xs, ys = self.draw_compare(runs, ctx)
            n = max((f.n for _, f in runs), default=0)
        else:
            ys = self.draw(frame)
            if self.theory and frame.n:
                ys = ys + self.draw_theory(frame)
            xs, n = [frame.x], frame.n
        if n == 0 or not ys:
            self.markers.draw((), ctx.x_mode, None)
            self.annotations.draw((), ctx.x_mode, 0)
            self.show_empty(self.unavailable_text() if n else
                            "press Space to play" if ctx.ready else "waiting for the training worker…")
            return
        self.show_empty("")
        xb = finite_bounds(*xs)
        self.apply_ranges(xb, finite_bounds(*ys))
        self.ink.follow()
        alpha = getattr(ctx.frame.mirror, "init_scale", None)
        # a marker shows from its step on (a replay or an export frame before it does not tell it yet)
        self.markers.draw([m for m in ctx.markers if m["step"] <= ctx.step], ctx.x_mode, xb, alpha)
        self.annotations.draw([a for a in ctx.annotations if a.panel == self.name], ctx.x_mode, ctx.step, alpha)

    # ------------------------------------------------------------------ comparing runs
    def compare_series(self, nruns: int) -> list[tuple[str, Any, Any, str, float]]:
        """What to draw of every run: (column, columns picked (None = all, k = the first k, or a list), line
        style, what the style stands for, width)."""
        return []

    def draw_compare(self, runs, ctx: DrawContext) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Every visible run's series in the run's colour (a vector column as one NaN-separated curve)."""
        specs = self.compare_series(len(runs))
        xs, ys = [], []
        present: set[int] = set()
        for run, frame in runs:
            x = frame.x
            if frame.n:
                xs.append(x)
            for j, (col, sel, style, _label, width) in enumerate(specs):
                c = self.run_curve(run, j, style, width)
                y = frame.col(col, log=self.y_log) if frame.n else None
                if y is None or y.ndim > 2:
                    c.setData([], [])
                    continue
                if y.ndim == 2:
                    y = pick_columns(y, sel)
                    c.setData(*nan_joined(x, y))
                else:
                    c.setData(x, y)
                ys.append(y)
                present.add(j)
        extra_x, extra_y = self.draw_compare_extra(runs, ctx)
        xs += extra_x
        ys += extra_y
        self.drop_run_curves({r.id for r, _ in runs})
        keys = [(style, label) for j, (_c, _s, style, label, _w) in enumerate(specs) if j in present and label]
        if len(keys) < 2 and not self.extra_legend_keys():
            keys = []  # one quantity per run: the run names say it all
        self.compare_legend(runs, keys + self.extra_legend_keys())
        return xs, ys

    def draw_compare_extra(self, runs, ctx: DrawContext) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """More per-run items (theory curves...): (x arrays, y arrays) for the ranges."""
        return [], []

    def extra_legend_keys(self) -> list[tuple[Any, str]]:
        return []

    def draw_theory(self, frame: Frame) -> list[np.ndarray]:
        """The theory overlay of a single run (when toggled on); returns the y arrays drawn."""
        return []

    def unavailable_text(self) -> str:
        return "not available for this model"

    def draw(self, frame: Frame) -> list[np.ndarray]:
        """Set the curves' data; return the y arrays drawn (for the range)."""
        raise NotImplementedError


class SimpleTimePanel(TimePanel):
    """One curve per listed column (vector columns: one curve per entry)."""

    #: (column, label, colour index, style) -- label may contain {i} for vector columns
    series: tuple[tuple[str, str, int, Any], ...] = ()

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.curves: dict[tuple[str, int], pg.PlotCurveItem] = {}

    def _curve(self, key, label, c, style) -> pg.PlotCurveItem:
        cur = self.curves.get(key)
        if cur is None:
            cur = self.curves[key] = self.add_curve(c, label, style=style)
        return cur

    def compare_series(self, nruns):
        return [(col, None, STYLES[i % len(STYLES)], label.replace(" {i}", "").replace("{i}", ""), 2 if i == 0 else 1)
                for i, (col, label, _ci, _style) in enumerate(self.series)]

    def draw(self, frame: Frame) -> list[np.ndarray]:
        drawn = []
        x = frame.x
        for col, label, ci, style in self.series:
            y = frame.col(col, log=self.y_log)
            if y is None:
                continue
            if y.ndim == 1:
                self._curve((col, -1), label, colour(ci), style).setData(x, y)
                drawn.append(y)
            else:
                for j in range(y.shape[1]):
                    self._curve((col, j), label.format(i=j + 1), colour(ci + j), style).setData(x, y[:, j])
                drawn.append(y)
        return drawn
