"""Projector-ready looks for exported frames and stills: light and dark themes, font and line scales, symbols.

A :class:`Theme` restyles a *fresh* panel (one built for an export, never the window's own) with
:func:`apply_theme`: background, axis and text colours, fonts in pixels (times a scale), and thicker curves.
Thick curves stay cheap: as in :class:`~ibviewer.gui.panels.ThickCurve`, a line ``t`` pixels wide is drawn as a
few 1-pixel paths shifted by one device pixel (Qt's raster engine strokes wide pens several times slower), so
lines stay as thick at 4K as at 1080p when the scale grows with the size.

:func:`symbols` turns the panels' ASCII subscripts into rich text (``σ_i`` → σ<sub>i</sub>, ``‖W‖_*`` →
‖W‖<sub>*</sub>); :func:`caption_text` writes a run's setting the way a slide would ("depth 3, α = 10⁻³, GD,
η = 0.01").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QWidget

from ibviewer.gui.panels import BLACK, GREY, PALETTE, HeatmapPanel, PlotPanel, ThickCurve
from ibviewer.gui.panels.style import FONT_PT
from ibviewer.live.series import plain_symbols, symbols  # noqa: F401 - part of this module's interface

THEMES = ("light", "dark")

#: brighter variants of the panels' palette, readable on a dark background
DARK_PALETTE = [
    (86, 170, 240), (250, 95, 90), (96, 210, 96), (255, 170, 60), (190, 150, 240),
    (200, 140, 120), (250, 150, 220), (70, 220, 235), (220, 220, 80), (200, 200, 200),
]


@dataclass(frozen=True)
class Theme:
    name: str
    background: tuple[int, ...]  # (r, g, b), or (r, g, b, 0) for a transparent background
    foreground: tuple[int, int, int]
    muted: tuple[int, int, int]  # secondary text (axis ticks, empty-panel notes)
    grey: tuple[int, int, int]  # the "other singular values" curves
    caption_bg: tuple[int, int, int]
    accent: tuple[int, int, int]  # the step counter
    palette: dict[tuple[int, int, int], tuple[int, int, int]] = field(default_factory=dict)
    #: multiplies every font size (1 = sized for a 1920x1080 frame seen on a projector)
    font_scale: float = 1.0
    #: multiplies every line width; the light theme's pens are thick
    line_scale: float = 1.5
    #: pixel sizes at scale 1
    tick_px: float = 19
    label_px: float = 21
    title_px: float = 24
    legend_px: float = 19
    caption_px: float = 26
    counter_px: float = 34
    #: the narrowest coloured line, in pixels (0: no floor).  Videos with 4:2:0 chroma (MP4, WebM) store colour
    #: at half resolution: a 1-pixel dotted line keeps 19 % of its saturation and turns grey, a 3-pixel one
    #: 75 % (docs/benchmarks.md), so their exports draw coloured dotted, dashed and straight reference lines
    #: at least 3 pixels wide (solid curves are 3 pixels at 1080p already)
    min_colour_px: int = 0

    @property
    def is_transparent(self) -> bool:
        return len(self.background) == 4 and self.background[3] == 0

    def transparent(self) -> Theme:
        """The same look on a transparent background (alpha 0), for a clip laid over a slide: text and curves
        keep their colours, so the light theme's suits a light slide and the dark theme's a dark one."""
        return replace(self, background=(*self.background[:3], 0))

    def scaled(self, scale: float) -> Theme:
        """The same look with fonts and lines times ``scale`` (an export at 2x the size: scale 2)."""
        return replace(self, font_scale=self.font_scale * scale, line_scale=self.line_scale * scale)

    def px(self, size: float) -> int:
        return max(6, round(size * self.font_scale))

    def width(self, w: float) -> int:
        # floor: a 1-pixel context line (the singular-value bulk) stays thin at 1.5x, the 2-pixel curves get 3
        return max(1, int(w * self.line_scale + 1e-6))

    def colour_width(self, w: int, rgb) -> int:
        """A line width ``w`` raised to :attr:`min_colour_px` when the line is coloured (not grey or black)."""
        r, g, b = rgb[:3]
        return max(w, self.min_colour_px) if max(r, g, b) - min(r, g, b) > 40 else w

    def colour(self, c) -> tuple[int, int, int]:
        """A panel colour mapped into this theme (black becomes the foreground, palette entries their variant)."""
        rgb = _rgb(c)
        if rgb == BLACK or rgb == (0, 0, 0) or rgb == (20, 20, 20):
            return self.foreground
        if rgb == GREY:
            return self.grey
        return self.palette.get(rgb, rgb)

    @property
    def css_fg(self) -> str:
        return _css(self.foreground)

    @property
    def css_bg(self) -> str:
        return _css(self.background)


LIGHT = Theme("light", background=(255, 255, 255), foreground=(20, 20, 20), muted=(70, 70, 70), grey=(150, 150, 150),
              caption_bg=(240, 243, 247), accent=(26, 95, 180), line_scale=1.5)
DARK = Theme("dark", background=(22, 24, 28), foreground=(235, 235, 235), muted=(190, 190, 190), grey=(120, 120, 125),
             caption_bg=(34, 37, 43), accent=(120, 185, 255), line_scale=1.5,
             palette={tuple(a): tuple(b) for a, b in zip(PALETTE, DARK_PALETTE)})


def get_theme(name: str, font_scale: float = 1.0, line_scale: float | None = None) -> Theme:
    if name not in THEMES:
        raise ValueError(f"theme {name!r} is not allowed; choose one of: {', '.join(THEMES)}")
    t = LIGHT if name == "light" else DARK
    return replace(t, font_scale=font_scale, line_scale=t.line_scale if line_scale is None else line_scale)


def _rgb(c) -> tuple[int, int, int]:
    if isinstance(c, QColor):
        return (c.red(), c.green(), c.blue())
    if isinstance(c, (tuple, list)):
        return tuple(int(v) for v in c[:3])
    q = pg.mkColor(c)
    return (q.red(), q.green(), q.blue())


def _css(rgb) -> str:
    if len(rgb) == 4:
        return f"rgba({rgb[0]}, {rgb[1]}, {rgb[2]}, {rgb[3]})"
    r, g, b = rgb
    return f"#{r:02x}{g:02x}{b:02x}"


# ====================================================================================================== text
_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
def sci(v: float) -> str:
    """A number for a caption: 0.01, 10⁻³, 2·10⁻⁴, 1.5·10⁵."""
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    e = math.floor(math.log10(abs(v)))
    if -2 <= e <= 3:
        return f"{v:g}"
    m = v / 10**e
    if abs(m - round(m)) < 1e-9:
        m = round(m)
    ms = "" if m == 1 else ("−" if m == -1 else f"{m:g}·")
    return f"{ms}10{str(e).translate(_SUP)}"


OPTIMIZER_TEXT = {"gd": "GD", "sgd": "SGD", "momentum": "heavy ball", "nesterov": "Nesterov", "adam": "Adam",
                  "rmsprop": "RMSprop", "adagrad": "AdaGrad"}


def caption_text(cfg) -> str:
    """The setting of a run in one line: "depth 3, α = 10⁻³, GD, η = 0.01"."""
    return ", ".join(caption_parts(cfg))


def common_caption(cfgs) -> str:
    """What several runs share, in one line (the parts of :func:`caption_text` equal in all of them)."""
    parts = [caption_parts(c) for c in cfgs]
    if not parts:
        return ""
    return ", ".join(p for p in parts[0] if all(p in other for other in parts[1:]))


def caption_parts(cfg) -> list[str]:
    m, o = cfg.model, cfg.optimizer
    parts = []
    if cfg.family == "tensor":  # a CP factorization has components, not a depth
        parts.append(f"R = {m.components} components")
    elif cfg.family != "classifier" or m.depth > 1:
        parts.append(f"depth {m.depth}")
    if cfg.family == "mlp":
        w = m.width
        if isinstance(w, list):
            parts.append("width " + "-".join(str(v) for v in w))
        elif w:
            parts.append(f"width {w}")
        parts.append(m.activation)
    if cfg.family != "mlp" and cfg.family != "classifier":
        parts.append(f"α = {sci(m.init_std if m.init_std > 0 else m.init_scale)}")
    opt = OPTIMIZER_TEXT.get(o.name, o.name)
    if o.name == "sgd" or (o.batch_size and o.name != "gd"):
        opt += f" (batch {o.batch_size})" if o.batch_size else ""
    if o.name in ("momentum", "nesterov"):
        opt += f" β = {o.momentum:g}"
    parts.append(opt)
    parts.append(f"η = {sci(o.lr)}")
    if o.weight_decay:
        parts.append(f"λ = {sci(o.weight_decay)}")
    if o.label_noise:
        parts.append(f"label noise σ = {sci(o.label_noise)}")
    return parts


def caption_title(cfg, name: str | None = None) -> str:
    """The run's title: the preset's title, else its problem."""
    title = (cfg.meta or {}).get("title")
    if title:
        return str(title)
    kind = cfg.problem.kind.replace("_", " ")
    return f"{name}: {kind}" if name else kind


# ====================================================================================================== styling
def thick_offsets(t: int) -> tuple[tuple[int, int], ...]:
    """Device-pixel shifts that make a 1-pixel path ``t`` pixels thick (a plus shape: 2t - 1 paths)."""
    if t <= 1:
        return ((0, 0),)
    lo = -((t - 1) // 2)
    r = range(lo, lo + t)
    return tuple([(0, 0)] + [(d, 0) for d in r if d] + [(0, d) for d in r if d])


def thickness(curve: ThickCurve) -> int:
    """How many pixels thick a curve drawn with shifted 1-pixel paths is (2t - 1 paths: t pixels)."""
    return (len(curve._offsets) + 1) // 2


def set_curve_width(curve: pg.PlotCurveItem, colour, width: int, style=None) -> None:
    """Give ``curve`` a cosmetic ``width``-pixel pen drawn the cheap way (shifted 1-pixel paths)."""
    old = curve.opts.get("pen")
    old = pg.mkPen(old) if old is not None else pg.mkPen(colour)
    p = pg.mkPen(colour, width=1)
    p.setStyle(style if style is not None else old.style())
    p.setCosmetic(True)
    if width > 1 and p.style() == Qt.PenStyle.SolidLine:
        if not isinstance(curve, ThickCurve):
            curve.__class__ = _ThickExport  # same C++ object; only the Python paint changes
        curve._offsets = thick_offsets(width)
    else:
        # dashes shifted against themselves blur: a real wide pen (few dashed curves, the cost is small)
        if isinstance(curve, ThickCurve):
            curve._offsets = ((0, 0),)
        p.setWidth(width)
    curve.setPen(p)


def vector_pens(panel) -> None:
    """For vector output (SVG): every thick curve drawn once with a real pen of its width."""
    if not isinstance(panel, PlotPanel):
        return
    for item in panel.plot.items:
        if isinstance(item, pg.PlotCurveItem):
            item.setSegmentedLineMode("off")  # one polyline per curve, not a segment per point pair
        if isinstance(item, ThickCurve) and len(item._offsets) > 1:
            t = thickness(item)
            p = pg.mkPen(item.opts["pen"])
            p.setWidth(t)
            p.setCosmetic(True)
            item._offsets = ((0, 0),)
            item.setPen(p)


class _ThickExport(ThickCurve):
    """A plain curve promoted to a thick one for an export (see :func:`set_curve_width`)."""


def _font(px: int, bold: bool = False) -> QFont:
    f = QFont()
    f.setPixelSize(px)
    f.setBold(bold)
    return f


def style_axis(axis: pg.AxisItem, theme: Theme) -> None:
    fg = theme.foreground
    axis.enableAutoSIPrefix(False)
    tick = theme.px(theme.tick_px)
    axis.setStyle(tickFont=_font(tick), tickTextOffset=max(3, tick // 3), tickLength=-max(5, tick // 3))
    axis.setTextPen(pg.mkPen(theme.muted if theme.name == "dark" else fg))
    axis.setPen(pg.mkPen(fg, width=theme.width(1)))
    if axis.orientation == "left":
        axis.setWidth(int(tick * 3.2 + theme.px(theme.label_px) * 1.4))
    elif axis.orientation == "bottom":
        axis.setHeight(int(tick * 1.5 + theme.px(theme.label_px) * 1.6))
    elif axis.orientation == "right":
        axis.setWidth(int(tick * 3.0))


def label_style(theme: Theme) -> dict[str, str]:
    return {"font-size": f"{theme.px(theme.label_px)}px", "color": theme.css_fg}


def _relabel(plot: pg.PlotItem, side: str, theme: Theme) -> None:
    axis = plot.getAxis(side)
    text = axis.labelText
    if text:
        plot.setLabel(side, symbols(text) if "<" not in text else text, **label_style(theme))


def render_legend(panel: PlotPanel, theme: Theme) -> None:
    """The panel's HTML legend again, in the theme's colours and size."""
    leg = panel.legend_item
    if leg is None:
        return
    entries = leg.entries
    if panel.comparing and panel.compare_entries:
        entries = panel.compare_entries  # one entry per run, then the quantities' line styles
    parts = []
    for item, name in entries:
        glyph, c = leg._glyph(item)
        c = _css(theme.colour(pg.mkColor(c)))
        label = symbols(name).replace(" ", "&nbsp;").replace("-", "\u2011")  # no line break inside an entry
        parts.append(f'<span style="color:{c}; font-weight:bold">{glyph}</span>&nbsp;{label}')
    px = theme.px(theme.legend_px)
    panel.legend_label.setText(f'<span style="font-size:{px}px; color:{theme.css_fg}">'
                               + " &nbsp; ".join(parts) + "</span>")
    panel.legend_label.setStyleSheet(f"background: {theme.css_bg};")
    panel.legend_label.setVisible(bool(parts) and not panel.legend_label.isHidden())


def _restyle_items(items, theme: Theme) -> None:
    for item in items:
        if getattr(item, "_ibv_theme", None) is theme:
            continue  # styled already (apply_theme runs again after the first draw adds curves)
        try:
            item._ibv_theme = theme
        except AttributeError:  # pragma: no cover - an item without a __dict__
            pass
        if isinstance(item, pg.PlotCurveItem):
            p = pg.mkPen(item.opts.get("pen"))
            if isinstance(item, ThickCurve):
                w = thickness(item)
            else:
                w = max(1.0, p.widthF())
            t = theme.width(w)
            if w >= 3:  # a curve drawn wide underneath another (ground truth under a reference): keep it showing
                t = max(t, theme.width(2) + 2)
            c = theme.colour(p.color())
            if p.style() != Qt.PenStyle.SolidLine:  # dotted and dashed reference lines: a real pen, widened
                t = theme.colour_width(t, c)
            set_curve_width(item, c, t, p.style())
        elif isinstance(item, pg.InfiniteLine):
            p = pg.mkPen(item.pen)
            c = theme.colour(p.color())
            q = pg.mkPen(c, width=theme.colour_width(theme.width(max(1.0, p.widthF())), c))
            q.setStyle(p.style())
            q.setCosmetic(True)
            item.setPen(q)
        elif isinstance(item, pg.ScatterPlotItem):
            o = item.opts
            size = o.get("size", 7)
            pen_ = o.get("pen")
            brush = o.get("brush")
            kw: dict[str, Any] = {}
            if pen_ is not None and pg.mkPen(pen_).style() != Qt.PenStyle.NoPen:
                pp = pg.mkPen(pen_)
                kw["pen"] = pg.mkPen(theme.colour(pp.color()), width=theme.width(max(1.0, pp.widthF())))
            if brush is not None and pg.mkBrush(brush).style() != Qt.BrushStyle.NoBrush:
                kw["brush"] = pg.mkBrush(theme.colour(pg.mkBrush(brush).color()))
            if kw:
                item.setPen(kw.get("pen", pen_)) if "pen" in kw else None
                item.setBrush(kw["brush"]) if "brush" in kw else None
            item.setSize(size * theme.line_scale * 0.9)
        elif isinstance(item, pg.TextItem):
            item.setColor(theme.muted)
            item.setFont(_font(theme.px(theme.label_px)))


def hide_controls(panel) -> None:
    """Export frames show plots only: the panel's header controls (combos, toggles) are hidden."""
    if not isinstance(panel, PlotPanel):
        return
    for i in range(panel.header.count()):
        w = panel.header.itemAt(i).widget()
        if w is not None:
            w.hide()


