"""The panels' looks: palette, pens, axes with readable ticks, thick curves drawn cheaply, HTML legends.

Speed recipe (software rendering, see ``docs/architecture.md``): PlotCurveItem fed with already-decimated
series, many curves of one kind merged into one NaN-separated curve, ``skipFiniteCheck``, no grid, no OpenGL,
SI prefixes off; a line 2-3 pixels wide is drawn as shifted 1-pixel paths (:class:`ThickCurve`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF, QTransform
from PySide6.QtWidgets import QLabel

from ibviewer.live.series import symbols

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
    """Log ticks as 10ⁿ (only whole decades labelled); linear ticks compact (20k, 1.5M).

    A bottom axis lets its first label stand out to the left by one digit's width: pyqtgraph drops every label
    that does not fit inside the axis, and the label at step 0 sits at the axis' very start (with a narrow
    panel or larger text it was dropped, and no time axis said where it starts).
    """

    def boundingRect(self):
        r = super().boundingRect()
        if self.orientation != "bottom":
            return r
        font = self.style.get("tickFont") or QFont()
        return r.adjusted(-QFontMetricsF(font).horizontalAdvance("0"), 0, 0, 0)

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


def style_axis(axis: pg.AxisItem) -> None:
    axis.enableAutoSIPrefix(False)
    f = QFont()
    f.setPointSize(FONT_PT)
    axis.setStyle(tickFont=f, tickTextOffset=4)
    axis.setTextPen(pg.mkPen(BLACK))
    axis.setPen(pg.mkPen(BLACK))

class LegendSample:
    """A legend entry's look without a graphics item (a free QObject could be deleted from another thread)."""

    def __init__(self, pen_):
        self.opts = {"pen": pen_}


#: in a legend entry's rich text: a tag (kept as it is), or a character after which Qt would break the line
_JOINABLE = re.compile(r"(<[^>]*>)|([–/])")


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

    def swap(self, old: list[tuple[Any, str]], new: list[tuple[Any, str]], render: bool = True) -> None:
        """Entries ``old`` (an overlay's, as added before) replaced by ``new`` at the end; drawn again unless
        ``render`` is False (a comparison draws its own legend)."""
        gone = {id(item) for item, _ in old}
        self.entries = [e for e in self.entries if id(e[0]) not in gone] + list(new)
        if render:
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
            # wrap between entries, not inside one (Qt breaks lines at a hyphen, an en dash or a slash even inside
            # <nobr>: "σ1–" at a line's end, "σ3" on the next); word joiners hold the dash and the slash in place
            label = symbols(name).replace(" ", "&nbsp;").replace("-", "\u2011")
            label = _JOINABLE.sub(lambda m: m.group(1) or f"\u2060{m.group(2)}\u2060", label)
            parts.append(f'<nobr><span style="color:{c}; font-weight:bold">{glyph}</span>&nbsp;{label}</nobr>')
        self.label.setText(f'<span style="font-size:{self.pt:g}pt">' + " &nbsp; ".join(parts) + "</span>")
        self.label.setVisible(bool(parts))



def marks(symbol: str, c, size: int = 10, filled: bool = False) -> pg.ScatterPlotItem:
    """Scatter marks (reference solutions...) drawn above the curves."""
    m = pg.ScatterPlotItem(size=size, symbol=symbol, pen=pg.mkPen(c, width=2),
                           brush=pg.mkBrush(c) if filled else None)
    m.setZValue(6)
    return m


class blocked:
    """``with blocked(widget):`` -- its signals are blocked inside (restored after)."""

    def __init__(self, w):
        self.w = w

    def __enter__(self):
        self.old = self.w.blockSignals(True)

    def __exit__(self, *exc):
        self.w.blockSignals(self.old)
