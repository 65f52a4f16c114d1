"""The live window against a real worker process."""

import math

import numpy as np
import pytest
import tomllib
from PySide6.QtCore import Qt

from ibviewer.core.config import DEFAULT_PRESET, build_config, set_key
from ibviewer.gui.window import MainWindow

from .conftest import TIMEOUT_MS, fresh, settle


def test_window_opens_at_once_and_reports_the_worker_ready(qtbot):
    cfg = build_config(preset=DEFAULT_PRESET)
    win = MainWindow(cfg, preset=DEFAULT_PRESET)
    win.show()
    try:
        # shown before the worker has even started (it imports numpy and builds the run on its own)
        assert "starting" in win.status.worker_label.text() and not win.worker_ready
        qtbot.waitUntil(lambda: win.worker_ready, timeout=TIMEOUT_MS)
        assert "worker ready" in win.status.worker_label.text()
        assert win.client.is_alive()
        # the default preset's panels, each in a dock
        for name in ("loss", "singular_values", "effective_rank", "norms", "balancedness", "errors", "heatmap"):
            assert name in win.panels and win.docks.dock_widgets[name].widget() is win.panels[name].widget
        assert win.windowTitle().startswith("ibviewer")
        qtbot.waitUntil(lambda: win.last_snap is not None, timeout=TIMEOUT_MS)
        assert win.last_snap["step"] == 0 and win.last_snap["loss"] > 1.0
        proc = win.client.process
    finally:
        win.close()
    assert not proc.is_alive()


def test_play_makes_the_loss_fall(qtbot, window):
    first = fresh(qtbot, window)
    assert first["loss"] > 10  # ||W*||-sized residual at the start
    window.play()
    qtbot.waitUntil(lambda: window.last_snap["loss"] < 1e-2, timeout=TIMEOUT_MS)
    # the panels drew what arrived: the mirror's loss column is the history of the run
    loss = window.mirror["loss"]
    assert loss[0] > 10 and loss[-1] < 1e-1 and np.all(np.isfinite(loss))
    assert window.frames_drawn > 1
    window.pause()
    settle(qtbot, window)
    assert window.docks.errors == []


def test_pause_stops_the_step_count(qtbot, window):
    fresh(qtbot, window)
    window.play()
    qtbot.waitUntil(lambda: window.last_snap["step"] > 200 and window.last_snap["playing"], timeout=TIMEOUT_MS)
    window.pause()
    s1 = settle(qtbot, window)["step"]
    qtbot.wait(400)
    window.set_speed(0)  # any command makes the worker report its state again
    n = window.snap_count
    qtbot.waitUntil(lambda: window.snap_count > n, timeout=TIMEOUT_MS)
    assert window.last_snap["step"] == s1
    assert not window.last_snap["playing"]


def test_step_one_and_step_n_are_exact(qtbot, window):
    fresh(qtbot, window)
    window.step_once()
    assert settle(qtbot, window, 1)["step"] == 1
    window.step_n(37)
    assert settle(qtbot, window, 38)["step"] == 38
    window.controls.widgets["step_n"].setValue(250)
    window.step_n()
    assert settle(qtbot, window, 288)["step"] == 288
    qtbot.wait(300)
    window.set_speed(0)
    n = window.snap_count
    qtbot.waitUntil(lambda: window.snap_count > n, timeout=TIMEOUT_MS)
    assert window.last_snap["step"] == 288  # no step beyond


def test_reset_returns_to_step_zero_with_the_same_loss(qtbot, window):
    loss0 = fresh(qtbot, window)["loss"]
    window.step_n(500)
    s = settle(qtbot, window, 500)
    assert s["loss"] < loss0
    window.reset_run()
    s = settle(qtbot, window, 0)
    assert s["loss"] == loss0
    assert window.mirror.n == 0  # the plots start over


