"""Event markers (ibviewer/core/events.py): hand-made histories with known answers, and real trainings checked
against the gradient-flow theory and against what the loss curves show (docs/science.md, section "Events")."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ibviewer.core import events as E
from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine


def train(preset: str, **overrides) -> Engine:
    e = Engine(build_config(preset=preset, overrides=list(overrides.items())))
    e.run()
    return e


def kinds(evs, kind):
    return [e for e in evs if e["kind"] == kind]


def engine_steps(n: int) -> np.ndarray:
    """Recorded steps like the engine's schedule: every step to 20, then 5 % apart (at least 1)."""
    out, k = [0], 0
    while k < n:
        k = k + 1 if k < 20 else max(k + 1, int(k * 1.05))
        out.append(min(k, n))
    return np.array(out)


# ------------------------------------------------------------------------------------------ (a) activations
def test_sigmoid_singular_values_are_learned_at_their_midpoints_in_order():
    steps = np.arange(1000)
    targets = np.array([8.0, 4.0, 2.0])
    mids = np.array([100, 250, 600])
    sv = targets / (1 + np.exp(-(steps[:, None] - mids) / 10.0))
    sv = np.hstack([sv, np.full((len(steps), 2), 1e-3)])  # two values with zero target: never "learned"
    cols = {"step": steps, "time": 0.01 * steps, "sv": sv}
    target = np.diag(np.concatenate([targets, [0.0, 0.0]]))
    got = E.learned_singular_values(cols, target)
    assert [(e["step"], e["label"]) for e in got] == [(100, "σ₁ learned"), (250, "σ₂ learned"), (600, "σ₃ learned")]
    assert got[1]["time"] == pytest.approx(2.5)
    # without a target: half of the final values (the last row is at 99.99 % of each target here)
    assert [e["step"] for e in E.learned_singular_values(cols, None, rank_tol=1e-2)] == [100, 250, 600]


def test_a_value_short_of_half_its_target_is_not_learned():
    steps = np.arange(300)
    sv = np.stack([10 / (1 + np.exp(-(steps - 50) / 5.0)), np.full(300, 1.0)], axis=1)  # sigma_2 stays at 1 of 5
    got = E.learned_singular_values({"step": steps, "sv": sv}, np.diag([10.0, 5.0]))
    assert [e["label"] for e in got] == ["σ₁ learned"]


def test_support_coordinates_become_active_in_order_of_their_midpoints_with_their_signs():
    steps = np.arange(800)
    x_star = np.zeros(12)
    x_star[[7, 2, 11]] = [1.5, -0.8, 0.3]
    mids = {7: 300, 2: 120, 11: 500}
    x = np.zeros((800, 12))
    for c, m in mids.items():
        x[:, c] = x_star[c] / (1 + np.exp(-(steps - m) / 8.0))
    x[:, 5] = -0.4 * np.ones(800)  # off the support, large but of no interest
    got = E.active_coordinates({"step": steps, "state": x}, x_star)
    assert [(e["step"], e["label"]) for e in got] == [(120, "x₂ active"), (300, "x₇ active"), (500, "x₁₁ active")]
    # a coordinate that grows with the wrong sign is not active
    x[:, 2] *= -1
    assert [e["index"] for e in E.active_coordinates({"step": steps, "state": x}, x_star)] == [7, 11]


# ------------------------------------------------------------------------------------------ (b) plateaus
@pytest.mark.parametrize("c", [1e-3, 1e-2, 0.1, 1.0])
@pytest.mark.parametrize("power", [1, 2])
def test_exponential_decays_have_no_plateau(c, power):
    steps = engine_steps(int(40 / c ** (1 / power)) + 50)
    loss = 5.0 * np.exp(-(c * steps) ** power) + 1e-30
    assert E.plateau_escapes({"step": steps, "loss": loss}) == []
    # nor a sum of exponentials (least squares from zero)
    rates = c * np.array([1.0, 0.3, 0.05])
    loss = (np.array([3.0, 1.0, 0.5]) * np.exp(-np.outer(steps, rates))).sum(axis=1)
    assert E.plateau_escapes({"step": steps, "loss": loss}) == []


