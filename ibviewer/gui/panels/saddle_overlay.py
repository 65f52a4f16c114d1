"""The saddle-to-saddle limit and the lasso path drawn over a time panel: the coordinates' staircases (dashed) and
lasso path (dotted) in each coordinate's colour, or the limit's loss (dashed) and its jump times (thin vertical
lines).  The points come from :mod:`ibviewer.live.saddle_lines`; docs/science.md, "Saddle to saddle"."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ibviewer.core.theory import rescale_divisor
from ibviewer.gui.panels.base import cfg_get
from ibviewer.gui.panels.style import GREY, LegendSample, pen
from ibviewer.live.saddle_lines import SaddleLines, saddle_lines

LIMIT_STYLE = Qt.PenStyle.DashLine
LASSO_STYLE = Qt.PenStyle.DotLine
JUMP_STYLE = Qt.PenStyle.DotLine
#: darker than the grey of context lines, lighter than the curves: the jump lines stand apart from event markers
JUMP_GREY = (95, 95, 95)
#: legend texts, short: a wrapped legend takes the plot's height (the tooltips name the papers)
LIMIT_TEXT = "α → 0 limit"
LASSO_TEXT = "lasso x_λ, λ = 1/({c:g}τ)"
JUMPS_TEXT = "its jumps"


def lines_for(panel, frame, coords) -> SaddleLines | None:
    """The lines of the panel's run (its info, config and recorded time) for ``coords``, on the panel's x axis."""
    info = panel.info
    theory = info.get("sparse_theory")
    if not theory or frame is None or frame.n == 0:
        return None
    cfg = info.get("cfg")
    m = frame.mirror
    alpha = getattr(m, "init_scale", None) or float(cfg_get(cfg, "model.init_scale", 0) or 0) or None
    lr = float(cfg_get(cfg, "optimizer.lr", 0.01))
    tc, sc = m.get("time"), m.get("step")
    now = float(tc[-1]) if tc is not None and len(tc) and np.isfinite(tc[-1]) else 0.0
    steps = int(cfg_get(cfg, "run.steps", 0) or 0)
    tau_end = max(now, lr * steps) / rescale_divisor(alpha) if alpha else None
    return saddle_lines(theory, coords, panel.x_mode, lr, alpha, tc, sc, tau_end)


class SaddleOverlay:
    """The overlay's items on one plot, created as needed and emptied when hidden."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.limit: list[pg.PlotCurveItem] = []
        self.lasso: list[pg.PlotCurveItem] = []
        self.loss = self._curve((20, 20, 20), 2, LIMIT_STYLE)
        self.jumps: list[pg.InfiniteLine] = []
        #: the jump lines' look, for a legend
        self.jump_sample = LegendSample(pen(JUMP_GREY, 1, JUMP_STYLE))

    def _curve(self, c, width, style) -> pg.PlotCurveItem:
        item = pg.PlotCurveItem(pen=pen(c, width, style), connect="finite", skipFiniteCheck=True, antialias=False)
        item.setZValue(4)
        self.plot.addItem(item)
        return item

    def clear(self) -> None:
        for item in self.limit + self.lasso + [self.loss]:
            item.setData([], [])
        for line in self.jumps:
            self.plot.removeItem(line)
        self.jumps = []

    def draw_coordinates(self, lines: SaddleLines | None, colours: list[Any]) -> list[np.ndarray]:
        """Each coordinate's staircase and lasso path in ``colours``; returns the y arrays drawn."""
        if lines is None:
            self.clear()
            return []
        k = lines.stair_y.shape[1]
        while len(self.limit) < k:
            self.limit.append(self._curve(colours[len(self.limit)], 2, LIMIT_STYLE))
            self.lasso.append(self._curve(colours[len(self.lasso)], 2, LASSO_STYLE))
        for j, (lim, las) in enumerate(zip(self.limit, self.lasso)):
            lim.setPen(pen(colours[j] if j < k else GREY, 2, LIMIT_STYLE))
            las.setPen(pen(colours[j] if j < k else GREY, 2, LASSO_STYLE))
            lim.setData(lines.stair_x, lines.stair_y[:, j]) if j < k else lim.setData([], [])
            if j < k and len(lines.lasso_x):
                las.setData(lines.lasso_x, lines.lasso_y[:, j])
            else:
                las.setData([], [])
        return [lines.stair_y, lines.lasso_y]

    def draw_loss(self, lines: SaddleLines | None) -> list[np.ndarray]:
        """The limit's loss (log10) and its jump times; returns the y arrays drawn."""
        for line in self.jumps:
            self.plot.removeItem(line)
        self.jumps = []
        if lines is None:
            self.loss.setData([], [])
            return []
        with np.errstate(divide="ignore"):
            y = np.log10(np.maximum(lines.loss_y, 1e-300))
        self.loss.setData(lines.stair_x, y)
        for x in lines.jumps_x:
            if np.isfinite(x):
                line = pg.InfiniteLine(pos=float(x), angle=90, movable=False, pen=pen(JUMP_GREY, 1, JUMP_STYLE))
                line.setZValue(1)
                self.plot.addItem(line, ignoreBounds=True)
                self.jumps.append(line)
        return [y[np.isfinite(y) & (y > y[0] - 12)]]

    def loss_legend_keys(self) -> list[tuple[Any, str]]:
        """The loss panel's legend entries: the limit's loss and its jump times."""
        return [(self.loss, LIMIT_TEXT), (self.jump_sample, JUMPS_TEXT)]

    @staticmethod
    def legend_keys(theory: dict[str, Any]) -> list[tuple[Any, str]]:
        """The coordinates' legend entries for ``theory`` (``info["sparse_theory"]``)."""
        keys = [(LegendSample(pen((20, 20, 20), 2, LIMIT_STYLE)), LIMIT_TEXT)]
        if theory.get("lasso_lambdas") is not None:
            keys.append((LegendSample(pen((20, 20, 20), 2, LASSO_STYLE)), LASSO_TEXT.format(c=theory["rate"])))
        return keys
