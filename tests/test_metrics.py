"""ibviewer.core.metrics against numpy/scipy on matrices with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import entropy

from ibviewer.core import metrics as M
from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine


def low_rank(d: int, s, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((d, len(s))))
    v, _ = np.linalg.qr(rng.standard_normal((d, len(s))))
    return (u * np.asarray(s, float)) @ v.T


# ---------------------------------------------------------------------------------------------- effective ranks
@pytest.mark.parametrize("k", [1, 2, 5, 20])
def test_effective_ranks_of_a_flat_spectrum_are_its_rank(k):
    s = np.r_[np.full(k, 3.7), np.zeros(20 - k)]
    er = M.effective_ranks(s)
    assert er["entropy"] == pytest.approx(k)
    assert er["nuclear_over_operator"] == pytest.approx(k)
    assert er["stable"] == pytest.approx(k)


def test_effective_ranks_of_a_known_spectrum():
    er = M.effective_ranks(np.array([3.0, 1.0]))
    assert er["entropy"] == pytest.approx(np.exp(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25))))
    assert er["nuclear_over_operator"] == pytest.approx(4 / 3)
    assert er["stable"] == pytest.approx(10 / 9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_effective_ranks_match_numpy_and_scipy(seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((12, 9)) @ np.diag(rng.uniform(0.01, 5, 9))
    s = np.linalg.svd(w, compute_uv=False)
    er = M.effective_ranks(s[::-1])  # any order
    op = np.linalg.norm(w, 2)
    assert er["entropy"] == pytest.approx(np.exp(entropy(s)))  # scipy normalizes s to a distribution
    assert er["nuclear_over_operator"] == pytest.approx(np.linalg.norm(w, "nuc") / op)
    assert er["stable"] == pytest.approx(np.linalg.norm(w, "fro") ** 2 / op**2)
    # the three forms are scale invariant and lie between 1 and the rank
    er2 = M.effective_ranks(1e-7 * s)
    for key, value in er.items():
        assert er2[key] == pytest.approx(value)
        assert 1.0 <= value <= 9.0
    # stable <= nuclear/operator and entropy <= rank
    assert er["stable"] <= er["nuclear_over_operator"] + 1e-12


@pytest.mark.parametrize("scale", [1e-300, 1e-170, 1e170, 1e300])
def test_effective_ranks_at_the_ends_of_the_float_range(scale):
    """Singular values of 1e-300 square to 0 (and 1e300 to inf): the ranks are scale invariant, with no warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        er = M.effective_ranks(scale * np.array([3.0, 1.0]))
    assert er["stable"] == pytest.approx(10 / 9) and er["nuclear_over_operator"] == pytest.approx(4 / 3)


def test_effective_ranks_of_zero_matrix():
    assert M.effective_ranks(np.zeros(4)) == {"entropy": 0.0, "nuclear_over_operator": 0.0, "stable": 0.0}
    assert M.effective_ranks(np.array([])) == {"entropy": 0.0, "nuclear_over_operator": 0.0, "stable": 0.0}


# ---------------------------------------------------------------------------------------------- numerical rank
@pytest.mark.parametrize("r", [1, 3, 7])
def test_numerical_rank_of_a_low_rank_matrix(r):
    w = low_rank(15, np.linspace(10, 1, r)) + 1e-9 * np.random.default_rng(r).standard_normal((15, 15))
    s = np.linalg.svd(w, compute_uv=False)
    assert M.numerical_rank(s, 1e-3) == r
    assert M.numerical_rank(s, 1e-3) == np.linalg.matrix_rank(w, tol=1e-3 * s[0])
    assert M.numerical_rank(s, 1e-12) == 15  # the noise floor counts at a tiny tolerance


def test_numerical_rank_counts_relative_to_the_largest():
    s = np.array([100.0, 2.0, 0.5, 0.05])
    assert M.numerical_rank(s, 1e-4) == 4
    assert M.numerical_rank(s, 1e-3) == 3
    assert M.numerical_rank(s, 1e-2) == 2
    assert M.numerical_rank(s, 0.1) == 1
    assert M.numerical_rank(np.zeros(3), 1e-3) == 0


# ---------------------------------------------------------------------------------------------- norms
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_matrix_norms_match_numpy(depth):
    w = np.random.default_rng(depth).standard_normal((8, 6))
    s = np.linalg.svd(w, compute_uv=False)
    n = M.matrix_norms(s, depth)
    assert n["fro"] == pytest.approx(np.linalg.norm(w, "fro"))
    assert n["nuclear"] == pytest.approx(np.linalg.norm(w, "nuc"))
    assert n["operator"] == pytest.approx(np.linalg.norm(w, 2))
    assert n["sum_sigma_2_over_n"] == pytest.approx(np.sum(s ** (2 / depth)))
    if depth == 1:
        assert n["sum_sigma_2_over_n"] == pytest.approx(np.linalg.norm(w, "fro") ** 2)
    if depth == 2:
        assert n["sum_sigma_2_over_n"] == pytest.approx(np.linalg.norm(w, "nuc"))