def test_two_plateaus_escape_at_the_steps_the_loss_drops():
    steps = np.arange(20001)
    # plateaus at 10 and 1 (slightly sloped: log-log slope -0.05), then a third level; drops at 200 and 2000
    loss = 10.0 * np.maximum(steps, 1) ** -0.05 * np.where(steps < 200, 1.0, 0.1) * np.where(steps < 2000, 1.0, 0.1)
    got = E.plateau_escapes({"step": steps, "loss": loss})
    assert [(e["step"], e["label"]) for e in got] == [(200, "plateau 1 escaped"), (2000, "plateau 2 escaped")]
    assert got[0]["start"] == 1 and got[1]["start"] == 200
    # smooth drops (a logistic in log-step, 0.02 decades wide): the escape is where the drop begins, before its middle
    u = np.log10(np.maximum(steps, 1))
    logl = 1 - 1 / (1 + np.exp(-(u - np.log10(300)) / 0.02)) - 1 / (1 + np.exp(-(u - np.log10(3000)) / 0.02))
    got = E.plateau_escapes({"step": steps, "loss": 10 ** logl})
    assert len(got) == 2
    for e, mid in zip(got, (300, 3000)):
        assert 0.8 * mid <= e["step"] <= mid


# ------------------------------------------------------------------------------------------ rank steps
def test_rank_steps_skip_flicker_and_passing_values():
    steps = np.arange(2000)
    er = np.full(2000, 3.0)
    er[400:] = 1.1
    er[1000:] = 2.1
    er[1500:1503] = 2.6  # flicker: 3 steps (0.001 decades) above 2.5
    er[395:400] = 2.0  # passed through on the way from 3 to 1
    got = E.rank_steps({"step": steps, "erank_entropy": er})
    assert [(e["step"], e["label"]) for e in got] == [(400, "effective rank 3 → 1"), (1000, "effective rank 1 → 2")]
    # the "3 → 1" event sits on the first step of the stretch that holds (400), not where 2 was passed through
    assert got[0]["before"] == 3 and got[0]["after"] == 1


# ------------------------------------------------------------------------------------------ (c) real training
def test_incremental_rank_preset_learns_sigma_1_2_3_at_the_theory_half_times():
    """sensing_incremental_rank (depth 3, alpha = 1e-3, eta = 0.01), 600 of its 8,000 steps: sigma_3 is learned
    near step 340.  The theory (ibviewer/core/theory.py) assumes an initialization aligned with the target and
    exact observation; the preset starts from a random one (each sigma_i's start is the projection of a random
    product on its direction, not alpha) with m = 200 < d^2 measurements, so the measured half-times are within
    30 % of the prediction with sigma_0 = alpha (measured: 100, 131, 341 against 80, 159, 314)."""
    from ibviewer.core.theory import half_time

    e = train("sensing_incremental_rank", **{"run.steps": 600})
    evs = e.summary()["events"]
    learned = kinds(evs, "learned")
    assert [x["label"] for x in learned] == ["σ₁ learned", "σ₂ learned", "σ₃ learned"]
    cfg = e.cfg
    for x, s in zip(learned, (12.0, 6.0, 3.0)):
        predicted = half_time(s, cfg.model.init_scale, cfg.model.depth) / cfg.optimizer.lr
        assert x["step"] == pytest.approx(predicted, rel=0.3)
    # two plateaus a person sees: at the start, and between sigma_2 and sigma_3 (the loss near 2.7)
    escapes = kinds(evs, "plateau_escaped")
    assert len(escapes) == 2
    assert escapes[0]["step"] <= learned[0]["step"]
    assert learned[1]["step"] < escapes[1]["step"] <= learned[2]["step"]
    # the effective rank ends its steps at 3 (the target's entropy rank is 2.6)
    assert kinds(evs, "rank_step")[-1]["after"] == 3
    steps = set(e.history["step"].tolist())
    assert all(x["step"] in steps for x in evs)  # events point to recorded steps


def test_sequential_learning_depth2_half_times_match_saxe_closed_form():
    """AT6 with depth 2 (identity init alpha = 1e-4, eta = 0.02), 400 steps recorded every step: sigma_1..5 are
    learned within 5 steps of ln(s/alpha - 1)/(2 eta s) (GD lags gradient flow by about 3 steps)."""
    e = train("factorization_sequential_learning", **{"run.steps": 400, "run.record_every": 1})
    learned = kinds(e.summary()["events"], "learned")
    s = 10 * 2.0 ** -np.arange(5)
    closed_form = np.log(s / 1e-4 - 1) / (2 * 0.02 * s)
    assert [x["index"] for x in learned] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose([x["step"] for x in learned], closed_form, atol=5)


