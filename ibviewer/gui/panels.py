"""The plot panels (pyqtgraph), one per quantity, each shown in a dock.

Speed recipe (DESIGN.md, software rendering): PlotCurveItem fed with already-decimated series (:class:`Frame`),
many curves of one kind merged into one NaN-separated curve, ``skipFiniteCheck``, axis ranges that grow in
1-2-5 steps (never autorange), no grid, no OpenGL, SI prefixes off.  Log axes are drawn by transforming the data
to log10 and switching the axis to log ticks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QTransform
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ibviewer.core import metrics as M
from ibviewer.live.series import X_LABELS, Frame, RangeKeeper, finite_bounds, nan_joined, nice_ceil, symbols

#: colours by index (readable on white and on a projector)
PALETTE = [
    (31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (23, 190, 207), (188, 189, 34), (60, 60, 60),
]
GREY = (165, 165, 165)
BLACK = (20, 20, 20)
FONT_PT = 11
#: leading singular values drawn as their own coloured curves (the rest: one grey curve)
COLOURED_SV = 6


def setup_pyqtgraph() -> None:
    pg.setConfigOptions(
        useOpenGL=False, antialias=False, background="w", foreground=BLACK, imageAxisOrder="row-major",
        exitCleanup=False,
    )


def colour(i: int) -> tuple[int, int, int]:
    return PALETTE[i % len(PALETTE)]


def pen(c, width: float = 2, style=Qt.PenStyle.SolidLine):
    p = pg.mkPen(c, width=width)
    p.setStyle(style)
    p.setCosmetic(True)
    return p


def dashed(c, width: float = 1.5):
    return pen(c, width, Qt.PenStyle.DashLine)


#: line styles of a run's series when runs are compared (colour = run, style = quantity)
STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)


def comparing(window) -> list | None:
    """The (run, frame) pairs of the visible runs when the window compares several runs; None otherwise.

    A run (:class:`~ibviewer.gui.runs.RunView`) has ``id``, ``name``, ``colour``, ``cfg``, ``refs``, ``mirror``,
    ``product``; the window builds the frames once per drawing (``run_frames``).  Export hosts have neither.
    """
    if not getattr(window, "comparing", False):
        return None
    return getattr(window, "run_frames", None)


def pick_columns(y: np.ndarray, sel) -> np.ndarray:
    """Columns of a (rows, k) array: all (None), the first ``sel`` (int) or those listed."""
    if sel is None:
        return y
    if isinstance(sel, (int, np.integer)):
        return y[:, : int(sel)]
    idx = np.asarray(sel, dtype=int)
    return y[:, idx[idx < y.shape[1]]]


_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def power_of_ten(e: int) -> str:
    """10^e as '1', '10' or '10⁻³'."""
    if e == 0:
        return "1"
    if e == 1:
        return "10"
    return "10" + str(e).translate(_SUP)


def compact(v: float) -> str:
    """Tick text: 20000 -> '20k', 1500000 -> '1.5M'."""
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:g}G"
    if a >= 1e6:
        return f"{v / 1e6:g}M"
    if a >= 1e4:
        return f"{v / 1e3:g}k"
    if a and a < 1e-3:
        return f"{v:.0e}"
    return f"{v:g}"


class NiceAxis(pg.AxisItem):
    """Log ticks as 10ⁿ (only whole decades labelled); linear ticks compact (20k, 1.5M)."""

    def logTickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            r = round(v)
            out.append(power_of_ten(int(r)) if abs(v - r) < 1e-6 else "")
        return out

    def tickStrings(self, values, scale, spacing):
        if self.logMode:
            return self.logTickStrings(values, scale, spacing)
        return [compact(round(v * scale, 12)) for v in values]


#: device-pixel offsets at which a "thick" curve draws its 1-pixel path (a 2 px and a 3 px line)
THICK_OFFSETS = {2: ((0, 0), (1, 0), (0, 1)), 3: ((0, 0), (1, 0), (0, 1), (-1, 0), (0, -1))}


class ThickCurve(pg.PlotCurveItem):
    """A curve drawn 2-3 pixels thick as a few 1-pixel paths shifted by one device pixel.

    Qt's raster engine strokes pens wider than 1 pixel about 7x slower than thin ones (measured: 6 curves of
    1000 points, 3.1 ms at width 2 against 0.4 ms at width 1); three shifted thin paths cost 0.9 ms and look
    the same on a projector.
    """

    def __init__(self, *args, thickness: int = 2, **kwargs):
        self._offsets = THICK_OFFSETS[thickness]
        super().__init__(*args, **kwargs)

    def pixelPadding(self):
        return super().pixelPadding() + 1.5

    def paint(self, p, opt, widget):
        t = p.transform()
        for dx, dy in self._offsets:
            p.setTransform(t * QTransform.fromTranslate(dx, dy))
            super().paint(p, opt, widget)
        p.setTransform(t)


def _style_axis(axis: pg.AxisItem) -> None:
    axis.enableAutoSIPrefix(False)
    f = QFont()
    f.setPointSize(FONT_PT)
    axis.setStyle(tickFont=f, tickTextOffset=4)
    axis.setTextPen(pg.mkPen(BLACK))
    axis.setPen(pg.mkPen(BLACK))


# ====================================================================================================== base
class Panel:
    """A dockable view.  ``widget`` goes into the dock; ``update(frame, snap)`` draws the current state."""

    name = "panel"
    title = "Panel"
    tooltip = ""

    def __init__(self, window):
        self.window = window
        self.info: dict[str, Any] = {}
        self.widget: QWidget = QWidget()

    def set_info(self, info: dict[str, Any]) -> None:
        self.info = info
        self.reset()

    def reset(self) -> None:
        """The history was replaced (reset, new run, thinning): forget ranges."""

    def set_x_mode(self, mode: str) -> None:
        """The x axis changed (step / log_step / time)."""

    def update(self, frame: Frame, snap: dict[str, Any] | None) -> None:
        raise NotImplementedError


class LegendSample:
    """A legend entry's look without a graphics item (a free QObject could be deleted from another thread)."""

    def __init__(self, pen_):
        self.opts = {"pen": pen_}


class HtmlLegend:
    """A legend as one wrapped line of rich text in a QLabel above the plot (LegendItem's add/remove API)."""

    def __init__(self, label: QLabel, pt: float | None = None):
        self.label = label
        self.entries: list[tuple[Any, str]] = []
        self.pt = pt if pt is not None else getattr(label, "_legend_pt", FONT_PT)

    def addItem(self, item, name: str) -> None:
        self.entries.append((item, name))
        self._render()

    def removeItem(self, item) -> None:
        self.entries = [e for e in self.entries if e[0] is not item]
        self._render()

    @staticmethod
    def _glyph(item) -> tuple[str, str]:
        if isinstance(item, pg.ScatterPlotItem):
            o = item.opts
            sym = {"o": "●", "s": "■", "x": "✕", "t": "▼", "d": "◆"}.get(o.get("symbol"), "●")
            brush, pen_ = o.get("brush"), o.get("pen")
            if sym == "●" and (brush is None or brush.style() == Qt.BrushStyle.NoBrush):
                sym = "○"
            c = brush.color() if brush is not None and brush.style() != Qt.BrushStyle.NoBrush else pen_.color()
            return sym, c.name()
        p = item.opts["pen"] if hasattr(item, "opts") and "pen" in item.opts else item.pen
        p = pg.mkPen(p)
        glyph = {Qt.PenStyle.SolidLine: "━━", Qt.PenStyle.DotLine: "┅┅", Qt.PenStyle.DashDotLine: "━·━"}.get(
            p.style(), "╍╍")
        return glyph, p.color().name()

    def _render(self) -> None:
        parts = []
        for item, name in self.entries:
            glyph, c = self._glyph(item)
            # wrap between entries, not inside one (Qt breaks lines at a hyphen even inside <nobr>)
            label = symbols(name).replace(" ", "&nbsp;").replace("-", "\u2011")
            parts.append(f'<nobr><span style="color:{c}; font-weight:bold">{glyph}</span>&nbsp;{label}</nobr>')
        self.label.setText(f'<span style="font-size:{self.pt:g}pt">' + " &nbsp; ".join(parts) + "</span>")
        self.label.setVisible(bool(parts))


