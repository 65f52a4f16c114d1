"""AT13 (saddle to saddle) and AT14 (the lasso path): real gradient descent on x = u² − v² at α = 1e-4, 1e-6,
1e-8 against the α → 0 limit and the lasso path, in rescaled time τ = ηk / ln(1/α).  Settings, tolerances and
the measured values are in docs/science.md, section 9 ("AT13", "AT14").

The limit (ibviewer/core/saddle.py) and the path (ibviewer/core/lasso.py) are computed from the data alone; the
runs are the engine's.  Run ``PYTHONPATH=$PWD python tests/test_theory_saddle.py`` to print the table.
"""

import math
from functools import cache

import numpy as np
import pytest

from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.lasso import lasso_path
from ibviewer.core.saddle import saddle_to_saddle

ALPHAS = (1e-4, 1e-6, 1e-8)
LR = 0.01
#: (problem.seed, n, m, s): two problems whose lasso path is monotone (the correspondence of AT14 is exact)
PROBLEMS = ((10, 30, 15, 4), (1, 30, 15, 4))
#: AT14 compares averages from this rescaled time on (the average of the first few steps is all rounding)
AVG_FROM = 0.05


def config(seed, n, m, s, alpha):
    return build_config(preset="saddle_to_saddle_limit", overrides=[
        ("problem.seed", seed), ("problem.n", n), ("problem.measurements", m), ("problem.sparsity", s),
        ("model.init_scale", alpha), ("optimizer.lr", LR), ("run.record_every", 1)])


@cache
def measure(seed, n, m, s):
    """Train each α to 1.5 times the last jump time and measure the distances of docs/science.md's table."""
    out = {}
    for alpha in ALPHAS:
        e = Engine(config(seed, n, m, s, alpha))
        A, y = e.problem.data["A"], e.problem.data["y"]
        lim, path = saddle_to_saddle(A, y), lasso_path(A, y)
        ln = math.log(1 / alpha)
        e.run(int(1.5 * lim.times[-1] * ln / LR))
        h = e.history
        tau, x = h["time"] / ln, h["state"]
        # the dual variable of the run: the mirror map asinh(x/(2α²)) over 2 ln(1/α) (docs/science.md)
        psi = np.arcsinh(x / (2 * alpha**2)) / (2 * ln)
        dual = np.abs(psi - lim.dual_at(tau)).max()
        jumps = []
        for k, (tk, i) in enumerate(zip(lim.times, lim.entering)):
            v = lim.plateaus[k + 1][i]  # the entering coordinate's value on the plateau it starts
            first = np.flatnonzero(np.sign(v) * x[:, i] >= abs(v) / 2)[0]
            jumps.append(tau[first] - tk)
        mids = (lim.starts[1:-1] + lim.times[1:]) / 2
        plateau = max(np.abs(x[np.searchsorted(tau, t)] - lim.plateaus[k + 1]).max() for k, t in enumerate(mids))
        # AT14: the running time average (1/τ)∫x (trapezoids over every step) against x_λ at λ = 1/(2τ)
        steps = (x[1:] + x[:-1]) / 2 * np.diff(tau)[:, None]
        integral = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(steps, axis=0)])
        late = tau >= AVG_FROM
        lasso = path.at_time(tau, 2.0)
        out[alpha] = {
            "dual": float(dual),
            "jump": float(np.abs(jumps).max()),
            "jumps": [float(j) for j in jumps],
            "plateau": float(plateau),
            "average": float(np.abs(integral[late] / tau[late, None] - lasso[late]).max()),
            "iterate": float(np.abs(x - lasso).max()),
            "steps": int(e.step_count),
            "recorded_saddle_gap": h["saddle_gap"].copy(),
            "saddle_gap": np.abs(x - lim.x_at(tau)).max(axis=1),
            "recorded_lasso_gap": h["lasso_gap"].copy(),
            "lasso_gap": np.abs(x - lasso).max(axis=1),
            "monotone": lim.monotone,
        }
    return out


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: f"seed{p[0]}")
def test_at13_gd_approaches_the_saddle_to_saddle_limit(problem):
    got = measure(*problem)
    dual = [got[a]["dual"] for a in ALPHAS]
    jump = [got[a]["jump"] for a in ALPHAS]
    plateau = [got[a]["plateau"] for a in ALPHAS]
    # the sup over rescaled time of the dual distance, the jump times and the plateaus all close in as α shrinks
    assert dual[0] > dual[1] > dual[2] and dual[2] <= 0.1
    assert jump[0] > jump[1] > jump[2] and jump[2] <= 0.35
    assert plateau[0] > plateau[1] > plateau[2] and plateau[2] <= 0.25
    # the dual distance falls like 1/ln(1/α): ln(1/α) times it stays within a factor 1.5 over the three α
    scaled = [d * math.log(1 / a) for d, a in zip(dual, ALPHAS)]
    assert max(scaled) / min(scaled) <= 1.5
    # the history's saddle_gap column is that distance from the recorded x to the limit at the recorded time
    for a in ALPHAS:
        np.testing.assert_allclose(got[a]["recorded_saddle_gap"], got[a]["saddle_gap"], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: f"seed{p[0]}")
