"""Label noise (``optimizer.label_noise``) and acceptance experiment AT12 (docs/science.md).

The noisy loss is checked against the problem's own loss head on targets shifted by hand, the engine's iterates
against a plain numpy loop of label-noise GD (which also shows that no fast path with clean targets took the
steps), and AT12 by training the preset: label-noise GD ends much nearer basis pursuit's solution than plain GD.
"""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest

from ibviewer.core.compare import RunGroup
from ibviewer.core.config import ConfigError, build_config
from ibviewer.core.engine import Engine
from ibviewer.core.labelnoise import LabelNoise, target_shape
from ibviewer.core.problems import LossHead, make_problem

SEEDS = [int(s) for s in os.environ.get("IBVIEWER_SCIENCE_SEEDS", "0,1").split(",")]
TARGET_KEY = {"matrix_sensing": "y", "sparse_recovery": "y", "matrix_completion": "values",
              "razin_cohen": "values", "matrix_factorization": "M", "linear_regression": "Y"}


@pytest.mark.parametrize("kind", sorted(TARGET_KEY) + ["matrix_sensing:rank_one"])
@pytest.mark.parametrize("batch", [False, True], ids=["full", "minibatch"])
def test_a_shifted_loss_is_the_loss_of_the_shifted_targets(kind, batch):
    overrides = [("problem.kind", kind.split(":")[0])]
    if kind.endswith(":rank_one"):
        overrides.append(("problem.operator", "rank_one"))
    kind = kind.split(":")[0]
    problem = make_problem(build_config(overrides=overrides))
    rng = np.random.default_rng(5)
    eps = rng.standard_normal(target_shape(problem))
    shifted = copy.copy(problem)
    shifted.data = dict(problem.data)
    shifted.data[TARGET_KEY[kind]] = problem.data[TARGET_KEY[kind]] + eps
    P = rng.standard_normal(problem.shape)
    idx = None
    if batch and kind != "matrix_factorization":  # factorization has no minibatches: its loss is the full one
        idx = np.sort(rng.choice(problem.n_data, size=max(1, problem.n_data // 3), replace=False))
    want_loss, want_grad = LossHead(shifted, shifted.data)(P, idx)
    loss, grad = LossHead(problem, problem.data)(P, idx, eps)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-12)


def test_draws_are_standard_normal_fresh_each_step_and_depend_on_seed_and_step_only():
    a, b = LabelNoise(3, (40,)), LabelNoise(3, (40,))
    draws = np.array([a.standard(t).copy() for t in range(5000)])
    assert abs(draws.mean()) < 0.01 and abs(draws.std() - 1) < 0.01  # 2e5 draws: 5 standard errors
    lag = np.corrcoef(draws[:-1].ravel(), draws[1:].ravel())[0, 1]
    assert abs(lag) < 0.01  # consecutive steps independent
    for t in (4999, 0, 1638, 1639, 1640):  # any order, across the block boundaries (1638 steps of 40 per block)
        np.testing.assert_array_equal(b.standard(t), draws[t])
    assert not np.array_equal(LabelNoise(4, (40,)).standard(7), draws[7])


def _sparse(**over):
    base = {"problem.kind": "sparse_recovery", "model.init_scale": 1.0, "optimizer.lr": 0.01,
            "optimizer.label_noise": 0.5, "run.steps": 300}
    base.update(over)
    return build_config(overrides=list(base.items()))


def test_engine_takes_label_noise_gd_steps_like_a_plain_loop():
    """x = u^2 - v^2, g = A^T (A x - y - sigma z_t): the engine's iterates after 300 steps equal a numpy loop's
    (a fast path with clean targets would land elsewhere)."""
    cfg = _sparse()
    e = Engine(cfg)
    u, v = (np.array(p, dtype=float) for p in e.params)
    A, y = e.problem.data["A"], e.problem.data["y"]
    noise = LabelNoise(cfg.run.seed, y.shape)
    for t in range(300):
        g = A.T @ (A @ (u * u - v * v) - y - 0.5 * noise.standard(t))
        u, v = u - 0.01 * 2 * u * g, v + 0.01 * 2 * v * g
    e.run()
    assert e.step_count == 300
    np.testing.assert_allclose(e.params[0], u, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(e.params[1], v, rtol=1e-10, atol=1e-13)
    # the recorded loss is the clean full loss
    x = u * u - v * v
    assert e.history.last()["loss"] == pytest.approx(0.5 * float(np.sum((A @ x - y) ** 2)), rel=1e-9)


def test_label_noise_set_between_steps_applies_from_that_step():
    """100 plain steps (the fast path), then sigma = 0.5 set live: the next 100 steps are label-noise steps with
    the draws of steps 100-199, as a numpy loop takes them."""
    e = Engine(_sparse(**{"optimizer.label_noise": 0.0, "run.steps": 200}))
    u, v = (np.array(p, dtype=float) for p in e.params)
    A, y = e.problem.data["A"], e.problem.data["y"]
    noise = LabelNoise(0, y.shape)
    for t in range(200):
        g = A.T @ (A @ (u * u - v * v) - y - (0.5 * noise.standard(t) if t >= 100 else 0.0))
        u, v = u - 0.01 * 2 * u * g, v + 0.01 * 2 * v * g
    e.step(100)
    e.set_optimizer(label_noise=0.5)
    e.run()
    np.testing.assert_allclose(e.params[0], u, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(e.params[1], v, rtol=1e-10, atol=1e-13)


def test_label_noise_runs_are_reproducible_in_any_chunks_and_after_a_saved_state():
    whole = Engine(_sparse())
    whole.run()
    chunks = Engine(_sparse())
    for k in (7, 93, 50):
        chunks.step(k)
    state = chunks.state_dict()
    resumed = Engine(_sparse())
    resumed.load_state_dict(state)
    chunks.run()
    resumed.run()
    for e in (chunks, resumed):
        for p, q in zip(e.params, whole.params):
            np.testing.assert_array_equal(p, q)
    other = Engine(_sparse(**{"run.seed": 1}))
    other.run()
    assert not np.allclose(other.params[0], whole.params[0])


def test_sgd_with_label_noise_differs_from_sgd_without():
    plain = Engine(_sparse(**{"optimizer.name": "sgd", "optimizer.batch_size": 10, "optimizer.label_noise": 0}))
    noisy = Engine(_sparse(**{"optimizer.name": "sgd", "optimizer.batch_size": 10}))
    plain.run()
    noisy.run()
    assert plain.status == noisy.status == "max_steps"
    assert not np.allclose(plain.params[0], noisy.params[0])


def test_runs_compared_together_each_draw_their_noise():
    """A comparison stacks runs of one shape into one batched update; a run with label noise trains as it
    would alone (here: a product model, whose stack would otherwise take clean fast-path steps)."""
    over = {"problem.kind": "matrix_sensing", "optimizer.label_noise": 0.3, "run.steps": 200}
    runs = []
    for lr in (0.005, 0.01):
        o = dict(over, **{"optimizer.lr": lr})
        runs.append((f"lr={lr}", build_config(overrides=list(o.items()))))
    group = RunGroup(runs)
    group.run()
    for (_, cfg), e in zip(runs, group.engines):
        alone = Engine(cfg)
        alone.run()
        for p, q in zip(e.params, alone.params):
            np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["logistic_separable", "teacher_student"])
def test_label_noise_needs_a_squared_loss(kind):
    with pytest.raises(ConfigError, match=r"optimizer.label_noise = 1 is not allowed for problem.kind"):
        build_config(overrides=[("problem.kind", kind), ("optimizer.label_noise", 1)])


def test_negative_label_noise_is_refused():
    with pytest.raises(ConfigError, match=r"optimizer.label_noise"):
        build_config(overrides=[("problem.kind", "sparse_recovery"), ("optimizer.label_noise", -0.1)])


# ---------------------------------------------------------------------------------------------- AT12
#: AT12's tolerance: label-noise GD's final distance to x_l1 over plain GD's (the issue's claim: at most half)
AT12_RATIO = 0.5


@pytest.mark.parametrize("seed", SEEDS)
def test_at12_label_noise_moves_to_the_sparse_solution(seed):
    """Sparse recovery at alpha = 1, eta = 0.01, 5e4 steps: plain GD ends near x_l2 (relative distance to x_l1
    about 0.75); label noise sigma = 1 ends at most half as far from x_l1 (measured: 0.084 x and 0.37 x)."""
    finals = {}
    for sigma in (0.0, 1.0):
        cfg = build_config(preset="label_noise_sparse", overrides=[
            ("optimizer.label_noise", sigma), ("problem.seed", seed), ("run.seed", seed)])
        assert (cfg.model.init_scale, cfg.optimizer.lr, cfg.run.steps) == (1.0, 0.01, 50000)
        e = Engine(cfg)
        e.run()
        assert e.status == "max_steps", e.message
        finals[sigma] = e.summary()["references"]["min_l1"]
    assert finals[0.0] > 0.5  # plain GD from alpha = 1 stays far from the sparse solution
    assert finals[1.0] <= AT12_RATIO * finals[0.0], finals