class PlotPanel(Panel):
    """A single pyqtgraph plot with managed (1-2-5) ranges."""

    y_log = False
    y_zero = False
    y_label = ""
    x_label = ""
    legend = True

    def __init__(self, window):
        super().__init__(window)
        self.plot_widget = pg.PlotWidget(axisItems={"left": NiceAxis("left"), "bottom": NiceAxis("bottom")})
        self.plot_widget.setToolTip(self.tooltip)
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
            _style_axis(pi.getAxis(side))
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
        self._cmp: dict[tuple[int, Any], pg.PlotCurveItem] = {}
        self.comparing = False
        self._cmp_legend: tuple | None = None
        self.compare_entries: list = []
        self.theory = False
        self.theory_box = None

    def set_info(self, info: dict[str, Any]) -> None:
        self._cmp_legend = None  # the panel's own legend is rendered again below: draw the runs' one next time
        super().set_info(info)

    # ------------------------------------------------------------------ comparing runs
    def set_comparing(self, on: bool) -> None:
        if on == self.comparing:
            return
        self.comparing = on
        for c in self._own:
            if id(c) not in self._keep:
                c.setVisible(not on)
        if not on:
            for c in self._cmp.values():
                self.plot.removeItem(c)
            self._cmp = {}
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
        c = self._cmp.get((run.id, key))
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
            self._cmp[(run.id, key)] = c
        return c

    def drop_run_curves(self, keep_ids: set[int]) -> None:
        """Remove the curves of runs that are gone or hidden."""
        for key in [k for k in self._cmp if k[0] not in keep_ids]:
            self.plot.removeItem(self._cmp.pop(key))

    def compare_legend(self, runs, keys: list[tuple[Any, str]] = ()) -> None:
        """One legend entry per run (its colour), then the line styles of the quantities (black)."""
        sig = (tuple((r.id, r.name, r.colour) for r, _ in runs), tuple((id(st), str(st), t) for st, t in keys))
        if sig == self._cmp_legend:
            return
        self._cmp_legend = sig
        legend = HtmlLegend(self.legend_label, self.legend_item.pt if self.legend_item is not None else None)
        legend.entries = [(LegendSample(pen(r.colour, 2)), r.name) for r, _ in runs]
        legend.entries += [(st if hasattr(st, "opts") else LegendSample(pen(BLACK, 1, st)), text) for st, text in keys]
        legend._render()
        self.compare_entries = legend.entries  # an export renders them again in its theme

    # ------------------------------------------------------------------ theory overlay toggle
    def add_theory_toggle(self, text: str, tip: str) -> None:
        """A 'theory' check box in the header row; toggling redraws (``self.theory``)."""
        from PySide6.QtWidgets import QCheckBox

        box = QCheckBox(text)
        box.setObjectName("theory")
        box.setToolTip(tip)
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
        redraw = getattr(self.window, "redraw", None)
        if redraw is not None:
            redraw()

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
        for side in ("left", "bottom"):
            ax = self.plot.getAxis(side)
            ax.setPen(pg.mkPen(fg))
            ax.setTextPen(pg.mkPen(fg))
        self.legend_label.setStyleSheet("background: #1e2024; color: #e1e1e1;" if on else "background: white;")

    def fit_view(self) -> None:
        """Back to the managed ranges (after the user zoomed)."""
        self.manual = False
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


class TimePanel(PlotPanel):
    """Quantities over the training: x is step, log-step or time (chosen in the window)."""

    #: (column, index or None, label, colour index, style) of the curves
    def __init__(self, window):
        super().__init__(window)
        self.x_mode = "step"
        self.set_x_mode(window.x_mode if hasattr(window, "x_mode") else "step")

    def set_x_mode(self, mode: str) -> None:
        self.x_mode = mode
        self.xkeep = RangeKeeper(log=(mode == "log_step"), include_zero=(mode != "log_step"))
        self.plot.getAxis("bottom").setLogMode(mode == "log_step")
        self.set_x_label(X_LABELS[mode])
        self.manual = False

    def reset(self) -> None:
        self.xkeep.reset()
        self.ykeep.reset()

    def update(self, frame: Frame, snap) -> None:
        runs = comparing(self.window)
        self.set_comparing(runs is not None)
        if runs is not None:
            xs, ys = self.draw_compare(runs)
            n = max((f.n for _, f in runs), default=0)
        else:
            ys = self.draw(frame)
            if self.theory and frame.n:
                ys = ys + self.draw_theory(frame)
            xs, n = [frame.x], frame.n
        if n == 0:
            self.show_empty("press Space to play" if self.window_ready() else "waiting for the training worker…")
            return
        if not ys:
            self.show_empty(self.unavailable_text())
            return
        self.show_empty("")
        self.apply_ranges(finite_bounds(*xs), finite_bounds(*ys))

    # ------------------------------------------------------------------ comparing runs
    def compare_series(self, nruns: int) -> list[tuple[str, Any, Any, str, float]]:
        """What to draw of every run: (column, columns picked (None = all, k = the first k, or a list), line
        style, what the style stands for, width)."""
        return []

    def draw_compare(self, runs) -> tuple[list[np.ndarray], list[np.ndarray]]:
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
        extra_x, extra_y = self.draw_compare_extra(runs)
        xs += extra_x
        ys += extra_y
        self.drop_run_curves({r.id for r, _ in runs})
        keys = [(style, label) for j, (_c, _s, style, label, _w) in enumerate(specs) if j in present and label]
        if len(keys) < 2 and not self.extra_legend_keys():
            keys = []  # one quantity per run: the run names say it all
        self.compare_legend(runs, keys + self.extra_legend_keys())
        return xs, ys

    def draw_compare_extra(self, runs) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """More per-run items (theory curves...): (x arrays, y arrays) for the ranges."""
        return [], []

    def extra_legend_keys(self) -> list[tuple[Any, str]]:
        return []

    def draw_theory(self, frame: Frame) -> list[np.ndarray]:
        """The theory overlay of a single run (when toggled on); returns the y arrays drawn."""
        return []

    def window_ready(self) -> bool:
        return bool(getattr(self.window, "worker_ready", False))

    def unavailable_text(self) -> str:
        return "not available for this model"

    def draw(self, frame: Frame) -> list[np.ndarray]:
        """Set the curves' data; return the y arrays drawn (for the range)."""
        raise NotImplementedError


class SimpleTimePanel(TimePanel):
    """One curve per listed column (vector columns: one curve per entry)."""

    #: (column, label, colour index, style) -- label may contain {i} for vector columns
    series: tuple[tuple[str, str, int, Any], ...] = ()

    def __init__(self, window):
        super().__init__(window)
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


# ====================================================================================================== panels
class LossPanel(SimpleTimePanel):
    name = "loss"
    title = "Loss"
    tooltip = "Training loss L (log scale), and the test loss where there is one; dashed: run.loss_tol when set"
    y_log = True
    y_label = "loss L"
    series = (("loss", "training loss", 0, Qt.PenStyle.SolidLine), ("test_loss", "test loss", 1, Qt.PenStyle.SolidLine))

    def draw(self, frame):
        ys = super().draw(frame)
        # a single curve needs no legend
        self.legend_label.setVisible(len(self.curves) > 1)
        return ys

    def __init__(self, window):
        super().__init__(window)
        self.tol_line = None

    def set_info(self, info):
        super().set_info(info)
        tol = info.get("cfg", {}).get("run", {}).get("loss_tol", 0.0)
        self.set_tol(tol)

    def set_tol(self, tol: float) -> None:
        if self.tol_line is None:
            self.tol_line = self.add_hline(0.0, (120, 120, 120))
        if tol and tol > 0:
            self.tol_line.setPos(math.log10(tol))
            self.tol_line.show()
        else:
            self.tol_line.hide()


def time_to_x(t: np.ndarray, mirror, lr: float, mode: str) -> np.ndarray:
    """Gradient-flow times t = Σ η_k as x values of ``mode`` for a run (its recorded time and step columns;
    beyond its last record at the current learning rate)."""
    t = np.asarray(t, dtype=float)
    if mode == "time":
        return t
    tc = mirror.get("time") if mirror is not None else None
    sc = mirror.get("step") if mirror is not None else None
    if tc is None or sc is None or len(tc) == 0 or not np.isfinite(tc[-1]):
        steps = t / lr
    else:
        steps = np.interp(t, tc, sc)
        beyond = t > tc[-1]
        steps[beyond] = sc[-1] + (t[beyond] - tc[-1]) / lr
    if mode == "log_step":
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log10(steps)
        out[~(steps > 0)] = np.nan
        return out
    return steps


class SpectrumTheory:
    """Predicted singular values (:func:`ibviewer.core.theory.predicted_spectrum`) on a log grid of times, and their
    half-times; cached per (depth, targets, initial values, horizon)."""

    POINTS = 300

    def __init__(self):
        self.cache: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @staticmethod
    def targets(info: dict[str, Any], k: int) -> np.ndarray:
        sv = info.get("target_sv")
        if sv is None:
            return np.zeros(0)
        sv = np.sort(np.asarray(sv, float))[::-1]
        sv = sv[sv > 1e-6 * max(float(sv.max()), 1e-300)]
        return sv[:k]

    @staticmethod
    def initial(mirror, k: int, alpha: float) -> np.ndarray:
        """σ_i(0) of the run: its first recorded singular values when recorded at step 0, else α."""
        sv, st = (mirror.get("sv"), mirror.get("step")) if mirror is not None else (None, None)
        if sv is not None and len(sv) and st is not None and st[0] == 0 and sv.ndim == 2:
            s0 = np.asarray(sv[0, :k], float)
            if len(s0) == k and np.all(np.isfinite(s0)):
                return np.where(s0 > 0, s0, alpha)
        return np.full(k, float(alpha))

    def get(self, targets: np.ndarray, sigma0: np.ndarray, depth: int, lr: float, t_end: float):
        """(t, predicted σ (rows: times, columns: targets), half-times)."""
        from ibviewer.core.theory import half_time, predicted_spectrum

        t_end = 2.0 ** math.ceil(math.log2(max(t_end, 10 * lr)))  # horizons in powers of 2: few recomputations
        key = (int(depth), tuple(np.round(targets, 12)), tuple(np.round(np.log(sigma0), 6)), float(lr), t_end)
        hit = self.cache.get(key)
        if hit is None:
            t = np.concatenate([[0.0], np.geomspace(lr, t_end, self.POINTS)])
            with np.errstate(all="ignore"):  # the closed form overflows to inf/inf once converged (it is s then)
                pred = predicted_spectrum(targets, sigma0, int(depth), t)
            halves = np.array([half_time(float(s), float(a), int(depth)) if a < s / 2 else np.nan
                               for s, a in zip(targets, sigma0)])
            if len(self.cache) > 64:
                self.cache.clear()
            hit = self.cache[key] = (t, pred, halves)
        return hit


