"""The geometry panel draws what was trained and what was computed: the path is the run's recorded x, the marks
sit at x_ℓ1, x_ℓ2 and the Q_α minimiser of the references' own solver, the solution line is A x = y; for three
unknowns, distances in the solution plane are kept; comparing runs, one path per run; and the panel is in the
layout only for small problems."""

import numpy as np
import pytest

from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.references import q_alpha_minimizer
from ibviewer.gui.panels import PANEL_CLASSES, setup_pyqtgraph
from ibviewer.live.draw import DrawContext, RunFrame, history_mirror
from ibviewer.live.series import Frame
from ibviewer.live.worker import problem_info

from .conftest import TIMEOUT_MS, settle


@pytest.fixture(autouse=True)
def _pg(qapp):
    setup_pyqtgraph()


def trained(steps: int = 3000, **over) -> Engine:
    cfg = build_config(preset="mirror_geometry_path", overrides={"run.steps": steps, **over})
    e = Engine(cfg)
    e.run(steps)
    return e


def columns(e: Engine) -> dict:
    h = e.history
    return {"step": h["step"], "state": h["state"], "loss": h["loss"]}


def context(e: Engine, **kw) -> DrawContext:
    mirror = history_mirror(columns(e))
    return DrawContext(Frame(mirror, "step"), {"product": e.product(), "step": e.step_count}, "step", **kw)


def curve_xy(item) -> np.ndarray:
    x, y = item.getData()
    return np.column_stack([x, y])


def scatter_xy(item) -> np.ndarray:
    x, y = item.getData()
    return np.column_stack([x, y])


def panel_for(e: Engine):
    panel = PANEL_CLASSES["geometry"](x_mode="step")
    panel.widget.resize(600, 600)
    panel.set_info(problem_info(e))
    return panel


def test_two_unknowns_path_points_and_line_are_the_run_s_and_the_solvers():
    e = trained()
    a, y = e.problem.data["A"], e.problem.data["y"]
    panel = panel_for(e)
    panel.update(context(e))
    states = np.asarray(e.history["state"], float)
    path = curve_xy(panel.path)
    # every recorded x, as recorded; the last row is the latest x (recorded at the last step), not drawn twice
    np.testing.assert_allclose(path, states, rtol=0, atol=0)
    np.testing.assert_allclose(path[-1], np.asarray(e.product()).ravel())
    refs = e.refs
    np.testing.assert_allclose(scatter_xy(panel.l1), [refs["min_l1"]], atol=1e-12)
    np.testing.assert_allclose(scatter_xy(panel.l2), [np.linalg.lstsq(a, y, rcond=None)[0]], atol=1e-12)
    # ▼: the panel's own 1-D root against the references' dual Newton solver
    np.testing.assert_allclose(scatter_xy(panel.q), [q_alpha_minimizer(a, y, 0.1)], rtol=1e-9)
    seg = curve_xy(panel.line)
    np.testing.assert_allclose(seg @ a[0], [y[0], y[0]], rtol=1e-12)  # the solution line A x = y
    assert len(curve_xy(panel.levels)) > 100 and np.isfinite(curve_xy(panel.key_level)).any()
    assert "ℓ<sub>1</sub>" in panel.texts["min_l1"].textItem.toHtml() or "ℓ" in panel.texts["min_l1"].textItem.toPlainText()
    assert panel.plot.getAxis("bottom").labelText.startswith("x")


def test_the_level_sets_can_be_turned_off_and_the_choice_is_saved():
    e = trained(500)
    panel = panel_for(e)
    assert panel.state()["theory"] is True
    panel.restore({"theory": False})
    panel.update(context(e))
    xs = panel.levels.getData()[0]
    assert (xs is None or len(xs) == 0) and not panel.levels.isVisible()
    assert len(curve_xy(panel.path)) > 0