def test_saddle_to_saddle_preset_shows_its_plateaus():
    """pesme_saddle_to_saddle at alpha = 1e-10: the loss table (docs/science.md, section "Events") shows flat
    stretches ending near steps 480, 800, 1200 and 5600 (read by eye from log10 loss every 0.02 decades); the
    sloped stretch 1,400-1,750 (log-log slope -1.6) is no plateau.  At alpha = 1e-2 only the first remains."""
    evs = train("pesme_saddle_to_saddle").summary()["events"]
    escapes = [x["step"] for x in kinds(evs, "plateau_escaped")]
    windows = [(450, 560), (770, 860), (1150, 1300), (5250, 5800)]
    assert len(escapes) == len(windows)
    for step, (lo, hi) in zip(escapes, windows):
        assert lo <= step <= hi
    assert len(kinds(train("pesme_saddle_to_saddle", **{"model.init_scale": 1e-2}).summary()["events"],
                     "plateau_escaped")) == 1


# ------------------------------------------------------------------------------------------ (d) diagonal support
def test_hadamard_depth3_lists_the_support_becoming_active():
    e = train("hadamard_l1_bias", **{"model.depth": 3, "model.init_scale": 1e-2})
    active = kinds(e.summary()["events"], "active")
    support = e.problem.info["support"]
    x_star = e.problem.target
    assert sorted(a["index"] for a in active) == sorted(support.tolist())
    h = e.history
    for a in active:  # the first recorded step at which x_i is at half of x*_i, with its sign
        i = a["index"]
        reached = np.flatnonzero(h["state"][:, i] * np.sign(x_star[i]) >= abs(x_star[i]) / 2)
        assert a["step"] == h["step"][reached[0]]
    # larger coordinates first: the smallest |x*_i| comes last, the two largest first
    by_size = support[np.argsort(-np.abs(x_star[support]))]
    order = [a["index"] for a in active]
    assert order[-1] == by_size[-1] and set(order[:2]) == set(by_size[:2].tolist())


# ------------------------------------------------------------------------------------------ (e) divergence
def test_a_diverging_run_lists_one_diverged_event_at_its_last_recorded_step():
    e = train("sensing_incremental_rank", **{"optimizer.lr": 5.0})
    assert e.status == "diverged"
    diverged = kinds(e.summary()["events"], "diverged")
    assert len(diverged) == 1
    assert diverged[0]["step"] == e.history["step"][-1] <= e.step_count == diverged[0]["stopped_at"]
    assert diverged[0]["label"] == "diverged"
    # the singular values pass half their targets as they blow up (the loss rising): that is not learning
    assert np.all(e.history["sv"][-1][:3] >= [6.0, 3.0, 1.5]) and e.history["loss"][-1] > e.history["loss"][0]
    assert kinds(e.summary()["events"], "learned") == []
    assert E.divergence({"step": np.arange(5)}, "max_steps", 4) == []


# ------------------------------------------------------------------------------------------ (f) summary.json
def test_cli_run_writes_events_into_summary_json(tmp_path):
    from ibviewer.cli import main

    out = tmp_path / "run"
    assert main(["run", "--preset", "sensing_incremental_rank", "--set", "run.steps=600", "--out", str(out),
                 "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    evs = summary["events"]
    assert [x["label"] for x in evs if x["kind"] == "learned"] == ["σ₁ learned", "σ₂ learned", "σ₃ learned"]
    assert all({"step", "kind", "label"} <= set(x) for x in evs)
    assert [x["step"] for x in evs] == sorted(x["step"] for x in evs)
    recorded = set(np.load(out / "history.npz")["step"].tolist())
    assert {x["step"] for x in evs} <= recorded


def test_events_of_an_empty_history_and_of_an_mlp_are_well_formed():
    cfg = build_config(preset="sensing_incremental_rank")
    assert E.events({}, cfg, "ready", 0) == []
    e = train("mlp_lazy_vs_rich", **{"run.steps": 200})
    evs = e.summary()["events"]
    assert all(x["kind"] in ("plateau_escaped", "diverged") for x in evs)


def test_a_targets_spectrum_is_computed_once_per_array_and_again_for_a_new_one():
    from ibviewer.core.metrics import target_spectrum

    rng = np.random.default_rng(0)
    t = rng.standard_normal((30, 30))
    first = target_spectrum(t)
    assert np.allclose(first, np.linalg.svd(t, compute_uv=False), rtol=1e-13)
    assert target_spectrum(t) is first  # the worker looks for events twice a second: not again
    other = 2 * t
    assert np.allclose(target_spectrum(other), 2 * first, rtol=1e-13)