class SingularValuesPanel(TimePanel):
    name = "singular_values"
    title = "Singular values σ_i(W)"
    tooltip = ("Every singular value σ_i of the end-to-end product W = W_N⋯W_1 over time (log scale);\n"
               "dashed: the ground truth's singular values.  From small initialization they are learned one\n"
               "after another, largest first.")
    y_log = True
    y_label = "σ_i(W)"
    #: singular values drawn per run when runs are compared
    COMPARE_SV = 3

    def __init__(self, window):
        super().__init__(window)
        # the three leading values thick, the next ones thin (a thick curve costs three thin paths)
        self.lead = [self.add_curve(colour(i), None, width=2 if i < 3 else 1, z=2) for i in range(COLOURED_SV)]
        self.rest = self.add_curve(GREY, None, width=1, z=1)
        self.targets: list[pg.InfiniteLine] = []
        self.target_sample = LegendSample(dashed(BLACK))
        self.add_theory_toggle("theory", "Predicted σ_i(t) of gradient flow, dashed (dσ/dt = N σ^{2−2/N}(s − σ):\n"
                                         "Saxe et al. 2014 for depth 2, Arora et al. 2019 for depth N; exact for\n"
                                         "an initialization aligned with the target), and ◆ the half-times at\n"
                                         "which σ_i reaches s_i/2.  σ_i(0): the run's initial singular values.")
        self.spectrum = SpectrumTheory()
        self.th_curves: list[pg.PlotCurveItem] = []
        self.th_marks = pg.ScatterPlotItem(size=11, symbol="d", pen=pg.mkPen(BLACK, width=1))
        self.th_marks.setZValue(5)
        self.plot.addItem(self.th_marks)
        self.th_sample = LegendSample(pen(BLACK, 1, Qt.PenStyle.DashLine))
        self.half_sample = pg.ScatterPlotItem(symbol="d", pen=pg.mkPen(BLACK), brush=pg.mkBrush(BLACK))

    def set_info(self, info):
        super().set_info(info)
        for line in self.targets:
            self.plot.removeItem(line)
        self.targets = []
        self._legend()
        sv = info.get("target_sv")
        if self.theory_box is not None:
            ok = sv is not None
            self.theory_box.setEnabled(ok)
            self.theory_box.setToolTip(self.theory_box.toolTip() if ok else "no ground truth: nothing to predict")
        if sv is None:
            return
        sv = np.asarray(sv, float)
        keep = sv > 1e-8 * max(sv.max(), 1e-300)
        for i, s in enumerate(sv):
            if keep[i]:
                c = BLACK if self.comparing else colour(i) if i < COLOURED_SV else GREY
                line = pg.InfiniteLine(pos=math.log10(s), angle=0, movable=False, pen=dashed(c))
                self.plot.addItem(line, ignoreBounds=True)
                self.targets.append(line)

    def _legend(self) -> None:
        info = self.info
        shape = info.get("shape", ())
        k = min(shape) if len(shape) == 2 else COLOURED_SV + 1
        if self.legend_item is None:
            return
        self.legend_item.entries = []  # only the curves this product has
        for i, c in enumerate(self.lead[: min(k, COLOURED_SV)]):
            self.legend_item.entries.append((c, f"σ{i + 1}"))
        if k > COLOURED_SV:
            self.legend_item.entries.append((self.rest, f"σ{COLOURED_SV + 1}…σ{k}"))
        if info.get("target_sv") is not None:
            self.legend_item.entries.append((self.target_sample, "targets"))
        if self.theory:
            self.legend_item.entries.append((self.th_sample, "theory"))
            self.legend_item.entries.append((self.half_sample, "half-time"))
        if not self.comparing:
            self.legend_item._render()

    def on_comparing(self, on):
        for i, line in enumerate(self.targets):
            line.setPen(dashed(BLACK if on else colour(i) if i < COLOURED_SV else GREY))
        if not on:
            self._legend()
        self.on_theory(self.theory)

    def on_theory(self, on):
        for c in self.th_curves:
            c.setVisible(on and not self.comparing)
        self.th_marks.setVisible(on and not self.comparing)
        if not on:
            self.th_marks.setData([], [])
        self._cmp_legend = None
        self._legend()

    # ------------------------------------------------------------------ drawing
    def draw(self, frame):
        y = frame.col("sv", log=True)
        if y is None:
            return []
        x = frame.x
        k = y.shape[1]
        for i, c in enumerate(self.lead):
            if i < k:
                c.setData(x, y[:, i])
            else:
                c.setData([], [])
        if k > COLOURED_SV:
            self.rest.setData(*nan_joined(x, y[:, COLOURED_SV:]))
        else:
            self.rest.setData([], [])
        lines = [line.value() for line in self.targets]
        return [y, np.asarray(lines)] if lines else [y]

    def _prediction(self, mirror, cfg: dict[str, Any], k: int):
        """(x, log10 σ predicted (rows: times), half-time x, log10 s/2) of one run, or None."""
        targets = SpectrumTheory.targets(self.info, k)
        if not len(targets) or mirror is None or mirror.size == 0:
            return None
        model, opt, run = cfg.get("model", {}), cfg.get("optimizer", {}), cfg.get("run", {})
        depth, lr, alpha = int(model.get("depth", 1)), float(opt.get("lr", 0.01)), float(model.get("init_scale", 1e-3))
        s0 = SpectrumTheory.initial(mirror, len(targets), alpha)
        tc = mirror.get("time")
        now = float(tc[-1]) if tc is not None and len(tc) and np.isfinite(tc[-1]) else 0.0
        steps = int(run.get("steps", 0) or 0)
        t_end = max(lr * steps, now) if steps else max(2 * now, 1000 * lr)
        t, pred, halves = self.spectrum.get(targets, s0, depth, lr, t_end)
        x = time_to_x(t, mirror, lr, self.x_mode)
        with np.errstate(divide="ignore", invalid="ignore"):
            ly = np.log10(pred)
        ok = np.isfinite(halves)
        hx = time_to_x(halves[ok], mirror, lr, self.x_mode)
        hy = np.log10(targets[ok] / 2)
        return x, ly, hx, hy

    def draw_theory(self, frame):
        k = min(COLOURED_SV, len(SpectrumTheory.targets(self.info, COLOURED_SV)))
        got = self._prediction(frame.mirror, self.info.get("cfg", {}), k)
        if got is None:
            return []
        x, ly, hx, hy = got
        while len(self.th_curves) < ly.shape[1]:
            c = pg.PlotCurveItem(pen=pen(colour(len(self.th_curves)), 1, Qt.PenStyle.DashLine), connect="finite",
                                 skipFiniteCheck=True, antialias=False)
            c.setZValue(4)
            self.plot.addItem(c)
            self.th_curves.append(c)
        for i, c in enumerate(self.th_curves):
            c.setVisible(True)
            c.setData(x, ly[:, i]) if i < ly.shape[1] else c.setData([], [])
        self.th_marks.setVisible(True)
        self.th_marks.setData(hx, hy, brush=[pg.mkBrush(colour(i)) for i in range(len(hx))])
        return [ly]

    def compare_series(self, nruns):
        targets = SpectrumTheory.targets(self.info, COLOURED_SV)
        # the learned values and one more (a shallow run fills it), fewer when many runs share the plot
        k = max(self.COMPARE_SV, len(targets) + 1) if nruns <= 3 else self.COMPARE_SV
        k = min(k, COLOURED_SV)
        return [("sv", k, Qt.PenStyle.SolidLine, f"σ1–σ{k}", 2)]

    def draw_compare_extra(self, runs):
        ys = [np.asarray([line.value() for line in self.targets])] if self.targets else []
        if not self.theory:
            for key in [k for k in self._cmp if k[1] in ("theory", "half")]:
                self.plot.removeItem(self._cmp.pop(key))
            return [], ys
        k = min(self.COMPARE_SV, len(SpectrumTheory.targets(self.info, COLOURED_SV)))
        for run, _frame in runs:
            got = self._prediction(run.mirror, run.cfg.to_dict(), k)
            c = self.run_curve(run, "theory", Qt.PenStyle.DashLine, 1)
            m = self._cmp.get((run.id, "half"))
            if m is None:
                m = pg.ScatterPlotItem(size=11, symbol="d", pen=pg.mkPen(BLACK, width=1), brush=pg.mkBrush(run.colour))
                m.setZValue(5)
                self.plot.addItem(m)
                self._cmp[(run.id, "half")] = m
            if got is None:
                c.setData([], [])
                m.setData([], [])
                continue
            x, ly, hx, hy = got
            c.setData(*nan_joined(x, ly))
            m.setData(hx, hy)
            ys.append(ly)
        return [], ys

    def extra_legend_keys(self):
        keys = [(Qt.PenStyle.DashLine, "targets")] if self.targets else []
        if self.theory:
            keys += [(Qt.PenStyle.DashLine, "theory (run colour)"), (self.half_sample, "half-time")]
        return keys


