"""The timeline's slider with the run's event markers as ticks: a tick per marker, in the marker's colour, its
label as the tooltip; clicking a tick shows every panel as of that step (``marker_chosen(step)``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider, QToolTip

from ibviewer.gui.panels.markers import KIND_COLOURS

#: a click this many pixels from a tick chooses it
NEAR_PX = 5


class MarkerSlider(QSlider):
    """A horizontal slider over the recorded rows with ticks at the markers' rows."""

    marker_chosen = Signal(int)

    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setMouseTracking(True)
        self.dark = False
        #: (row, step, colour, label) of every tick
        self.ticks: list[tuple[int, int, str, str]] = []

    def set_markers(self, markers: Sequence[Mapping[str, Any]], rows: Sequence[int]) -> None:
        """The markers to show, each at its row of the slider's range."""
        ticks = [(int(r), int(m["step"]), KIND_COLOURS.get(str(m.get("kind")), ("#555555", "#bbbbbb"))[self.dark],
                  str(m["label"])) for m, r in zip(markers, rows)]
        if ticks != self.ticks:
            self.ticks = ticks
            self.update()

    def labels(self) -> list[str]:
        return [t[3] for t in self.ticks]

    def tick_x(self, row: int) -> int:
        """The x pixel of ``row`` (the handle's centre when it is there)."""
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        groove = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                             QStyle.SubControl.SC_SliderGroove, self)
        handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                             QStyle.SubControl.SC_SliderHandle, self)
        span = groove.width() - handle.width()
        pos = QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), row, max(span, 1))
        return groove.x() + handle.width() // 2 + pos

    def tick_at(self, x: int) -> tuple[int, int, str, str] | None:
        """The tick nearest ``x`` within NEAR_PX pixels."""
        best = min(self.ticks, key=lambda t: abs(self.tick_x(t[0]) - x), default=None)
        return best if best is not None and abs(self.tick_x(best[0]) - x) <= NEAR_PX else None

    # ------------------------------------------------------------------ Qt
    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self.ticks or self.maximum() <= self.minimum():
            return
        p = QPainter(self)
        h = self.height()
        for row, _step, colour, _label in self.ticks:
            x = self.tick_x(row)
            p.setPen(QPen(QColor(colour), 2))
            p.drawLine(x, 1, x, h // 4 + 2)
            p.drawLine(x, h - h // 4 - 2, x, h - 1)
        p.end()

    def mousePressEvent(self, event) -> None:
        tick = self.tick_at(int(event.position().x())) if event.button() == Qt.MouseButton.LeftButton else None
        if tick is not None:
            self.marker_chosen.emit(tick[1])
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        tick = self.tick_at(int(event.position().x()))
        if tick is not None:
            QToolTip.showText(self.mapToGlobal(QPoint(int(event.position().x()), 0)), tick[3], self,
                              QRect(), 3000)
        super().mouseMoveEvent(event)
