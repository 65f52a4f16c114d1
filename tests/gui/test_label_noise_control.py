"""Label noise in the app: a field of the optimizer controls, shown where the loss is a squared one, whose edit
retunes the selected run where it stands (marked at its step) instead of restarting it."""

from PySide6.QtCore import Qt

from ibviewer.core.config import build_config
from tests.gui.conftest import settle


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
