"""Event markers in the window: the engine's events and the user's changes on every time panel and on the
timeline; clicking one shows the panels as of its step."""

from tests.gui.conftest import TIMEOUT_MS, settle


def _loss_markers(window):
    window.redraw()
    return window.panels["loss"].markers


def test_the_default_preset_marks_its_singular_values_in_the_order_they_are_learned(qtbot, window):
    window.step_n(3000)
    settle(qtbot, window, 3000)
    qtbot.waitUntil(lambda: any("learned" in m["label"] for m in window.controller.runs.selected.markers()),
                    timeout=TIMEOUT_MS)
    learned = [m for m in window.controller.runs.selected.markers() if m["kind"] == "learned"]
    # the incremental-learning preset (targets 12, 6, 3): largest first, each at its own step
    assert [m["label"] for m in learned] == ["σ₁ learned", "σ₂ learned", "σ₃ learned"]
    assert learned[0]["step"] < learned[1]["step"] < learned[2]["step"] <= 3000
    layer = _loss_markers(window)
    drawn = " ".join(layer.labels())
    assert "σ₁" in drawn and "σ₂" in drawn and "σ₃" in drawn
    assert len(layer.shown) == len(window.controller.runs.selected.markers())
    slider = window.recording.timeline.slider
    assert set(slider.labels()) >= {"σ₁ learned", "σ₂ learned", "σ₃ learned"}


def test_a_change_while_training_is_marked_at_its_step_and_a_reset_clears_it(qtbot, window):
    window.step_n(200)
    settle(qtbot, window, 200)
    window.controller.edit("optimizer.lr", 0.02)
    marks = [m for m in window.controller.runs.selected.markers() if m["kind"] == "edit"]
    assert marks == [{"step": 200, "kind": "edit", "label": "η = 0.02", "time": marks[0]["time"]}]
    window.step_n(50)
    settle(qtbot, window, 250)
    assert "η = 0.02" in " ".join(_loss_markers(window).labels())
    window.reset_run()
    settle(qtbot, window, 0)
    assert not [m for m in window.controller.runs.selected.markers() if m["kind"] == "edit"]


def test_a_change_that_restarts_the_runs_is_marked_as_a_restart(qtbot, window):
    gen = window.gen
    window.controller.edit("model.depth", 2)
    window.controller.send_config()
    qtbot.waitUntil(lambda: window.gen > gen and window.worker_ready and window.last_snap is not None,
                    timeout=TIMEOUT_MS)
    restarts = [m for m in window.controller.runs.selected.markers() if m["kind"] == "restart"]
    assert restarts == [{"step": 0, "kind": "restart", "label": "restart: depth = 2"}]


def test_clicking_a_marker_shows_the_panels_as_of_its_step(qtbot, window):
    window.step_n(3000)
    settle(qtbot, window, 3000)
    qtbot.waitUntil(lambda: any(m["kind"] == "learned" for m in window.controller.runs.selected.markers()),
                    timeout=TIMEOUT_MS)
    layer = _loss_markers(window)
    i = next(i for i, m in enumerate(layer.shown) if m["label"] == "σ₂ learned")
    line = layer.lines[i]
    line.sigClicked.emit(line, None)  # what a click on the line emits
    tl = window.recording.timeline
    assert not tl.live
    shown_step = int(tl.source().steps[tl.row])
    assert shown_step == layer.shown[i]["step"]  # events sit on recorded steps
    assert f"step {shown_step:,}" in tl.readout.text()


def test_the_changes_marked_on_a_run_are_saved_with_the_session(qtbot, window, tmp_path):
    window.step_n(120)
    settle(qtbot, window, 120)
    window.controller.edit("optimizer.lr", 0.02)
    path = tmp_path / "s.ibvs"
    n = len(window.status.messages)
    assert window.sessions.save(path)
    qtbot.waitUntil(lambda: any("saved" in m for m in window.status.messages[n:]), timeout=TIMEOUT_MS)
    window.reset_run()
    settle(qtbot, window, 0)
    assert not [m for m in window.controller.runs.selected.markers() if m["kind"] == "edit"]
    assert window.sessions.open(path)
    qtbot.waitUntil(lambda: any(m["kind"] == "edit" for m in window.controller.runs.selected.markers()),
                    timeout=TIMEOUT_MS)
    edit = [m for m in window.controller.runs.selected.markers() if m["kind"] == "edit"]
    assert [(m["step"], m["label"]) for m in edit] == [(120, "η = 0.02")]


def test_a_label_sits_on_a_box_of_the_plots_background_under_the_data_curves(qtbot):
    import pyqtgraph as pg

    from ibviewer.gui.panels.markers import MarkerLayer

    plot = pg.PlotItem()
    layer = MarkerLayer(plot)
    layer.draw([{"step": 100, "kind": "learned", "label": "σ₁ learned"}], "step", (0.0, 200.0))
    for dark, rgb in ((False, (255, 255, 255)), (True, (30, 32, 36))):
        layer.set_dark(dark)
        c = layer.lines[0].label.fill.color()
        assert (c.red(), c.green(), c.blue()) == rgb
        assert 0.5 < c.alphaF() < 0.9  # the grid and the neighbouring marker lines fade behind the text
    curve = plot.plot([0, 100, 200], [1, 2, 3])
    assert layer.lines[0].zValue() < curve.zValue()  # the box never hides the data at the moment it marks
