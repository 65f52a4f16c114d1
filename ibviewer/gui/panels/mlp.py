"""Accuracy, and the panels of a multilayer network's layers: each layer's singular values, rank, norms and how
far it moved from its initialization."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel

from ibviewer.gui.panels.base import SimpleTimePanel, TimePanel
from ibviewer.gui.panels.style import COLOURED_SV, GREY, STYLES, blocked, colour
from ibviewer.live.series import nan_joined, plain_symbols

class LayerSpectrumPanel(TimePanel):
    name = "layer_sv"
    title = "Singular values of a layer"
    tooltip = ("Every singular value of the chosen layer's weight matrix W_j over time (log scale):\n"
               "from small initialization a few leave the random bulk (low-rank features)")
    y_log = True
    y_label = "σ_i(W_j)"

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.layer = 0
        self.header.addWidget(QLabel("layer:"))
        self.combo = QComboBox()
        self.combo.setObjectName("layer")
        self.combo.currentIndexChanged.connect(self._on_layer)
        self.header.addWidget(self.combo, 1)
        self.lead = [self.add_curve(colour(i), f"σ{i + 1}", z=2) for i in range(COLOURED_SV)]
        self.rest = self.add_curve(GREY, f"σ{COLOURED_SV + 1}+", width=1, z=1)

    def set_info(self, info):
        super().set_info(info)
        depth = int(self.setting("model.depth", 1))
        with blocked(self.combo):
            self.combo.clear()
            for j in range(depth):
                role = " (input)" if j == 0 else " (output)" if j == depth - 1 else ""
                self.combo.addItem(plain_symbols(f"W_{j + 1}") + role, j)  # W₁, not W_1: a combo is plain text
            self.layer = min(self.layer, depth - 1)
            self.combo.setCurrentIndex(self.layer)

    def _on_layer(self, _i: int) -> None:
        if self.combo.currentData() is not None:
            self.layer = int(self.combo.currentData())
            self.ykeep.reset()
            self.request_redraw()

    def state(self) -> dict[str, Any]:
        return {**super().state(), "layer": self.layer}

    def restore(self, state: dict[str, Any]) -> None:
        super().restore(state)
        v = state.get("layer", state.get("combo"))  # "combo": what exports were handed before
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            return
        i = self.combo.findData(v)
        if i >= 0:
            self.combo.setCurrentIndex(i)  # redraws
        elif self.combo.count() == 0:
            self.layer = v  # the run's depth is not known yet: set_info keeps it within the layers

    def compare_series(self, nruns):
        return [(f"sv_layer{self.layer}", 3, Qt.PenStyle.SolidLine, f"σ1…σ3 of W_{self.layer + 1}", 2)]

    def draw(self, frame):
        y = frame.col(f"sv_layer{self.layer}", log=True)
        if y is None:
            return []
        x = frame.x
        k = y.shape[1] if y.ndim == 2 else 1
        y = y.reshape(len(x), k)
        for i, c in enumerate(self.lead):
            c.setData(x, y[:, i]) if i < k else c.setData([], [])
        self.rest.setData(*nan_joined(x, y[:, COLOURED_SV:])) if k > COLOURED_SV else self.rest.setData([], [])
        return [y]


class PerLayerPanel(TimePanel):
    """Vector columns with one entry per layer: solid and dashed series, one colour per layer."""

    #: (column, label with {j}, style)
    series: tuple[tuple[str, str, Any], ...] = ()

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.curves: dict[tuple[str, int], pg.PlotCurveItem] = {}

    def set_info(self, info):
        super().set_info(info)
        for c in self.curves.values():
            self.plot.removeItem(c)
            if self.legend_item is not None:
                self.legend_item.removeItem(c)
        self.curves = {}
        depth = int(self.setting("model.depth", 1))
        for col, label, style in self.series:
            for j in range(depth):
                self.curves[(col, j)] = self.add_curve(colour(j), label.format(j=j + 1), style=style)

    def compare_series(self, nruns):
        return [(col, None, STYLES[i % len(STYLES)], label.replace("_{j}", "_j"), 2 if i == 0 else 1)
                for i, (col, label, _style) in enumerate(self.series)]

    def draw(self, frame):
        x = frame.x
        out = []
        for col, _label, _style in self.series:
            y = frame.col(col, log=self.y_log)
            if y is None:
                continue
            y = y.reshape(len(x), -1)
            for j in range(y.shape[1]):
                c = self.curves.get((col, j))
                if c is not None:
                    c.setData(x, y[:, j])
            out.append(y)
        return out


class LayerRankPanel(PerLayerPanel):
    name = "layer_rank"
    title = "Rank of each layer"
    tooltip = "Stable rank ‖W_j‖_F²/‖W_j‖_op² (solid) and entropy effective rank (dashed) of every layer"
    y_zero = True
    y_label = "rank"
    series = (("layer_stable_rank", "stable rank W_{j}", Qt.PenStyle.SolidLine),
              ("layer_erank", "eff. rank W_{j}", Qt.PenStyle.DashLine))


class LayerNormsPanel(PerLayerPanel):
    name = "layer_norms"
    title = "Layer norms"
    tooltip = "Frobenius norm ‖W_j‖_F (solid) and spectral norm ‖W_j‖_op (dashed) of every layer, log scale"
    y_log = True
    y_label = "norm"
    series = (("layer_norms", "‖W_{j}‖_F", Qt.PenStyle.SolidLine),
              ("layer_spectral", "‖W_{j}‖_op", Qt.PenStyle.DashLine))


class RelChangePanel(PerLayerPanel):
    name = "layer_rel_change"
    title = "How far each layer moved"
    tooltip = ("‖W_j − W_j(0)‖_F / ‖W_j(0)‖_F: small in the lazy (kernel) regime, order one in the rich regime;\n"
               "log scale")
    y_log = True
    y_label = "relative change"
    series = (("layer_rel_change", "W_{j}", Qt.PenStyle.SolidLine),)


class AccuracyPanel(SimpleTimePanel):
    name = "accuracy"
    title = "Accuracy"
    tooltip = "Fraction of correctly classified training and test samples"
    y_label = "accuracy"
    y_zero = True
    series = (("train_acc", "training", 0, Qt.PenStyle.SolidLine), ("test_acc", "test", 1, Qt.PenStyle.SolidLine))

    def apply_ranges(self, xb, yb):
        super().apply_ranges(xb, (0.0, 1.0) if yb is not None else None)
