"""Annotations: written on a time panel at a step and value, shown from that step on, saved with the session."""

import pytest

from ibviewer.core.annotations import Annotation, AnnotationError, annotation_from_dict
from tests.gui.conftest import TIMEOUT_MS, settle


@pytest.fixture
def trained(qtbot, window):
    window.step_n(400)
    settle(qtbot, window, 400)
    yield window
    window.annotations.clear()


def test_an_annotation_placed_on_the_loss_panel_sits_at_its_step_and_value(qtbot, trained):
    w = trained
    import math

    a = w.annotations.at("loss", math.log10(150), math.log10(2.0), "σ₁ <i>learned</i>")  # log-step, log-loss
    assert a is not None and a.panel == "loss" and a.y == pytest.approx(2.0) and a.text == "σ₁ <i>learned</i>"
    steps = list(w.mirror["step"])
    assert a.step in steps and abs(math.log10(a.step) - math.log10(150)) <= min(
        abs(math.log10(s) - math.log10(150)) for s in steps if s > 0) + 1e-12
    w.redraw()
    layer = w.panels["loss"].annotations
    assert layer.texts() == ["σ₁ <i>learned</i>"]
    text, arrow = layer.items[0]
    assert text.isVisible() and arrow.isVisible()
    assert text.pos().x() == pytest.approx(math.log10(a.step)) and text.pos().y() == pytest.approx(math.log10(2.0))
    assert w.panels["singular_values"].annotations.texts() == []  # another panel's


def test_an_annotation_appears_from_its_step_on(qtbot, trained):
    w = trained
    w.annotations.add(Annotation("loss", 300, 1.0, "later"))
    w.redraw()
    assert w.panels["loss"].annotations.texts() == ["later"]
    tl = w.recording.timeline
    tl.seek_step(100)  # the panels as of step 100: not yet
    w.redraw()
    assert w.panels["loss"].annotations.texts() == []
    tl.seek_step(350)
    w.redraw()
    assert w.panels["loss"].annotations.texts() == ["later"]
    tl.go_live()


def test_annotations_are_saved_with_the_session_and_come_back(qtbot, trained, tmp_path):
    w = trained
    w.annotations.add(Annotation("loss", 200, 3.0, "here", arrow=False, time=2.0))
    path = tmp_path / "s.ibvs"
    n = len(w.status.messages)
    assert w.sessions.save(path)
    qtbot.waitUntil(lambda: any("saved" in m for m in w.status.messages[n:]), timeout=TIMEOUT_MS)
    w.annotations.clear()
    assert w.sessions.open(path)
    qtbot.waitUntil(lambda: bool(w.annotations.items), timeout=TIMEOUT_MS)
    assert w.annotations.items == [Annotation("loss", 200, 3.0, "here", False, 2.0)]


@pytest.mark.parametrize("d, words", [
    ({"panel": "loss", "step": 10, "y": 1.0}, "needs 'text'"),
    ({"panel": "loss", "step": -1, "y": 1.0, "text": "a"}, "'step' = -1"),
    ({"panel": "loss", "step": 1, "y": float("nan"), "text": "a"}, "'y' = nan"),
    ({"panel": "loss", "step": 1, "y": 1.0, "text": "  "}, "non-empty"),
    ({"panel": "loss", "step": 1, "y": 1.0, "text": "a", "colour": "red"}, "'colour' is not allowed"),
    ("text", "must be a table"),
])
def test_a_bad_annotation_is_one_line(d, words):
    with pytest.raises(AnnotationError, match=words):
        annotation_from_dict(d, "annotation 1")
