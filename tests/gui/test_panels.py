"""Panels without a window: drawn from hand-built DrawContexts, their saved choices, the old session view, an
export of compared runs, and the example of docs/adding_a_panel.md."""

import json
import re
import types
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest

from ibviewer.gui.panels import PANEL_CLASSES, saved_panel_states, setup_pyqtgraph, unregister
from ibviewer.live.draw import DrawContext, RunFrame, history_mirror
from ibviewer.live.series import Frame

from .conftest import TIMEOUT_MS

RED, GREEN = (213, 94, 0), (0, 158, 115)

#: a problem's info as the worker reports it (a 3x3 product of depth 3, two target singular values)
INFO = {"shape": (3, 3), "target_sv": [4.0, 1.0, 0.0], "refs": {}, "kind": "sensing",
        "cfg": {"model": {"depth": 3, "init_scale": 1e-3}, "optimizer": {"lr": 0.01}, "run": {"steps": 3000}}}


@pytest.fixture(autouse=True)
def _pg(qapp):
    setup_pyqtgraph()


def visible_curves(panel) -> list[pg.PlotCurveItem]:
    """The panel's visible curves that hold data."""
    return [it for it in panel.plot.items if isinstance(it, pg.PlotCurveItem) and it.isVisible()
            and it.yData is not None and len(it.yData)]


def colour_of(curve) -> tuple[int, int, int]:
    return pg.mkPen(curve.opts["pen"]).color().getRgb()[:3]


def run_frame(rid, name, colour, cols, x_mode="step"):
    return RunFrame(rid, name, colour, Frame(history_mirror(cols), x_mode), refs={})


def test_the_loss_panel_draws_two_runs_in_their_colours():
    steps = np.arange(0, 100, 10.0)
    a = run_frame(0, "fast", RED, {"step": steps, "loss": 10.0 ** (-steps / 50)})
    b = run_frame(1, "slow", GREEN, {"step": steps, "loss": 10.0 ** (-steps / 100)})
    ctx = DrawContext(a.frame, None, "step", (a, b), selected_id=0, comparing=True)
    panel = PANEL_CLASSES["loss"](x_mode="step")
    panel.set_info(INFO)
    panel.update(ctx)
    curves = visible_curves(panel)
    assert sorted(colour_of(c) for c in curves) == sorted([RED, GREEN])
    by_colour = {colour_of(c): c for c in curves}
    # log axis: the curves hold log10 of the losses
    np.testing.assert_allclose(by_colour[RED].yData, -steps / 50)
    np.testing.assert_allclose(by_colour[GREEN].yData, -steps / 100)
    np.testing.assert_allclose(by_colour[RED].xData, steps)
    assert "fast" in panel.legend_label.text() and "slow" in panel.legend_label.text()
    # one run again: the runs' curves go, the panel's own curve draws it
    panel.update(DrawContext(a.frame, None, "step"))
    assert [colour_of(c) for c in visible_curves(panel)] != [RED, GREEN]
    np.testing.assert_allclose(visible_curves(panel)[0].yData, -steps / 50)


def test_the_singular_values_theory_is_the_closed_form():
    """Depth 2 from σ(0) = α: the dashed predictions are s e^{2st} / (e^{2st} − 1 + s/α) (Saxe et al.)."""
    lr, alpha = 0.01, 1e-3
    steps = np.arange(0, 2001, 50.0)
    sv = np.full((len(steps), 3), alpha)
    info = dict(INFO, cfg={"model": {"depth": 2, "init_scale": alpha}, "optimizer": {"lr": lr},
                           "run": {"steps": 2000}})
    mirror = history_mirror({"step": steps, "time": lr * steps, "sv": sv})
    panel = PANEL_CLASSES["singular_values"](x_mode="time")
    panel.set_info(info)
    panel.restore({"theory": True})
    panel.update(DrawContext(Frame(mirror, "time"), None, "time"))
    drawn = [c for c in panel.th_curves if c.isVisible() and c.yData is not None and len(c.yData)]
    assert len(drawn) == 2  # one per nonzero target
    for s, c in zip((4.0, 1.0), drawn):
        t, y = c.xData, c.yData
        with np.errstate(over="ignore", invalid="ignore"):
            closed = s * np.exp(2 * s * t) / (np.exp(2 * s * t) - 1 + s / alpha)
        closed = np.where(np.isfinite(closed), closed, s)
        np.testing.assert_allclose(10.0 ** y, closed, rtol=1e-9)
    # the half-times ◆ at ln(s/α − 1) / (2s), at height s/2
    hx, hy = panel.th_marks.getData()
    np.testing.assert_allclose(hx, [np.log(s / alpha - 1) / (2 * s) for s in (4.0, 1.0)])
    np.testing.assert_allclose(10.0 ** hy, [2.0, 0.5])


