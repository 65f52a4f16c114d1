"""AT18, effective-rank windows (Chou, Gieshoff, Maly & Rauhut 2024): a noisy low-rank factorization passes
close to the best rank-r approximation M_r of its target and leaves it as it fits the noise
(``ibviewer/core/rank_window.py``; docs/science.md, AT18).

The hand-made histories check the definitions; AT18 trains the preset for real and checks the window and the
effective rank's rise against M_r computed here, by numpy's SVD of the observed matrix, and against distances
computed here from the recorded products.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from ibviewer.core import rank_window as RW
from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.events import events, rank_window

SEEDS = [int(s) for s in os.environ.get("IBVIEWER_SCIENCE_SEEDS", "0,1").split(",")]


# ------------------------------------------------------------------------------------------ definitions
def test_the_window_is_the_stretch_within_the_factor_around_the_minimum():
    steps = np.arange(0, 100)
    dist = 10.0 ** (0.1 * np.abs(steps - 40.0))  # minimum 1 at step 40, a factor 10 within 10 steps of it
    dist[70] = 5.0  # a later dip within the factor: it does not extend the window
    w = RW.closest_window(steps, dist, factor=10.0)
    assert (w["step"], w["start"], w["end"], w["distance"]) == (40, 30, 50, 1.0)
    assert w["final"] == pytest.approx(dist[-1])


def test_no_window_while_the_distance_still_falls_or_has_not_left_it():
    steps = np.arange(50)
    assert RW.closest_window(steps, 1.0 / (1 + steps)) is None  # still approaching: the minimum is the last row
    dist = 10.0 ** (0.1 * np.abs(steps - 40.0))
    assert RW.closest_window(steps, dist) is None  # at step 49 still within 10x of the minimum
    assert RW.closest_window(steps[:2], dist[:2]) is None


def test_the_rise_starts_where_the_rank_never_falls_again_beyond_the_tolerance():
    e = np.array([5.0, 3.0, 1.0, 1.2, 1.1995, 2.0, 2.0, 3.0])
    assert RW.rise_start(e, tol=1e-3) == 2  # the 5e-4 dip after 1.2 is within the tolerance
    assert RW.rise_start(e, tol=1e-4) == 4  # ... and not within this one
    assert RW.rise_start(np.array([1.0, 2.0, 3.0])) == 0
    assert RW.rise_start(np.array([3.0, 2.0, 1.0])) == 2
    assert RW.rise_start(np.array([1.0, np.nan])) is None


def test_best_rank_approximation_is_eckart_young():
    rng = np.random.default_rng(3)
    m = rng.standard_normal((8, 6))
    m2 = RW.best_rank_approximation(m, 2)
    s = np.linalg.svd(m, compute_uv=False)
    assert np.linalg.matrix_rank(m2) == 2
    assert np.linalg.norm(m - m2) == pytest.approx(np.sqrt((s[2:] ** 2).sum()))


def test_window_events_carry_the_window_and_the_rise():
    steps = np.arange(0, 100)
    cols = {"step": steps, "time": 0.1 * steps, "dist_best_rank_r": 10.0 ** (0.1 * np.abs(steps - 40.0)),
            "erank_entropy": np.concatenate([np.linspace(8, 1, 20), np.linspace(1, 3, 80)])}
    got = {e["kind"]: e for e in rank_window(cols, 2)}
    w = got["closest_rank_r"]
    assert (w["step"], w["start"], w["end"], w["label"]) == (40, 30, 50, "closest to best rank-2")
    assert (w["start_time"], w["end_time"]) == pytest.approx((3.0, 5.0))
    assert got["erank_rise"]["step"] == 19
    json.dumps(w)


# ------------------------------------------------------------------------------------------ AT18
def train(seed: int) -> Engine:
    e = Engine(build_config(preset="factorization_rank_window",
                            overrides=[("problem.seed", seed), ("run.seed", seed)]))
    e.run()
    assert e.status == "max_steps", e.message
    return e


@pytest.mark.parametrize("seed", SEEDS)
def test_at18_the_iterate_is_closest_to_the_best_rank_r_approximation_inside_the_run(seed):
    e = train(seed)
    steps = np.asarray(e.history["step"])
    products = np.asarray(e.history["state"])
    # M_r by numpy's SVD of the matrix that is fitted, r the clean target's rank (2)
    u, s, vt = np.linalg.svd(e.problem.observed)
    m_r = (u[:, :2] * s[:2]) @ vt[:2]
    dist = np.linalg.norm(products - m_r, axis=(1, 2)) / np.linalg.norm(m_r)
    np.testing.assert_allclose(e.history["dist_best_rank_r"], dist, rtol=1e-9, atol=1e-15)
    i = int(np.argmin(dist))
    assert 0 < i < len(dist) - 1
    assert dist[-1] >= 100 * dist[i], (dist[i], dist[-1])  # stopping in the window beats the end
    summary = e.summary()
    assert summary["references"]["best_rank_r"] == pytest.approx(dist[-1])
    (w,) = [ev for ev in summary["events"] if ev["kind"] == "closest_rank_r"]
    a, b = i, i
    while a > 0 and dist[a - 1] <= 10 * dist[i]:
        a -= 1
    while dist[b + 1] <= 10 * dist[i]:
        b += 1
    assert (w["step"], w["start"], w["end"]) == (steps[i], steps[a], steps[b])
    assert w["distance"] == pytest.approx(dist[i]) and w["final"] == pytest.approx(dist[-1])
    # the error to the clean matrix in the window against the end (AT11's early stopping)
    rel = np.asarray(e.history["rel_error"])
    assert rel[i] <= 0.6 * rel[-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_at18_the_effective_rank_rises_monotonically_after_the_first_steps(seed):
    e = train(seed)
    steps, er = np.asarray(e.history["step"]), np.asarray(e.history["erank_entropy"])
    (rise,) = [ev for ev in events(e.history.as_dict(), e.cfg, e.status, e.step_count, e.problem.target)
               if ev["kind"] == "erank_rise"]
    assert rise["step"] <= 60  # after the first steps (AT18: step 42 and 44 on seeds 0 and 1)
    after = er[steps >= rise["step"]]
    assert np.all(after >= np.maximum.accumulate(after) - RW.RISE_TOL)
    assert after[-1] - after[0] >= 3  # a rise, not a flat line: from 1 to more than 4
    before = er[steps < rise["step"]]
    assert before.max() > er[steps == rise["step"]][0] + 1  # it fell to get there