def apply_theme(panel, theme: Theme) -> None:
    """Restyle an export panel (built for the export, not one of the window's)."""
    hide_controls(panel)
    if isinstance(panel, PlotPanel):
        pw = panel.plot_widget
        pw.setBackground(theme.background)
        pi = panel.plot
        for side in ("left", "bottom"):
            style_axis(pi.getAxis(side), theme)
            _relabel(pi, side, theme)
        panel._label_style = label_style(theme)
        _restyle_items(list(pi.items) + list(panel.vb.addedItems), theme)
        panel.empty_text.setColor(theme.muted)
        panel.empty_text.setFont(_font(theme.px(theme.label_px)))
        panel.widget.setStyleSheet(f"background: {theme.css_bg};")
        render_legend(panel, theme)
        dark = theme.name == "dark"
        for layer in (getattr(panel, "markers", None), getattr(panel, "annotations", None)):
            if layer is not None:  # event markers and annotations in the colours readable on the background
                layer.set_dark(dark)
                layer.set_font_scale(theme.px(theme.tick_px) / FONT_PT)
    elif isinstance(panel, HeatmapPanel):
        panel.glw.setBackground(theme.background)
        for t in (panel.title_w, panel.title_t):
            t.setColor(theme.foreground)
            t.setFont(_font(theme.px(theme.label_px)))
        style_axis(panel.bar.axis, theme)
        panel.bar.axis.setWidth(int(theme.px(theme.tick_px) * 2.6))
        panel.bar.setFixedWidth(int(theme.px(theme.tick_px) * 3.6))


def style_title(label: QLabel, text: str, theme: Theme) -> None:
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setText(f"<b>{symbols(text)}</b>")
    label.setFont(_font(theme.px(theme.title_px), bold=True))
    label.setStyleSheet(f"color: {theme.css_fg}; background: {theme.css_bg};")


def paint_background(w: QWidget, theme: Theme) -> None:
    w.setAutoFillBackground(True)
    pal = w.palette()
    pal.setColor(w.backgroundRole(), QColor(*theme.background))
    w.setPalette(pal)
