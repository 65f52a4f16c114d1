"""The plot panels (pyqtgraph), one per quantity, each shown in a dock or an export.

:mod:`.base` holds the base classes and :mod:`.style` the looks; one module per family of panels
(:mod:`.loss`, :mod:`.spectrum`, :mod:`.norms`, :mod:`.vectors`, :mod:`.heatmap`, :mod:`.classifier`,
:mod:`.mlp`, :mod:`.tensor`) and :mod:`.registry` the names the app and the exports build panels by.  Panels draw from a
:class:`~ibviewer.live.draw.DrawContext`; see ``docs/adding_a_panel.md``.
"""

from ibviewer.gui.panels.base import Panel, PlotPanel, SimpleTimePanel, TimePanel, cfg_get
from ibviewer.gui.panels.classifier import AnglePanel, ClassifierDataPanel, MarginPanel, TLossPanel, WNormPanel
from ibviewer.gui.panels.geometry import GeometryPanel
from ibviewer.gui.panels.heatmap import HeatmapPanel
from ibviewer.gui.panels.loss import GradNormPanel, LossPanel
from ibviewer.gui.panels.mlp import (
    AccuracyPanel,
    LayerNormsPanel,
    LayerRankPanel,
    LayerSpectrumPanel,
    PerLayerPanel,
    RelChangePanel,
)
from ibviewer.gui.panels.norms import BalancednessPanel, ErrorsPanel, NormsPanel
from ibviewer.gui.panels.registry import PANEL_CLASSES, panel_layout, register, saved_panel_states, unregister
from ibviewer.gui.panels.spectrum import EffectiveRankPanel, SingularValuesPanel
from ibviewer.gui.panels.tensor import ComponentNormsPanel, TensorRankPanel
from ibviewer.gui.panels.style import BLACK, GREY, PALETTE, ThickCurve, colour, setup_pyqtgraph
from ibviewer.gui.panels.vectors import CoordinatesPanel, StemsPanel

for _cls in (
    LossPanel, SingularValuesPanel, EffectiveRankPanel, NormsPanel, BalancednessPanel, ErrorsPanel,
    CoordinatesPanel, StemsPanel, HeatmapPanel, ClassifierDataPanel, WNormPanel, AnglePanel, MarginPanel,
    TLossPanel, GradNormPanel, LayerSpectrumPanel, LayerRankPanel, LayerNormsPanel, RelChangePanel, AccuracyPanel,
    ComponentNormsPanel, TensorRankPanel, GeometryPanel,
):
    register(_cls)
del _cls

__all__ = [
    "PANEL_CLASSES", "Panel", "PlotPanel", "TimePanel", "SimpleTimePanel", "cfg_get", "panel_layout", "register",
    "unregister", "saved_panel_states", "setup_pyqtgraph", "colour", "BLACK", "GREY", "PALETTE", "ThickCurve",
    "LossPanel", "GradNormPanel", "SingularValuesPanel", "EffectiveRankPanel", "NormsPanel", "BalancednessPanel",
    "ErrorsPanel", "CoordinatesPanel", "StemsPanel", "HeatmapPanel", "ClassifierDataPanel", "WNormPanel",
    "AnglePanel", "MarginPanel", "TLossPanel", "LayerSpectrumPanel", "PerLayerPanel", "LayerRankPanel",
    "LayerNormsPanel", "RelChangePanel", "AccuracyPanel", "ComponentNormsPanel", "TensorRankPanel",
    "GeometryPanel",
]
