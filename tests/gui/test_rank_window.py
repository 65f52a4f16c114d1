"""The window closest to the best rank-r approximation in the app: the preset of AT18, the "window" boxes of the
errors and effective-rank panels, and the shaded band they draw, checked against the window computed here from
the recorded distances; and the incremental-learning preset of AT17 with its activation markers."""

import numpy as np

from tests.gui.conftest import TIMEOUT_MS, settle


def window_from(steps: np.ndarray, dist: np.ndarray, factor: float = 10.0) -> tuple[int, int]:
    """The steps around the least distance at which it is within ``factor`` of it (computed here)."""
    i = int(np.argmin(dist))
    a = b = i
    while a > 0 and dist[a - 1] <= factor * dist[i]:
        a -= 1
    while b + 1 < len(dist) and dist[b + 1] <= factor * dist[i]:
        b += 1
    return int(steps[a]), int(steps[b])


def test_the_window_boxes_draw_the_band_at_the_computed_window(qtbot, window):
    window.load_preset("factorization_rank_window")
    qtbot.waitUntil(lambda: window.worker_ready and window.cfg.problem.target == "lowrank_noise"
                    and window.last_snap is not None, timeout=TIMEOUT_MS)
    errors, erank = window.panels["errors"], window.panels["effective_rank"]
    for panel in (errors, erank):
        assert panel.theory_box.isVisibleTo(panel.widget)  # the run has a best rank-r approximation
        assert not panel.theory_box.isChecked() and not panel.band.shown
    window.step_n(2000)
    settle(qtbot, window, 2000)
    run = window.controller.runs.selected
    qtbot.waitUntil(lambda: any(m["kind"] == "closest_rank_r" for m in run.markers()), timeout=TIMEOUT_MS)
    for panel in (errors, erank):
        panel.theory_box.setChecked(True)  # as a click does
    window.redraw()
    steps = np.asarray(run.mirror["step"])
    start, end = window_from(steps, np.asarray(run.mirror["dist_best_rank_r"]))
    assert 50 < start < end < 1000  # strictly inside the run
    for panel in (errors, erank):
        assert panel.band.shown and panel.band.text() == "closest to W₂"
        np.testing.assert_allclose(panel.band.span(), np.log10([start, end]))  # the log-step axis
    window.set_x_mode("step")
    window.redraw()
    np.testing.assert_allclose(errors.band.span(), [start, end])
    errors.theory_box.setChecked(False)
    window.redraw()
    assert not errors.band.shown and erank.band.shown
    assert errors.state()["theory"] is False and erank.state()["theory"] is True  # kept by sessions and exports


def test_the_window_boxes_are_hidden_without_a_noisy_low_rank_target(qtbot, window):
    # the default preset is sensing: no best rank-r approximation, no box
    assert not window.panels["errors"].theory_box.isVisibleTo(window.panels["errors"].widget)
    assert not window.panels["errors"].band.shown


def test_the_incremental_learning_preset_compares_four_depths_with_their_activations(qtbot, window):
    window.load_preset("gissin_incremental_depth")
    qtbot.waitUntil(lambda: window.worker_ready and len(window.runs) == 4 and window.last_snap is not None,
                    timeout=TIMEOUT_MS)
    assert sorted(r.cfg.model.depth for r in window.runs) == [1, 2, 3, 4]
    assert window.cfg.problem.singular_values == [12.0, 6.0, 4.0, 3.0] and window.cfg.problem.d == 50


def test_an_export_shades_the_window_as_the_window_does(qapp):
    from ibviewer.core.config import build_config
    from ibviewer.core.engine import Engine
    from ibviewer.gui.export import ExportLayout
    from ibviewer.gui.timeline import RunSource

    e = Engine(build_config(preset="factorization_rank_window"))
    e.run()
    steps = np.asarray(e.history["step"])
    start, end = window_from(steps, np.asarray(e.history["dist_best_rank_r"]))
    lay = ExportLayout(RunSource.from_engine(e, "run"), ["errors", "effective_rank"], (800, 400),
                       panel_state={"errors": {"theory": True}, "effective_rank": {"theory": False}})
    try:
        lay.show_row(lay.clock.n - 1)
        errors, erank = lay.panels["errors"], lay.panels["effective_rank"]
        assert errors.band.shown and not erank.band.shown  # as the saved states say
        np.testing.assert_allclose(errors.band.span(), np.log10([start, end]))
        lay.show_row(int(np.searchsorted(steps, start)))  # before the least distance: its marker and band not yet
        assert not errors.band.shown
    finally:
        lay.close_layout()
