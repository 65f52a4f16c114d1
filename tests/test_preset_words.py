"""Every preset says what to look for, with the numbers it reaches here; three cheap ones are trained again and
their numbers checked against the line's (so the words cannot drift from what the app shows)."""

import re

import numpy as np
import pytest

from ibviewer.core.compare import RunGroup, preset_runs
from ibviewer.core.config import build_config, preset_info, preset_names
from ibviewer.core.engine import Engine
from ibviewer.core.nonlinear import trivial_test_loss
from ibviewer.core.preset_text import look_for, look_for_caption, preset_blurb


def numbers(text: str) -> list[float]:
    """The numbers written in ``text``, in order ("1,180" is one number, "6e-8" another)."""
    return [float(m.replace(",", "")) for m in re.findall(r"\d[\d,]*(?:\.\d+)?(?:e-?\d+)?", text)]


def after(text: str, words: str) -> list[float]:
    """The numbers of ``text`` from ``words`` on, up to the next semicolon."""
    i = text.index(words) + len(words)
    return numbers(text[i:].split(";")[0])


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_says_what_to_look_for_with_numbers(name):
    meta = preset_info(name)
    line = look_for(meta)
    assert line and numbers(line), f"{name}: no look_for line, or one without a number"
    assert "_" not in meta.get("title", "")
    assert look_for_caption(meta) == f"Look for: {line}"
    assert preset_blurb(meta).splitlines() == [" ".join(meta["description"].split()), f"Look for: {line}"]


def test_caption_and_blurb_without_a_look_for_line():
    assert look_for_caption({"description": "d"}) == "" and look_for({}) == "" and look_for(None) == ""
    assert preset_blurb({"description": "  two   words "}) == "two words"


def test_incremental_learning_reaches_the_steps_and_error_it_states():
    line = look_for(preset_info("sensing_incremental_rank"))
    e = Engine(build_config(preset="sensing_incremental_rank"))
    e.run(chunk=8000)
    s = e.summary()
    learned = [ev["step"] for ev in s["events"] if ev["kind"] == "learned"]
    stated = after(line, "at steps")
    assert len(learned) == len(stated) == 3
    assert np.allclose(learned, stated, rtol=0.03)
    assert s["relative_error"] == pytest.approx(after(line, "relative error")[0], rel=0.05)


def test_balancedness_drift_is_what_the_preset_states():
    line = look_for(preset_info("deep_linear_balancedness"))
    group = RunGroup(preset_runs("deep_linear_balancedness"))
    group.run(chunk=30000)
    drift = [e.summary()["balance_drift"][0] for e in group.engines]
    lrs = [e.cfg.optimizer.lr for e in group.engines]
    stated = after(line, "proportional to η:")
    assert lrs == stated[3:6]
    assert np.allclose(drift, stated[:3], rtol=0.05)


def test_interpolating_mlp_beats_the_trivial_predictor_by_what_the_preset_states():
    line = look_for(preset_info("mlp_interpolation_generalizes"))
    e = Engine(build_config(preset="mlp_interpolation_generalizes"))
    e.run(chunk=5000)
    s = e.summary()
    loss, step = after(line, "the training loss reaches")
    test, times, trivial = after(line, "the test loss is then")
    assert s["final_loss"] == pytest.approx(loss, rel=0.1) and s["steps"] == pytest.approx(step, rel=0.1)
    assert s["test_loss"] == pytest.approx(test, rel=0.05)
    assert s["trivial_test_loss"] == pytest.approx(trivial, rel=0.05)
    assert trivial / test == pytest.approx(times, abs=0.05)


def test_trivial_test_loss_of_regression_and_classification():
    e = Engine(build_config(preset="mlp_interpolation_generalizes", overrides=[("problem.test_samples", 200)]))
    y, y_test = e.problem.data["Y"][:, 0], e.problem.data["Y_test"][:, 0]
    assert trivial_test_loss(e.problem) == pytest.approx(np.mean((y_test - y.mean()) ** 2) / 2)
    d = Engine(build_config(preset="mlp_digits", overrides=[("model.width", 8)]))
    labels, test = d.problem.data["labels"], d.problem.data["labels_test"]
    p = np.array([(np.sum(labels == c) + 1) / (len(labels) + 10) for c in range(10)])
    assert trivial_test_loss(d.problem) == pytest.approx(-np.mean(np.log(p[test])))
    assert 2.2 < trivial_test_loss(d.problem) < 2.4  # about ln 10: the classes are balanced
    assert trivial_test_loss(Engine(build_config(preset="hadamard_l1_bias")).problem) is None
