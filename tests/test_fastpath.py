"""The fast paths of full-batch GD (ibviewer.core.fastpath) take the engine's own steps: same iterates, same stops."""

import numpy as np
import pytest

from ibviewer.core import fastpath
from ibviewer.core.config import build_config
from ibviewer.core.engine import CONVERGED, DIVERGED, MAX_STEPS, Engine
from ibviewer.core.problems import _TriangularLeastSquares

PRODUCT = {
    "completion": [("problem.kind", "matrix_completion"), ("problem.d", 8), ("problem.rank", 2),
                   ("problem.measurements", 40), ("model.depth", 3)],
    "sensing": [("problem.kind", "matrix_sensing"), ("problem.d", 6), ("problem.rank", 2),
                ("problem.measurements", 30), ("model.depth", 2)],
    "factorization_depth1": [("problem.kind", "matrix_factorization"), ("problem.d", 5), ("model.depth", 1),
                             ("optimizer.weight_decay", 0.01)],
    "regression_depth4": [("problem.kind", "linear_regression"), ("problem.d", 4), ("problem.samples", 9),
                          ("model.depth", 4), ("model.width", 6)],
    "razin": [("problem.kind", "razin_cohen")],
}
PM = [("problem.kind", "sparse_recovery"), ("problem.n", 40), ("problem.measurements", 15), ("problem.sparsity", 3),
      ("model.parametrization", "pm_power"), ("model.depth", 3), ("model.init_scale", 0.05), ("optimizer.lr", 0.05)]


def _pair(overrides, steps=300):
    cfg = build_config(overrides=list(overrides) + [("run.steps", steps)])
    fast, general = Engine(cfg), Engine(cfg)
    general._fast = None
    return fast, general


def _train(engine, chunks=(1, 7, 50, 1000)):
    for k in chunks:  # uneven chunks: fast runs start and end anywhere between records
        engine.step(k)
    engine.run()


@pytest.mark.parametrize("name", list(PRODUCT))
def test_product_fast_path_gives_the_same_iterates_bit_for_bit(name):
    fast, general = _pair(PRODUCT[name])
    assert isinstance(fast._fast, fastpath.ProductGD)
    _train(fast)
    _train(general)
    assert fast.status == general.status == MAX_STEPS and fast.step_count == general.step_count == 300
    for a, b in zip(fast.params, general.params):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast.history["loss"], general.history["loss"])
    np.testing.assert_array_equal(fast.history["step"], general.history["step"])
    assert fast.time == general.time


def test_pm_power_kernel_follows_the_general_loop():
    fast, general = _pair(PM, steps=2000)
    assert isinstance(fast._fast, fastpath.PMPowerGD)
    _train(fast)
    _train(general)
    assert fast.step_count == general.step_count == 2000
    np.testing.assert_array_equal(fast.history["step"], general.history["step"])
    # the kernel sums in another order: agreement to rounding
    np.testing.assert_allclose(fast.history["loss"], general.history["loss"], rtol=1e-9, atol=1e-15)
    for a, b in zip(fast.params, general.params):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_pm_power_kernel_with_weight_decay_at_other_depths(depth):
    over = PM + [("model.depth", depth), ("optimizer.weight_decay", 0.003)]
    fast, general = _pair(over, steps=500)
    _train(fast)
    _train(general)
    for a, b in zip(fast.params, general.params):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("over", [PRODUCT["completion"], PM], ids=["product", "pm_power"])
def test_fast_path_stops_where_the_general_loop_stops(over):
    # divergence: the run stops with the general loop's message at the same step
    fast, general = _pair(over + [("optimizer.lr", 3.0)], steps=5000)
    _train(fast)
    _train(general)
    assert fast.status == general.status == DIVERGED
    assert fast.step_count == general.step_count and fast.message == general.message
    # loss tolerance: converged at the same step
    fast, general = _pair(over + [("run.loss_tol", 1e-4)], steps=20000)
    _train(fast)
    _train(general)
    assert fast.status == general.status == CONVERGED
    assert fast.step_count == general.step_count
    assert fast.history["step"][-1] == fast.step_count


def test_fast_path_is_off_for_minibatches_and_other_optimizers():
    e = Engine(build_config(overrides=PRODUCT["completion"] + [("optimizer.name", "adam"), ("run.steps", 50)]))
    calls = []
    e._fast.run = lambda *a: calls.append(a) or 0
    e.run()
    assert not calls and e.step_count == 50
    e.set_optimizer("gd")
    e.set_max_steps(100)
    e._fast = fastpath.ProductGD(e.model, e.head, np.float64)
    e.run()
    assert e.step_count == 100


