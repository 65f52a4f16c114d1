"""Ranges that show the point, without Qt: the singular values' focus (AT7's staircase fills the panel, the tail
is clipped), the loss floor under the plateaus (the saddle-to-saddle comparison), and the rescaled time
t / ln(1/α) on which runs of different α line up."""

import math

import numpy as np
import pytest

from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.theory import rescale_divisor, time_to_x
from ibviewer.live.draw import history_mirror
from ibviewer.live.ranges import (
    BELOW_PLATEAU,
    LOSS_DECADES,
    floored,
    informative_count,
    loss_floor,
    plateau_levels,
    spectrum_bounds,
    target_rank,
)
from ibviewer.live.series import X_LABELS, X_MODES, Frame, nice_range


def history(preset: str, **overrides) -> tuple[dict[str, np.ndarray], object]:
    """A preset trained to its end: its history columns and its config."""
    e = Engine(build_config(preset=preset, overrides=overrides))
    e.run()
    h = e.history
    return {k: np.asarray(h.columns[k][: h.n]) for k in h.columns}, e.cfg


@pytest.fixture(scope="module")
def at7():
    """AT7 (depth-3 sensing of U diag(12, 6, 3) Vᵀ from a Gaussian start of scale 1e-3), trained to its end."""
    cols, cfg = history("sensing_incremental_rank")
    assert cfg.problem.singular_values == [12.0, 6.0, 3.0]
    return cols


# ---------------------------------------------------------------------------------------------- singular values
def test_at7_staircase_fills_most_of_the_singular_values_range(at7):
    log_sv = np.log10(at7["sv"])
    targets = [12.0, 6.0, 3.0]
    assert target_rank(targets) == 3
    assert informative_count(log_sv.shape[1], targets) == 5  # σ₁…σ₅: the rank and two more
    lo, hi = nice_range(*spectrum_bounds(log_sv, targets), log=True)
    # the staircase: σ₁…σ₃ from where they start to the largest target
    stair_lo, stair_hi = float(log_sv[:, :3].min()), math.log10(12.0)
    share = (stair_hi - stair_lo) / (hi - lo)
    # fitting every value (as before) lets the tail, near 1e-10, decide the bottom
    all_lo, all_hi = nice_range(float(log_sv.min()), float(log_sv.max()), log=True)
    share_all = (stair_hi - stair_lo) / (all_hi - all_lo)
    print(f"AT7: range 1e{lo:g}..1e{hi:g}, staircase {share:.0%} of the height (fit to everything: "
          f"1e{all_lo:g}..1e{all_hi:g}, {share_all:.0%})")
    assert share >= 0.7 and share_all < 0.4
    # every informative value and every target inside; the tail's lowest values below the range (clipped)
    assert lo <= log_sv[:, :5].min() and log_sv[:, :5].max() <= hi and stair_hi <= hi
    assert log_sv[:, 5:].min() < lo - 3


def test_without_a_ground_truth_the_tail_is_what_stays_far_below_sigma_1():
    steps = np.arange(50.0)
    grow = 1 / (1 + np.exp(-(steps - 25) / 3))
    log_sv = np.column_stack([np.log10(1e-3 + 10 * grow), np.log10(1e-3 + 2 * grow), np.log10(1e-3 + 0.5 * grow)]
                             + [np.full(50, -9.0 - j) for j in range(4)])
    assert informative_count(7, None, log_sv) == 3
    lo, hi = spectrum_bounds(log_sv, None)
    # from σ₃'s start to σ₁'s end; the values at 1e-9 and below are left out
    assert lo == pytest.approx(math.log10(1e-3 + 0.5 * grow[0])) and hi == pytest.approx(math.log10(1e-3 + 10 * grow[-1]))
    # nothing far below σ₁: every value counts
    assert informative_count(3, None, log_sv[:, :3]) == 3
    assert informative_count(4, None, np.full((3, 4), np.nan)) == 4


def test_theory_curves_and_targets_widen_the_singular_values_range():
    log_sv = np.log10(np.full((5, 4), 0.5))
    lo, hi = spectrum_bounds(log_sv, [8.0, 0.0, 0.0, 0.0], also=[np.array([-6.0, 0.2])])
    assert lo == -6.0 and hi == pytest.approx(math.log10(8.0))


# ---------------------------------------------------------------------------------------------- loss floor
def test_a_loss_that_converges_to_roundoff_is_clipped_eight_decades_down():
    step = np.arange(0, 5001, 10.0)
    log_loss = np.maximum(-step / 150, -30.0)  # from 1 straight down to 1e-30, then flat (the arithmetic's floor)
    assert loss_floor([(step, log_loss)]) == pytest.approx(-LOSS_DECADES)
    # a loss that never gets that low: nothing to clip
    assert loss_floor([(step, -step / 5000)]) is None
    # the stopping tolerance is a loss the user said matters: it stays in view
    assert loss_floor([(step, log_loss)], tol=1e-14) == pytest.approx(-14.5)