def test_live_learning_rate_change_takes_effect(qtbot, window):
    fresh(qtbot, window)
    window.step_n(10)
    settle(qtbot, window, 10)
    t10 = window.last_snap["time"]
    window.set_lr(0.004)
    assert window.cfg.optimizer.lr == 0.004
    assert window.controls.widgets["optimizer.lr"].value() == 0.004
    window.step_n(10)
    s = settle(qtbot, window, 20)
    # time = sum of the step sizes: the last 10 steps used the new one (no reset happened)
    assert s["lr"] == 0.004
    assert s["time"] - t10 == pytest.approx(10 * 0.004, rel=1e-9)
    window.set_lr(0.01)
    settle(qtbot, window)


def test_diverging_setting_pauses_with_a_message(qtbot, window):
    cfg = build_config(preset=DEFAULT_PRESET)
    set_key(cfg, "optimizer.lr", 5.0)
    window.apply_config(cfg.validate(), "test: a diverging step size")
    qtbot.waitUntil(lambda: window.worker_ready and window.last_snap is not None, timeout=TIMEOUT_MS)
    window.play()
    qtbot.waitUntil(lambda: window.last_snap["status"] == "diverged", timeout=TIMEOUT_MS)
    s = settle(qtbot, window)
    assert not window.playing and not s["playing"]
    text = window.status.run_label.text()
    assert f"diverged at step {s['step']}" in text and "lower optimizer.lr" in text
    assert "\n" not in text
    # the plots keep finite values only, up to the blow-up
    assert window.mirror.n > 0 and np.all(np.isfinite(window.mirror["loss"]))
    # play refuses with a message that says both ways on, instead of starting
    window.play()
    assert not window.playing
    assert "lower η and press C to go on, or R to reset" in window.status.messages[-1]
    assert window.docks.errors == []
    window.load_preset(DEFAULT_PRESET)
    qtbot.waitUntil(lambda: window.worker_ready and window.last_snap is not None
                    and window.last_snap["status"] == "ready", timeout=TIMEOUT_MS)
    window.set_speed(0)


def test_max_steps_stops_and_raising_it_goes_on(qtbot, window):
    fresh(qtbot, window)
    window.controller.edit("run.steps", 300)
    window.play()
    qtbot.waitUntil(lambda: window.last_snap["status"] == "max_steps", timeout=TIMEOUT_MS)
    assert settle(qtbot, window)["step"] == 300
    assert "finished" in window.status.run_label.text() and "run.steps = 300" in window.status.run_label.text()
    window.play()  # stays at the limit, says why
    assert "raise max steps" in window.statusBar().currentMessage()
    window.controller.edit("run.steps", 600)
    window.play()
    qtbot.waitUntil(lambda: window.last_snap["step"] == 600 and window.last_snap["status"] == "max_steps",
                    timeout=TIMEOUT_MS)
    window.controller.edit("run.steps", 8000)
    assert window.cfg.run.steps == 8000


def test_bad_input_gives_one_line_and_restores_the_control(qtbot, window):
    fresh(qtbot, window)
    lr = window.controls.widgets["optimizer.lr"]
    lr.field.setText("fast please")
    lr.field.editingFinished.emit()
    assert "not a number" in window.statusBar().currentMessage()
    assert lr.field.text() == "0.01" and window.cfg.optimizer.lr == 0.01
    lr.field.setText("-3")
    lr.field.editingFinished.emit()
    assert "positive" in window.statusBar().currentMessage()
    # a value the config refuses: rank above the matrix size
    gen = window.gen
    window.controller.edit("problem.rank", 500)
    msg = window.statusBar().currentMessage()
    assert "problem.rank" in msg and "\n" not in msg
    assert window.cfg.problem.rank == 3 and window.controls.widgets["problem.rank"].value() == 3
    assert window.gen == gen  # nothing was sent