ERANK_FORMS = {
    "entropy": ("erank_entropy", "exp(H(σ/‖σ‖₁)) (Roy & Vetterli)"),
    "nuclear_over_operator": ("erank_nuclear_over_operator", "‖W‖_* / ‖W‖_op"),
    "stable": ("erank_stable", "‖W‖_F² / ‖W‖_op² (stable rank)"),
}


class EffectiveRankPanel(TimePanel):
    name = "effective_rank"
    title = "Effective rank"
    tooltip = ("Effective rank of the product (definition selectable) and the numerical rank\n"
               "#{σ_i > rank_tol·σ_1}; dashed: the ground truth's values")
    y_zero = True
    y_label = "rank"

    def __init__(self, window):
        super().__init__(window)
        self.form = "entropy"
        self.erank = self.add_curve(colour(0), "effective rank")
        self.nrank = self.add_curve(colour(1), "numerical rank")
        self.t_erank = self.add_hline(-1.0, colour(0))
        self.t_nrank = self.add_hline(-1.0, colour(1))
        self.t_erank.hide()
        self.t_nrank.hide()
        row = self.header
        row.addWidget(QLabel("definition:"))
        self.combo = QComboBox()
        self.combo.setObjectName("erank_form")
        for key, (_, text) in ERANK_FORMS.items():
            self.combo.addItem(text, key)
        self.combo.setToolTip("which effective rank to draw")
        self.combo.currentIndexChanged.connect(self._on_form)
        row.addWidget(self.combo, 1)

    def _on_form(self, _index: int) -> None:
        self.form = self.combo.currentData()
        self._update_targets()
        self.ykeep.reset()
        self.window.redraw()

    def set_info(self, info):
        super().set_info(info)
        self._update_targets()

    def _update_targets(self) -> None:
        sv = self.info.get("target_sv")
        if sv is None:
            self.t_erank.hide()
            self.t_nrank.hide()
            return
        sv = np.asarray(sv, float)
        er = M.effective_ranks(sv)[self.form]
        tol = self.info.get("cfg", {}).get("run", {}).get("rank_tol", 1e-3)
        self.t_erank.setPos(er)
        self.t_erank.show()
        self.t_nrank.setPos(M.numerical_rank(sv, tol))
        self.t_nrank.show()

    def compare_series(self, nruns):
        return [(ERANK_FORMS[self.form][0], None, Qt.PenStyle.SolidLine, "effective rank", 2),
                ("numerical_rank", None, Qt.PenStyle.DashLine, "numerical rank", 1)]

    def on_comparing(self, on):
        self.t_erank.setPen(dashed(BLACK if on else colour(0)))
        self.t_nrank.setPen(dashed(GREY if on else colour(1)))

    def draw_compare_extra(self, runs):
        if self.t_erank.isVisible():
            return [], [np.array([self.t_erank.value(), self.t_nrank.value()])]
        return [], []

    def draw(self, frame):
        col = ERANK_FORMS[self.form][0]
        y = frame.col(col)
        if y is None:
            return []
        x = frame.x
        self.erank.setData(x, y)
        nr = frame.col("numerical_rank")
        self.nrank.setData(x, nr)
        out = [y, nr]
        if self.t_erank.isVisible():
            out.append(np.array([self.t_erank.value(), self.t_nrank.value()]))
        return out


class NormsPanel(TimePanel):
    name = "norms"
    title = "Norms"
    tooltip = ("Norms of the end-to-end product (‖·‖_F = √Σσ², ‖·‖_* = Σσ, ‖·‖_op = σ_1; vectors: ‖x‖₁, ‖x‖₂)\n"
               "and the Frobenius norm of every layer/factor ‖W_j‖_F (thin lines), log scale")
    y_log = True
    y_label = "norm"
    MATRIX = (("norm_fro", "‖W‖_F"), ("norm_nuclear", "‖W‖_*"), ("norm_op", "‖W‖_op"), ("abs_w00", "|W₀₀|"))
    VECTOR = (("l1", "‖x‖₁"), ("l2", "‖x‖₂"))

    def __init__(self, window):
        super().__init__(window)
        self.curves: dict[str, pg.PlotCurveItem] = {}
        self.layers: list[pg.PlotCurveItem] = []
        self.add_theory_toggle("Σσ^(2/N)", "Σ_i σ_i^{2/N} of the product over time (dotted): the Schatten-2/N\n"
                                             "quasi-norm that deep factorizations implicitly keep small\n"
                                             "(Arora, Cohen, Hu, Luo 2019); N = the run's depth")
        self.sum_curve = pg.PlotCurveItem(pen=pen(BLACK, 1, Qt.PenStyle.DotLine), connect="finite",
                                          skipFiniteCheck=True, antialias=False)
        self.sum_curve.setZValue(3)
        self.sum_curve.hide()
        self.plot.addItem(self.sum_curve)

    def set_info(self, info):
        super().set_info(info)
        for c in list(self.curves.values()) + self.layers:
            self.plot.removeItem(c)
            if self.legend_item is not None:
                self.legend_item.removeItem(c)
        self.curves = {}
        self.layers = []
        matrix = len(info.get("shape", ())) == 2
        names = self.MATRIX if matrix else self.VECTOR
        for i, (col, label) in enumerate(names):
            if col == "abs_w00" and info.get("kind") != "razin_cohen":
                continue
            self.curves[col] = self.add_curve(colour(i), label, z=2)
        depth = info.get("cfg", {}).get("model", {}).get("depth", 1)
        for j in range(depth):
            self.layers.append(self.add_curve(colour(4 + j), f"‖W_{j + 1}‖_F" if matrix else f"‖w_{j + 1}‖",
                                              width=1, z=1))
        self.matrix = matrix
        if self.theory_box is not None:
            self.theory_box.setVisible(matrix)
        self._theory_entry()

    def _theory_entry(self) -> None:
        if self.legend_item is None:
            return
        self.legend_item.entries = [e for e in self.legend_item.entries if e[0] is not self.sum_curve]
        if self.theory and getattr(self, "matrix", False):
            self.legend_item.entries.append((self.sum_curve, "Σσ^(2/N)"))
        if not self.comparing:
            self.legend_item._render()

    def on_comparing(self, on):
        self.sum_curve.setVisible(self.theory and not on)
        self._theory_entry()

    def on_theory(self, on):
        self.sum_curve.setVisible(on and not self.comparing)
        self._cmp_legend = None
        self._theory_entry()

    def compare_series(self, nruns):
        if getattr(self, "matrix", True):
            out = [("norm_nuclear", None, Qt.PenStyle.SolidLine, "‖W‖_*", 2),
                   ("norm_fro", None, Qt.PenStyle.DashLine, "‖W‖_F", 1)]
            if self.info.get("kind") == "razin_cohen":
                out.append(("abs_w00", None, Qt.PenStyle.DashDotLine, "|W₀₀|", 1))
            if self.theory:
                out.append(("sum_sigma_2_over_n", None, Qt.PenStyle.DotLine, "Σσ^(2/N)", 1))
            return out
        return [("l1", None, Qt.PenStyle.SolidLine, "‖x‖₁", 2), ("l2", None, Qt.PenStyle.DashLine, "‖x‖₂", 1)]

    def draw_theory(self, frame):
        y = frame.col("sum_sigma_2_over_n", log=True)
        if y is None:
            return []
        self.sum_curve.setVisible(True)
        self.sum_curve.setData(frame.x, y)
        return [y]

    def draw(self, frame):
        x = frame.x
        out = []
        for col, curve in self.curves.items():
            y = frame.col(col, log=True)
            if y is not None:
                curve.setData(x, y)
                out.append(y)
        ln = frame.col("layer_norms", log=True)
        if ln is not None:
            for j, curve in enumerate(self.layers):
                if j < ln.shape[1]:
                    curve.setData(x, ln[:, j])
            out.append(ln)
        return out


class BalancednessPanel(TimePanel):
    name = "balancedness"
    title = "Balancedness"
    tooltip = ("‖D_j‖_F with D_j = W_{j+1}ᵀW_{j+1} − W_j W_jᵀ (solid), conserved by gradient flow, and its drift\n"
               "‖D_j(t) − D_j(0)‖_F (dashed), which grows in proportion to the step size η under GD; log scale")
    y_log = True
    y_label = "‖D_j‖_F"

    def __init__(self, window):
        super().__init__(window)
        self.bal: list[pg.PlotCurveItem] = []
        self.drift: list[pg.PlotCurveItem] = []

    def set_info(self, info):
        super().set_info(info)
        for c in self.bal + self.drift:
            self.plot.removeItem(c)
            if self.legend_item is not None:
                self.legend_item.removeItem(c)
        depth = info.get("cfg", {}).get("model", {}).get("depth", 1)
        self.bal = [self.add_curve(colour(j), f"‖D_{j + 1}‖") for j in range(depth - 1)]
        self.drift = [self.add_curve(colour(j), f"drift D_{j + 1}", style=Qt.PenStyle.DashLine)
                      for j in range(depth - 1)]

    def unavailable_text(self):
        return "balancedness needs depth ≥ 2"

    def compare_series(self, nruns):
        return [("balancedness", None, Qt.PenStyle.SolidLine, "‖D_j‖", 2),
                ("balance_drift", None, Qt.PenStyle.DashLine, "drift ‖D_j(t) − D_j(0)‖", 1)]

    def draw(self, frame):
        x = frame.x
        out = []
        for col, curves in (("balancedness", self.bal), ("balance_drift", self.drift)):
            y = frame.col(col, log=True)
            if y is None:
                continue
            for j, c in enumerate(curves):
                if j < y.shape[1]:
                    c.setData(x, y[:, j])
            out.append(y)
        return out