def test_the_theory_of_u_u_transpose_is_the_closed_form_at_twice_the_time():
    """W = U Uᵀ: dσ/dt = 4σ(s − σ), the depth-2 closed form at time 2t, and half-times half as long."""
    lr, alpha = 0.01, 1e-3
    steps = np.arange(0, 2001, 50.0)
    info = dict(INFO, cfg={"model": {"depth": 2, "init_scale": alpha, "parametrization": "symmetric"},
                           "optimizer": {"lr": lr}, "run": {"steps": 2000}})
    mirror = history_mirror({"step": steps, "time": lr * steps, "sv": np.full((len(steps), 3), alpha)})
    panel = PANEL_CLASSES["singular_values"](x_mode="time")
    panel.set_info(info)
    panel.restore({"theory": True})
    panel.update(DrawContext(Frame(mirror, "time"), None, "time"))
    drawn = [c for c in panel.th_curves if c.isVisible() and c.yData is not None and len(c.yData)]
    for s, c in zip((4.0, 1.0), drawn):
        t = 2 * c.xData
        with np.errstate(over="ignore", invalid="ignore"):
            closed = s * np.exp(2 * s * t) / (np.exp(2 * s * t) - 1 + s / alpha)
        np.testing.assert_allclose(10.0 ** c.yData, np.where(np.isfinite(closed), closed, s), rtol=1e-9)
    assert c.xData[-1] >= lr * 2000  # the prediction spans the run
    hx, _ = panel.th_marks.getData()
    np.testing.assert_allclose(hx, [np.log(s / alpha - 1) / (4 * s) for s in (4.0, 1.0)])


def changed(state: dict) -> dict:
    """Every choice of ``state`` set away from its default."""
    other = {"theory": True, "form": "stable", "layer": 2, "floor": False}
    return {k: other[k] for k in state}


@pytest.mark.parametrize("name", sorted(PANEL_CLASSES))
def test_state_round_trips_for_every_panel(name):
    cls = PANEL_CLASSES[name]
    first = cls(x_mode="log_step")
    first.set_info(INFO)
    default = first.state()
    assert set(default) <= {"theory", "form", "layer", "floor"}
    want = changed(default)
    asked = []
    first.redraw_requested.connect(lambda: asked.append(1))
    first.restore(want)
    assert first.state() == want
    assert bool(asked) == bool(want)  # a choice that changes the drawing asks for a redraw
    # through JSON (a session file) into a fresh panel
    second = cls(x_mode="log_step")
    second.set_info(INFO)
    second.restore(json.loads(json.dumps(first.state())))
    assert second.state() == want
    second.restore({"no such choice": 1})  # newer files: unknown keys are ignored
    assert second.state() == want


@pytest.mark.parametrize("name", sorted(PANEL_CLASSES))
def test_every_panel_s_signals_belong_to_its_widget(name):
    """Qt, not the garbage collector, deletes a panel's QObjects: one left to the collector can be destroyed inside
    a Qt call that holds the signal mutex, and the GUI thread then waits on that mutex forever."""
    panel = PANEL_CLASSES[name](x_mode="step")
    assert panel.signals.parent() is panel.widget


def test_a_layer_chosen_before_the_run_is_known_is_kept():
    panel = PANEL_CLASSES["layer_sv"]()
    panel.restore({"layer": 1})
    panel.set_info(INFO)
    assert panel.state() == {"layer": 1}


def test_an_old_session_view_gives_each_panel_its_choices():
    old = {"theory": ["singular_values"], "panels": {"effective_rank": {"form": "stable"}, "layer_sv": {"layer": 1}}}
    names = ["singular_values", "norms", "effective_rank", "layer_sv", "loss"]
    states = saved_panel_states(old, names)
    panels = {n: PANEL_CLASSES[n]() for n in names}
    for n, p in panels.items():
        p.set_info(INFO)
        p.restore(states.get(n, {}))
    assert panels["singular_values"].state() == {"theory": True}
    assert panels["norms"].state() == {"theory": False}
    assert panels["effective_rank"].state() == {"theory": False, "form": "stable"}  # its box: the rank-r window
    assert panels["layer_sv"].state() == {"layer": 1}
    # the new form reads the same
    new = {"panels": {n: p.state() for n, p in panels.items()}}
    assert {n: s for n, s in saved_panel_states(new, names).items() if s} == {
        n: p.state() for n, p in panels.items() if p.state()}


