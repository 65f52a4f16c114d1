"""The theory in the app: label noise, a field of the optimizer controls shown where the loss is a squared one,
whose edit retunes the selected run where it stands (marked at its step) instead of restarting it; and the
Bregman divergence of the mirror potential on the errors panel."""

import numpy as np
from PySide6.QtCore import Qt

from ibviewer.core.config import build_config
from tests.gui.conftest import TIMEOUT_MS, settle


def test_label_noise_applies_live_and_is_marked(qtbot, window):
    field = window.controls.widgets["optimizer.label_noise"]
    assert field.isVisible() and field.value() == 0.0  # the default preset is matrix sensing: a squared loss
    window.step_n(200)
    settle(qtbot, window, 200)
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, "0.5")
    qtbot.keyClick(field, Qt.Key.Key_Return)  # typed and entered, as a user does
    marks = [m for m in window.controller.runs.selected.markers() if m["kind"] == "edit"]
    assert [(m["step"], m["label"]) for m in marks] == [(200, "label noise σ = 0.5")]
    assert window.cfg.optimizer.label_noise == 0.5 and field.value() == 0.5
    window.step_n(50)
    snap = settle(qtbot, window, 250)  # went on from step 200: not restarted
    assert snap["step"] == 250


def test_label_noise_is_hidden_for_a_classifier(qtbot, window):
    window.controls.set_config(build_config(overrides=[("problem.kind", "logistic_separable")]))
    assert not window.controls.widgets["optimizer.label_noise"].isVisible()
    window.controls.set_config(window.cfg)
    assert window.controls.widgets["optimizer.label_noise"].isVisible()


def test_the_errors_panel_draws_the_falling_bregman_divergence(qtbot, window):
    cfg = build_config(overrides=[("problem.kind", "sparse_recovery"), ("model.init_scale", 0.3),
                                  ("optimizer.lr", 0.002)])
    window.apply_runs([("run", cfg)])
    qtbot.waitUntil(lambda: window.worker_ready and window.cfg.problem.kind == "sparse_recovery"
                    and window.last_snap is not None, timeout=TIMEOUT_MS)
    window.step_n(2000)
    settle(qtbot, window, 2000)
    window.redraw()
    panel = window.panels["errors"]
    x, y = panel.curves["bregman_q_alpha"].getData()
    assert x is not None and len(y) > 10
    assert np.all(np.diff(y) <= 1e-9)  # drawn as recorded: falling (log scale)
    recorded = window.controller.runs.selected.mirror["bregman_q_alpha"]
    assert recorded[-1] < 0.2 * recorded[0]
    x, y = panel.curves["bregman_l1"].getData()  # from basis pursuit's solution: falls too, not to 0
    assert len(y) > 10 and np.all(np.diff(y) <= 1e-9)