def test_at14_the_time_averaged_iterate_follows_the_lasso_path(problem):
    got = measure(*problem)
    assert got[ALPHAS[0]]["monotone"]
    average = [got[a]["average"] for a in ALPHAS]
    assert average[0] > average[1] > average[2] and average[2] <= 0.03
    # the iterate itself is a staircase: it crosses the path but does not stay on it
    assert all(got[a]["iterate"] > 0.3 for a in ALPHAS)
    for a in ALPHAS:
        np.testing.assert_allclose(got[a]["recorded_lasso_gap"], got[a]["lasso_gap"], rtol=1e-12, atol=1e-15)


def hadamard_dual_distance(alpha, tau_end=8.0):
    """x = w ⊙ w (hadamard, depth 2) from w = α: sup over τ <= ``tau_end`` of |ψ − ψ°|, ψ = ln(x/α²) / (2 ln(1/α))."""
    ln = math.log(1 / alpha)
    e = Engine(build_config(preset="saddle_to_saddle_limit", overrides=[
        ("model.parametrization", "hadamard"), ("model.init_scale", alpha), ("run.record_every", 1),
        ("run.steps", int(tau_end * ln / LR))]))
    lim = saddle_to_saddle(e.problem.data["A"], e.problem.data["y"], rate=1.0, nonnegative=True)
    assert e.metrics.theory.rate == 1.0 and e.metrics.theory.path is None
    e.run(int(tau_end * ln / LR))
    tau, x = e.history["time"] / ln, e.history["state"]
    assert np.all(x > 0) and np.all(lim.plateaus >= 0)
    return float(np.abs(np.log(x / alpha**2) / (2 * ln) - lim.dual_at(tau)).max()), lim


def test_hadamard_depth_2_approaches_its_nonnegative_limit():
    """The same recursion with c = 1 and x >= 0 (docs/science.md): three jumps before τ = 8 on the preset's data."""
    coarse, lim = hadamard_dual_distance(1e-4)
    fine, _ = hadamard_dual_distance(1e-8)
    assert np.sum(lim.times < 8) >= 3
    assert fine < coarse and fine <= 0.1


if __name__ == "__main__":
    print("hadamard, depth 2: dual distance up to tau = 8 at 1e-4, 1e-8:",
          hadamard_dual_distance(1e-4)[0], hadamard_dual_distance(1e-8)[0])
    for problem in PROBLEMS:
        got = measure(*problem)
        for a in ALPHAS:
            g = got[a]
            print(f"seed {problem[0]} alpha {a:g}: steps {g['steps']}, dual {g['dual']:.3g}, "
                  f"jump {g['jump']:.3g} {np.round(g['jumps'], 4).tolist()}, plateau {g['plateau']:.3g}, "
                  f"average {g['average']:.3g}, iterate {g['iterate']:.3g}")
