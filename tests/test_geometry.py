"""The mirror geometry of one measurement (ibviewer/core/geometry.py), against independent computations: the
potentials against quadrature of their mirror maps and the references' Q_α, the minimiser on the solution set
against SLSQP and the references' dual Newton solver, its limits against linprog and lstsq, and AT16: the limit
of real GD training (docs/science.md, "AT16")."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import linprog, minimize

from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.geometry import (
    Potential,
    SolutionView,
    geometry_applies,
    hyperplane_from_min_l2,
    level_lines,
    level_values,
    minimiser_on_hyperplane,
    potential_for,
)
from ibviewer.core.mirror import bregman_depth, depth_mirror_map, q_alpha_gradient
from ibviewer.core.references import q_alpha_minimizer, q_alpha_value

POTENTIALS = [Potential("pm_power", a, n) for n in (2, 3, 4) for a in (1.0, 0.3)] + [
    Potential("hadamard", a, n) for n in (2, 3) for a in (1.0, 0.3)] + [Potential("euclidean", 1.0, 1)]


def measurement(n: int, seed: int) -> tuple[np.ndarray, float]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n), 0.7


@pytest.mark.parametrize("pot", POTENTIALS, ids=lambda p: f"{p.kind}-N{p.depth}-a{p.alpha}")
def test_each_potential_is_the_integral_of_its_mirror_map(pot):
    c = float(pot.centre(1)[0])
    xs = [0.05, 0.4, 1.7] + ([-0.3, -2.0] if pot.kind != "hadamard" else [])
    for x in xs:
        integral = quad(lambda t: float(pot.mirror_map(np.array([t]))[0]), c, x, epsabs=1e-12, epsrel=1e-11)[0]
        assert pot.terms(np.array([x]))[0] - pot.terms(np.array([c]))[0] == pytest.approx(integral, rel=1e-8, abs=1e-10)
        assert pot.inverse_map(pot.mirror_map(np.array([x])))[0] == pytest.approx(x, rel=1e-10)
    assert pot.mirror_map(np.array([c]))[0] == pytest.approx(0.0, abs=1e-12)  # the flow's start


def test_the_potentials_are_mirror_py_s():
    x = np.array([0.3, -1.2, 2.5])
    for a in (1.0, 0.1):
        assert Potential("pm_power", a, 2).value(x) == pytest.approx(q_alpha_value(x, a), rel=1e-12)
        np.testing.assert_allclose(Potential("pm_power", a, 2).mirror_map(x), q_alpha_gradient(x, a), rtol=1e-14)
        for n in (3, 4):
            # Q(0) = 0 and ∇Q(0) = 0, so Q(x) = D_Q(x, 0)
            assert Potential("pm_power", a, n).value(x) == pytest.approx(bregman_depth(x, np.zeros(3), a, n), rel=1e-10)
            np.testing.assert_allclose(Potential("pm_power", a, n).mirror_map(x), depth_mirror_map(x, a, n), rtol=1e-14)
    assert np.isnan(Potential("hadamard", 1.0, 2).value(np.array([1.0, -0.1])))  # x = w² cannot be negative


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("pot", POTENTIALS, ids=lambda p: f"{p.kind}-N{p.depth}-a{p.alpha}")
def test_the_minimiser_on_the_solution_set_is_slsqp_s(pot, n):
    for seed in (1, 2):
        a, y = measurement(n, seed)
        x = minimiser_on_hyperplane(pot, a, y)
        if pot.kind == "hadamard" and not (a > 0).any():
            assert x is None
            continue
        assert x is not None and a @ x == pytest.approx(y, abs=1e-12)
        start = a * y / (a @ a)
        if pot.kind == "hadamard":  # a feasible positive point: small entries, the largest a_j's solving for y
            j = int(np.argmax(a))
            start = np.full(n, 1e-3)
            start[j] = (y - 1e-3 * (a.sum() - a[j])) / a[j]
        ref = minimize(lambda v: pot.value(v), start, method="SLSQP",
                       constraints=[{"type": "eq", "fun": lambda v, a=a, y=y: a @ v - y}],
                       bounds=[(0, None)] * n if pot.kind == "hadamard" else None,
                       options={"ftol": 1e-15, "maxiter": 2000})
        assert ref.success
        np.testing.assert_allclose(x, ref.x, atol=2e-6)
        assert pot.value(x) <= pot.value(ref.x) + 1e-12  # not worse than SLSQP's


@pytest.mark.parametrize("n", [2, 3])
def test_the_q_alpha_minimiser_is_the_references_dual_newton_one(n):
    for seed in (1, 2, 3):
        a, y = measurement(n, seed)
        for alpha in (3.0, 0.3, 1e-2, 1e-3):
            x = minimiser_on_hyperplane(Potential("pm_power", alpha, 2), a, y)
            np.testing.assert_allclose(x, q_alpha_minimizer(a[None], np.array([y]), alpha), rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("depth", [2, 3])
def test_small_alpha_gives_x_l1_and_large_alpha_x_l2(n, depth):
    """α → 0: argmin Q tends to basis pursuit's solution (linprog); α → ∞: to the least-norm one (lstsq)."""
    for seed in (1, 2, 3):
        a, y = measurement(n, seed)
        lp = linprog(np.ones(2 * n), A_eq=np.hstack([a, -a])[None], b_eq=[y], bounds=(0, None), method="highs")
        x_l1 = lp.x[:n] - lp.x[n:]
        x_l2 = np.linalg.lstsq(a[None], np.array([y]), rcond=None)[0]
        # N = 2 approaches x_ℓ1 only as a power α^{2(1 − r)} (r: the ratio of the two largest |a_i|), N ≥ 3 as α^N
        alphas = (1e-2, 1e-4, 1e-8, 1e-16, 1e-50) if depth == 2 else (1e-1, 1e-2, 1e-3, 1e-4)
        to_l1 = [np.linalg.norm(minimiser_on_hyperplane(Potential("pm_power", al, depth), a, y) - x_l1)
                 for al in alphas]
        assert all(np.diff(to_l1) < 1e-13) and to_l1[-1] <= 1e-3 * np.linalg.norm(x_l1)
        to_l2 = [np.linalg.norm(minimiser_on_hyperplane(Potential("pm_power", al, depth), a, y) - x_l2)
                 for al in (1.0, 10.0, 1e3)]
        assert all(np.diff(to_l2) < 1e-13) and to_l2[-1] <= 1e-3 * np.linalg.norm(x_l2)
        assert np.linalg.norm(x_l1 - x_l2) > 0.05  # the two ends are apart: the checks above tell them apart