ERRORS = (
    ("rel_error", "to ground truth W*"),
    ("dist_min_l2", "to min-ℓ2"),
    ("dist_min_l1", "to min-ℓ1"),
    ("dist_q_alpha", "to Q_α minimiser"),
    ("dist_min_nuclear", "to min nuclear norm"),
    ("dist_max_margin", "to max-margin direction"),
)


class ErrorsPanel(TimePanel):
    name = "errors"
    title = "Errors and distances"
    tooltip = ("Relative error ‖W − W*‖_F/‖W*‖_F to the ground truth and relative distance ‖W − W_ref‖/‖W_ref‖\n"
               "to each reference solution: min-ℓ2 (least norm), min-ℓ1 (basis pursuit), Q_α (Woodworth et al.),\n"
               "min nuclear norm, max-margin direction; log scale")
    y_log = True
    y_label = "relative distance"

    def __init__(self, window):
        super().__init__(window)
        self.curves: dict[str, pg.PlotCurveItem] = {}

    def set_info(self, info):
        super().set_info(info)
        for c in self.curves.values():
            self.plot.removeItem(c)
            if self.legend_item is not None:
                self.legend_item.removeItem(c)
        self.curves = {}
        vector = len(info.get("shape", ())) == 1
        refs = info.get("refs", {})
        for i, (col, label) in enumerate(ERRORS):
            present = (col == "rel_error" and info.get("target") is not None) or (
                col.startswith("dist_") and col[5:] in refs)
            if present:
                if vector:
                    label = label.replace("W*", "x*")
                # the ground truth's curve wide and underneath: a reference that equals it stays visible
                wide = col == "rel_error"
                self.curves[col] = self.add_curve(colour(i), label, width=3 if wide else 2, z=0 if wide else 1)

    def unavailable_text(self):
        return "no ground truth or reference solution for this problem"

    def compare_series(self, nruns):
        vector = len(self.info.get("shape", ())) == 1
        refs = self.info.get("refs", {})
        out = []
        if self.info.get("target") is not None:
            out.append(("rel_error", "to ground truth " + ("x*" if vector else "W*")))
        # the references that tell the runs apart: sparse (ℓ1, Q_α) for vectors, low rank for matrices
        order = ("dist_min_l1", "dist_q_alpha", "dist_min_l2") if vector else ("dist_min_nuclear", "dist_min_l2")
        labels = dict(ERRORS)
        out += [(c, labels[c]) for c in order if c[5:] in refs]
        out += [(c, lab) for c, lab in ERRORS if c.startswith("dist_") and c[5:] in refs and c not in order]
        # three series a run at most: with several runs, more is clutter
        return [(c, None, STYLES[i], lab, 2 if i == 0 else 1) for i, (c, lab) in enumerate(out[:3])]

    def draw(self, frame):
        x = frame.x
        out = []
        for col, c in self.curves.items():
            y = frame.col(col, log=True)
            if y is not None:
                c.setData(x, y)
                out.append(y)
        return out


def _marks(symbol: str, c, size: int = 10, filled: bool = False) -> pg.ScatterPlotItem:
    m = pg.ScatterPlotItem(size=size, symbol=symbol, pen=pg.mkPen(c, width=2),
                           brush=pg.mkBrush(c) if filled else None)
    m.setZValue(6)
    return m


#: the reference solutions a diagonal network is compared with: (refs key, symbol, legend text)
VECTOR_REFS = (("q_alpha", "t", "Q_α minimiser"), ("min_l1", "x", "x_ℓ1"), ("min_l2", "s", "x_ℓ2"))


class CoordinatesPanel(TimePanel):
    name = "coordinates"
    title = "Coordinates x_i(t)"
    tooltip = ("Every coordinate of x over time: the true support coloured (dashed: the true values x*_i),\n"
               "the other coordinates grey.  Small α: coordinates activate one after another.")
    y_label = "x_i"
    #: support coordinates drawn per run when runs are compared
    COMPARE_COORDS = 5

    def __init__(self, window):
        super().__init__(window)
        self.rest = self.add_curve(GREY, "off support", width=1, z=1)
        self._keep.add(id(self.rest))  # comparing: the selected run's other coordinates stay, grey
        self.lead: list[pg.PlotCurveItem] = []
        self.lines: list[pg.InfiniteLine] = []
        self.support = np.zeros(0, dtype=int)
        self.add_theory_toggle("references", "Where the shown coordinates of the reference solutions lie, at the\n"
                                             "right end: ▲ the Q_α minimiser (Woodworth et al. 2020: the limit of\n"
                                             "gradient flow from scale α), ✕ x_ℓ1 (basis pursuit), ■ x_ℓ2 (least norm)")
        self.ref_marks = {key: _marks(sym, BLACK, filled=sym != "x") for key, sym, _ in VECTOR_REFS}
        for m in self.ref_marks.values():
            self.plot.addItem(m)
            m.hide()

    def set_info(self, info):
        super().set_info(info)
        for c in self.lead:
            self.plot.removeItem(c)
            if self.legend_item is not None:
                self.legend_item.removeItem(c)
        for line in self.lines:
            self.plot.removeItem(line)
        self.lead, self.lines = [], []
        sup = info.get("support")
        self.support = np.zeros(0, dtype=int) if sup is None else np.asarray(sup, dtype=int)
        target = info.get("target")
        for k, i in enumerate(self.support[:10]):
            self.lead.append(self.add_curve(colour(k), f"x_{i}", z=2))
            if target is not None:
                c = BLACK if self.comparing else colour(k)
                line = pg.InfiniteLine(pos=float(target[i]), angle=0, movable=False, pen=dashed(c, 1))
                self.plot.addItem(line, ignoreBounds=True)
                self.lines.append(line)
        self._ref_legend()

    def _ref_legend(self) -> None:
        if self.legend_item is None:
            return
        marks = set(map(id, self.ref_marks.values()))
        self.legend_item.entries = [e for e in self.legend_item.entries if id(e[0]) not in marks]
        if self.theory:
            refs = self.info.get("refs", {})
            self.legend_item.entries += [(self.ref_marks[k], text) for k, _, text in VECTOR_REFS if k in refs]
        if not self.comparing:
            self.legend_item._render()

    def on_comparing(self, on):
        for k, line in enumerate(self.lines):
            line.setPen(dashed(BLACK if on else colour(k), 1))
        self.on_theory(self.theory)

    def on_theory(self, on):
        for m in self.ref_marks.values():
            m.setVisible(on)
            if not on:
                m.setData([], [])
        self._cmp_legend = None
        self._ref_legend()

    def draw(self, frame):
        y = frame.col("state")
        if y is None or y.ndim != 2:
            return []
        x = frame.x
        mask = np.ones(y.shape[1], bool)
        shown = self.support[: len(self.lead)]
        mask[shown[shown < y.shape[1]]] = False
        mask[self.support[self.support < y.shape[1]]] = False
        for c, i in zip(self.lead, shown):
            c.setData(x, y[:, i])
        self.rest.setData(*nan_joined(x, y[:, mask]))
        lines = np.array([line.value() for line in self.lines])
        return [y, lines]

    def _refs_at(self, refs: dict[str, Any], shown: np.ndarray, x_end: float, keys=None) -> list[np.ndarray]:
        out = []
        for key, _sym, _text in VECTOR_REFS:
            m = self.ref_marks[key]
            r = refs.get(key)
            if r is None or (keys is not None and key not in keys):
                m.setData([], [])
                continue
            v = np.asarray(r, float).ravel()[shown[shown < np.size(r)]]
            m.setData(np.full(len(v), x_end), v, brush=None if key == "min_l1" else [pg.mkBrush(
                BLACK if self.comparing else colour(k)) for k in range(len(v))])
            out.append(v)
        return out

    def draw_theory(self, frame):
        shown = self.support[: len(self.lead)]
        if not len(shown) or frame.n == 0:
            return []
        x_end = float(np.nanmax(frame.x))
        return self._refs_at(self.info.get("refs", {}), shown, x_end)

    def compare_series(self, nruns):
        k = self.COMPARE_COORDS if nruns <= 3 else 3
        return [("state", self.support[:k], Qt.PenStyle.SolidLine, "", 2)]

    def draw_compare_extra(self, runs):
        ys = [np.array([line.value() for line in self.lines])] if self.lines else []
        # the selected run's other coordinates, grey (a hidden selected run: none)
        selected = getattr(self.window, "selected_id", None)
        frame = next((f for r, f in runs if r.id == selected), None)
        y = None if frame is None else frame.col("state")
        if y is not None and y.ndim == 2:
            mask = np.ones(y.shape[1], bool)
            mask[self.support[self.support < y.shape[1]]] = False
            self.rest.setData(*nan_joined(frame.x, y[:, mask]))
        else:
            self.rest.setData([], [])
        for key in [k for k in self._cmp if k[1] == "q_alpha"]:
            if not self.theory:
                self.plot.removeItem(self._cmp.pop(key))
        if self.theory:
            shown = self.support[: self.COMPARE_COORDS if len(runs) <= 3 else 3]
            x_end = max((float(np.nanmax(f.x)) for _, f in runs if f.n), default=0.0)
            # x_l1 and x_l2 do not depend on the run; Q_alpha does (alpha): one set of triangles per run
            ys += self._refs_at(self.info.get("refs", {}), shown, x_end, keys=("min_l1", "min_l2"))
            for run, _f in runs:
                r = run.refs.get("q_alpha")
                m = self._cmp.get((run.id, "q_alpha"))
                if m is None:
                    m = self._cmp[(run.id, "q_alpha")] = _marks("t", run.colour, filled=True)
                    self.plot.addItem(m)
                if r is None:
                    m.setData([], [])
                    continue
                v = np.asarray(r, float).ravel()[shown[shown < np.size(r)]]
                m.setData(np.full(len(v), x_end), v)
                ys.append(v)
        return [], ys

    def extra_legend_keys(self):
        keys = [(Qt.PenStyle.SolidLine, "support coordinates")]
        if self.lines:
            keys.append((Qt.PenStyle.DashLine, "x*"))
        if self.theory:
            keys += [(self.ref_marks["q_alpha"], "Q_α minimiser (run colour)"), (self.ref_marks["min_l1"], "x_ℓ1"),
                     (self.ref_marks["min_l2"], "x_ℓ2")]
        return keys