def test_a_deep_plateau_keeps_its_decades_above_the_floor():
    """A plateau at 1e-12 (deeper than the eight decades under the start) ends 2 decades over the floor."""
    step = np.geomspace(1, 1e6, 400)
    u = np.log10(step)
    log_loss = np.where(u < 1, 0.0, np.where(u < 2, -12 * (u - 1), np.where(u < 4, -12.0, -12 - 13 * (u - 4))))
    levels = plateau_levels(step, log_loss)
    assert levels.min() == pytest.approx(-12.0, abs=0.1) and levels.max() == pytest.approx(0.0, abs=0.1)
    floor = loss_floor([(step, log_loss)])
    assert floor == pytest.approx(-12.0 - BELOW_PLATEAU, abs=0.1)
    assert floored((-38.0, 0.0), floor) == (floor, 0.0)
    assert floored((-3.0, 0.0), floor) == (-3.0, 0.0) and floored((-3.0, 0.0), None) == (-3.0, 0.0)


@pytest.fixture(scope="module")
def saddle_runs():
    """The saddle-to-saddle comparison (α = 1e-2, 1e-5, 1e-10) as the preset runs it (100,000 steps, ~1 s each)."""
    return {a: history("pesme_saddle_to_saddle", **{"model.init_scale": a})[0] for a in (1e-2, 1e-5, 1e-10)}


def test_the_saddle_to_saddle_plateaus_are_not_flattened_by_the_converged_run(saddle_runs):
    curves = [(c["step"], np.log10(c["loss"])) for c in saddle_runs.values()]
    lowest = min(float(np.nanmin(v)) for _s, v in curves)
    highest = max(float(np.nanmax(v)) for _s, v in curves)
    floor = loss_floor(curves)
    print(f"saddle to saddle: losses 1e{lowest:.1f}..1e{highest:.1f}, floor 1e{floor:.1f}")
    assert lowest < -25  # α = 1e-2 converges far below the others, to the arithmetic's floor
    assert floor == pytest.approx(highest - LOSS_DECADES)
    # the α = 1e-10 run's plateaus (at the start, near 0.6 and near 0.02) all stay in view, far above the floor
    slow = saddle_runs[1e-10]
    levels = plateau_levels(slow["step"], np.log10(slow["loss"]))
    assert levels.min() < -1.5 and levels.min() - floor > BELOW_PLATEAU
    # and they take a fair part of the height: before, the range went down to the lowest loss
    share = (highest - levels.min()) / (highest - floor)
    share_all = (highest - levels.min()) / (highest - lowest)
    print(f"  plateaus span {share:.0%} of the axis (to the lowest loss: {share_all:.0%})")
    assert share > 2 * share_all


# ---------------------------------------------------------------------------------------------- rescaled time
def test_the_rescaled_time_divides_by_log_one_over_alpha():
    assert "rescaled" in X_MODES and "ln(1/α)" in X_LABELS["rescaled"]
    assert rescale_divisor(1e-10) == pytest.approx(10 * math.log(10))
    assert rescale_divisor(1.0) == 1.0 and rescale_divisor(10.0) == 1.0 and rescale_divisor(None) == 1.0
    steps = np.arange(0, 100, 10.0)
    m = history_mirror({"step": steps, "time": 0.02 * steps})
    assert np.array_equal(Frame(m, "rescaled").x, 0.02 * steps)  # unknown α: not rescaled
    m.init_scale = 1e-4
    np.testing.assert_allclose(Frame(m, "rescaled").x, 0.02 * steps / math.log(1e4))
    t = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(time_to_x(t, None, None, 0.1, "rescaled", 1e-3), t / math.log(1e3))


def first_activation(cols) -> int:
    """The first record at which a coordinate reaches half of its final value (of the coordinates that end at
    least a quarter as large as the largest: the tail's never activate)."""
    x = cols["state"]
    final = x[-1]
    active = np.abs(final) >= 0.25 * np.abs(final).max()
    reached = (x[:, active] / final[active] >= 0.5).any(axis=1)
    return int(np.argmax(reached))


def test_runs_of_different_alpha_line_up_on_the_rescaled_time():
    """Saddle to saddle at α = 1e-2, 1e-5, 1e-10: the first coordinate activates at steps a factor 5 apart, but at
    the same η·k / ln(1/α) within 10 % (measured: within 1 %)."""
    steps, rescaled = [], []
    for a in (1e-2, 1e-5, 1e-10):
        cols, _cfg = history("pesme_saddle_to_saddle", **{"model.init_scale": a, "run.steps": 2500,
                                                           "run.record_every": 5})
        m = history_mirror({k: cols[k] for k in ("step", "time")})
        m.init_scale = a
        i = first_activation(cols)
        steps.append(float(cols["step"][i]))
        rescaled.append(float(Frame(m, "rescaled").x[i]))
    print(f"first activation: steps {steps}, rescaled {np.round(rescaled, 3).tolist()}")
    assert max(steps) / min(steps) > 4
    assert max(rescaled) / min(rescaled) < 1.1


def test_a_time_axis_that_starts_at_step_0_and_grows_never_shows_negative_times():
    from ibviewer.live.series import RangeKeeper

    keep = RangeKeeper(log=False)
    ranges = [keep.fit(0.0, hi) for hi in [0.0, 0.0005, 0.3, 2.5, 6.1, 10.93]]
    shown = [r for r in ranges if r is not None]
    assert shown and all(lo >= 0 for lo, _ in shown)
    lo, hi = keep.range
    assert lo == 0.0 and 10.93 <= hi <= 15.0  # 1-2-5 steps over the run's 0 to 10.93 (before: -5 to 15)
    assert nice_range(-0.2, -0.2, log=False)[0] < -0.2  # a negative value keeps its range around it