def test_the_hyperplane_of_the_least_norm_solution_is_the_solution_set():
    rng = np.random.default_rng(4)
    for n in (2, 3):
        a, y = rng.standard_normal(n), 1.3
        normal, level = hyperplane_from_min_l2(np.linalg.lstsq(a[None], [y], rcond=None)[0])
        for _ in range(5):
            x = rng.standard_normal(n)
            x += (y - a @ x) / (a @ a) * a  # a random solution of a x = y
            assert normal @ x == pytest.approx(level, rel=1e-12)
            off = x + 0.1 * a
            assert abs(normal @ off - level) > 1e-3
    assert hyperplane_from_min_l2(np.zeros(3)) is None


def test_the_view_of_three_unknowns_is_an_isometry_of_the_solution_plane():
    rng = np.random.default_rng(5)
    a, y = rng.standard_normal(3), -0.8
    x_l1 = np.array([0.0, y / a[1], 0.0])
    view = SolutionView(a, y, towards=x_l1)
    assert view.planar
    np.testing.assert_allclose(view.basis @ view.basis.T, np.eye(2), atol=1e-14)
    np.testing.assert_allclose(view.basis @ a, 0, atol=1e-14)
    x_l2 = a * y / (a @ a)
    np.testing.assert_allclose(view.to_view(x_l2), [[0, 0]], atol=1e-14)
    np.testing.assert_allclose(view.to_view(np.zeros(3)), [[0, 0]], atol=1e-14)  # x = 0 projects to x_ℓ2
    s = view.to_view(x_l1)[0]
    assert s[0] == pytest.approx(np.linalg.norm(x_l1 - x_l2)) and s[1] == pytest.approx(0, abs=1e-14)
    pts = [x + (y - a @ x) / (a @ a) * a for x in rng.standard_normal((4, 3))]
    for p in pts:
        np.testing.assert_allclose(view.from_view(view.to_view(p)), [p], atol=1e-13)
        for q in pts:
            assert np.linalg.norm(view.to_view(p) - view.to_view(q)) == pytest.approx(np.linalg.norm(p - q))


@pytest.mark.parametrize("n", [2, 3])
def test_the_level_lines_lie_on_their_levels_and_the_line_touches_the_minimiser_s(n):
    a, y = measurement(n, 1)
    pot = Potential("pm_power", 0.3, 2)
    view = SolutionView(a, y)
    xq = minimiser_on_hyperplane(pot, a, y)
    levels, key = level_values(pot, view, xq, reach=a * y / (a @ a) + 0.5 * (view.basis[0] if n == 3 else 0))
    assert len(levels) >= 5
    box = (-3.0, 3.0, -3.0, 3.0)
    for c, xs, ys in level_lines(pot, view, box, levels, grid=201):
        ok = np.isfinite(xs)
        vals = pot.value(view.from_view(np.column_stack([xs[ok], ys[ok]])))
        np.testing.assert_allclose(vals, c, rtol=1e-2)  # linear interpolation between lattice points
    if n == 2:
        assert key == pytest.approx(pot.value(xq))
        # the solution line never goes below the level of the minimiser: that level set touches it there
        seg = view.solution_line(box)
        line = seg[0] + np.linspace(0, 1, 2001)[:, None] * (seg[1] - seg[0])
        assert pot.value(line).min() >= key * (1 - 1e-9)
    else:
        assert key is None
        assert min(levels) > pot.value(xq)  # restricted to the plane, every level circles the minimiser


