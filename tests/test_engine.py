import math

import numpy as np
import pytest

from ibviewer.core.config import OPTIMIZERS, build_config
from ibviewer.core.engine import CONVERGED, DIVERGED, MAX_STEPS, Engine
from ibviewer.core.history import History

SMALL = {
    "sensing": [("problem.kind", "matrix_sensing"), ("problem.d", 6), ("problem.rank", 2), ("problem.measurements", 30)],
    "completion": [("problem.kind", "matrix_completion"), ("problem.d", 6), ("problem.rank", 2),
                   ("problem.measurements", 20)],
    "factorization": [("problem.kind", "matrix_factorization"), ("problem.d", 5)],
    "factorization_noisy": [("problem.kind", "matrix_factorization"), ("problem.target", "lowrank_noise"),
                            ("problem.d", 5), ("problem.noise", 0.1)],
    "razin": [("problem.kind", "razin_cohen")],
    "regression": [("problem.kind", "linear_regression"), ("problem.d", 4), ("problem.samples", 9)],
    "regression_white": [("problem.kind", "linear_regression"), ("problem.d", 3), ("problem.samples", 9),
                         ("problem.inputs", "whitened"), ("problem.outputs", 2)],
    "logistic": [("problem.kind", "logistic_separable"), ("problem.d", 2), ("problem.samples", 10)],
    "logistic_nd": [("problem.kind", "logistic_separable"), ("problem.d", 5), ("problem.samples", 20)],
    "pm_power": [("problem.kind", "sparse_recovery"), ("problem.n", 12), ("problem.measurements", 6),
                 ("problem.sparsity", 2), ("model.parametrization", "pm_power")],
    "pm_power_wn": [("problem.kind", "sparse_recovery"), ("problem.n", 12), ("problem.measurements", 6),
                    ("problem.sparsity", 2), ("model.parametrization", "pm_power"), ("model.weight_norm", True)],
    "hadamard": [("problem.kind", "sparse_recovery"), ("problem.n", 12), ("problem.measurements", 6),
                 ("problem.sparsity", 2), ("model.parametrization", "hadamard"), ("model.init", "gaussian")],
    "linear": [("problem.kind", "sparse_recovery"), ("problem.n", 12), ("problem.measurements", 6),
               ("problem.sparsity", 2), ("model.parametrization", "linear"), ("model.depth", 1),
               ("model.init", "gaussian")],
}


def full_loss(engine, params):
    P, _ = engine.model.forward_and_cache(params)
    return engine.head(P)[0]


@pytest.mark.parametrize("name", list(SMALL))
@pytest.mark.parametrize("depth", [1, 3])
def test_closed_form_gradients_match_finite_differences(name, depth):
    over = SMALL[name] + [("model.init_scale", 0.5), ("run.steps", 0)]
    if name != "linear":
        over.append(("model.depth", depth))
    if name in ("logistic", "logistic_nd") or depth == 1:
        over.append(("model.init", "orthogonal" if name not in ("pm_power", "pm_power_wn", "hadamard", "linear")
                     else "gaussian"))
    e = Engine(build_config(overrides=over))
    rng = np.random.default_rng(1)
    params = [p + 0.3 * rng.standard_normal(p.shape) for p in e.params]
    P, cache = e.model.forward_and_cache(params)
    _, G = e.head(P)
    grads = e.model.grads(params, G, cache)
    h = 1e-6
    for j, p in enumerate(params):
        for flat in rng.choice(p.size, size=min(5, p.size), replace=False):
            idx = np.unravel_index(flat, p.shape)
            plus = [q.copy() for q in params]
            minus = [q.copy() for q in params]
            plus[j][idx] += h
            minus[j][idx] -= h
            fd = (full_loss(e, plus) - full_loss(e, minus)) / (2 * h)
            assert grads[j][idx] == pytest.approx(fd, rel=1e-5, abs=1e-7), (name, j, idx)


@pytest.mark.parametrize("name", ["sensing", "completion", "pm_power", "logistic", "regression", "razin"])
def test_torch_backend_matches_numpy(name):
    over = SMALL[name] + [("run.steps", 0), ("model.init_scale", 0.1)]
    a = Engine(build_config(overrides=over))
    b = Engine(build_config(overrides=over + [("run.backend", "torch")]))
    a.step(50)
    b.step(50)
    assert b.backend == "torch"
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(a.product(), b.product(), rtol=1e-9, atol=1e-14)


def test_deterministic_history():
    cfg = build_config(preset="sensing_incremental_rank", overrides=[("run.steps", 300), ("optimizer.name", "sgd"),
                                                                      ("optimizer.batch_size", 50)])
    runs = []
    for _ in range(2):
        e = Engine(cfg)
        e.run()
        runs.append(e.history.as_dict())
    for k in runs[0]:
        if k != "wall":
            np.testing.assert_array_equal(runs[0][k], runs[1][k])


def test_reset_returns_to_the_same_start():
    e = Engine(build_config(preset="completion_depth_low_rank", overrides=[("run.steps", 0)]))
    l0 = e.current_loss()
    e.step(100)
    assert e.step_count == 100 and e.current_loss() < l0
    e.reset()
    assert e.step_count == 0 and e.current_loss() == l0 and e.history.n == 0
    e.reset(seed=5)
    assert e.current_loss() != l0


def test_step_counts_exactly():
    e = Engine(build_config(preset="sensing_depth_low_rank", overrides=[("run.steps", 0)]))
    assert e.step(1) == 1 and e.step_count == 1
    assert e.step(37) == 37 and e.step_count == 38


def test_max_steps_and_final_row():
    e = Engine(build_config(preset="sensing_depth_low_rank", overrides=[("run.steps", 123)]))
    e.run()
    assert e.status == MAX_STEPS and e.step_count == 123
    assert e.history["step"][-1] == 123
    assert e.step(5) == 0
    e.set_max_steps(130)
    assert e.step(100) == 7 and e.step_count == 130


