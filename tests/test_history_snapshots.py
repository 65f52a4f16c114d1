"""Wide records (a matrix model's product past 64 x 64) are kept apart from the scalar series, under a budget of their
own and in the run's dtype, so that the loss keeps its rows whatever the size of the matrices."""

import numpy as np
import pytest

from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.engine_state import StateError
from ibviewer.core.history import MEMORY_BUDGET, History
from ibviewer.core.snapshots import MIN_SNAPSHOTS, WIDE_ELEMENTS, Snapshots


def _factorization(d: int, dtype: str = "float64", rows: int = 20000):
    c = build_config(overrides={"problem.kind": "matrix_factorization", "problem.d": d, "problem.rank": 2,
                                "problem.target": "spectrum", "problem.singular_values": [3.0, 1.0],
                                "model.depth": 2, "model.init_scale": 1e-2, "optimizer.lr": 0.05,
                                "run.dtype": dtype, "run.history_rows": rows})
    c.run.steps = 0
    return Engine(c)


def test_a_wide_product_leaves_the_rows_so_the_loss_keeps_every_requested_row():
    e = _factorization(100)  # W is 100 x 100: 10,000 numbers > WIDE_ELEMENTS
    e.step(40)
    h = e.history
    assert 100 * 100 > WIDE_ELEMENTS
    assert "state" not in h.columns and "state" in h.snapshots.columns
    # before, the 80 kB product in every row cut 20,000 requested rows to 200 MB / 80 kB = 2,500 or fewer
    assert h.capacity == 20000
    row_bytes = sum(c[0].nbytes for c in h.columns.values())
    assert row_bytes * h.capacity <= MEMORY_BUDGET
    assert len(h.snapshots) == len(h)  # nothing thinned yet: one snapshot per row
    assert np.array_equal(h.snapshots.steps[: len(h)], h["step"])


def test_each_snapshot_is_the_product_at_its_step_as_an_independent_rerun_computes_it():
    e = _factorization(80)
    e.step(60)
    h = e.history
    for k in (1, len(h.snapshots) // 2, len(h.snapshots) - 1):
        step = int(h.snapshots.steps[k])
        twin = _factorization(80)
        twin.step(step)
        w1, w2 = (np.asarray(p) for p in twin.params)
        assert np.allclose(h.snapshots.at(step), w2 @ w1, rtol=0, atol=1e-12)
    twin = _factorization(80)
    twin.step(int(h["step"][-1]))
    assert np.array_equal(h.last()["state"], twin.product())  # the latest row's product, whole


def test_snapshots_are_kept_in_the_runs_dtype():
    e = _factorization(70, dtype="float32")
    e.step(5)
    assert e.history.snapshots.columns["state"].dtype == np.float32
    assert e.history.last()["state"].dtype == np.float32
    assert e.history.columns["loss"].dtype == np.float64  # the scalar series stay float64


def test_the_store_stays_within_its_budget_and_thins_to_early_and_spread_steps():
    s = Snapshots(capacity=10**6, budget=64 * 8 * 100, dtype=np.float64)  # room for 100 snapshots of 8 x 8
    for step in range(5000):
        s.offer(step, {"state": np.full((8, 8), float(step))})
    assert s.capacity == 100 and len(s) <= 100
    steps = s.steps[: len(s)]
    assert steps[0] == 0 and np.all(np.diff(steps) > 0)
    assert np.array_equal(steps[:25], np.arange(25))  # the first quarter, whole
    assert 5000 - steps[-1] <= s.stride  # the latest kept is within one stride of the end
    for step in steps:  # each snapshot holds the value offered at its step
        assert s.at(int(step))[0, 0] == step
    assert s.at(4321)[0, 0] == s.step_at(4321) <= 4321


def test_a_store_too_small_for_one_snapshot_keeps_the_first_and_the_latest():
    s = Snapshots(capacity=20000, budget=10, dtype=np.float64)
    for step in range(50):
        s.offer(step, {"state": np.full((100, 100), float(step))})
    assert s.capacity == MIN_SNAPSHOTS == 2 and len(s) == 2
    assert list(s.steps[:2]) == [0, 49] and s.at(49)[0, 0] == 49 and s.at(10)[0, 0] == 0
    three = Snapshots(capacity=20000, budget=3 * 8 * 100, dtype=np.float64)  # room for three 10 x 10
    for step in range(50):
        three.offer(step, {"state": np.full((10, 10), float(step))})
    assert three.capacity == 3 and list(three.steps[:3]) == [0, 1, 49]


def test_taking_the_history_back_drops_later_snapshots_and_keeps_the_latest_consistent():
    e = _factorization(80)
    e.step(30)
    h = e.history
    mid = int(h["step"][len(h) // 2])
    h.keep_through(mid)
    assert int(h.snapshots.steps[len(h.snapshots) - 1]) <= mid
    assert np.array_equal(h.last()["state"], h.snapshots.at(mid))


def test_a_saved_state_restores_the_snapshots_and_refuses_a_damaged_table():
    e = _factorization(80)
    e.step(30)
    state = e.state_dict()
    twin = _factorization(80)
    twin.load_state_dict(state)
    a, b = e.history.snapshots, twin.history.snapshots
    assert len(a) == len(b) and np.array_equal(a.steps[: len(a)], b.steps[: len(b)])
    assert np.array_equal(a.columns["state"][: len(a)], b.columns["state"][: len(b)])
    assert np.array_equal(twin.history.last()["state"], e.history.last()["state"])
    bad = e.state_dict()
    bad["history"]["snapshots"]["columns"]["snapshot_step"] = bad["history"]["snapshots"]["columns"][
        "snapshot_step"][::-1].copy()
    before = twin.step_count
    with pytest.raises(StateError, match="snapshot steps must increase"):
        twin.load_state_dict(bad)
    assert twin.step_count == before


def test_a_state_saved_with_the_product_in_its_rows_loads_with_the_product_as_snapshots():
    e = _factorization(80)
    e.step(20)
    state = e.state_dict()
    hist = state["history"]
    snaps = hist.pop("snapshots")
    hist["columns"]["state"] = snaps["columns"]["state"]  # the layout written before the split: one per row
    twin = _factorization(80)
    twin.load_state_dict(state)
    assert "state" not in twin.history.columns
    assert np.array_equal(twin.history.snapshots.columns["state"][: len(twin.history)], hist["columns"]["state"])


def test_vectors_stay_in_the_rows_whatever_their_length():
    h = History(100)
    h.append({"step": 0, "loss": 1.0, "state": np.zeros(WIDE_ELEMENTS * 4), "sv": np.zeros(5)})
    assert "state" in h.columns and not h.snapshots.columns


def test_run_snapshot_mb_sets_the_snapshots_budget_and_a_bad_value_is_refused_in_one_line():
    from ibviewer.core.config import ConfigError

    c = build_config(overrides={"problem.kind": "matrix_factorization", "problem.d": 100, "run.snapshot_mb": 1})
    c.run.steps = 0
    e = Engine(c)
    e.step(300)
    s = e.history.snapshots
    assert s.capacity == 2**20 // (100 * 100 * 8) == 13  # 1 MB of 80 kB float64 products
    assert len(s) <= 13 and s.nbytes <= 2**20 + 13 * 8
    assert e.history.capacity == 20000  # the rows keep theirs
    with pytest.raises(ConfigError, match="run.snapshot_mb") as err:
        build_config(overrides={"run.snapshot_mb": 0})
    assert "\n" not in str(err.value)