def test_a_config_the_worker_cannot_build_is_reported_and_undone(qtbot, window):
    fresh(qtbot, window)
    too_many = [1.0] * 21  # valid numbers, but more singular values than a 20 x 20 matrix has
    window.controller.edit("problem.singular_values", too_many)
    qtbot.waitUntil(lambda: "nothing was changed" in window.statusBar().currentMessage(), timeout=TIMEOUT_MS)
    assert "problem.singular_values" in window.statusBar().currentMessage()
    assert window.cfg.problem.singular_values == [12.0, 6.0, 3.0]
    assert window.controls.widgets["problem.singular_values"].text() == "12, 6, 3"
    qtbot.waitUntil(lambda: window.worker_ready and window.last_snap is not None, timeout=TIMEOUT_MS)
    window.step_n(3)
    assert settle(qtbot, window, 3)["step"] == 3


def test_problem_change_restarts_the_run_and_says_so(qtbot, window):
    window.controller.edit("model.depth", 2)
    assert "restarts from step 0" in window.statusBar().currentMessage()
    gen = window.gen
    qtbot.waitUntil(lambda: window.gen > gen and window.worker_ready and window.last_snap is not None,
                    timeout=TIMEOUT_MS)
    assert window.info["cfg"]["model"]["depth"] == 2 and window.last_snap["step"] == 0
    assert len(window.panels["balancedness"].bal) == 1
    window.load_preset(DEFAULT_PRESET)
    qtbot.waitUntil(lambda: window.worker_ready and window.info["cfg"]["model"]["depth"] == 3, timeout=TIMEOUT_MS)


def test_x_axis_modes_redraw_every_panel(qtbot, window):
    # one run (a preset opens with all the runs it compares): the panel's own curves
    window.apply_config(build_config(preset=DEFAULT_PRESET), preset=DEFAULT_PRESET)
    qtbot.waitUntil(lambda: window.worker_ready and window.last_snap is not None, timeout=TIMEOUT_MS)
    fresh(qtbot, window)
    window.step_n(300)
    settle(qtbot, window, 300)
    curve = window.panels["loss"].curves[("loss", -1)]
    for mode in ("step", "time", "log_step"):
        window.set_x_mode(mode)
        x, _ = curve.getData()
        if mode == "step":
            assert x.max() == 300
        elif mode == "time":
            assert x.max() == pytest.approx(300 * 0.01)
        else:
            assert np.nanmax(x) == pytest.approx(math.log10(300))
    assert window.x_axis.combo.currentData() == "log_step"
    assert window.docks.errors == []


def test_keyboard_shortcuts(qtbot, window):
    fresh(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    settle(qtbot, window, 1)
    window.controls.widgets["step_n"].setValue(9)
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    settle(qtbot, window, 10)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.last_snap["playing"] and window.last_snap["step"] > 10, timeout=TIMEOUT_MS)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    settle(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_R)
    settle(qtbot, window, 0)
    # Ctrl+S / Ctrl+O keep the whole session (a lecturer's history); the bare config is Ctrl+Shift+S / O
    assert window.actions["save_session"].shortcut().toString() == "Ctrl+S"
    assert window.actions["open_session"].shortcut().toString() == "Ctrl+O"
    assert window.actions["save_config"].shortcut().toString() == "Ctrl+Shift+S"
    assert window.actions["open_config"].shortcut().toString() == "Ctrl+Shift+O"
    assert window.actions["fullscreen"].shortcut().toString() == "F11"