class StemsPanel(PlotPanel):
    name = "stems"
    title = "x now vs x* and x_ℓ1"
    tooltip = "Stems: the current x_i; circles: the ground truth x*; crosses: the min-ℓ1 (basis pursuit) solution"
    y_label = "value"
    x_label = "coordinate i"

    def __init__(self, window):
        super().__init__(window)
        self.stems = self.add_curve(colour(0), None, width=2)
        self.stems.setData(connect="pairs")
        self.heads = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(colour(0)))
        self.truth = pg.ScatterPlotItem(size=11, pen=pg.mkPen(colour(1), width=2), brush=None, symbol="o")
        self.l1 = pg.ScatterPlotItem(size=10, pen=pg.mkPen(colour(2), width=2), brush=None, symbol="x")
        self.l2 = _marks("s", colour(4), size=8)
        self.q = _marks("t", colour(3), size=9)
        for item in (self.heads, self.truth, self.l1, self.l2, self.q):
            self.plot.addItem(item)
        self.l2.hide()
        self.q.hide()
        if self.legend_item is not None:
            self.legend_item.addItem(self.heads, "current x")
            self.legend_item.addItem(self.truth, "x*")
            self.legend_item.addItem(self.l1, "x_ℓ1")
        self.add_theory_toggle("Q_α, x_ℓ2", "Also the Q_α minimiser ▲ (Woodworth et al. 2020: where gradient flow\n"
                                            "from scale α ends) and the least-norm solution x_ℓ2 □")
        self.xkeep = RangeKeeper(log=False)
        self.ykeep = RangeKeeper(log=False, include_zero=True)
        self.last = None
        self._xn = None

    def _x_range(self, n: int) -> None:
        """Coordinates 0..n-1 edge to edge (a 1-2-5 range would leave a third of the plot empty)."""
        if n != self._xn and not self.manual:
            self._xn = n
            self.vb.setXRange(-1.0, float(n), padding=0.01)

    def fit_view(self) -> None:
        super().fit_view()
        self._xn = None

    def set_info(self, info):
        super().set_info(info)
        self.xkeep.reset()
        self.ykeep.reset()
        self._xn = None
        t = info.get("target")
        n = int(info.get("shape", (0,))[0])
        idx = np.arange(n, dtype=float)
        self.idx = idx
        self.truth.setData(idx, t) if t is not None else self.truth.setData([], [])
        refs = info.get("refs", {})
        for item, key in ((self.l1, "min_l1"), (self.l2, "min_l2"), (self.q, "q_alpha")):
            r = refs.get(key)
            item.setData(idx, r) if r is not None else item.setData([], [])
        self.last = None
        self.on_theory(self.theory)

    def on_theory(self, on):
        self.l2.setVisible(on)
        self.q.setVisible(on and not self.comparing)
        if self.legend_item is not None:
            self.legend_item.entries = [e for e in self.legend_item.entries if e[0] not in (self.l2, self.q)]
            if on:
                self.legend_item.entries += [(self.q, "Q_α minimiser"), (self.l2, "x_ℓ2")]
            if not self.comparing:
                self.legend_item._render()
        self._cmp_legend = None

    def on_comparing(self, on):
        self.heads.setVisible(not on)
        self.truth.setPen(pg.mkPen(BLACK if on else colour(1), width=2))
        self.l1.setPen(pg.mkPen(GREY if on else colour(2), width=2))
        self.on_theory(self.theory)

    def reset(self):
        self.ykeep.reset()

    def update(self, frame, snap):
        runs = comparing(self.window)
        self.set_comparing(runs is not None)
        t = self.info.get("target")
        refs = self.info.get("refs", {})
        r = refs.get("min_l1")
        extra = [refs.get("min_l2"), refs.get("q_alpha")] if self.theory else []
        if runs is not None:
            self._update_compare(runs, t, [r] + extra)
            return
        x = None if snap is None else snap.get("product")
        if x is not None and np.ndim(x) == 1:
            self.last = np.asarray(x, float)
        if self.last is None:
            return
        idx = np.arange(len(self.last), dtype=float)
        sx = np.repeat(idx, 2)
        sy = np.zeros(2 * len(idx))
        sy[1::2] = self.last
        self.stems.setData(sx, sy, connect="pairs")
        self.heads.setData(idx, self.last)
        self._x_range(len(idx))
        self.apply_ranges(None, finite_bounds(self.last, t, r, *extra))

    def _update_compare(self, runs, t, refs) -> None:
        """Each run's current x as stems in its colour, side by side around every coordinate."""
        ys = []
        n = 0
        width = 0.7 / max(len(runs), 1)
        for j, (run, _f) in enumerate(runs):
            x = getattr(run, "product", None)
            stems = self.run_curve(run, "stems", Qt.PenStyle.SolidLine, 2)
            q = self._cmp.get((run.id, "q_alpha"))
            if q is None:
                q = self._cmp[(run.id, "q_alpha")] = _marks("t", run.colour, size=8, filled=True)
                self.plot.addItem(q)
            if x is None or np.ndim(x) != 1:
                stems.setData([], [])
                q.setData([], [])
                continue
            x = np.asarray(x, float)
            n = max(n, len(x))
            idx = np.arange(len(x), dtype=float) + (j - (len(runs) - 1) / 2) * width
            sy = np.zeros(2 * len(idx))
            sy[1::2] = x
            stems.setData(np.repeat(idx, 2), sy, connect="pairs")
            ys.append(x)
            ra = run.refs.get("q_alpha")
            if self.theory and ra is not None:
                q.setData(idx, np.asarray(ra, float).ravel())
                ys.append(np.asarray(ra, float).ravel())
            else:
                q.setData([], [])
        self.drop_run_curves({r.id for r, _ in runs})
        keys = [(self.truth, "x*"), (self.l1, "x_ℓ1")]
        if self.theory:
            keys += [(self.q, "Q_α minimiser (run colour)"), (self.l2, "x_ℓ2")]
        self.compare_legend(runs, keys)
        if n:
            self._x_range(n)
            self.apply_ranges(None, finite_bounds(*ys, t, *refs))


