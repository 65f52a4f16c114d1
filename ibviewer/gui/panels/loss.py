"""Loss panels: the training (and test) loss with the stopping tolerance, and the gradient norm."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt

from ibviewer.gui.panels.base import SimpleTimePanel

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

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.tol_line = None

    def set_info(self, info):
        super().set_info(info)
        tol = self.setting("run.loss_tol", 0.0)
        self.set_tol(tol)

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