def test_config_save_and_open_round_trip(qtbot, window, tmp_path):
    window.set_lr(0.007)
    path = tmp_path / "run.toml"
    assert window.files.save_config(path)
    assert [p.name for p in tmp_path.iterdir()] == ["run.toml"]  # written atomically: no temp file left
    data = tomllib.loads(path.read_text())
    assert data["optimizer"]["lr"] == 0.007 and data["model"]["depth"] == 3
    assert build_config(config_file=path).to_dict() == window.cfg.to_dict()
    # open a changed file: it becomes the run
    path.write_text(path.read_text().replace("depth = 3", "depth = 2"))
    assert window.files.open_config(path)
    qtbot.waitUntil(lambda: window.worker_ready and window.info["cfg"]["model"]["depth"] == 2, timeout=TIMEOUT_MS)
    # a broken file: a message, nothing changes
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\ndepth = ")
    assert not window.files.open_config(bad)
    assert "not valid TOML" in window.statusBar().currentMessage()
    assert not window.files.save_config(tmp_path / "missing" / "x.toml")
    assert "cannot save" in window.statusBar().currentMessage()
    window.load_preset(DEFAULT_PRESET)
    qtbot.waitUntil(lambda: window.worker_ready and window.info["cfg"]["model"]["depth"] == 3, timeout=TIMEOUT_MS)
    assert window.cfg.optimizer.lr == 0.01


@pytest.mark.parametrize("preset", ["hadamard_l1_bias", "logistic_max_margin", "deep_linear_balancedness",
                                    "razin_cohen_norms_diverge", "mlp_lazy_vs_rich"])
def test_every_family_draws_its_panels(qtbot, window, preset):
    window.load_preset(preset)
    window.set_speed(0)
    qtbot.waitUntil(lambda: window.worker_ready and window.last_snap is not None, timeout=TIMEOUT_MS)
    window.step_n(400)
    settle(qtbot, window, 400)
    fam = window.cfg.family
    expected = {"diagonal": {"coordinates", "stems", "errors"}, "classifier": {"data", "w_norm", "angle", "margin"},
                "linear_network": {"balancedness", "heatmap", "singular_values"},
                "factorization": {"heatmap", "singular_values", "norms"},
                "mlp": {"layer_sv", "layer_rank", "layer_rel_change"}}[fam]
    assert expected <= set(window.panels)
    assert window.docks.errors == []
    if fam == "diagonal":
        x, _ = window.panels["coordinates"].rest.getData()
        assert len(x) > 0
    if fam == "classifier":
        x, _ = window.panels["data"].current.getData()
        assert len(x) == 2  # the current separator is drawn
    window.load_preset(DEFAULT_PRESET)
    qtbot.waitUntil(lambda: window.worker_ready and window.cfg.family == "factorization"
                    and window.info["cfg"]["problem"]["kind"] == "matrix_sensing", timeout=TIMEOUT_MS)
    window.set_speed(0)


def test_a_long_preset_description_is_shown_whole(qtbot):
    from PySide6.QtWidgets import QApplication

    win = MainWindow(build_config(preset="mlp_lazy_vs_rich"), preset="mlp_lazy_vs_rich")
    win.resize(1560, 940)
    win.show()
    try:
        label = win.controls.description
        qtbot.waitUntil(lambda: label.isVisible() and label.width() > 50, timeout=TIMEOUT_MS)
        for _ in range(5):
            QApplication.processEvents()
        assert len(label.text()) > 300
        assert label.height() >= label.heightForWidth(label.width())  # no line cut off
    finally:
        win.close()


def test_subscripts_are_typeset_in_labels_legends_and_dock_titles(qtbot, window):
    sv = window.panels["singular_values"]
    assert "σ<sub>i</sub>(W)" in sv.plot.getAxis("left").labelText
    assert window.docks.dock_widgets["singular_values"].windowTitle() == "Singular values σᵢ(W)"
    norms = window.panels["norms"]
    qtbot.waitUntil(lambda: "<sub>" in norms.legend_label.text(), timeout=TIMEOUT_MS)
    assert "_F" not in norms.legend_label.text() and "_*" not in norms.legend_label.text()


def test_reference_cycles_are_collected_on_the_gui_thread_between_events(window):
    """The automatic collector is off once a window exists; a timer on the GUI thread collects instead (a collection
    inside a Qt call could destroy a Qt object while Qt holds its signal mutex, and hang the app)."""
    import gc

    from ibviewer.gui import gc_policy

    assert not gc.isenabled()
    assert gc_policy._COLLECTOR is not None and gc_policy._COLLECTOR.timer.isActive()
