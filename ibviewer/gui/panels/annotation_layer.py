"""Annotations on a time panel: each a rich-text label with an optional arrow at its (step, value), shown from
its step on (:mod:`ibviewer.core.annotations`).  One layer per time panel, its items reused from frame to frame."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtGui import QFont

from ibviewer.core.annotations import Annotation
from ibviewer.gui.panels.style import FONT_PT
from ibviewer.live.draw import marker_x


class AnnotationLayer:
    """The annotations of one plot; ``y_log``: the plot's y axis is logarithmic (values are placed at log10)."""

    def __init__(self, plot: pg.PlotItem, y_log: bool):
        self.plot = plot
        self.y_log = y_log
        self.items: list[tuple[pg.TextItem, pg.ArrowItem]] = []
        self.shown: list[Annotation] = []
        self.dark = False
        self.pt = FONT_PT + 1

    def draw(self, annotations: Sequence[Annotation], x_mode: str, step: float, alpha: float | None = None) -> None:
        """Place every annotation shown at ``step`` (the step the panels show); ``alpha``: the run's
        initialization scale, for the rescaled time axis."""
        placed = []
        for a in annotations:
            x = marker_x({"step": a.step, "time": a.time}, x_mode, alpha)
            y = a.y
            if self.y_log:
                y = math.log10(a.y) if a.y > 0 else None
            if x is not None and y is not None and a.shown_at(step):
                placed.append((x, y, a))
        while len(self.items) < len(placed):
            self.items.append(self._new())
        for (text, arrow), (x, y, a) in zip(self.items, placed):
            text.setHtml(self._html(a.text))
            text.setPos(x, y)
            text.setVisible(True)
            arrow.setPos(x, y)
            arrow.setVisible(a.arrow)
            text.setAnchor((1.05, 1.3) if a.arrow else (0.5, 0.5))
        for text, arrow in self.items[len(placed):]:
            text.setVisible(False)
            arrow.setVisible(False)
        self.shown = [a for _, _, a in placed]

    def texts(self) -> list[str]:
        return [a.text for a in self.shown]

    def set_dark(self, on: bool) -> None:
        self.dark = bool(on)
        for (text, arrow), a in zip(self.items, self.shown):
            text.setHtml(self._html(a.text))
        for _, arrow in self.items:
            arrow.setBrush(pg.mkBrush(self._colour()))
            arrow.setPen(pg.mkPen(self._colour()))

    def set_font_scale(self, scale: float) -> None:
        self.pt = (FONT_PT + 1) * scale
        for (text, _), a in zip(self.items, self.shown):
            text.setHtml(self._html(a.text))

    # ------------------------------------------------------------------
    def _colour(self) -> str:
        return "#f0f0f0" if self.dark else "#141414"

    def _html(self, text: str) -> str:
        bg = "rgba(30,32,36,200)" if self.dark else "rgba(255,255,255,210)"
        return (f'<div style="color:{self._colour()}; background-color:{bg}; font-size:{self.pt:.1f}pt;">'
                f"{text}</div>")

    def _new(self) -> tuple[pg.TextItem, pg.ArrowItem]:
        text = pg.TextItem(anchor=(1.05, 1.3))
        f = QFont()
        f.setPointSizeF(self.pt)
        text.setFont(f)
        text.setZValue(20)
        # pointing down-right at the spot, from the text above and to its left
        arrow = pg.ArrowItem(angle=-135, headLen=14, tailLen=18, tailWidth=2, pen=pg.mkPen(self._colour()),
                             brush=pg.mkBrush(self._colour()))
        arrow.setZValue(20)
        self.plot.addItem(text, ignoreBounds=True)
        self.plot.addItem(arrow, ignoreBounds=True)
        return text, arrow
