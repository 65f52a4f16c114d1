"""The saddle-to-saddle limit (ibviewer/core/saddle.py) and the lasso path (ibviewer/core/lasso.py) against
independent computations: a two-coordinate case solved by hand, the optimality conditions of every saddle
checked with another solver, the mirror flow integrated numerically at α = 1e-40, basis pursuit by linprog,
the lasso by coordinate descent, and the time average of the limit against the lasso path (two different
algorithms that must agree where the path is monotone).  docs/science.md, "Saddle to saddle"."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import linprog, lsq_linear

from ibviewer.core.config import build_config
from ibviewer.core.lasso import lasso_path
from ibviewer.core.problems import make_problem
from ibviewer.core.saddle import saddle_to_saddle
from ibviewer.core.sparse_theory import limit_rate, sparse_theory


def sparse_data(seed, n=30, m=15, s=4):
    cfg = build_config(preset="pesme_saddle_to_saddle", overrides=[
        ("problem.seed", seed), ("problem.n", n), ("problem.measurements", m), ("problem.sparsity", s)])
    p = make_problem(cfg)
    return p.data["A"], p.data["y"]


def basis_pursuit(A, y):
    """min ‖x‖₁ s.t. Ax = y as a linear program in (x⁺, x⁻) >= 0 (written here, not the references module's)."""
    n = A.shape[1]
    res = linprog(np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None), method="highs",
                  options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    return res.x[:n] - res.x[n:]


def two_coordinates(rho, b):
    """A with AᵀA = [[1, ρ], [ρ, 1]] and Aᵀy = b."""
    G = np.array([[1.0, rho], [rho, 1.0]])
    R = np.linalg.cholesky(G).T  # RᵀR = G
    return R, np.linalg.solve(R.T, np.asarray(b, float))


def test_two_coordinates_by_hand():
    # L(x) = ½xᵀGx − bᵀx + ½‖y‖², G = [[1, .5], [.5, 1]], b = (2, 1.5), c = 2:
    # ψ = 2τb until ψ₁ = 1 at τ₁ = 1/(2·2) = 0.25; plateau x = (2, 0) (L drops by b₁²/2 = 2); there ∇L₂ = .5·2 − 1.5
    # = −0.5, ψ₂ = 0.75 rises at rate 2·0.5 and reaches 1 at τ₂ = 0.25 + 0.25 = 0.5; then x = G⁻¹b = (5/3, 2/3), L = 0
    A, y = two_coordinates(0.5, (2.0, 1.5))
    lim = saddle_to_saddle(A, y)
    np.testing.assert_allclose(lim.times, [0.25, 0.5], rtol=1e-12)
    np.testing.assert_allclose(lim.plateaus, [[0, 0], [2, 0], [5 / 3, 2 / 3]], atol=1e-12)
    L0 = 0.5 * float(y @ y)
    np.testing.assert_allclose(lim.losses, [L0, L0 - 2, 0], atol=1e-12)
    assert list(lim.entering) == [0, 1] and lim.monotone
    np.testing.assert_allclose(lim.dual_at(0.375), [1.0, 0.875], rtol=1e-12)
    # x = w ⊙ w (c = 1): the same saddles at twice the times
    half = saddle_to_saddle(A, y, rate=1.0, nonnegative=True)
    np.testing.assert_allclose(half.times, [0.5, 1.0], rtol=1e-12)
    np.testing.assert_allclose(half.plateaus[-1], [5 / 3, 2 / 3], atol=1e-12)
    # signs: b = (−2, 1.5), ρ = −0.5: x₁ = −2 first (ψ₁ = −1), then ∇L₂ = −0.5·(−2) − 1.5 = −0.5 as before
    A, y = two_coordinates(-0.5, (-2.0, 1.5))
    lim = saddle_to_saddle(A, y)
    np.testing.assert_allclose(lim.times, [0.25, 0.5], rtol=1e-12)
    G = np.array([[1.0, -0.5], [-0.5, 1.0]])
    np.testing.assert_allclose(lim.plateaus[-1], np.linalg.solve(G, [-2.0, 1.5]), atol=1e-12)
    # the nonnegative limit never takes x₁ < 0: x₂ alone, at τ = 1/(1·1.5)
    pos = saddle_to_saddle(A, y, rate=1.0, nonnegative=True)
    assert pos.times[0] == pytest.approx(1 / 1.5) and pos.plateaus[1][0] == 0 and pos.plateaus[1][1] > 0
    assert np.all(pos.plateaus >= 0)


@pytest.mark.parametrize("seed,n,m,s", [(0, 50, 20, 5), (10, 30, 15, 4), (2, 20, 10, 3), (7, 50, 20, 5)])
def test_every_saddle_satisfies_its_optimality_conditions(seed, n, m, s):
    """At every plateau: x minimises L with x_i = 0 off the active set and sign(x_i) = ψ_i on it (checked with a
    bounded least-squares solver, not NNLS); |ψ| <= 1 everywhere; ψ_i = sign(x_i) where x_i != 0; ψ(τ) equals its
    integral form c(τAᵀy − AᵀA ∫₀^τ x); the loss falls from saddle to saddle; the end is basis pursuit's solution."""
    A, y = sparse_data(seed, n, m, s)
    lim = saddle_to_saddle(A, y)
    assert len(lim.times) >= s and np.all(np.diff(lim.times) > 0)
    for k in range(1, len(lim.plateaus)):
        x, psi, tau = lim.plateaus[k], lim.duals[k], lim.starts[k]
        on = np.abs(psi) >= 1 - 1e-9
        lo = np.where(on & (psi > 0), 0.0, np.where(on, -np.inf, 0.0))
        hi = np.where(on & (psi < 0), 0.0, np.where(on, np.inf, 0.0))
        cols = np.flatnonzero(on)
        ref = lsq_linear(A[:, cols], y, bounds=(lo[cols], hi[cols]), method="bvls", tol=1e-14)
        np.testing.assert_allclose(x[cols], ref.x, atol=1e-8)
        assert np.all(x[~on] == 0)
        assert np.all(np.sign(x[x != 0]) == psi[x != 0])
        integral = lim.average_at(tau)[0] * tau
        np.testing.assert_allclose(psi, lim.rate * (tau * A.T @ y - A.T @ A @ integral), atol=1e-9)
    grid = np.linspace(0, 1.5 * lim.times[-1], 2000)
    assert np.abs(lim.dual_at(grid)).max() <= 1 + 1e-9
    assert np.all(np.diff(lim.losses) <= 1e-12)
    np.testing.assert_allclose(lim.plateaus[-1], basis_pursuit(A, y), atol=1e-7)
    assert lim.losses[-1] < 1e-20


def test_the_mirror_flow_at_tiny_alpha_approaches_the_limit():
    """Gradient flow on x = u² − v² from u = v = α is θ' = −4∇L(x), x = 2α² sinh θ (docs/science.md): integrated
    numerically at α = 1e-40 in rescaled time, its ψ = θ/(2 ln(1/α)) stays within a few 1/ln(1/α) of the limit's
    and its x is the limit's plateau in the middle of every plateau."""
    A, y = sparse_data(10)
    lim = saddle_to_saddle(A, y)
    alpha = 1e-40
    ln = np.log(1 / alpha)

    G, b = A.T @ A, A.T @ y

    def rhs(_tau, th):  # (a trial step of the solver may overshoot: θ is clipped where sinh would overflow)
        return -4 * ln * (G @ (2 * alpha**2 * np.sinh(np.clip(th, -700, 700))) - b)

    def jac(_tau, th):
        return -4 * ln * G * (2 * alpha**2 * np.cosh(np.clip(th, -700, 700)))[None, :]

    T = 1.2 * lim.times[-1]
    grid = np.linspace(0, T, 3000)
    with np.errstate(all="ignore"):  # rejected trial steps overflow; the accepted ones are finite
        sol = solve_ivp(rhs, (0, T), np.zeros(A.shape[1]), t_eval=grid, method="Radau", jac=jac, rtol=1e-8,
                        atol=1e-9)
    assert sol.success
    psi = sol.y.T / (2 * ln)
    assert np.abs(psi - lim.dual_at(grid)).max() < 3 / ln  # measured 0.012 (1.1/ln(1/α))
    mids = (lim.starts[1:-1] + lim.times[1:]) / 2
    for k, t in enumerate(mids):
        x = 2 * alpha**2 * np.sinh(sol.y[:, np.searchsorted(grid, t)])
        assert np.abs(x - lim.plateaus[k + 1]).max() < 0.02


def test_the_lasso_path_in_ibvivers_normalization():
    """x_λ minimises ½‖Ax − y‖² + λ‖x‖₁: the optimality conditions hold at the knots and between them (the path is
    linear there); coordinate descent (scikit-learn's Lasso, objective divided by m) agrees; the path starts at
    λ_max = ‖Aᵀy‖∞ and ends at basis pursuit's solution."""
    from sklearn.linear_model import Lasso

    A, y = sparse_data(0, 50, 20, 5)
    path = lasso_path(A, y)
    assert path.lambdas[0] == pytest.approx(np.abs(A.T @ y).max(), rel=1e-12)
    lams = np.concatenate([path.lambdas[:-1], (path.lambdas[:-1] + path.lambdas[1:]) / 2])
    for lam in lams:
        x = path.at(lam)
        corr = A.T @ (y - A @ x)
        assert np.abs(corr).max() <= lam * (1 + 1e-9)
        np.testing.assert_allclose(corr[x != 0], lam * np.sign(x[x != 0]), rtol=1e-8)
    for lam in (0.8, 0.3, 0.05):
        cd = Lasso(alpha=lam / A.shape[0], fit_intercept=False, tol=1e-14, max_iter=200000).fit(A, y).coef_
        np.testing.assert_allclose(path.at(lam), cd, atol=1e-7)
    np.testing.assert_allclose(path.at(0.0), basis_pursuit(A, y), atol=1e-7)
    assert np.all(path.at(2 * path.lambdas[0]) == 0)


@pytest.mark.parametrize("seed,n,m,s", [(10, 30, 15, 4), (1, 30, 15, 4), (3, 20, 10, 3)])
def test_the_averaged_limit_is_the_lasso_path_where_it_is_monotone(seed, n, m, s):
    """Berthier (2025), in these conventions: (1/τ)∫₀^τ x°(σ)dσ = x_λ at λ = 1/(cτ) when no coordinate leaves the
    active set; the saddle recursion (NNLS) and LARS agree, and the jump times are the knots' times."""
    A, y = sparse_data(seed, n, m, s)
    lim, path = saddle_to_saddle(A, y), lasso_path(A, y)
    assert lim.monotone
    tau = np.linspace(0.01, 1.5 * lim.times[-1], 500)
    np.testing.assert_allclose(lim.average_at(tau), path.at_time(tau, lim.rate), atol=1e-9)
    np.testing.assert_allclose(path.knot_times(lim.rate)[:len(lim.times)], lim.times, rtol=1e-9)


def test_the_average_departs_from_the_lasso_path_where_a_coordinate_leaves():
    """Seed 0 of the saddle-to-saddle preset: coordinates leave the active set, and the correspondence is only
    approximate (docs/science.md)."""
    A, y = sparse_data(0, 50, 20, 5)
    lim, path = saddle_to_saddle(A, y), lasso_path(A, y)
    assert not lim.monotone
    tau = np.linspace(0.01, 1.5 * lim.times[-1], 500)
    gap = np.abs(lim.average_at(tau) - path.at_time(tau, lim.rate)).max()
    assert 1e-3 < gap < 0.2


def test_which_runs_have_the_theory():
    base = build_config(preset="pesme_saddle_to_saddle")
    assert limit_rate(base) == (2.0, False)
    had = build_config(preset="pesme_saddle_to_saddle", overrides=[("model.parametrization", "hadamard")])
    assert limit_rate(had) == (1.0, True)
    for key, value in (("model.init_scale", 0.5), ("model.depth", 3), ("model.init", "gaussian")):
        assert limit_rate(build_config(preset="pesme_saddle_to_saddle", overrides=[(key, value)])) is None
    assert limit_rate(build_config(preset="sensing_incremental_rank")) is None
    theory = sparse_theory(base, make_problem(base))
    assert theory.divisor == pytest.approx(np.log(1e10))
    row = theory.row(np.zeros(50), 0.0)
    assert row == {"saddle_gap": 0.0, "lasso_gap": 0.0}
