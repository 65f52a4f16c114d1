"""The app's inputs: a refused value changes nothing and is reported as typed; messages are shown whole; what the
controls show follows what the runs are (after Load data, after opening a session)."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import TIMEOUT_MS, settle


def _type(qtbot, widget, text: str) -> None:
    """Focus ``widget``, replace its text by ``text`` and press Enter, as a user does."""
    widget.setFocus()
    edit = widget.lineEdit() if hasattr(widget, "lineEdit") else widget
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    QApplication.processEvents()


def _errors_since(window, n: int) -> list[str]:
    return window.status.messages[n:]


def test_an_edit_the_worker_refuses_keeps_the_run_where_it_was_with_its_history(qtbot, window):
    window.step_n(150)
    settle(qtbot, window, 150)
    rows = window.controller.runs.selected.mirror.n
    d = window.cfg.problem.d
    gen = window.gen
    n = len(window.status.messages)
    # a size the config accepts but the memory check refuses when the worker builds the run
    window.controller.edit("problem.d", 10**6)
    window.controller.send_config()  # without waiting for the edit's debounce
    qtbot.waitUntil(lambda: any("1000000" in m or "1e+06" in m for m in _errors_since(window, n)), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.worker_ready and window.last_snap is not None and window.gen > gen,
                    timeout=TIMEOUT_MS)
    snap = settle(qtbot, window)
    assert snap["step"] == 150  # not restarted
    assert window.controller.runs.selected.mirror.n == rows  # its history sent again whole
    assert window.cfg.problem.d == d and window.controls.widgets["problem.d"].value() == d
    window.step_n(10)
    assert settle(qtbot, window, 160)["step"] == 160  # and it trains on


def test_a_negative_number_of_steps_is_reported_as_typed_not_repaired(qtbot, window):
    before = window.cfg.run.steps
    n = len(window.status.messages)
    _type(qtbot, window.controls.widgets["run.steps"], "-5")
    said = _errors_since(window, n)
    assert said and "-5" in said[-1] and ">= 0" in said[-1]
    assert window.cfg.run.steps == before
    assert window.controls.widgets["run.steps"].value() == before


def test_a_size_beyond_the_old_spin_range_reaches_the_config(qtbot, window):
    # the field used to stop typing at its range (2000 for d); the config decides what is allowed
    n = len(window.status.messages)
    _type(qtbot, window.controls.widgets["model.depth"], "0")
    said = _errors_since(window, n)
    assert said and "model.depth = 0" in said[-1] and ">= 1" in said[-1]
    assert window.cfg.model.depth == 3 or window.cfg.model.depth >= 1
    assert window.controls.widgets["model.depth"].value() == window.cfg.model.depth


def test_step_n_refuses_a_negative_count_in_one_line(qtbot, window):
    field = window.controls.widgets["step_n"]
    old = field.value()
    n = len(window.status.messages)
    _type(qtbot, field, "-5")
    said = _errors_since(window, n)
    assert said and "-5" in said[-1] and ">= 1" in said[-1]
    assert field.value() == old


def test_the_arrows_stay_in_the_fields_domain(qtbot, window):
    depth = window.controls.widgets["model.depth"]
    depth.setValue(1)
    depth.stepBy(-1)
    assert depth.value() == 1


def test_a_long_message_is_shown_whole(qtbot, window):
    text = ("problem.measurements = 123456789 is not allowed; it must be a whole number >= 1 and at most "
            "the number of entries of the target, here 20 x 20 = 400, because a sensing operator with more rows "
            "than unknowns is refused by this problem kind")
    window.resize(900, window.height())
    window.show_error(text)
    QApplication.processEvents()
    label = window.status.message_label
    assert text in label.text()
    assert label.isVisible()
    # every wrapped line fits: the label is as tall as its text needs at its width
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()), timeout=2000)
    assert label.heightForWidth(label.width()) > label.fontMetrics().height() * 1.5  # it did wrap


def test_load_data_shows_the_files_size_in_the_problem_controls(qtbot, window, tmp_path):
    good = tmp_path / "target.npy"
    rng = np.random.default_rng(0)
    np.save(good, rng.standard_normal((9, 2)) @ rng.standard_normal((2, 9)))
    assert window.files.load_data(good, "matrix_factorization")
    qtbot.waitUntil(lambda: window.worker_ready and window.last_snap is not None, timeout=TIMEOUT_MS)
    assert window.info["shape"] == (9, 9)
    assert window.controls.widgets["problem.d"].value() == 9
    assert window.cfg.problem.d == 9


def test_an_opened_session_says_the_step_it_opened_at(qtbot, window, tmp_path):
    window.step_n(237)
    settle(qtbot, window, 237)
    path = tmp_path / "s.ibvs"
    n = len(window.status.messages)
    assert window.sessions.save(path)
    qtbot.waitUntil(lambda: any("saved" in m for m in _errors_since(window, n)), timeout=TIMEOUT_MS)
    window.reset_run()
    settle(qtbot, window, 0)
    n = len(window.status.messages)
    assert window.sessions.open(path)
    qtbot.waitUntil(lambda: any("opened session" in m for m in _errors_since(window, n)), timeout=TIMEOUT_MS)
    said = [m for m in _errors_since(window, n) if "opened session" in m][-1]
    assert "step 237" in said


def test_a_refused_list_is_quoted_as_typed(qtbot, window):
    field = window.controls.widgets["problem.singular_values"]
    before = list(window.cfg.problem.singular_values)
    n = len(window.status.messages)
    _type(qtbot, field, "12, six, 3")
    said = _errors_since(window, n)
    assert said and "'12, six, 3'" in said[-1]
    assert window.cfg.problem.singular_values == before and field.text() == ", ".join(f"{v:g}" for v in before)


def test_a_refused_number_is_quoted_as_typed(qtbot, window):
    field = window.controls.widgets["optimizer.momentum"]
    before = window.cfg.optimizer.momentum
    n = len(window.status.messages)
    _type(qtbot, field, "-0.5")
    said = _errors_since(window, n)
    assert said and "-0.5" in said[-1] and window.cfg.optimizer.momentum == before
    _type(qtbot, field, "fast")
    said = _errors_since(window, n)
    assert "'fast'" in said[-1] and window.cfg.optimizer.momentum == before


def test_text_that_is_no_whole_number_is_reported_not_repaired(qtbot, window):
    field = window.controls.widgets["model.depth"]
    before = window.cfg.model.depth
    for typed in ("1.5", "3, 1", "abc"):
        n = len(window.status.messages)
        _type(qtbot, field, typed)
        said = _errors_since(window, n)
        assert said and repr(typed) in said[-1] and "whole number" in said[-1], typed
        assert window.cfg.model.depth == before and field.value() == before


def test_the_shown_rounded_value_commits_nothing_after_a_refused_entry(qtbot, window):
    window.controller.edit("optimizer.lr", 0.07827)
    field = window.controls.widgets["optimizer.lr"].field
    window.controls.set_config(window.cfg, window.preset)
    assert field.text() == "0.0783"  # shown to 3 digits
    _type(qtbot, field, "-1e9")  # refused; the field shows 0.0783 again
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_Return)  # editing ends again on the rounded text
    assert window.cfg.optimizer.lr == 0.07827


def test_an_overflowing_number_is_quoted_as_typed(qtbot, window):
    n = len(window.status.messages)
    _type(qtbot, window.controls.widgets["optimizer.momentum"], "1e400")
    said = _errors_since(window, n)
    assert said and "1e400" in said[-1] and "finite" in said[-1]