def test_relative_distance_angle_and_margin():
    ref = np.array([3.0, 4.0])
    assert M.relative_distance(np.array([3.0, 5.0]), ref) == pytest.approx(0.2)
    assert M.relative_distance(np.array([1.0, 0.0]), np.zeros(2)) == pytest.approx(1.0)
    a = np.eye(3)
    assert M.relative_distance(2 * a, a) == pytest.approx(1.0)  # Frobenius for matrices
    assert M.angle_degrees(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(45.0)
    assert M.angle_degrees(np.array([1.0, 0.0]), np.array([-2.0, 0.0])) == pytest.approx(180.0)
    x = np.array([[0.5, 1.5], [1.5, 0.5], [-0.5, -1.5], [-1.5, -0.5]])
    y = np.array([1.0, 1.0, -1.0, -1.0])
    assert M.normalized_margin(np.array([1.0, 1.0]), x, y) == pytest.approx(np.sqrt(2))
    assert M.normalized_margin(np.array([5.0, 5.0]), x, y) == pytest.approx(np.sqrt(2))  # scale invariant
    assert M.normalized_margin(np.array([1.0, 0.0]), x, y) == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------------- balancedness
def test_balancedness_of_hand_built_balanced_factors_is_zero():
    # W_j = U_{j+1} S^{1/N} U_j^T with orthonormal U_j: W_{j+1}^T W_{j+1} = W_j W_j^T exactly
    rng = np.random.default_rng(0)
    d, n = 6, 4
    s = np.diag(rng.uniform(0.5, 3, d) ** (1 / n))
    us = [np.linalg.qr(rng.standard_normal((d, d)))[0] for _ in range(n + 1)]
    factors = [us[j + 1] @ s @ us[j].T for j in range(n)]
    bal = M.balancedness(factors)
    assert len(bal) == n - 1
    for b in bal:
        assert np.linalg.norm(b) < 1e-12
    # an unbalanced pair: D = W2^T W2 - W1 W1^T computed by hand
    w1, w2 = rng.standard_normal((4, 3)), rng.standard_normal((5, 4))
    (b,) = M.balancedness([w1, w2])
    np.testing.assert_allclose(b, w2.T @ w2 - w1 @ w1.T)
    # vectors (Hadamard factors): w_{j+1}^2 - w_j^2
    (bv,) = M.balancedness([np.array([1.0, 2.0]), np.array([3.0, -2.0])])
    np.testing.assert_allclose(bv, [8.0, 0.0])


@pytest.mark.parametrize("depth", [2, 3])
def test_balancedness_of_the_balanced_init_is_zero(depth):
    cfg = build_config(preset="deep_linear_balancedness", overrides=[
        ("model.init", "balanced"), ("model.depth", depth), ("model.init_std", 0.0), ("run.steps", 1)])
    e = Engine(cfg)
    bal = M.balancedness([np.asarray(w) for w in e.params])
    scale = max(np.linalg.norm(w) for w in e.params) ** 2
    assert all(np.linalg.norm(b) <= 1e-12 * scale for b in bal)
    e.run()
    assert np.all(e.history["balancedness"][0] <= 1e-12 * scale)
    # the gaussian init of the same preset (entries N(0, 0.5^2)) is far from balanced
    g = Engine(build_config(preset="deep_linear_balancedness", overrides=[("model.depth", depth)]))
    assert min(np.linalg.norm(b) for b in M.balancedness([np.asarray(w) for w in g.params])) > 1.0


# ---------------------------------------------------------------------------------------------- half-times
def test_half_times_of_logistic_curves():
    steps = np.arange(0, 1000)
    centers = np.array([100.0, 250.0, 600.0])
    targets = np.array([4.0, 2.0, 1.0])
    series = targets / (1 + np.exp(-(steps[:, None] - centers) / 10.0))
    t = M.half_times(series, steps, targets)
    np.testing.assert_array_equal(t, centers)  # first step at which a curve reaches half of its target


def test_half_times_first_crossing_unrecorded_steps_and_never():
    steps = np.array([0, 10, 20, 40, 80])
    series = np.array([[0.0, 0.0], [0.4, 0.1], [0.6, 0.2], [0.3, 0.3], [1.0, 0.4]])
    t = M.half_times(series, steps, np.array([1.0, 1.0]))
    assert t[0] == 20  # first crossing, even though the curve dips again
    assert np.isnan(t[1])  # never reaches half
