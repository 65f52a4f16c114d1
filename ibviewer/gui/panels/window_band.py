"""The window of steps closest to the best rank-r approximation, as a shaded band with a label on a time panel.

The window is the ``closest_rank_r`` event marker of a noisy low-rank factorization (``ibviewer/core/events.py``,
``ibviewer/core/rank_window.py``): its ``start`` and ``end`` steps, with their times for the time axes.  The
panels that show it (errors, effective rank) draw it while their theory box is on; being drawn from the markers of
the :class:`~ibviewer.live.draw.DrawContext`, it shows in exports as in the window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont

from ibviewer.core.events import subscript
from ibviewer.gui.panels.style import FONT_PT
from ibviewer.live.draw import marker_x

#: the band's fill on a light plot and on a dark one (translucent: the curves stay readable through it)
FILL = ((26, 127, 55, 45), (108, 207, 127, 60))
#: its label's colour, light and dark
TEXT = ("#1a7f37", "#6ccf7f")
#: the event kind that carries the window
KIND = "closest_rank_r"
#: the tooltip of the panels' "window" box
BAND_TIP = ("The window of steps closest to the best rank-r approximation W_r of a noisy target (shaded): the\n"
            "steps at which ‖W − W_r‖_F/‖W_r‖_F is within 10× of its minimum, once the run has left it again\n"
            "(Chou, Gieshoff, Maly, Rauhut 2024; docs/science.md, AT18)")


def window_marker(markers: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The last marker that carries a closest-to-rank-r window, or None."""
    found = [m for m in markers if m.get("kind") == KIND and "start" in m and "end" in m]
    return found[-1] if found else None


def window_span(marker: Mapping[str, Any], x_mode: str, alpha: float | None = None) -> tuple[float, float] | None:
    """Where the window lies on an x axis of ``x_mode`` (None where it cannot be placed: a log axis at step 0,
    a time axis without the window's times)."""
    a = marker_x({"step": marker["start"], "time": marker.get("start_time")}, x_mode, alpha)
    b = marker_x({"step": marker["end"], "time": marker.get("end_time")}, x_mode, alpha)
    return None if a is None or b is None else (a, b)


class WindowBand:
    """One shaded band and its label on a plot; :meth:`draw` places them or hides them."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.dark = False
        self.pt = FONT_PT - 1
        self.region = pg.LinearRegionItem(values=(0, 1), orientation="vertical", movable=False)
        self.region.setZValue(-5)  # under the curves
        for line in self.region.lines:
            line.setPen(pg.mkPen(None))
        self.label = pg.TextItem("", anchor=(0, 1))  # at the band's foot: the markers' labels run from the top
        self.label.setZValue(6)
        plot.addItem(self.region, ignoreBounds=True)
        plot.addItem(self.label, ignoreBounds=True)
        self.region.hide()
        self.label.hide()
        self._style()

    @property
    def shown(self) -> bool:
        return self.region.isVisible()

    def span(self) -> tuple[float, float]:
        """The band's x range as drawn."""
        a, b = self.region.getRegion()
        return float(a), float(b)

    def text(self) -> str:
        return self.label.toPlainText()

    def draw(self, marker: Mapping[str, Any] | None, x_mode: str, alpha: float | None = None) -> None:
        span = None if marker is None else window_span(marker, x_mode, alpha)
        if span is None:
            self.hide()
            return
        self.region.setRegion(span)
        rank = marker.get("rank", "r")
        self.label.setText(f"closest to W{subscript(rank)}" if isinstance(rank, int) else "closest to W_r")
        (_x0, _x1), (y0, _y1) = self.plot.getViewBox().viewRange()
        self.label.setPos(span[0], y0)
        self.region.show()
        self.label.show()

    def hide(self) -> None:
        self.region.hide()
        self.label.hide()

    def set_dark(self, on: bool) -> None:
        self.dark = bool(on)
        self._style()

    def set_font_scale(self, scale: float) -> None:
        self.pt = (FONT_PT - 1) * scale
        self._style()

    def _style(self) -> None:
        i = 1 if self.dark else 0
        self.region.setBrush(pg.mkBrush(QColor(*FILL[i])))
        self.label.setColor(TEXT[i])
        f = QFont()
        f.setPointSizeF(self.pt)
        self.label.setFont(f)


class ShowsRankWindow:
    """Mixed into a time panel (before :class:`~ibviewer.gui.panels.base.TimePanel`): the window band, drawn from
    the shown run's markers while the panel's theory box is on and one run is drawn."""

    band: WindowBand

    def update(self, ctx) -> None:
        super().update(ctx)  # type: ignore[misc]
        marker = None
        if self.theory and not self.comparing:  # type: ignore[attr-defined]
            marker = window_marker([m for m in ctx.markers if m["step"] <= ctx.step])
        self.band.draw(marker, ctx.x_mode, getattr(ctx.frame.mirror, "init_scale", None))

    def set_dark(self, on: bool) -> None:
        super().set_dark(on)  # type: ignore[misc]
        self.band.set_dark(on)

    def set_font_scale(self, scale: float) -> None:
        super().set_font_scale(scale)  # type: ignore[misc]
        self.band.set_font_scale(scale)
