"""The Controls panel's fields against the mouse: a wheel turn over a field changes it only when it has focus."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication


def _wheel(widget, up: bool = True) -> None:
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                     QPoint(0, 120 if up else -120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def test_the_wheel_over_an_unfocused_field_scrolls_the_panel_and_changes_nothing(qtbot, window):
    controls = window.controls
    edits = []
    controls.edited.connect(lambda k, v: edits.append((k, v)))
    depth, init = controls.widgets["model.depth"], controls.widgets["model.init"]
    before = (depth.value(), init.currentIndex())
    window.activateWindow()
    controls.setFocus()
    for w in (depth, init):
        assert not w.hasFocus()
        _wheel(w, up=False)
        _wheel(w, up=True)
    assert (depth.value(), init.currentIndex()) == before and edits == []
    assert window.cfg.model.depth == before[0]


def test_the_wheel_over_a_focused_field_changes_it(qtbot, window):
    depth = window.controls.widgets["model.depth"]
    start = depth.value()
    depth.setFocus()
    qtbot.waitUntil(depth.hasFocus, timeout=2000)
    _wheel(depth, up=True)
    assert depth.value() == start + 1  # the field takes the wheel once the user chose it


def test_the_operator_field_shows_for_sensing_and_sets_rank_one(qtbot, window):
    controls = window.controls
    combo = controls.widgets["problem.operator"]
    assert window.cfg.problem.kind == "matrix_sensing"  # the default preset
    assert combo.isVisibleTo(controls)
    assert [combo.itemData(i) for i in range(combo.count())] == ["dense", "rank_one"]
    edits = []
    controls.edited.connect(lambda k, v: edits.append((k, v)))
    combo.setCurrentIndex(combo.findData("rank_one"))  # what a click on the item does, then its signal
    combo.activated.emit(combo.currentIndex())
    assert edits == [("problem.operator", "rank_one")]
    qtbot.waitUntil(lambda: window.cfg.problem.operator == "rank_one", timeout=5000)


def test_the_section_titles_are_bold_and_their_rows_and_the_description_are_not(window):
    from superqt import QCollapsible

    controls = window.controls
    titles = [c.toggleButton() for c in controls.findChildren(QCollapsible)]
    assert titles and all(t.font().bold() for t in titles)
    assert not controls.description.font().bold()
    assert not controls.widgets["model.depth"].font().bold()


def test_the_symmetric_box_shows_for_matrix_kinds_and_the_symmetric_model_needs_it(qtbot, window):
    controls = window.controls
    box, par = controls.widgets["problem.symmetric"], controls.widgets["model.parametrization"]
    assert window.cfg.problem.kind == "matrix_sensing" and box.isVisibleTo(controls) and not box.isChecked()
    assert "symmetric" in [par.itemData(i) for i in range(par.count())]
    # the symmetric model on a problem that is not symmetric: one line, and nothing changes
    n = len(window.status.messages)
    window.controller.edit("model.parametrization", "symmetric")
    said = window.status.messages[n:]
    assert said and "set problem.symmetric = true" in said[-1]
    assert window.cfg.model.parametrization != "symmetric"
    box.click()  # a symmetric problem, then the model: both taken
    qtbot.waitUntil(lambda: window.cfg.problem.symmetric, timeout=5000)
    window.controller.edit("model.depth", 2)
    window.controller.edit("model.parametrization", "symmetric")
    qtbot.waitUntil(lambda: window.cfg.model.parametrization == "symmetric", timeout=5000)
    window.controller.edit("problem.kind", "sparse_recovery")
    qtbot.waitUntil(lambda: window.cfg.problem.kind == "sparse_recovery", timeout=5000)
    assert not box.isVisibleTo(controls)
