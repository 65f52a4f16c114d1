"""Event markers as the app keeps them (Qt-free): labels of changes, edits at the run's step, restarts."""

import numpy as np

from ibviewer.live import protocol as msg
from ibviewer.live.draw import marker_x
from ibviewer.live.markers import change_label, mark_edit, mark_restart
from ibviewer.live.runs import RunCollection
from tests.live.configs import depth1_config


def _entry(step: int, time: float, events=None) -> msg.RunEntry:
    return msg.RunEntry(id=0, name="run", step=step, time=time, status="running", message="", loss=1.0, wall=0.0,
                        replace=False, rows={}, tail=None, product=None, lr=0.01, optimizer="gd", seed=0,
                        events=events)


def _runs() -> RunCollection:
    return RunCollection([("run", depth1_config())])


def test_a_change_is_labelled_with_its_symbol_and_value():
    assert change_label("optimizer.lr", 0.05) == "η = 0.05"
    assert change_label("optimizer.name", "adam") == "optimizer = adam"
    assert change_label("problem.singular_values", [12.0, 6.0]) == "problem.singular_values = 12, 6"
    assert change_label("problem.singular_values", []) == "problem.singular_values = random"


def test_a_live_change_is_marked_at_the_runs_step_and_time_but_not_before_it_trained():
    runs = _runs()
    run = runs.selected
    assert mark_edit(run, "optimizer.lr", 0.1) is None  # step 0: nothing to point at
    run.entry = _entry(120, 1.2)
    m = mark_edit(run, "optimizer.lr", 0.1)
    assert m == {"step": 120, "kind": "edit", "label": "η = 0.1", "time": 1.2}
    assert run.markers() == (m,)


def test_events_from_the_worker_and_edits_are_merged_by_step_and_a_restart_drops_the_edits():
    runs = _runs()
    run = runs.selected
    run.entry = _entry(300, 3.0)
    mark_edit(run, "optimizer.lr", 0.1)
    found = ({"step": 40, "kind": "learned", "label": "σ₁ learned"},
             {"step": 900, "kind": "learned", "label": "σ₂ learned"})
    snap = msg.Snapshot(seq=1, gen=0, rate=0.0, playing=False, pending=0, selected=0,
                        runs=(_entry(300, 3.0, found),), sent_at=0.0)
    runs.merge(snap)
    assert [m["step"] for m in run.markers()] == [40, 300, 900]
    runs.merge(msg.Snapshot(seq=2, gen=0, rate=0.0, playing=False, pending=0, selected=0,
                            runs=(_entry(310, 3.1, None),), sent_at=0.0))
    assert len(run.markers()) == 3  # None: the events are as last sent
    mark_restart(runs, "seed = 7")
    assert [m for m in run.markers() if m["kind"] != "learned"] == [
        {"step": 0, "kind": "restart", "label": "restart: seed = 7"}]
    mark_restart(runs, None)
    assert [m["kind"] for m in run.markers()] == ["learned", "learned"]


def test_a_marker_sits_at_its_step_its_log_or_its_time():
    m = {"step": 1000, "kind": "learned", "label": "σ₁ learned", "time": 10.0}
    assert marker_x(m, "step") == 1000.0
    assert np.isclose(marker_x(m, "log_step"), 3.0)
    assert marker_x(m, "time") == 10.0
    assert marker_x({"step": 0, "kind": "restart", "label": "r"}, "log_step") is None
    assert marker_x({"step": 5, "kind": "edit", "label": "e"}, "time") is None


def test_on_the_rescaled_axis_a_marker_sits_at_its_time_over_ln_one_over_alpha():
    m = {"step": 1000, "kind": "learned", "label": "x₁ active", "time": 10.0}
    assert np.isclose(marker_x(m, "rescaled", 1e-5), 10.0 / np.log(1e5))
    assert marker_x(m, "rescaled", None) == 10.0  # no known α: not rescaled