def test_a_window_restores_a_session_view_saved_with_the_old_keys(qtbot, tmp_path):
    from ibviewer.core.config import DEFAULT_PRESET, build_config
    from ibviewer.core.engine import Engine
    from ibviewer.core.session import save_session
    from ibviewer.gui.window import MainWindow

    cfg = build_config(preset=DEFAULT_PRESET)
    e = Engine(cfg)
    e.step(20)
    path = tmp_path / "old.ibvs"
    save_session(path, [("run", e)], {"theory": ["singular_values"], "panels": {"effective_rank": {"form": "stable"}}})
    win = MainWindow(build_config(preset=DEFAULT_PRESET), session=str(path), speed=0)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.worker_ready and win.runs and win.runs[0].entry is not None
                        and win.panels["singular_values"].theory, timeout=TIMEOUT_MS)
        assert win.panels["singular_values"].state() == {"theory": True}
        assert win.panels["effective_rank"].state() == {"theory": False, "form": "stable"}  # its box: the window
        assert win.panels["norms"].state() == {"theory": False}
        view = win.view_state()
        assert "theory" not in view and view["panels"]["effective_rank"] == {"theory": False, "form": "stable"}
        assert view["panels"]["singular_values"] == {"theory": True}
    finally:
        win.close()


def test_an_export_of_compared_runs_needs_no_window(qapp):
    from ibviewer.core.config import DEFAULT_PRESET, build_config
    from ibviewer.core.engine import Engine
    from ibviewer.gui.export import ExportLayout
    from ibviewer.gui.timeline import RunSource

    sources = []
    for lr in (0.01, 0.005):
        e = Engine(build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 300), ("optimizer.lr", lr)]))
        e.run()
        sources.append(RunSource.from_engine(e, f"η = {lr}"))
    lay = ExportLayout(sources[0], ["loss", "heatmap"], (800, 400), compare=[(sources[0], "fast", RED),
                                                                           (sources[1], "slow", GREEN)])
    try:
        lay.show_row(lay.clock.n - 1)
        assert sorted(colour_of(c) for c in visible_curves(lay.panels["loss"])) == sorted([RED, GREEN])
        assert lay.panels["heatmap"].title_w.textItem.toPlainText() == "W of fast"
    finally:
        lay.close_layout()


def test_the_example_of_adding_a_panel_works():
    text = (Path(__file__).resolve().parents[2] / "docs" / "adding_a_panel.md").read_text(encoding="utf-8")
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    module = types.ModuleType("wall_clock_example")
    exec(compile(code, "docs/adding_a_panel.md", "exec"), module.__dict__)
    from ibviewer.gui.panels import register

    register(module.WallClockPanel)
    try:
        assert PANEL_CLASSES["wall_clock"] is module.WallClockPanel
        with pytest.raises(ValueError, match="taken"):
            register(type("Other", (module.WallClockPanel,), {}))
        steps = np.arange(0, 50, 5.0)
        frame = Frame(history_mirror({"step": steps, "wall": steps / 100}), "step")
        panel = PANEL_CLASSES["wall_clock"]()
        panel.set_info(INFO)
        panel.update(DrawContext(frame, None, "step"))
        (curve,) = visible_curves(panel)
        np.testing.assert_allclose(curve.yData, steps / 100)
    finally:
        unregister("wall_clock")
    assert "wall_clock" not in PANEL_CLASSES


def test_the_heatmap_draws_a_large_w_as_a_block_mean_image_over_the_matrixs_own_extent():
    from ibviewer.live.display import DISPLAY_SIDE

    d = 1000
    rng = np.random.default_rng(1)
    w = rng.standard_normal((d, 1)) @ rng.standard_normal((1, d))
    panel = PANEL_CLASSES["heatmap"]()
    panel.set_info({**INFO, "shape": (d, d), "target": w})
    panel.update(DrawContext(Frame(history_mirror({"step": np.arange(3.0)}), "step"), {"product": w, "step": 2}))
    img = panel.img_w.image
    assert max(img.shape) <= DISPLAY_SIDE
    assert np.isclose(img[0, 0], w[:2, :2].mean(), rtol=1e-5)  # 1000 / 512: blocks of 2 x 2
    r = panel.img_w.mapRectToParent(panel.img_w.boundingRect())
    assert (round(r.width()), round(r.height())) == (d, d)  # placed over W's 1,000 x 1,000 entries
    assert max(panel.img_t.image.shape) <= DISPLAY_SIDE