def test_the_geometry_applies_to_small_sparse_recovery_only():
    small = build_config(preset="mirror_geometry_path")
    assert geometry_applies(small) and geometry_applies(small.to_dict())
    assert geometry_applies(build_config(preset="mirror_geometry_path", overrides={"problem.n": 3}))
    assert not geometry_applies(build_config(preset="mirror_geometry_path", overrides={"problem.n": 4}))
    assert not geometry_applies(build_config(preset="mirror_geometry_path", overrides={"problem.measurements": 2}))
    assert not geometry_applies(build_config(preset="hadamard_l1_bias"))
    assert not geometry_applies(build_config(preset="sensing_depth_low_rank"))


def test_the_potential_of_a_run_follows_its_model():
    def pot(**over):
        return potential_for(build_config(preset="mirror_geometry_path", overrides=over))

    assert pot()[0] == Potential("pm_power", 0.1, 2)
    assert pot(**{"model.parametrization": "hadamard", "model.depth": 3})[0] == Potential("hadamard", 0.1, 3)
    assert pot(**{"model.depth": 1})[0] == Potential("euclidean", 1.0, 1)
    p, why = pot(**{"model.init": "gaussian"})
    assert p is None and "constant" in why


# ------------------------------------------------------------------------------------------ AT16
#: (parametrization, depth, α) of AT16's arms, each trained at η = 2e-3 on problem seeds 18 (the preset's) and 1
AT16_ARMS = [("pm_power", 2, a) for a in (1.0, 0.1, 0.01, 0.001)] + [
    ("pm_power", 3, 0.1), ("hadamard", 2, 0.1), ("hadamard", 3, 0.3)]
AT16_TOL = 1e-3


@pytest.mark.parametrize("seed", [18, 1])
def test_at16_gd_ends_at_the_potential_s_minimiser(seed):
    """AT16: GD at a small step, trained until the loss is below 1e-24, ends within a relative distance 1e-3 of
    argmin φ on the solution set (computed by the 1-D dual root, independently of the training)."""
    worst = 0.0
    for param, depth, alpha in AT16_ARMS:
        cfg = build_config(preset="mirror_geometry_path", overrides={
            "problem.seed": seed, "model.parametrization": param, "model.depth": depth, "model.init_scale": alpha,
            "optimizer.lr": 2e-3, "run.steps": 200000, "run.loss_tol": 1e-24})
        e = Engine(cfg)
        e.run(cfg.run.steps)
        assert e.summary()["status"] == "converged"
        a, y = e.problem.data["A"][0], float(e.problem.data["y"][0])
        x = np.asarray(e.product(), float).ravel()
        xq = minimiser_on_hyperplane(potential_for(cfg)[0], a, y)
        rel = np.linalg.norm(x - xq) / np.linalg.norm(xq)
        worst = max(worst, rel)
        assert rel <= AT16_TOL, (param, depth, alpha, rel)
    print(f"AT16 seed {seed}: largest relative distance {worst:.3g}")


def test_at16_the_distance_to_the_minimiser_is_of_order_eta():
    """GD departs from the flow by O(η): ten times the step, about ten times the distance (preset's problem)."""
    for alpha in (1.0, 0.1, 0.01, 0.001):
        dist = []
        for lr in (2e-3, 2e-2):
            cfg = build_config(preset="mirror_geometry_path", overrides={
                "model.init_scale": alpha, "optimizer.lr": lr, "run.steps": 20000, "run.loss_tol": 1e-24})
            e = Engine(cfg)
            e.run(cfg.run.steps)
            a, y = e.problem.data["A"][0], float(e.problem.data["y"][0])
            dist.append(np.linalg.norm(np.asarray(e.product(), float).ravel()
                                       - minimiser_on_hyperplane(potential_for(cfg)[0], a, y)))
        assert 7 <= dist[1] / dist[0] <= 13, (alpha, dist)


def test_summary_json_gives_the_potentials_minimiser_as_the_references_solver_finds_it():
    """Headless, the run's summary names the potential and its minimiser on the solution line; for x = u² − v²
    the minimiser found by the 1-D root equals the references' Q_α minimiser (a dual Newton solver): the two
    distances of the same x agree."""
    from ibviewer.core.config import build_config
    from ibviewer.core.engine import Engine

    e = Engine(build_config(preset="mirror_geometry_path", overrides=[("run.steps", 300)]))
    e.run()
    s = e.summary()
    geo = s["mirror_geometry"]
    assert geo["potential"] == "Q_α" and len(geo["minimiser"]) == 2
    assert geo["distance_to_minimiser"] == pytest.approx(s["references"]["q_alpha"], rel=1e-6)
    other = Engine(build_config(preset="mirror_geometry_path", overrides=[("run.steps", 10),
                                                                          ("problem.measurements", 2)]))
    other.run()
    assert "mirror_geometry" not in other.summary()  # two measurements: no geometry panel, no entry
