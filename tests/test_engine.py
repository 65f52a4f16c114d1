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


# ---------------------------------------------------------------------------------------- state_dict
def assert_same_state(a, b, path="state"):
    """Two engine states agree exactly (arrays bit for bit), the wall-clock time aside."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            if k not in ("wall_seconds", "wall"):
                assert_same_state(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for j, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{path}[{j}]")
    else:
        assert a == b and type(a) is type(b), (path, a, b)


STATE_RUNS = {
    "gd": [("optimizer.name", "gd")],
    "sgd": [("optimizer.name", "sgd"), ("optimizer.batch_size", 7)],
    "adam": [("optimizer.name", "adam"), ("optimizer.lr", 1e-2)],
    "pm_power": SMALL["pm_power"] + [("model.init_scale", 0.1)],
    "mlp": [("problem.kind", "teacher_student"), ("problem.samples", 20), ("model.width", "[8, 8]")],
    "thinned": [("run.history_rows", 16), ("run.record_every", 1)],
    "torch_adam": [("run.backend", "torch"), ("optimizer.name", "adam"), ("optimizer.lr", 1e-2),
                   ("optimizer.batch_size", 7)],
}


@pytest.mark.parametrize("name", list(STATE_RUNS))
def test_state_dict_loads_into_a_fresh_engine_which_goes_on_bitwise(name):
    over = (SMALL["sensing"] if name in ("gd", "sgd", "adam", "thinned", "torch_adam") else []) + STATE_RUNS[name]
    cfg = build_config(overrides=over + [("run.steps", 0)])
    straight = Engine(cfg)
    straight.step(203)
    first = Engine(cfg)
    first.step(77)
    state = first.state_dict()
    first.step(5)  # the state is a copy: training on leaves it as it was
    resumed = Engine(cfg)
    resumed.load_state_dict(state)
    assert_same_state(resumed.state_dict(), state)
    assert {type(p) for p in resumed.params} == {type(p) for p in straight.params}  # torch tensors stay tensors
    resumed.step(126)
    assert_same_state(resumed.state_dict(), straight.state_dict())


def test_state_dict_takes_the_live_optimizer_settings_along():
    cfg = build_config(overrides=SMALL["sensing"] + [("run.steps", 0)])
    a = Engine(cfg)
    a.step(10)
    a.set_optimizer("momentum", lr=0.002)
    a.step(10)
    b = Engine(cfg)  # built from the original config (GD at 0.01)
    b.load_state_dict(a.state_dict())
    assert b.cfg.optimizer.name == "momentum" and b.cfg.optimizer.lr == 0.002
    a.step(30)
    b.step(30)
    assert_same_state(a.state_dict(), b.state_dict())


def _damaged(state, edit):
    import copy

    bad = copy.deepcopy(state)
    edit(bad)
    return bad


def _put(path, value):
    def edit(s):
        *head, last = path
        for k in head:
            s = s[k]
        s[last] = value
    return edit


def _nan(s):
    s["params"][1][0, 0] = np.nan


@pytest.mark.parametrize("edit, message", [
    (_put(["params", 0], np.zeros((2, 2))), r"params\[0\] has shape \(2, 2\); the model's is"),
    (_put(["params"], "weights"), "params must be a list of 3 arrays"),
    (_nan, r"params\[1\] holds values that are not finite"),
    (_put(["params", 2], np.zeros((6, 6), dtype=np.int64)), r"params\[2\] must be an array of floats"),
    (_put(["step_count"], -1), "step_count = -1 must be an integer >= 0"),
    (_put(["step_count"], 3.0), "step_count = 3.0 must be an integer"),
    (_put(["step_count"], True), "step_count = True must be an integer"),
    (_put(["time"], float("nan")), "time = nan must be a finite number"),
    (_put(["loss0"], "big"), "loss0 = 'big' must be a finite number"),
    (_put(["status"], "flying"), "status = 'flying' must be one of"),
    (_put(["message"], None), "message must be a string"),
    (_put(["optimizer", "t"], -2), "optimizer.t = -2 must be an integer"),
    (_put(["optimizer", "name"], "gd"), "optimizer.name = 'gd' but its config says 'adam'"),
    (_put(["optimizer", "state"], [{"q": np.zeros(1)}] * 3), "optimizer.state must be None or 3 tables"),
    (_put(["schedule", "next_record"], 10**6), "schedule.next_record = 1000000 must lie between"),
    (_put(["schedule", "stride"], 0), "schedule.stride = 0 must be >= 1"),
    (_put(["sampler", "perm_pos"], 999), "sampler.perm_pos = 999 must be an integer from 0 to 30"),
    (_put(["sampler", "perm"], np.zeros(30, dtype=np.int64)), "sampler.perm must be a permutation"),
    (_put(["sampler", "rng"], {"bit_generator": "MT19937"}), "sampler.rng is not a PCG64 generator state"),
    (_put(["history", "columns", "step"], np.array([0, 5, 3])), "history"),
    (_put(["config", "problem", "d"], 7), "its problem settings differ from this engine's"),
    (_put(["config", "run", "dtype"], "float32"), "run.dtype = 'float32', this engine's is 'float64'"),
    (lambda s: s.pop("sampler"), "engine state lacks sampler"),
    (lambda s: s.clear(), "engine state lacks config, params"),
])
def test_a_damaged_state_is_refused_whole_with_one_line(edit, message):
    from ibviewer.core.engine_state import StateError

    cfg = build_config(overrides=SMALL["sensing"] + [("run.steps", 0), ("optimizer.name", "adam"),
                                                     ("optimizer.batch_size", 8), ("optimizer.lr", 1e-2)])
    source = Engine(cfg)
    source.step(40)
    e = Engine(cfg)
    e.step(13)
    before = e.state_dict()
    with pytest.raises(StateError, match=message) as info:
        e.load_state_dict(_damaged(source.state_dict(), edit))
    assert "\n" not in str(info.value)
    assert_same_state(e.state_dict(), before)  # nothing half-loaded
    assert e.state_dict()["wall_seconds"] == before["wall_seconds"]


def test_engine_modules_stay_small():
    """The engine is split by job; its class leaves room to grow (docs/architecture.md: no class over 500 lines)."""
    import ast
    import inspect

    import ibviewer.core.engine as engine_module

    tree = ast.parse(inspect.getsource(engine_module))
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Engine"]
    assert cls.end_lineno - cls.lineno < 300