def test_loss_tolerance_stops():
    e = Engine(build_config(preset="factorization_sequential_learning", overrides=[("run.loss_tol", 1e-3)]))
    e.run()
    assert e.status == CONVERGED and e.current_loss() <= 1e-3
    assert e.history["loss"][-1] <= 1e-3


@pytest.mark.parametrize("lr", [5.0, 1e6])
def test_divergence_stops_with_a_message_not_an_exception(lr):
    e = Engine(build_config(preset="sensing_depth_low_rank",
                            overrides=[("model.init_scale", 1.0), ("optimizer.lr", lr)]))
    e.run()
    assert e.status == DIVERGED
    assert f"diverged at step {e.step_count}" in e.message and "optimizer.lr" in e.message
    assert np.all(np.isfinite(e.history["loss"]))
    s = e.summary()
    assert s["diverged"] is True and s["final_loss"] is None or math.isfinite(s["final_loss"])


def test_live_learning_rate_and_optimizer_change_keep_parameters():
    e = Engine(build_config(preset="sensing_depth_low_rank", overrides=[("run.steps", 0)]))
    e.step(10)
    before = [p.copy() for p in e.params]
    e.set_lr(0.001)
    assert e.cfg.optimizer.lr == 0.001
    e.step(1)
    assert e.time == pytest.approx(10 * 0.01 + 0.001)
    # one GD step at the new rate
    P, cache = e.model.forward_and_cache(before)
    _, G = e.head(P)
    g = e.model.grads(before, G, cache)
    for p, b, gg in zip(e.params, before, g):
        np.testing.assert_allclose(p, b - 0.001 * gg)
    e.set_optimizer("adam", lr=1e-3)
    assert e.optimizer.name == "adam"
    kept = [p.copy() for p in e.params]
    e.step(1)
    assert all(np.abs(p - k).max() > 0 for p, k in zip(e.params, kept))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_reduces_the_loss(name):
    lr = {"adam": 1e-3, "rmsprop": 1e-4, "adagrad": 1e-2, "momentum": 1e-3, "nesterov": 1e-3}.get(name, 0.01)
    e = Engine(build_config(preset="sensing_depth_low_rank", overrides=[
        ("optimizer.name", name), ("optimizer.lr", lr), ("model.init_scale", 0.3), ("run.steps", 300),
        ("optimizer.batch_size", 40 if name == "sgd" else 0)]))
    l0 = e.current_loss()
    e.run()
    assert e.status == MAX_STEPS
    assert e.current_loss() < 0.5 * l0


def test_float32_runs():
    e = Engine(build_config(preset="sensing_depth_low_rank", overrides=[("run.dtype", "float32"), ("run.steps", 200)]))
    e.run()
    assert e.params[0].dtype == np.float32 and e.status == MAX_STEPS


def test_history_thins_and_stays_bounded():
    h = History(capacity=64)
    stride_doublings = 0
    for k in range(10_000):
        stride_doublings += h.append({"step": k, "loss": 1.0 / (k + 1), "sv": np.ones(3)})
    assert h.n <= 64 and stride_doublings > 0
    steps = h["step"]
    assert steps[0] == 0 and np.all(np.diff(steps) > 0)
    assert np.all(steps[:16] == np.arange(16))  # the early rows are kept whole


def test_long_run_memory_is_bounded():
    """A run's history costs at most its capacity, whatever the number of steps (10^7 steps: < 300 MB)."""
    e = Engine(build_config(preset="completion_depth_low_rank",
                            overrides=[("run.steps", 0), ("run.history_rows", 200), ("run.record_every", 1)]))
    e.step(3000)
    assert e.history.n <= 200 and e.history.thinned > 0 and e.stride > 1
    full = Engine(build_config(preset="completion_depth_low_rank", overrides=[("run.steps", 10**7)]))
    full.step(1)
    assert full.history.capacity * sum(c[0].nbytes for c in full.history.columns.values()) < 300 * 2**20


def test_metrics_on_the_product():
    e = Engine(build_config(preset="sensing_depth_low_rank", overrides=[("run.steps", 0)]))
    e.step(20)
    row = e.current_metrics()
    P = e.product()
    s = np.linalg.svd(P, compute_uv=False)
    np.testing.assert_allclose(row["sv"], s)
    assert row["norm_nuclear"] == pytest.approx(s.sum())
    assert row["rel_error"] == pytest.approx(np.linalg.norm(P - e.problem.target) / np.linalg.norm(e.problem.target))
    assert len(row["balancedness"]) == 2 and len(row["layer_norms"]) == 3


def test_sgd_uses_minibatches():
    e = Engine(build_config(preset="sensing_depth_low_rank", overrides=[("optimizer.name", "sgd"),
                                                                          ("optimizer.batch_size", 16)]))
    assert e.batch_size == 16
    assert Engine(build_config(preset="sensing_depth_low_rank")).batch_size == 0


def test_blocked_measurement_products_match_the_plain_ones(monkeypatch):
    """Large measurement matrices are read in L2-sized row blocks; the loss and gradient are unchanged."""
    import ibviewer.core.problems as problems

    cfg = build_config(overrides=SMALL["sensing"] + [("run.steps", 0)])
    plain = Engine(cfg)
    monkeypatch.setattr(problems, "BLOCK_BYTES", 256)
    blocked = Engine(cfg)
    assert blocked.head.blocks is not None and plain.head.blocks is None
    P = plain.product()
    l1, g1 = plain.head(P)
    l2, g2 = blocked.head(P)
    assert l1 == pytest.approx(l2, rel=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-14)