def test_triangular_least_squares_matches_the_measurement_matrix(monkeypatch):
    monkeypatch.setattr(_TriangularLeastSquares, "BAND_BYTES", 2048)
    rng = np.random.default_rng(3)
    for m, n in ((40, 60), (90, 60)):  # fewer and more measurements than unknowns
        A, y, x = rng.standard_normal((m, n)), rng.standard_normal(m), rng.standard_normal(n)
        tri = _TriangularLeastSquares(A, y)
        assert len(tri.bands) > 3
        r = A @ x - y
        for _ in range(3):  # the band order alternates between calls; the result must not
            sq, g = tri(x)
            assert sq == pytest.approx(r @ r, rel=1e-12)
            np.testing.assert_allclose(g, A.T @ r, rtol=1e-10, atol=1e-11)
    sq1, g1 = tri(x)
    sq2, g2 = tri(x)
    assert sq1 == sq2 and np.array_equal(g1, g2)


def test_large_sensing_problems_use_the_triangular_factor():
    cfg = build_config(overrides=[("problem.kind", "matrix_sensing"), ("problem.d", 30), ("problem.rank", 3),
                                  ("problem.measurements", 600), ("run.steps", 0)])
    e = Engine(cfg)
    assert e.head.bands is not None
    P = e.product()
    r = e.problem.data["A"] @ P.ravel() - e.problem.data["y"]
    loss, G = e.head(P)
    assert loss == pytest.approx(0.5 * r @ r, rel=1e-12)
    np.testing.assert_allclose(G.ravel(), r @ e.problem.data["A"], rtol=1e-9, atol=1e-12)


def test_snapshots_between_steps_do_not_change_the_history():
    """Reading the state (which evaluates the loss) between steps leaves the iterates as they were."""
    cfg = build_config(overrides=[("problem.kind", "matrix_sensing"), ("problem.d", 30), ("problem.rank", 3),
                                  ("problem.measurements", 600), ("run.steps", 120)])
    a, b = Engine(cfg), Engine(cfg)
    for k in (3, 10, 40, 67):
        a.step(k)
        b.snapshot()
        b.step(k)
        b.snapshot()
        b.current_loss()
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p, q)


def test_float32_runs_take_the_fast_paths():
    for over in (PM, PRODUCT["completion"]):
        fast, general = _pair(over + [("run.dtype", "float32")], steps=400)
        assert fast._fast is not None
        _train(fast)
        _train(general)
        assert fast.params[0].dtype == np.float32 and fast.step_count == general.step_count
        for a, b in zip(fast.params, general.params):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_runs_of_one_problem_share_its_triangular_factor():
    from ibviewer.core.compare import RunGroup, expand, parse_compare

    cfg = build_config(overrides=[("problem.kind", "matrix_sensing"), ("problem.d", 30), ("problem.rank", 3),
                                  ("problem.measurements", 600), ("run.steps", 0)])
    group = RunGroup(expand(cfg, parse_compare(["model.depth=2,3"])))
    a, b = group.engines
    assert a.head.bands is not None and a.head.bands is b.head.bands


def test_pm_power_kernel_keeps_the_state_it_leaves_for_the_next_record():
    e = Engine(build_config(overrides=PM + [("run.steps", 0)]))
    e.step(137)
    got = e._fast.evaluate(e.params)
    assert got is not None
    P, loss, grads = e._evaluate()  # the general path, from scratch
    np.testing.assert_allclose(got[0], P, rtol=1e-12, atol=1e-15)
    assert got[1] == pytest.approx(loss, rel=1e-10)
    for a, b in zip(got[2], grads):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-13)
    e.params[0][3] += 1e-3  # parameters the kernel did not leave: nothing kept applies
    assert e._fast.evaluate(e.params) is None


def test_pm_kernel_compiles_without_a_writable_cache(monkeypatch):
    import importlib

    import numba

    from ibviewer.core import _pmkernel

    real = numba.njit

    def njit(*args, cache=False, **kw):
        if cache:
            raise RuntimeError("cannot cache function: no locator available")
        return real(*args, **kw)

    monkeypatch.setattr(numba, "njit", njit)
    try:
        importlib.reload(_pmkernel)
        monkeypatch.setattr(fastpath, "_PM_KERNEL", None)
        assert fastpath._pm_kernel() is _pmkernel.kernel
        fast, _general = _pair(PM, steps=50)
        assert fast._fast.run(fast.params, 10, 0.05, 0.0, np.inf, 0.0) == 10  # the uncached kernel runs
    finally:
        monkeypatch.setattr(numba, "njit", real)
        importlib.reload(_pmkernel)  # the cached kernel again for the tests that follow
        monkeypatch.setattr(fastpath, "_PM_KERNEL", None)


def test_a_kernel_that_does_not_compile_leaves_the_general_loop(monkeypatch):
    import numba

    from ibviewer.core import _pmkernel

    def fail(*args):
        raise numba.core.errors.TypingError("no compiler here")

    monkeypatch.setattr(fastpath, "_PM_KERNEL", None)
    monkeypatch.setattr(_pmkernel, "kernel", fail)
    e = Engine(build_config(overrides=PM + [("run.steps", 30)]))
    assert e._fast is None
    e.run()
    assert e.step_count == 30
