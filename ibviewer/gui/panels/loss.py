"""Loss panels: the training (and test) loss with the stopping tolerance, and the gradient norm."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from ibviewer.gui.panels.base import SimpleTimePanel
from ibviewer.gui.panels.saddle_overlay import SaddleOverlay, lines_for
from ibviewer.gui.panels.style import colour, pen
from ibviewer.live.ranges import floored, loss_floor

#: the legend's name of the trivial predictor's test loss
TRIVIAL_LABEL = "test loss of the trivial predictor"


class LossPanel(SimpleTimePanel):
    name = "loss"
    title = "Loss"
    tooltip = ("Training loss L (log scale), and the test loss where there is one; dashed: run.loss_tol when set;\n"
               "dotted: the test loss of the trivial predictor (the training labels' mean, or their class\n"
               "frequencies), which ignores the input. The axis ends a few decades under the plateaus\n"
               "(right-click to show every decade)")
    y_log = True
    y_label = "loss L"
    series = (("loss", "training loss", 0, Qt.PenStyle.SolidLine), ("test_loss", "test loss", 1, Qt.PenStyle.SolidLine))
    #: the columns the floor is chosen from
    FLOOR_COLUMNS = ("loss", "test_loss")

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.tol_line = None
        self.trivial_line = None
        self.tol = 0.0
        #: whether the y axis stops at the floor under the plateaus (ibviewer.live.ranges.loss_floor)
        self.floor_on = True
        self.floor: float | None = None  # the floor of the last drawing (log10 loss), None: nothing clipped
        self.floor_action = QAction("Floor under the plateaus (clip the converged tail)", self.widget)
        self.floor_action.setCheckable(True)
        self.floor_action.setChecked(True)
        self.floor_action.setToolTip("The loss axis ends a few decades under the lowest plateau instead of at the\n"
                                     "smallest loss reached (a converged run's 1e-28 would flatten every plateau)")
        self.floor_action.toggled.connect(self.set_floor)
        self.vb.menu.addSeparator()
        self.vb.menu.addAction(self.floor_action)
        # a small-initialization diagonal network: the loss of its α → 0 limit and its jump times
        self.add_theory_toggle("saddles", "The loss of the α → 0 limit (dashed; Pesme & Flammarion 2023) and its jump\n"
                                          "times (dotted), in rescaled time τ = η·k / ln(1/α): runs of x = u² − v²\n"
                                          "(or w ⊙ w) of depth 2 on sparse recovery from a small constant α")
        self.theory_box.setVisible(False)
        self.saddle = SaddleOverlay(self.plot)
        self.saddle_keys: list = []

    # ------------------------------------------------------------------ the floor
    def set_floor(self, on: bool) -> None:
        """Clip the loss axis at the floor under the plateaus (on), or show every loss down to the smallest."""
        on = bool(on)
        if self.floor_action.isChecked() != on:
            self.floor_action.setChecked(on)  # comes back here through toggled
            return
        if on == self.floor_on:
            return
        self.floor_on = on
        self.ykeep.reset()
        self.request_redraw()

    def state(self) -> dict[str, Any]:
        return {**super().state(), "floor": self.floor_on}

    def restore(self, state: dict[str, Any]) -> None:
        super().restore(state)
        if "floor" in state:
            self.set_floor(bool(state["floor"]))

    def _floor_of(self, frames) -> float | None:
        curves = []
        for f in frames:
            step = f.col("step") if f.n else None
            if step is None:
                continue
            curves += [(step, y) for name in self.FLOOR_COLUMNS if (y := f.col(name, log=True)) is not None]
        return loss_floor(curves, self.tol) if self.floor_on else None

    # ------------------------------------------------------------------ the saddle-to-saddle limit
    def on_theory(self, on):
        if not on:
            self.saddle.clear()
        self._saddle_legend()
        self._cmp_legend = None

    def _saddle_legend(self) -> None:
        if self.legend_item is None:
            return
        new = self.saddle.loss_legend_keys() if self.theory and self.info.get("sparse_theory") else []
        self.legend_item.swap(self.saddle_keys, new, render=not self.comparing)
        self.saddle_keys = new

    def draw_theory(self, frame):
        return self.saddle.draw_loss(lines_for(self, frame, []))

    def extra_legend_keys(self):
        if self.theory and self.info.get("sparse_theory") and self.x_mode == "rescaled":
            return self.saddle.loss_legend_keys()
        return []

    def draw(self, frame):
        ys = super().draw(frame)
        self.floor = self._floor_of([frame])
        # a single curve needs no legend (the overlay's lines do)
        self.legend_label.setVisible(len(self.curves) > 1 or bool(self.theory and self.saddle_keys))
        if self.trivial_line is not None and self.trivial_line.isVisible():
            ys = list(ys) + [np.asarray([self.trivial_line.value()])]  # the baseline stays in view
        return ys

    def draw_compare_extra(self, runs, ctx):
        self.floor = self._floor_of([f for _run, f in runs])
        xs, ys = super().draw_compare_extra(runs, ctx)
        # the limit is the same for every run on the rescaled axis (and only there)
        sel = next((f for r, f in runs if r.id == ctx.selected_id), runs[0][1] if runs else None)
        if self.theory and ctx.x_mode == "rescaled" and sel is not None:
            ys = list(ys) + self.saddle.draw_loss(lines_for(self, sel, []))
        else:
            self.saddle.clear()
        return xs, ys

    def apply_ranges(self, xb, yb):
        super().apply_ranges(xb, floored(yb, self.floor))

    # ------------------------------------------------------------------ the stopping tolerance
    def set_info(self, info):
        super().set_info(info)
        self.theory_box.setVisible(bool(info.get("sparse_theory")))
        self.saddle.clear()
        self._saddle_legend()
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
        self.tol = float(tol or 0.0)
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
