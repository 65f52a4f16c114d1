"""The tensor panels (ibviewer/gui/panels/tensor.py) drawn from hand-built histories, the tensor family's default
layout, and a window training the tensor preset."""

import numpy as np
import pyqtgraph as pg
import pytest

from ibviewer.core.config import build_config
from ibviewer.gui.panels import PANEL_CLASSES, panel_layout, setup_pyqtgraph
from ibviewer.live.draw import DrawContext, RunFrame, history_mirror
from ibviewer.live.series import Frame

from .conftest import TIMEOUT_MS

RED, GREEN = (213, 94, 0), (0, 158, 115)
#: the tensor preset's problem: three true components of norms 24, 12, 6
INFO = {"shape": (10, 10, 10), "target_sv": None, "refs": {}, "kind": "tensor_completion",
        "cfg": build_config(preset="tensor_greedy_rank").to_dict()}


@pytest.fixture(autouse=True)
def _pg(qapp):
    setup_pyqtgraph()


def drawn(panel) -> list[pg.PlotCurveItem]:
    return [it for it in panel.plot.items if isinstance(it, pg.PlotCurveItem) and it.isVisible()
            and it.yData is not None and len(it.yData)]


def history(n_components: int = 4):
    steps = np.arange(0, 1000, 50.0)
    norms = np.full((len(steps), n_components), 1e-4)
    norms[steps >= 300, 2] = 24.0  # the third component of the model ends largest
    norms[steps >= 600, 0] = 12.0
    return {"step": steps, "time": 0.01 * steps, "component_norms": norms,
            "tensor_erank": np.where(steps >= 600, 1.9, np.where(steps >= 300, 1.0, 4.0)),
            "tensor_rank": np.where(steps >= 600, 2.0, np.where(steps >= 300, 1.0, 4.0))}


def test_component_norms_are_drawn_on_a_log_axis_largest_first_with_the_true_norms():
    cols = history()
    panel = PANEL_CLASSES["component_norms"](x_mode="step")
    panel.set_info(INFO)
    panel.update(DrawContext(Frame(history_mirror(cols), "step"), None, "step"))
    curves = drawn(panel)
    assert len(curves) == 4
    # the first coloured curve is the component that ends largest, on log10 values
    np.testing.assert_allclose(panel.lead[0].yData, np.log10(cols["component_norms"][:, 2]))
    np.testing.assert_allclose(panel.lead[1].yData, np.log10(cols["component_norms"][:, 0]))
    assert sorted(round(10 ** line.value(), 6) for line in panel.targets) == [6.0, 12.0, 24.0]
    assert "ground&nbsp;truth" in panel.legend_label.text()


def test_tensor_rank_draws_both_definitions_and_the_truth_s_values():
    cols = history()
    panel = PANEL_CLASSES["tensor_rank"](x_mode="step")
    panel.set_info(INFO)
    panel.update(DrawContext(Frame(history_mirror(cols), "step"), None, "step"))
    np.testing.assert_allclose(panel.erank.yData, cols["tensor_erank"])
    np.testing.assert_allclose(panel.count.yData, cols["tensor_rank"])
    w = np.array([24.0, 12.0, 6.0])
    p = w / w.sum()
    assert panel.t_erank.value() == pytest.approx(np.exp(-(p * np.log(p)).sum()))
    assert panel.t_count.value() == 3.0  # all three at least a tenth of the largest


def test_compared_runs_are_drawn_in_their_colours():
    a = RunFrame(0, "small", RED, Frame(history_mirror(history()), "step"), refs={})
    b = RunFrame(1, "large", GREEN, Frame(history_mirror(history()), "step"), refs={})
    for name in ("component_norms", "tensor_rank"):
        panel = PANEL_CLASSES[name](x_mode="step")
        panel.set_info(INFO)
        panel.update(DrawContext(a.frame, None, "step", (a, b), selected_id=0, comparing=True))
        colours = {pg.mkPen(c.opts["pen"]).color().getRgb()[:3] for c in drawn(panel)}
        assert {RED, GREEN} <= colours, name


def test_the_tensor_family_lays_out_its_panels():
    cols, tabs = panel_layout("tensor", 3, "cp", "tensor_completion")
    names = [n for col in cols for n in col] + [t for t, _ in tabs]
    assert {"component_norms", "tensor_rank", "loss", "errors"} <= set(names)
    assert all(n in PANEL_CLASSES for n in names)


def test_a_window_trains_the_tensor_preset_and_draws_its_panels(qtbot, window):
    window.load_preset("tensor_greedy_rank")
    qtbot.waitUntil(lambda: window.worker_ready and window.cfg.problem.kind == "tensor_completion"
                    and window.last_snap is not None, timeout=TIMEOUT_MS)
    assert {"component_norms", "tensor_rank"} <= set(window.docks.panels)
    window.controller.step(300)
    qtbot.waitUntil(lambda: window.controller.runs.selected.mirror.n > 10, timeout=TIMEOUT_MS)
    panel = window.docks.panels["component_norms"]
    qtbot.waitUntil(lambda: len(drawn(panel)) >= 6, timeout=TIMEOUT_MS)
    rank = window.docks.panels["tensor_rank"]
    qtbot.waitUntil(lambda: rank.erank.yData is not None and len(rank.erank.yData) > 10, timeout=TIMEOUT_MS)
    # the Controls show the number of components (the depth means nothing to a CP model) and edit it
    controls = window.controls
    assert controls.widgets["model.components"].isVisibleTo(controls)
    assert not controls.widgets["model.depth"].isVisibleTo(controls)
    assert [controls.widgets["model.init"].itemData(i) for i in range(controls.widgets["model.init"].count())] == [
        "gaussian"]
    controls.widgets["model.components"].setValue(6)
    qtbot.waitUntil(lambda: window.cfg.model.components == 6 and window.worker_ready, timeout=TIMEOUT_MS)