class HeatmapPanel(Panel):
    name = "heatmap"
    title = "W beside ground truth W*"
    tooltip = ("Entries of the current end-to-end product W (left) and of the ground truth W* (right; for\n"
               "Razin–Cohen the observed entries), one shared symmetric colour scale")

    def __init__(self, window):
        super().__init__(window)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setToolTip(self.tooltip)
        self.widget = self.glw
        self.cmap = pg.colormap.get("CET-D1")
        # one view holds both images side by side: the same scale for both, whatever the panel's shape
        self.vb = self.glw.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMouse=False)
        self.img_w = pg.ImageItem()
        self.img_t = pg.ImageItem()
        self.vb.addItem(self.img_w)
        self.vb.addItem(self.img_t)
        f = QFont()
        f.setPointSize(FONT_PT + 1)
        self.title_w = pg.TextItem("current W", color=BLACK, anchor=(0.5, 1.0))
        self.title_t = pg.TextItem("ground truth W*", color=BLACK, anchor=(0.5, 1.0))
        for t in (self.title_w, self.title_t):
            t.setFont(f)
            self.vb.addItem(t, ignoreBounds=True)
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=self.cmap, interactive=False, width=14)
        self.bar.setImageItem([self.img_w, self.img_t])
        self.glw.addItem(self.bar, row=0, col=1)
        _style_axis(self.bar.axis)
        self.level = 1.0
        self.has_target = False
        self.shape = (1, 1)

    def _place(self, shape) -> None:
        r, c = int(shape[0]), int(shape[1])
        self.shape = (r, c)
        gap = max(1.0, 0.15 * c)
        self.img_w.setRect(0, 0, c, r)
        self.img_t.setRect(c + gap, 0, c, r)
        top = -0.04 * r
        self.title_w.setPos(c / 2, top)
        self.title_t.setPos(c + gap + c / 2, top)
        self.vb.setRange(xRange=(0, 2 * c + gap), yRange=(-0.18 * r, r), padding=0.02)

    def set_info(self, info):
        super().set_info(info)
        shape = tuple(info.get("shape", (1, 1)))
        if len(shape) != 2:
            shape = (1, max(shape) if shape else 1)
        t = info.get("target")
        self.has_target = t is not None and np.ndim(t) == 2
        self.img_w.clear()
        if self.has_target:
            t = np.asarray(t, float)
            self.level = float(np.nanmax(np.abs(t))) or 1.0
            self.img_t.setImage(t, autoLevels=False, levels=(-self.level, self.level))
            self.title_t.setText("ground truth W*")
        elif info.get("observed") is not None and len(info["observed"]) == 3:
            # no ground truth (Razin-Cohen): the observed entries, the others blank
            rows, cols, vals = (np.asarray(a) for a in info["observed"])
            m = np.full(shape, np.nan)
            m[rows, cols] = vals
            self.level = 1.0
            self.img_t.setImage(m, autoLevels=False, levels=(-self.level, self.level))
            self.title_t.setText("observed entries")
        else:
            self.level = 1.0
            self.img_t.clear()
            self.title_t.setText("(no ground truth)")
        self._place(shape)
        self.bar.setLevels(low=-self.level, high=self.level)

    def update(self, frame, snap):
        run = getattr(self.window, "selected_run", lambda: None)() if comparing(self.window) is not None else None
        title = f"W of {run.name}" if run is not None else "current W"
        if self.title_w.textItem.toPlainText() != title:
            self.title_w.setText(title)
        p = None if snap is None else snap.get("product")
        if p is None or np.ndim(p) != 2:
            return
        if not self.has_target:
            m = float(np.abs(p).max())
            if m > self.level:  # grow the symmetric scale in 1-2-5 steps
                self.level = nice_ceil(m)
                self.bar.setLevels(low=-self.level, high=self.level)
                if self.img_t.image is not None:
                    self.img_t.setLevels((-self.level, self.level))
        first = self.img_w.image is None
        self.img_w.setImage(p, autoLevels=False, levels=(-self.level, self.level))
        if first or tuple(p.shape) != self.shape:
            self._place(p.shape)  # an ImageItem's rect needs its image: place it once that is set


class ClassifierDataPanel(PlotPanel):
    name = "data"
    title = "Data and separators"
    tooltip = ("The training points (colour = label), the current separator wᵀx = 0 (solid) and the\n"
               "hard-margin SVM separator ŵᵀx = 0 (dashed) that GD approaches in direction")
    y_label = "x₂"
    x_label = "x₁"

    def __init__(self, window):
        super().__init__(window)
        self.pos = pg.ScatterPlotItem(size=10, pen=pg.mkPen(BLACK), brush=pg.mkBrush(colour(0)), symbol="o")
        self.neg = pg.ScatterPlotItem(size=10, pen=pg.mkPen(BLACK), brush=pg.mkBrush(colour(1)), symbol="s")
        self.plot.addItem(self.pos)
        self.plot.addItem(self.neg)
        self.current = self.add_curve(colour(2), "current wᵀx = 0", width=3)
        self.mm = self.add_curve(BLACK, "max margin ŵᵀx = 0", style=Qt.PenStyle.DashLine)
        self._keep.add(id(self.mm))
        self.vb.setAspectLocked(True)
        self.radius = 5.0
        self.last = None

    def set_info(self, info):
        super().set_info(info)
        X, y = info.get("X"), info.get("labels")
        self.last = None
        if X is None or X.shape[1] != 2:
            self.pos.setData([], [])
            self.neg.setData([], [])
            self.mm.setData([], [])
            self.current.setData([], [])
            self.show_empty("the data plot needs problem.d = 2")
            self.ok = False
            return
        self.ok = True
        self.show_empty("")
        self.pos.setData(X[y > 0, 0], X[y > 0, 1])
        self.neg.setData(X[y < 0, 0], X[y < 0, 1])
        self.radius = float(np.abs(X).max()) * 1.15
        r = self.radius
        self.vb.setRange(xRange=(-r, r), yRange=(-r, r), padding=0)
        mm = info.get("refs", {}).get("max_margin")
        if mm is not None:
            self.mm.setData(*self._line(np.asarray(mm, float).ravel()))

    def _line(self, w):
        nw = np.linalg.norm(w)
        if not nw > 0 or not np.all(np.isfinite(w)):
            return np.zeros(0), np.zeros(0)
        u = np.array([-w[1], w[0]]) / nw * self.radius * 1.5
        return np.array([-u[0], u[0]]), np.array([-u[1], u[1]])

    def update(self, frame, snap):
        if not getattr(self, "ok", False):
            return
        runs = comparing(self.window)
        self.set_comparing(runs is not None)
        if runs is not None:
            for run, _f in runs:
                c = self.run_curve(run, "separator", Qt.PenStyle.SolidLine, 3)
                p = getattr(run, "product", None)
                c.setData(*self._line(np.asarray(p, float).ravel())) if p is not None else c.setData([], [])
            self.drop_run_curves({r.id for r, _ in runs})
            self.compare_legend(runs, [(Qt.PenStyle.DashLine, "max margin ŵᵀx = 0")])
            return
        p = None if snap is None else snap.get("product")
        if p is not None:
            self.current.setData(*self._line(np.asarray(p, float).ravel()))


class WNormPanel(PlotPanel):
    name = "w_norm"
    title = "‖w‖ against ln t"
    tooltip = ("‖w(t)‖ against ln t: on separable data it grows like ‖ŵ‖·ln t (Soudry et al. 2018);\n"
               "dashed: a line of slope ‖ŵ‖ (the max-margin solution's norm) through the latest point")
    y_label = "‖w‖"
    x_label = "ln t"

    def __init__(self, window):
        super().__init__(window)
        self.curve = self.add_curve(colour(0), "‖w(t)‖")
        self.ref = self.add_curve(BLACK, "slope ‖ŵ‖", width=1.5, style=Qt.PenStyle.DashLine)
        self.xkeep = RangeKeeper(log=False, include_zero=True)
        self.ykeep = RangeKeeper(log=False, include_zero=True)
        self.slope = None

    def set_info(self, info):
        super().set_info(info)
        mm = info.get("refs", {}).get("max_margin")
        self.slope = None if mm is None else float(np.linalg.norm(mm))
        if self.legend_item is not None and self.slope is not None:
            self.legend_item.removeItem(self.ref)
            self.legend_item.addItem(self.ref, f"slope ‖ŵ‖ = {self.slope:.3g}")

    def reset(self):
        self.xkeep.reset()
        self.ykeep.reset()

    @staticmethod
    def _series(mirror):
        if mirror is None or mirror.size == 0 or "w_norm" not in mirror:
            return None
        step = mirror["step"]
        w = mirror["w_norm"]
        ok = step >= 1
        if not ok.any():
            return None
        lt = np.log(step[ok])
        wn = w[ok]
        if len(lt) > 3000:  # thin evenly: the curve is smooth
            sel = np.linspace(0, len(lt) - 1, 2000).astype(int)
            lt, wn = lt[sel], wn[sel]
        return lt, wn

    def update(self, frame, snap):
        runs = comparing(self.window)
        self.set_comparing(runs is not None)
        if runs is not None:
            xs, ys = [], []
            for run, f in runs:
                got = self._series(f.mirror)
                c = self.run_curve(run, "w_norm")
                c.setData(*got) if got is not None else c.setData([], [])
                if got is not None:
                    xs.append(got[0])
                    ys.append(got[1])
            self.drop_run_curves({r.id for r, _ in runs})
            self.compare_legend(runs)
            if xs:
                self.apply_ranges(finite_bounds(*xs), finite_bounds(*ys))
            return
        got = self._series(frame.mirror if frame.n else None)
        if got is None:
            return
        lt, wn = got
        self.curve.setData(lt, wn)
        ys = [wn]
        if self.slope is not None and np.isfinite(wn[-1]):
            x0, x1 = 0.0, float(lt[-1])
            yl = wn[-1] + self.slope * (np.array([x0, x1]) - x1)
            self.ref.setData(np.array([x0, x1]), yl)
            ys.append(yl)
        self.apply_ranges(finite_bounds(lt), finite_bounds(*ys))


class AnglePanel(SimpleTimePanel):
    name = "angle"
    title = "Angle to max margin"
    tooltip = "Angle ∠(w, ŵ) in degrees between the current w and the max-margin direction (log scale)"
    y_log = True
    y_label = "angle (degrees)"
    legend = False
    series = (("angle_deg", "∠(w, ŵ)", 0, Qt.PenStyle.SolidLine),)