def test_a_scrubbed_step_shows_the_path_up_to_it():
    e = trained()
    panel = panel_for(e)
    steps = np.asarray(e.history["step"])
    k = int(steps[len(steps) // 2])
    panel.update(context(e, shown_step=k))
    np.testing.assert_allclose(curve_xy(panel.path), np.asarray(e.history["state"])[steps <= k])


def test_three_unknowns_are_drawn_in_the_solution_plane():
    e = trained(**{"problem.n": 3, "problem.seed": 2})
    a, y = e.problem.data["A"][0], float(e.problem.data["y"][0])
    panel = panel_for(e)
    panel.update(context(e))
    assert panel.view.planar and "solution plane" in panel.plot.getAxis("bottom").labelText
    l1, l2 = e.refs["min_l1"], e.refs["min_l2"]
    np.testing.assert_allclose(scatter_xy(panel.l2), [[0, 0]], atol=1e-12)  # the origin of the plane: x_ℓ2
    np.testing.assert_allclose(scatter_xy(panel.l1), [[np.linalg.norm(l1 - l2), 0]], atol=1e-12)  # s along x_ℓ1 − x_ℓ2
    path = curve_xy(panel.path)
    np.testing.assert_allclose(path[0], [0, 0], atol=1e-12)  # x = 0 projects onto x_ℓ2
    # the projection onto the plane keeps distances within it: the end of training interpolates
    end = np.asarray(e.product()).ravel()
    assert abs(a @ end - y) < 1e-6
    assert np.linalg.norm(path[-1] - scatter_xy(panel.l1)[0]) == pytest.approx(np.linalg.norm(end - l1), abs=1e-6)
    q = q_alpha_minimizer(a[None], np.array([y]), 0.1)
    assert np.linalg.norm(scatter_xy(panel.q)[0]) == pytest.approx(np.linalg.norm(q - l2), rel=1e-9)
    xs = panel.line.getData()[0]
    assert xs is None or len(xs) == 0  # no line: the view is the plane


def test_comparing_runs_draws_one_path_and_one_minimiser_per_run():
    engines = {1.0: trained(**{"model.init_scale": 1.0}), 0.001: trained(**{"model.init_scale": 0.001})}
    colours = {1.0: (10, 20, 200), 0.001: (200, 20, 10)}
    runs = tuple(RunFrame(i, f"α = {al}", colours[al], Frame(history_mirror(columns(e)), "step"), e.cfg, e.refs,
                          e.product()) for i, (al, e) in enumerate(engines.items()))
    first = next(iter(engines.values()))
    panel = panel_for(first)
    panel.update(DrawContext(runs[0].frame, {"product": first.product(), "step": first.step_count}, "step",
                             runs=runs, selected_id=0, comparing=True))
    a, y = first.problem.data["A"], first.problem.data["y"]
    for run, (al, e) in zip(runs, engines.items()):
        path = curve_xy(panel.run_items[(run.id, "path")])
        np.testing.assert_allclose(path, np.asarray(e.history["state"]))
        tri = panel.run_items[(run.id, "q")]
        np.testing.assert_allclose(scatter_xy(tri), [q_alpha_minimizer(a, y, al)], rtol=1e-9)
        assert tri.opts["brush"].color().getRgb()[:3] == colours[al]
    assert not panel.path.isVisible() and not panel.q.isVisible()
    # the large α ends near x_ℓ2, the small one near x_ℓ1
    l1, l2 = first.refs["min_l1"], first.refs["min_l2"]
    big, small = (curve_xy(panel.run_items[(r.id, "path")])[-1] for r in runs)
    assert np.linalg.norm(big - l2) < 0.05 < np.linalg.norm(big - l1)
    assert np.linalg.norm(small - l1) < 0.05 < np.linalg.norm(small - l2)


def test_the_panel_says_what_it_needs_without_the_measurement():
    panel = PANEL_CLASSES["geometry"](x_mode="step")
    panel.set_info({"shape": (5,), "refs": {}, "cfg": {}})
    panel.update(DrawContext(Frame(history_mirror({"step": [0.0]}), "step")))
    assert "2 or 3 unknowns" in panel.empty_text.toPlainText()


def test_the_layout_has_the_panel_only_for_small_problems():
    from ibviewer.gui.docks import layout_for
    from ibviewer.gui.export import available_panels

    def names(cfg):
        cols, tabs = layout_for(cfg, [cfg])
        return [n for c in cols for n in c] + [t for t, _ in tabs]

    small = build_config(preset="mirror_geometry_path")
    assert "geometry" in names(small) and "stems" in names(small) and "geometry" in available_panels(small)
    for cfg in (build_config(preset="mirror_geometry_path", overrides={"problem.n": 3}),):
        assert "geometry" in names(cfg)
    for cfg in (build_config(preset="hadamard_l1_bias"),
                build_config(preset="mirror_geometry_path", overrides={"problem.n": 4}),
                build_config(preset="mirror_geometry_path", overrides={"problem.measurements": 2}),
                build_config(preset="sensing_depth_low_rank")):
        assert "geometry" not in names(cfg) and "geometry" not in available_panels(cfg)


def test_the_window_shows_the_panel_for_the_preset_and_drops_it_for_a_large_problem(qtbot, window):
    window.load_preset("mirror_geometry_path")
    qtbot.waitUntil(lambda: window.worker_ready and "geometry" in window.panels and len(window.runs) == 4,
                    timeout=TIMEOUT_MS)
    window.step_n(200)
    settle(qtbot, window, 200)
    panel = window.panels["geometry"]
    assert window.docks.dock_widgets["geometry"].isVisible()
    qtbot.waitUntil(lambda: len([k for k in panel.run_items if k[1] == "path"]) == 4, timeout=TIMEOUT_MS)
    for run in window.runs:
        path = curve_xy(panel.run_items[(run.id, "path")])
        np.testing.assert_allclose(path[:-1], np.asarray(run.mirror["state"], float)[: len(path) - 1])
    window.controller.edit("problem.n", 40)
    qtbot.waitUntil(lambda: window.worker_ready and "geometry" not in window.panels, timeout=TIMEOUT_MS)
    assert "stems" in window.panels


def test_an_export_draws_the_path_as_of_the_shown_row_for_every_run():
    from ibviewer.gui.export import ExportLayout
    from ibviewer.gui.timeline import RunSource

    sources = [RunSource.from_engine(trained(1500, **{"model.init_scale": al}), f"α = {al}") for al in (1.0, 0.001)]
    colours = [(10, 20, 200), (200, 20, 10)]
    lay = ExportLayout(sources[0], ["geometry"], (800, 600),
                       compare=[(s, s.name, c) for s, c in zip(sources, colours)])
    try:
        row = sources[0].n // 2
        lay.show_row(row)
        panel = lay.panels["geometry"]
        step = sources[0].steps[row]
        paths = [curve_xy(item) for key, item in panel.run_items.items() if key[1] == "path"]
        assert len(paths) == 2
        for src, path in zip(sources, paths):
            want = np.asarray(src.view(src.n)["state"], float)[np.asarray(src.steps[: src.n]) <= step]
            np.testing.assert_allclose(path[: len(want)], want)
            assert len(path) <= len(want) + 1  # at most the product as of that step after the rows
        lay.show_row(sources[0].n - 1)
        assert max(len(curve_xy(i)) for k, i in panel.run_items.items() if k[1] == "path") > max(map(len, paths))
    finally:
        lay.close_layout()


def test_a_compared_run_s_path_ends_at_its_product_as_of_a_scrubbed_step():
    """The window's timeline hands each compared run its x as of the shown step (one of its rows)."""
    e = trained()
    states = np.asarray(e.history["state"], float)
    k = len(states) // 3
    run = RunFrame(0, "run", (10, 20, 200), Frame(history_mirror(columns(e)), "step"), e.cfg, e.refs, states[k])
    panel = panel_for(e)
    panel.update(DrawContext(run.frame, {"product": states[k], "step": int(e.history["step"][k])}, "step",
                             runs=(run,), selected_id=0, comparing=True))
    np.testing.assert_allclose(curve_xy(panel.run_items[(0, "path")]), states[: k + 1])
