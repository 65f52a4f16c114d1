"""The worker protocol: every command and message crosses a real multiprocessing pipe unchanged."""

import dataclasses
import multiprocessing

import pytest

from ibviewer.live import protocol as msg

ENTRY = msg.RunEntry(id=1, name="depth 2", step=40, time=0.4, status="running", message="", loss=0.25, wall=0.01,
                     replace=True, rows={"step": [0, 10, 40]}, tail=None, product=[[1.0, 0.0]], lr=0.01,
                     optimizer="gd", seed=3)
OTHER = dataclasses.replace(ENTRY, id=0, name="run", product=None, replace=False)

COMMANDS = [
    msg.Play(), msg.Pause(), msg.Step(7), msg.Speed(4), msg.Ack(12), msg.Quit(),
    msg.Runs((msg.RunSpec(0, "run", {"model": {"depth": 3}}), msg.RunSpec(4, "b", {})), gen=2, selected=4),
    msg.Reset(), msg.Reset(seed=5, run_id=4), msg.SetOptimizer({"lr": 0.5}), msg.SetOptimizer({"name": "adam"}, 2),
    msg.SetMaxSteps(900), msg.SetLossTol(1e-6), msg.Select(3), msg.RemoveRun(3), msg.Rename(3, "deep"),
    msg.SaveSession("/tmp/a.ibvs", ("a", "b"), {"x_mode": "step"}), msg.OpenSession("/tmp/a.ibvs", 9),
]
MESSAGES = [
    msg.Ready(gen=3, selected=1, problem={"kind": "matrix_sensing", "shape": (4, 4)},
              runs=(msg.ReadyRun(1, "depth 2", {"model": {"depth": 2}}, "product", {"min_nuclear": [1.0]}, 0),)),
    msg.Snapshot(seq=8, gen=3, rate=120.0, playing=True, pending=0, selected=1, runs=(OTHER, ENTRY), sent_at=1.5),
    msg.Error("no"), msg.ConfigError("model.depth: must be at least 1", 4), msg.Session("/tmp/a.ibvs", 5, {}, 1),
    msg.SessionError("damaged", None), msg.SessionError("damaged", 6), msg.Saved("/tmp/a.ibvs", 300),
    msg.Fatal("Traceback ...\nValueError: x"),
]


@pytest.mark.parametrize("obj", COMMANDS + MESSAGES, ids=lambda o: type(o).__name__)
def test_each_object_crosses_a_real_pipe_equal_and_of_its_own_type(obj):
    ctx = multiprocessing.get_context("spawn")
    r, w = ctx.Pipe(duplex=False)
    try:
        w.send(obj)
        got = r.recv()
    finally:
        r.close()
        w.close()
    assert type(got) is type(obj) and got == obj and got is not obj


def test_objects_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.Step(3).n = 4


def test_snapshot_lead_is_the_selected_entry_or_the_first():
    snap = MESSAGES[1]
    assert snap.lead is ENTRY
    assert dataclasses.replace(snap, selected=99).lead is OTHER


def test_ready_info_is_the_problem_with_generation_and_selection():
    ready = MESSAGES[0]
    assert ready.info() == {"kind": "matrix_sensing", "shape": (4, 4), "gen": 3, "selected": 1}
    assert "gen" not in ready.problem  # the message is not changed