class MarginPanel(SimpleTimePanel):
    name = "margin"
    title = "Normalized margin"
    tooltip = "min_i y_i wᵀx_i / ‖w‖: tends to the hard-margin SVM's margin (dashed)"
    y_label = "margin"
    legend = False
    series = (("margin", "margin", 0, Qt.PenStyle.SolidLine),)

    def __init__(self, window):
        super().__init__(window)
        self.mm_line = self.add_hline(0.0, BLACK)
        self.mm_line.hide()

    def set_info(self, info):
        super().set_info(info)
        mm, X, y = info.get("refs", {}).get("max_margin"), info.get("X"), info.get("labels")
        if mm is None or X is None:
            self.mm_line.hide()
            return
        w = np.asarray(mm, float).ravel()
        self.mm_line.setPos(float(np.min(y * (X @ w)) / np.linalg.norm(w)))
        self.mm_line.show()

    def draw(self, frame):
        ys = super().draw(frame)
        if ys and self.mm_line.isVisible():
            ys.append(np.array([self.mm_line.value()]))
        return ys


class TLossPanel(SimpleTimePanel):
    name = "t_loss"
    title = "t · loss"
    tooltip = "t·L(w(t)): the loss decays like c/t on separable data, so t·L levels off"
    y_zero = True
    y_label = "t · L"
    legend = False
    series = (("t_loss", "t·L", 0, Qt.PenStyle.SolidLine),)


class GradNormPanel(SimpleTimePanel):
    name = "grad_norm"
    title = "Gradient norm"
    tooltip = "‖∇L‖ over all parameters (log scale): small on the plateaus between saddles"
    y_log = True
    y_label = "‖∇L‖"
    legend = False
    series = (("grad_norm", "‖∇L‖", 0, Qt.PenStyle.SolidLine),)


class LayerSpectrumPanel(TimePanel):
    name = "layer_sv"
    title = "Singular values of a layer"
    tooltip = ("Every singular value of the chosen layer's weight matrix W_j over time (log scale):\n"
               "from small initialization a few leave the random bulk (low-rank features)")
    y_log = True
    y_label = "σ_i(W_j)"

    def __init__(self, window):
        super().__init__(window)
        self.layer = 0
        self.header.addWidget(QLabel("layer:"))
        self.combo = QComboBox()
        self.combo.setObjectName("layer")
        self.combo.currentIndexChanged.connect(self._on_layer)
        self.header.addWidget(self.combo, 1)
        self.lead = [self.add_curve(colour(i), f"σ{i + 1}", z=2) for i in range(COLOURED_SV)]
        self.rest = self.add_curve(GREY, f"σ{COLOURED_SV + 1}+", width=1, z=1)

    def set_info(self, info):
        super().set_info(info)
        depth = int(info.get("cfg", {}).get("model", {}).get("depth", 1))
        with _blocked(self.combo):
            self.combo.clear()
            for j in range(depth):
                self.combo.addItem(f"W_{j + 1}" + (" (input)" if j == 0 else " (output)" if j == depth - 1 else ""), j)
            self.layer = min(self.layer, depth - 1)
            self.combo.setCurrentIndex(self.layer)

    def _on_layer(self, _i: int) -> None:
        if self.combo.currentData() is not None:
            self.layer = int(self.combo.currentData())
            self.ykeep.reset()
            self.window.redraw()

    def compare_series(self, nruns):
        return [(f"sv_layer{self.layer}", 3, Qt.PenStyle.SolidLine, f"σ1…σ3 of W_{self.layer + 1}", 2)]

    def draw(self, frame):
        y = frame.col(f"sv_layer{self.layer}", log=True)
        if y is None:
            return []
        x = frame.x
        k = y.shape[1] if y.ndim == 2 else 1
        y = y.reshape(len(x), k)
        for i, c in enumerate(self.lead):
            c.setData(x, y[:, i]) if i < k else c.setData([], [])
        self.rest.setData(*nan_joined(x, y[:, COLOURED_SV:])) if k > COLOURED_SV else self.rest.setData([], [])
        return [y]


class PerLayerPanel(TimePanel):
    """Vector columns with one entry per layer: solid and dashed series, one colour per layer."""

    #: (column, label with {j}, style)
    series: tuple[tuple[str, str, Any], ...] = ()

    def __init__(self, window):
        super().__init__(window)
        self.curves: dict[tuple[str, int], pg.PlotCurveItem] = {}

    def set_info(self, info):
        super().set_info(info)
        for c in self.curves.values():
            self.plot.removeItem(c)
            if self.legend_item is not None:
                self.legend_item.removeItem(c)
        self.curves = {}
        depth = int(info.get("cfg", {}).get("model", {}).get("depth", 1))
        for col, label, style in self.series:
            for j in range(depth):
                self.curves[(col, j)] = self.add_curve(colour(j), label.format(j=j + 1), style=style)

    def compare_series(self, nruns):
        return [(col, None, STYLES[i % len(STYLES)], label.replace("_{j}", "_j"), 2 if i == 0 else 1)
                for i, (col, label, _style) in enumerate(self.series)]

    def draw(self, frame):
        x = frame.x
        out = []
        for col, _label, _style in self.series:
            y = frame.col(col, log=self.y_log)
            if y is None:
                continue
            y = y.reshape(len(x), -1)
            for j in range(y.shape[1]):
                c = self.curves.get((col, j))
                if c is not None:
                    c.setData(x, y[:, j])
            out.append(y)
        return out


class LayerRankPanel(PerLayerPanel):
    name = "layer_rank"
    title = "Rank of each layer"
    tooltip = "Stable rank ‖W_j‖_F²/‖W_j‖_op² (solid) and entropy effective rank (dashed) of every layer"
    y_zero = True
    y_label = "rank"
    series = (("layer_stable_rank", "stable rank W_{j}", Qt.PenStyle.SolidLine),
              ("layer_erank", "eff. rank W_{j}", Qt.PenStyle.DashLine))


class LayerNormsPanel(PerLayerPanel):
    name = "layer_norms"
    title = "Layer norms"
    tooltip = "Frobenius norm ‖W_j‖_F (solid) and spectral norm ‖W_j‖_op (dashed) of every layer, log scale"
    y_log = True
    y_label = "norm"
    series = (("layer_norms", "‖W_{j}‖_F", Qt.PenStyle.SolidLine),
              ("layer_spectral", "‖W_{j}‖_op", Qt.PenStyle.DashLine))


class RelChangePanel(PerLayerPanel):
    name = "layer_rel_change"
    title = "How far each layer moved"
    tooltip = ("‖W_j − W_j(0)‖_F / ‖W_j(0)‖_F: small in the lazy (kernel) regime, order one in the rich regime;\n"
               "log scale")
    y_log = True
    y_label = "relative change"
    series = (("layer_rel_change", "W_{j}", Qt.PenStyle.SolidLine),)


class AccuracyPanel(SimpleTimePanel):
    name = "accuracy"
    title = "Accuracy"
    tooltip = "Fraction of correctly classified training and test samples"
    y_label = "accuracy"
    y_zero = True
    series = (("train_acc", "training", 0, Qt.PenStyle.SolidLine), ("test_acc", "test", 1, Qt.PenStyle.SolidLine))

    def apply_ranges(self, xb, yb):
        super().apply_ranges(xb, (0.0, 1.0) if yb is not None else None)


class _blocked:
    def __init__(self, w):
        self.w = w

    def __enter__(self):
        self.old = self.w.blockSignals(True)

    def __exit__(self, *exc):
        self.w.blockSignals(self.old)


PANEL_CLASSES = {cls.name: cls for cls in (
    LossPanel, SingularValuesPanel, EffectiveRankPanel, NormsPanel, BalancednessPanel, ErrorsPanel,
    CoordinatesPanel, StemsPanel, HeatmapPanel, ClassifierDataPanel, WNormPanel, AnglePanel, MarginPanel,
    TLossPanel, GradNormPanel, LayerSpectrumPanel, LayerRankPanel, LayerNormsPanel, RelChangePanel, AccuracyPanel,
)}


def panel_layout(family: str, depth: int, parametrization: str, kind: str = ""
                 ) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """The default arrangement of a family's panels.

    Returns (columns, tabs): columns of panel names (top to bottom) and (panel, tabbed-behind-panel) pairs.
    """
    balance = depth > 1 and parametrization in ("product", "hadamard")
    if family == "mlp":
        third = ["layer_norms", "accuracy"] if kind == "digits" else ["layer_norms"]
        return [["loss", "layer_rel_change"], ["layer_sv", "layer_rank"], third], [("grad_norm", "loss")]
    if family == "factorization":
        cols = [["loss", "effective_rank"], ["singular_values", "norms"], ["heatmap", "errors"]]
        tabs = [("grad_norm", "loss")]
        if balance:
            tabs.append(("balancedness", "norms"))
        return cols, tabs
    if family == "linear_network":
        cols = [["loss", "effective_rank"], ["singular_values", "balancedness" if balance else "norms"],
                ["heatmap", "errors"]]
        tabs = [("grad_norm", "loss")]
        tabs.append(("norms", "balancedness") if balance else ("norms", "norms"))
        return cols, [t for t in tabs if t[0] != t[1]]
    if family == "diagonal":
        cols = [["loss", "errors"], ["coordinates", "norms"], ["stems"]]
        tabs = [("grad_norm", "loss")]
        if balance:
            tabs.append(("balancedness", "norms"))
        return cols, tabs
    # classifier
    cols = [["loss", "t_loss"], ["data", "margin"], ["w_norm", "angle"]]
    tabs = [("grad_norm", "loss"), ("errors", "angle")]
    return cols, tabs