def test_the_spectrum_legend_says_when_a_large_products_rows_hold_its_top_values_only():
    panel = PANEL_CLASSES["singular_values"]()
    panel.set_info({**INFO, "shape": (1000, 1000), "target_sv": [4.0, 1.0], "sv_count": 64})
    labels = [text for _, text in panel.legend_item.entries]
    assert any(t.endswith("…σ64 (top 64 of 1,000)") for t in labels), labels
    panel.set_info({**INFO, "shape": (30, 30), "target_sv": [4.0, 1.0], "sv_count": 30})
    assert not any("top" in t for _, t in panel.legend_item.entries)


def test_the_coordinates_theory_at_step_0_on_a_log_axis_draws_nothing_and_warns_nothing():
    import warnings

    panel = PANEL_CLASSES["coordinates"](x_mode="log_step")
    info = {"shape": (4,), "support": [0, 2], "target": np.array([1.0, 0.0, -0.5, 0.0]), "kind": "sparse_recovery",
            "refs": {"min_l1": np.array([1.0, 0.0, -0.5, 0.0]), "min_l2": np.array([0.6, 0.1, -0.3, 0.2])},
            "cfg": {"model": {"depth": 2, "init_scale": 1e-3}, "problem": {"kind": "sparse_recovery"}}}
    panel.set_info(info)
    panel.set_theory(True)
    frame = Frame(history_mirror({"step": np.array([0.0]), "state": np.zeros((1, 4))}), "log_step")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before, nanmax of the all-NaN x warned
        panel.update(DrawContext(frame, {"product": np.zeros(4), "step": 0}, "log_step"))
    assert len(panel.ref_marks["min_l1"].getData()[0]) == 0


def test_a_legend_wraps_between_entries_never_inside_one(qapp):
    """"σ1–σ3" and "Σσ^(2/N)" stay whole at every width: Qt would break after the en dash or the slash."""
    from PySide6.QtGui import QTextDocument
    from PySide6.QtWidgets import QLabel

    from ibviewer.gui.panels.style import HtmlLegend

    label = QLabel()
    legend = HtmlLegend(label)
    for name in ("U Uᵀ", "W₃W₂W₁", "σ1–σ3", "Σσ^(2/N)", "‖W‖_F"):
        legend.addItem(pg.PlotCurveItem(pen=pg.mkPen("#1f77b4")), name)
    html = label.text()
    assert "<sub>" in html  # the tags the symbols make are left whole
    doc = QTextDocument()
    doc.setHtml(html)
    for width in range(120, 400, 3):
        doc.setTextWidth(width)
        doc.documentLayout()
        doc.size()
        block, lines = doc.begin(), []
        while block.isValid():
            lay, text = block.layout(), block.text()
            lines += [text[lay.lineAt(i).textStart():][: lay.lineAt(i).textLength()] for i in range(lay.lineCount())]
            block = block.next()
        inside = [t for t in lines if t.rstrip("\u2060 \u00a0").endswith(("–", "/", "(", "σ1"))]
        assert not inside, (width, lines)


def test_the_heatmap_titles_shorten_where_the_full_ones_would_overrun_their_images(qapp):
    panel = PANEL_CLASSES["heatmap"]()
    panel.set_info(dict(INFO, shape=(20, 20), target=np.eye(20)))
    box = panel.box if hasattr(panel, "box") else panel.widget
    titles = {}
    for width in (1400, 260):
        box.resize(width, 420)
        box.show()
        qapp.processEvents()
        t = panel.title_t
        titles[width] = t.textItem.toPlainText()
        # what is drawn fits over its image and half of each gap
        per_unit = panel.vb.width() / (panel.vb.viewRange()[0][1] - panel.vb.viewRange()[0][0])
        assert t.textItem.boundingRect().width() - 8 <= 1.15 * 20 * per_unit  # (the item's margins: 4 px a side)
    box.hide()
    assert titles == {1400: "ground truth W*", 260: "W*"}
