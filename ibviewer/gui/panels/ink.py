"""Neutral ink: what a panel draws in black on white (targets, references, theory, the legend's samples of line
styles) is drawn in light grey on the dark theme, where black would vanish.

Panels create neutral items with :data:`~ibviewer.gui.panels.style.BLACK` pens; :func:`swap_ink` recolours every
such item of a plot (and legend samples) to the theme's ink, keeping width and dash style.  Items a panel
creates later (a comparison's curves) are recoloured at the next drawing (:class:`Ink` tracks the plot's items).
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPen

from ibviewer.gui.panels.style import BLACK

#: the ink of neutral items on the dark theme
LIGHT = (225, 225, 225)


def _recolour(p: QPen | None, src: QColor, dst: QColor) -> QPen | None:
    if p is None or p.color().rgb() != src.rgb():
        return None
    q = QPen(p)
    q.setColor(dst)
    return q


def swap_ink(items, dark: bool) -> int:
    """Recolour the neutral pens (and brushes) of ``items``; returns how many items changed."""
    src, dst = (QColor(*BLACK), QColor(*LIGHT)) if dark else (QColor(*LIGHT), QColor(*BLACK))
    changed = 0
    for item in items:
        if isinstance(item, pg.InfiniteLine):
            q = _recolour(item.pen, src, dst)
            if q is not None:
                item.setPen(q)
                changed += 1
        elif isinstance(item, pg.ScatterPlotItem):
            q = _recolour(pg.mkPen(item.opts.get("pen")), src, dst)
            if q is not None:
                item.setPen(q)
                changed += 1
        elif hasattr(item, "opts") and isinstance(item.opts, dict) and "pen" in item.opts:
            q = _recolour(pg.mkPen(item.opts["pen"]), src, dst)
            if q is not None:
                if hasattr(item, "setPen"):
                    item.setPen(q)
                else:  # a legend sample
                    item.opts["pen"] = q
                changed += 1
    return changed


class Ink:
    """The neutral ink of one plot: :meth:`set_dark` recolours what is there, :meth:`follow` what came since."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.dark = False
        self._seen = 0

    def set_dark(self, on: bool, extra: list[Any] = ()) -> None:
        self.dark = bool(on)
        swap_ink(list(self.plot.items) + list(extra), self.dark)
        self._seen = len(self.plot.items)

    def follow(self) -> None:
        """After a drawing: items added since are recoloured (on the dark theme only)."""
        n = len(self.plot.items)
        if self.dark and n != self._seen:
            swap_ink(self.plot.items, True)
            self._seen = n
