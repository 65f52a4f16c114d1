"""Ranges that show the point, as drawn: AT7's singular values fill the panel with the tail grey and clipped, the
loss axis stops under the saddle-to-saddle plateaus, a panel's range lock holds (and is saved), time axes label
step 0, and the window's rescaled time axis."""

import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage, QPainter

from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.gui.panels import PANEL_CLASSES, setup_pyqtgraph
from ibviewer.gui.panels.style import GREY
from ibviewer.live.draw import DrawContext, RunFrame, history_mirror
from ibviewer.live.series import Frame

from .conftest import fresh, settle

RED, GREEN, BLUE = (213, 94, 0), (0, 158, 115), (0, 114, 178)


@pytest.fixture(autouse=True)
def _pg(qapp):
    setup_pyqtgraph()


def trained(preset: str, **overrides):
    e = Engine(build_config(preset=preset, overrides=overrides))
    e.run()
    h = e.history
    return {k: np.asarray(h.columns[k][: h.n]) for k in h.columns}, e


def colour_of(curve) -> tuple[int, int, int]:
    return pg.mkPen(curve.opts["pen"]).color().getRgb()[:3]


def tick_labels(panel, side: str = "bottom") -> list[str]:
    """The tick labels pyqtgraph would draw on the panel's axis now (those that fit)."""
    axis = panel.plot.getAxis(side)
    img = QImage(10, 10, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    try:
        specs = axis.generateDrawSpecs(p)
    finally:
        p.end()
    return [text for _rect, _flags, text in specs[2]]


def test_at7_staircase_fills_the_singular_values_panel_and_the_tail_is_grey_and_clipped(qtbot):
    cols, e = trained("sensing_incremental_rank")
    from ibviewer.live.worker import _problem_info

    panel = PANEL_CLASSES["singular_values"](x_mode="log_step")
    qtbot.addWidget(panel.widget)
    panel.set_info(_problem_info(e))
    mirror = history_mirror({k: cols[k] for k in ("step", "time", "sv", "loss")})
    panel.update(DrawContext(Frame(mirror, "log_step"), None, "log_step"))
    (_x0, _x1), (y0, y1) = panel.vb.viewRange()
    log_sv = np.log10(cols["sv"])
    stair = math.log10(12.0) - log_sv[:, :3].min()  # σ₁…σ₃ from their start to the largest target
    print(f"AT7 panel: y 1e{y0:.2f}..1e{y1:.2f}; the staircase takes {stair / (y1 - y0):.0%} of the height")
    assert stair / (y1 - y0) >= 0.7
    # σ₁…σ₅ in colour, inside; σ₆…σ₂₀ one grey curve, reaching far below the bottom (clipped there)
    assert [c.yData is not None and len(c.yData) > 0 for c in panel.lead] == [True] * 5 + [False]
    assert colour_of(panel.rest) == GREY and np.nanmin(panel.rest.yData) < y0 - 3
    assert y0 <= log_sv[:, :5].min() and log_sv[:, :5].max() <= y1
    assert "σ6…σ20" in panel.legend_label.text()


def test_the_loss_axis_stops_under_the_saddle_to_saddle_plateaus(qtbot):
    runs = []
    for rid, (a, steps, c) in enumerate(((1e-2, 100000, BLUE), (1e-5, 20000, RED), (1e-10, 20000, GREEN))):
        cols, _e = trained("pesme_saddle_to_saddle", **{"model.init_scale": a, "run.steps": steps})
        m = history_mirror({k: cols[k] for k in ("step", "time", "loss")})
        runs.append(RunFrame(rid, f"α = {a:g}", c, Frame(m, "log_step")))
    lowest = min(np.log10(r.mirror["loss"]).min() for r in runs)
    assert lowest < -25  # α = 1e-2 reaches the arithmetic's floor
    panel = PANEL_CLASSES["loss"](x_mode="log_step")
    qtbot.addWidget(panel.widget)
    panel.set_info({"cfg": {"run": {"loss_tol": 0.0}}})
    asked = []
    panel.redraw_requested.connect(lambda: asked.append(1))
    ctx = DrawContext(runs[0].frame, None, "log_step", tuple(runs), selected_id=2, comparing=True)
    panel.update(ctx)
    (_x, (y0, y1)) = panel.vb.viewRange()
    print(f"loss panel with the floor: 1e{y0:.1f}..1e{y1:.1f}")
    assert -9.5 < y0 < -7  # eight decades under the top (1.35), not 28
    assert y0 < np.log10(runs[2].mirror["loss"]).min()  # the slow runs whole: their plateaus far above the floor
    # the floor off (the context menu): every decade again
    panel.floor_action.trigger()
    assert asked and panel.state()["floor"] is False
    panel.update(ctx)
    assert panel.vb.viewRange()[1][0] <= lowest


def test_a_locked_panel_keeps_its_ranges_and_a_session_keeps_the_lock(qtbot):
    steps = np.arange(0, 1001, 10.0)
    def ctx(n):
        m = history_mirror({"step": steps[:n], "time": 0.01 * steps[:n], "loss": 10.0 ** (-steps[:n] / 100)})
        return DrawContext(Frame(m, "step"), None, "step")

    panel = PANEL_CLASSES["loss"](x_mode="step")
    qtbot.addWidget(panel.widget)
    panel.set_info({})
    panel.update(ctx(21))  # steps 0..200, loss down to 1e-2
    before = panel.vb.viewRange()
    assert panel.range_lock.action in panel.vb.menu.actions()
    panel.range_lock.action.trigger()  # "Lock ranges" in the plot's context menu
    state = panel.state()
    assert state["range_lock"]["x_mode"] == "step"
    panel.update(ctx(101))  # the run goes on to step 1000 and 1e-10
    panel.fit_view()  # "Fit plots" leaves a locked panel alone
    panel.update(ctx(101))
    assert panel.vb.viewRange() == before
    # a session: a fresh panel given the saved choices shows the same ranges
    other = PANEL_CLASSES["loss"](x_mode="step")
    qtbot.addWidget(other.widget)
    other.set_info({})
    other.restore(state)
    other.update(ctx(101))
    np.testing.assert_allclose(other.vb.viewRange(), before)
    assert other.range_lock.action.isChecked()
    # another x axis: y stays, x is fitted on the new axis
    other.update(DrawContext(Frame(history_mirror({"step": steps, "loss": 10.0 ** (-steps / 100)}), "log_step"),
                             None, "log_step"))
    (lx0, lx1), ly = other.vb.viewRange()
    np.testing.assert_allclose(ly, before[1])
    assert 0.9 < lx0 < 1 and 3 < lx1 < 3.1  # log10 of steps 10…1000
    # unlocked: the ranges follow the data again
    panel.range_lock.action.trigger()
    assert "range_lock" not in panel.state()
    panel.update(ctx(101))
    assert panel.vb.viewRange()[1][0] < -7.5 and panel.vb.viewRange()[0][1] >= 1000  # down to the floor (1e-8)


@pytest.mark.parametrize("mode", ["step", "time", "rescaled"])
def test_linear_time_axes_label_their_start_even_when_narrow_or_with_large_text(qtbot, mode):
    steps = np.arange(0, 8001, 10.0)
    m = history_mirror({"step": steps, "time": 0.01 * steps, "loss": np.exp(-steps / 1000)})
    m.init_scale = 1e-3
    for width, scale in ((420, 1.0), (260, 1.0), (300, 2.0)):
        panel = PANEL_CLASSES["loss"](x_mode=mode)
        qtbot.addWidget(panel.widget)
        panel.set_font_scale(scale)
        panel.widget.resize(width, 300)
        panel.widget.show()
        panel.update(DrawContext(Frame(m, mode), None, mode))
        qtbot.wait(1)
        labels = tick_labels(panel)
        assert labels[0] == "0", (width, scale, labels)
        panel.widget.hide()


def test_the_window_plots_over_the_rescaled_time(qtbot, window):
    """AT7 (α = 1e-3): on the rescaled axis the loss is drawn at η·k / ln(1000)."""
    fresh(qtbot, window)
    window.step_n(40)
    settle(qtbot, window, 40)
    window.actions["x_rescaled"].trigger()
    assert window.x_mode == "rescaled" and window.x_axis.combo.currentData() == "rescaled"
    panel = window.panels["loss"]
    assert "ln(1/α)" in panel.plot.getAxis("bottom").labelText
    curve = next(c for c in panel.curves.values() if c.isVisible() and c.xData is not None and len(c.xData))
    np.testing.assert_allclose(curve.xData, window.mirror["time"] / math.log(1e3))
    assert tick_labels(panel)[0] == "0"
    window.set_x_mode("log_step")


def test_an_export_keeps_a_locked_panel_s_ranges_and_draws_the_rescaled_time(qapp):
    from ibviewer.gui.export import ExportLayout
    from ibviewer.gui.timeline import RunSource

    e = Engine(build_config(preset="sensing_incremental_rank", overrides={"run.steps": 300}))
    e.run()
    source = RunSource.from_engine(e, "run")
    held = {"x": [0.5, 2.0], "y": [-1.0, 2.5], "x_mode": "log_step"}
    lay = ExportLayout(source, ["loss", "singular_values"], (900, 400), x_mode="log_step",
                       panel_state={"loss": {"range_lock": held}})
    try:
        lay.show_row(lay.clock.n - 1)  # the export fits its axes to the whole run first
        np.testing.assert_allclose(lay.panels["loss"].vb.viewRange(), [held["x"], held["y"]])
        assert lay.panels["singular_values"].vb.viewRange()[0] != held["x"]  # not locked: fitted
    finally:
        lay.close_layout()
    lay = ExportLayout(source, ["loss"], (600, 400), x_mode="rescaled")
    try:
        lay.show_row(lay.clock.n - 1)
        curve = next(c for c in lay.panels["loss"].curves.values() if c.xData is not None and len(c.xData))
        np.testing.assert_allclose(curve.xData[-1], e.history.columns["time"][e.history.n - 1] / math.log(1e3))
    finally:
        lay.close_layout()
