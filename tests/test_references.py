"""Reference solutions (ibviewer.core.references) on cases with known answers, against brute-force alternatives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from ibviewer.core import references as R
from ibviewer.core.config import build_config
from ibviewer.core.problems import make_problem


def sparse_problem(seed: int = 0, m: int = 40, n: int = 100, s: int = 5):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    x[rng.choice(n, s, replace=False)] = rng.standard_normal(s)
    return a, x, a @ x


def nuc(x: np.ndarray) -> float:
    return float(np.linalg.svd(x, compute_uv=False).sum())


# ---------------------------------------------------------------------------------------------- min-l2, min-l1
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_min_l1_recovers_the_sparse_solution(seed):
    a, x, y = sparse_problem(seed)  # m = 40 Gaussian rows, 5 nonzeros of 100: basis pursuit recovers x
    xl1 = R.min_l1(a, y)
    np.testing.assert_allclose(xl1, x, atol=1e-8)
    xl2 = R.min_l2(a, y)
    np.testing.assert_allclose(xl2, np.linalg.pinv(a) @ y, atol=1e-12)
    assert np.abs(xl1).sum() < np.abs(xl2).sum()
    assert np.linalg.norm(xl2) < np.linalg.norm(xl1)


def test_min_l1_tiny_known_case():
    # x1 + 2 x2 = 2: the l1-minimal point is (0, 1); the l2-minimal one is (0.4, 0.8)
    a, y = np.array([[1.0, 2.0]]), np.array([2.0])
    np.testing.assert_allclose(R.min_l1(a, y), [0.0, 1.0], atol=1e-10)
    np.testing.assert_allclose(R.min_l2(a, y), [0.4, 0.8], atol=1e-12)


# ---------------------------------------------------------------------------------------------- Q_alpha
def test_q_alpha_value_of_q():
    assert R.q_alpha_value(np.zeros(3), 0.5) == 0.0
    # q(z) ~ z^2/4 for small z: Q_alpha ~ ||x||^2 / (4 alpha^2) for large alpha
    x = np.array([0.3, -0.2])
    assert R.q_alpha_value(x, 30.0) == pytest.approx((x @ x) / (4 * 900), rel=1e-4)
    # q(z) = 2 - sqrt(4 + z^2) + z asinh(z/2) at z = 3, alpha = 1
    assert R.q_alpha_value(np.array([3.0]), 1.0) == pytest.approx(2 - np.sqrt(13) + 3 * np.arcsinh(1.5))
    # alpha^2 q(x/alpha^2) / ln(1/alpha^2) -> |x| as alpha -> 0 (the l1 limit)
    x = np.array([1.0, -2.0])
    a = 1e-6
    assert R.q_alpha_value(x, a) / np.log(1 / a**2) == pytest.approx(3.0, rel=0.06)


@pytest.mark.parametrize("alpha", [3.0, 1.0, 0.3, 0.1, 0.01, 1e-3])
def test_q_alpha_minimizer_satisfies_kkt(alpha):
    a, _, y = sparse_problem(0)
    x = R.q_alpha_minimizer(a, y, alpha)
    assert np.linalg.norm(a @ x - y) <= 1e-10 * np.linalg.norm(y)
    # stationarity: grad Q_alpha(x) = asinh(x / (2 alpha^2)) lies in the row space of A
    g = np.arcsinh(x / (2 * alpha**2))
    null = np.eye(a.shape[1]) - np.linalg.pinv(a) @ a
    assert np.linalg.norm(null @ g) <= 1e-9 * np.linalg.norm(g)
    # and it is the minimum: feasible perturbations along the null space increase Q_alpha
    q0 = R.q_alpha_value(x, alpha)
    rng = np.random.default_rng(1)
    for _ in range(20):
        d = null @ rng.standard_normal(a.shape[1])
        d *= 1e-3 * np.linalg.norm(x) / np.linalg.norm(d)
        assert R.q_alpha_value(x + d, alpha) >= q0


def test_q_alpha_minimizer_against_brute_force():
    # a small problem: minimize Q_alpha over x0 + N z with BFGS
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 8))
    y = a @ np.r_[1.5, -0.7, np.zeros(6)]
    x0 = np.linalg.pinv(a) @ y
    basis = np.linalg.svd(a)[2][3:].T  # null space of A
    for alpha in (1.0, 0.3, 0.1):
        res = minimize(lambda z: R.q_alpha_value(x0 + basis @ z, alpha), np.zeros(5), method="BFGS",
                       options={"gtol": 1e-12})
        brute = x0 + basis @ res.x
        x = R.q_alpha_minimizer(a, y, alpha)
        assert np.linalg.norm(a @ x - y) <= 1e-12 * np.linalg.norm(y)
        assert R.q_alpha_value(x, alpha) <= R.q_alpha_value(brute, alpha) + 1e-13
        np.testing.assert_allclose(x, brute, atol=1e-5)


def test_q_alpha_minimizer_interpolates_min_l2_and_min_l1():
    a, _, y = sparse_problem(0)
    xl1, xl2 = R.min_l1(a, y), R.min_l2(a, y)
    rel = lambda u, v: np.linalg.norm(u - v) / np.linalg.norm(v)  # noqa: E731
    assert rel(R.q_alpha_minimizer(a, y, 100.0), xl2) < 1e-8  # kernel regime
    assert rel(R.q_alpha_minimizer(a, y, 10.0), xl2) < 1e-5
    alphas = [10.0, 1.0, 0.3, 0.1, 0.03, 0.01, 1e-3, 1e-4]
    d_l1 = [rel(R.q_alpha_minimizer(a, y, al), xl1) for al in alphas]
    assert all(u > v for u, v in zip(d_l1, d_l1[1:])), d_l1  # monotone towards min-l1
    assert d_l1[-1] < 5e-3  # rich regime; the approach is slow (~1/ln(1/alpha))


# ---------------------------------------------------------------------------------------------- nuclear norm
def _completion_projector(m: np.ndarray, mask: np.ndarray):
    rows, cols = np.nonzero(mask)

    def project(x):
        x = x.copy()
        x[rows, cols] = m[rows, cols]
        return x

    return project


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_min_nuclear_norm_completes_a_low_rank_matrix_exactly(seed):
    rng = np.random.default_rng(seed)
    d = 12
    m = np.outer(rng.uniform(1, 2, d), rng.uniform(1, 2, d))  # rank 1, incoherent
    mask = rng.random((d, d)) < 0.6
    x = R.min_nuclear_norm(_completion_projector(m, mask), (d, d))
    np.testing.assert_allclose(x[mask], m[mask])  # feasible
    assert np.linalg.norm(x - m) <= 1e-6 * np.linalg.norm(m)


@pytest.mark.parametrize("seed", [0, 1])
def test_min_nuclear_norm_recovers_from_gaussian_sensing(seed):
    rng = np.random.default_rng(seed)
    d, r, k = 8, 2, 50
    m = rng.standard_normal((d, r)) @ rng.standard_normal((r, d))
    a = rng.standard_normal((k, d * d)) / np.sqrt(k)
    y = a @ m.ravel()
    pinv = np.linalg.pinv(a)

    def project(x):
        v = x.ravel()
        return (v - pinv @ (a @ v - y)).reshape(d, d)

    x = R.min_nuclear_norm(project, (d, d))
    assert np.linalg.norm(x - m) <= 1e-6 * np.linalg.norm(m)


def test_min_nuclear_norm_against_brute_force():
    # 4x4 rank 1 with 4 missing entries: here the minimum is below ||M||_* (the completion is not M);
    # compare with Nelder-Mead over the 4 free entries (convex, so the best of a few starts is the minimum)
    m = np.outer([1.0, 2.0, -1.0, 0.5], [0.3, 1.0, 2.0, -1.0])
    missing = [(0, 0), (1, 2), (2, 3), (3, 1)]
    mask = np.ones((4, 4), bool)
    for i, j in missing:
        mask[i, j] = False
    x = R.min_nuclear_norm(_completion_projector(m, mask), (4, 4))

    def f(z):
        w = m.copy()
        for k, (i, j) in enumerate(missing):
            w[i, j] = z[k]
        return nuc(w)

    rng = np.random.default_rng(0)
    best = min(
        (minimize(f, 2 * rng.standard_normal(4), method="Nelder-Mead",
                  options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}) for _ in range(5)),
        key=lambda res: res.fun,
    )
    assert nuc(x) <= best.fun + 1e-9  # ADMM is at least as good as the brute force ...
    assert nuc(x) == pytest.approx(best.fun, rel=1e-5)  # ... which is close to the minimum
    assert nuc(x) < nuc(m) - 0.1


def test_min_nuclear_norm_razin_cohen():
    # W = [[x, 1], [1, 0]]: ||W||_* = sqrt(x^2 + 4), minimal (2) at x = 0
    cfg = build_config(preset="razin_cohen_norms_diverge")
    p = make_problem(cfg)
    x = R.min_nuclear_norm(R.affine_projector(p), p.shape)
    np.testing.assert_allclose(x, [[0.0, 1.0], [1.0, 0.0]], atol=1e-7)


def test_factorization_constraint_gives_the_matrix_itself():
    cfg = build_config(preset="factorization_early_stopping")
    p = make_problem(cfg)
    project = R.affine_projector(p)
    np.testing.assert_array_equal(project(np.zeros(p.shape)), p.data["M"])
    np.testing.assert_allclose(R.min_nuclear_norm(project, p.shape), p.data["M"])


def test_problem_references_of_sensing_and_completion():
    cfg = build_config(preset="completion_depth_low_rank", overrides=[("problem.d", 10), ("problem.measurements", 60)])
    p = make_problem(cfg)
    refs = R.references(p)
    d = p.data
    # min-Frobenius interpolant: the observed entries, zeros elsewhere
    expected = np.zeros(p.shape)
    expected[d["rows"], d["cols"]] = d["values"]
    np.testing.assert_array_equal(refs["min_l2"], expected)
    np.testing.assert_allclose(refs["min_nuclear"][d["rows"], d["cols"]], d["values"], atol=1e-8)
    assert nuc(refs["min_nuclear"]) <= nuc(p.target) + 1e-6  # the ground truth is feasible
    assert nuc(refs["min_nuclear"]) <= nuc(refs["min_l2"]) + 1e-6
    assert R.references(p) is not refs and R.references(p)["min_nuclear"] is refs["min_nuclear"]  # cached


# ---------------------------------------------------------------------------------------------- max margin
AT9_SUPPORT = np.array([[0.5, 1.5], [1.5, 0.5], [-0.5, -1.5], [-1.5, -0.5]])
AT9_LABELS = np.array([1.0, 1.0, -1.0, -1.0])


def test_max_margin_four_point_example():
    w = R.max_margin(AT9_SUPPORT, AT9_LABELS)
    assert np.linalg.norm(w) == pytest.approx(0.7071, abs=1e-4)
    np.testing.assert_allclose(w / np.linalg.norm(w), np.array([1.0, 1.0]) / np.sqrt(2), atol=1e-9)
    np.testing.assert_allclose(w, [0.5, 0.5], atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_max_margin_of_the_at9_problem(seed):
    # the 4 support points plus 12 random points beyond the margin: the same solution
    cfg = build_config(preset="logistic_max_margin", overrides=[("problem.seed", seed)])
    p = make_problem(cfg)
    x, y = p.data["X"], p.data["labels"]
    np.testing.assert_array_equal(x[:4], AT9_SUPPORT)
    w = R.max_margin(x, y)
    np.testing.assert_allclose(w, [0.5, 0.5], atol=1e-9)
    margins = y * (x @ w)
    assert margins.min() == pytest.approx(1.0)
    assert np.all(margins[4:] > 1.2)  # the random points are not support vectors
    np.testing.assert_allclose(R.references(p)["max_margin"], [[0.5, 0.5]], atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_max_margin_against_the_dual(seed):
    # random separable data in 3-D; the dual max sum(l) - |sum l_i y_i x_i|^2 / 2, l >= 0, gives w = sum l_i y_i x_i
    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal(3)
    x = rng.standard_normal((30, 3))
    x = x[np.abs(x @ w_true) > 0.3]
    y = np.sign(x @ w_true)
    yx = y[:, None] * x
    res = minimize(lambda lam: 0.5 * np.sum((lam @ yx) ** 2) - lam.sum(), np.zeros(len(y)),
                   jac=lambda lam: yx @ (lam @ yx) - 1.0, method="L-BFGS-B", bounds=[(0, None)] * len(y),
                   options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})
    w_dual = res.x @ yx
    w = R.max_margin(x, y)
    assert np.all(yx @ w >= 1 - 1e-8)
    np.testing.assert_allclose(w, w_dual, rtol=1e-4, atol=1e-6)


def test_razin_cohen_references():
    p = make_problem(build_config(preset="razin_cohen_norms_diverge"))
    refs = R.references(p)
    np.testing.assert_allclose(refs["min_l2"], [[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(refs["min_nuclear"], [[0.0, 1.0], [1.0, 0.0]], atol=1e-7)


def test_non_negative_basis_pursuit_is_the_cheapest_non_negative_vertex():
    import itertools

    from ibviewer.core.references import min_l1_nonnegative

    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 8))
    y = a @ np.r_[0.0, 0.0, 0.0, 0.0, 0.0, 0.6, 0.0, 0.1] + np.r_[0.05, -0.02, 0.01]
    x = min_l1_nonnegative(a, y)
    best = None  # an optimal vertex of {A x = y, x >= 0} has at most 3 non-zeros: try every support
    for support in itertools.combinations(range(8), 3):
        sub = a[:, support]
        if abs(np.linalg.det(sub)) < 1e-12:
            continue
        v = np.linalg.solve(sub, y)
        if np.all(v >= -1e-12) and (best is None or v.sum() < best):
            best = v.sum()
    assert np.all(x >= -1e-12) and np.allclose(a @ x, y, atol=1e-9)
    assert best is not None and x.sum() == pytest.approx(best, rel=1e-9)


def test_a_positive_hadamard_run_is_measured_against_the_non_negative_l1_solution_it_reaches():
    from ibviewer.core.engine import Engine
    from ibviewer.core.references import min_l1

    c = build_config(overrides={"problem.kind": "sparse_recovery", "problem.n": 8, "problem.measurements": 3,
                                "problem.sparsity": 2, "problem.seed": 0, "model.parametrization": "hadamard",
                                "model.depth": 2, "model.init_scale": 1e-3, "optimizer.lr": 0.05,
                                "run.steps": 40000, "run.loss_tol": 1e-20})
    e = Engine(c)
    signed = min_l1(e.problem.data["A"], e.problem.data["y"])
    assert np.any(signed < -1e-3) and np.all(e.refs["min_l1"] >= 0)  # the signed solution is out of reach
    e.run()
    x = e.product()
    assert e.summary()["references"]["min_l1"] <= 0.1  # measured 0.064 (0.043 after 2·10⁵ steps)
    assert np.linalg.norm(x - signed) / np.linalg.norm(signed) >= 0.25  # measured 0.28: not the signed one
    gauss = Engine(build_config(overrides={"problem.kind": "sparse_recovery", "problem.n": 8,
                                           "problem.measurements": 3, "problem.sparsity": 2, "problem.seed": 0,
                                           "model.parametrization": "hadamard", "model.init": "gaussian"}))
    assert np.allclose(gauss.refs["min_l1"], signed)  # signed factors: the signed solution stays the reference
