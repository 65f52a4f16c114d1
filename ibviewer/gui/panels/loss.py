"""Loss panels: the training (and test) loss with the stopping tolerance, and the gradient norm."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ibviewer.gui.panels.base import SimpleTimePanel
from ibviewer.gui.panels.style import colour, pen

#: the legend's name of the trivial predictor's test loss
TRIVIAL_LABEL = "test loss of the trivial predictor"

class LossPanel(SimpleTimePanel):
    name = "loss"
    title = "Loss"
    tooltip = ("Training loss L (log scale), and the test loss where there is one; dashed: run.loss_tol when set;\n"
               "dotted: the test loss of the trivial predictor (the training labels' mean, or their class\n"
               "frequencies), which ignores the input")
    y_log = True
    y_label = "loss L"
    series = (("loss", "training loss", 0, Qt.PenStyle.SolidLine), ("test_loss", "test loss", 1, Qt.PenStyle.SolidLine))

    def draw(self, frame):
        ys = super().draw(frame)
        # a single curve needs no legend
        self.legend_label.setVisible(len(self.curves) > 1)
        if self.trivial_line is not None and self.trivial_line.isVisible():
            ys = list(ys) + [np.asarray([self.trivial_line.value()])]  # the baseline stays in view
        return ys

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.tol_line = None
        self.trivial_line = None

    def set_info(self, info):
        super().set_info(info)
        tol = self.setting("run.loss_tol", 0.0)
        self.set_tol(tol)
        self.set_trivial(info.get("trivial_test_loss"))

    def set_trivial(self, loss: float | None) -> None:
        """A dotted line at the test loss of the trivial predictor (the training labels' mean or class
        frequencies), the level a test loss is worth comparing with; hidden where the problem has no test set."""
        if self.trivial_line is None:
            self.trivial_line = pg.InfiniteLine(pos=0.0, angle=0, movable=False,
                                                pen=pen(colour(1), 1.5, Qt.PenStyle.DotLine))
            self.plot.addItem(self.trivial_line, ignoreBounds=True)
        if self.legend_item is not None:
            self.legend_item.removeItem(self.trivial_line)
        if loss is not None and loss > 0 and math.isfinite(loss):
            self.trivial_line.setPos(math.log10(loss))
            self.trivial_line.show()
            if self.legend_item is not None:
                self.legend_item.addItem(self.trivial_line, TRIVIAL_LABEL)
        else:
            self.trivial_line.hide()

    def set_tol(self, tol: float) -> None:
        if self.tol_line is None:
            self.tol_line = self.add_hline(0.0, (120, 120, 120))
        if tol and tol > 0:
            self.tol_line.setPos(math.log10(tol))
            self.tol_line.show()
        else:
            self.tol_line.hide()


class GradNormPanel(SimpleTimePanel):
    name = "grad_norm"
    title = "Gradient norm"
    tooltip = "‖∇L‖ over all parameters (log scale): small on the plateaus between saddles"
    y_log = True
    y_label = "‖∇L‖"
    legend = False
    series = (("grad_norm", "‖∇L‖", 0, Qt.PenStyle.SolidLine),)
