"""AT17, incremental learning (Gissin, Shalev-Shwartz & Daniely 2020): sensing W* = U diag(12, 6, 4, 3) Vᵀ,
d = 50, 1,000 Gaussian measurements, α = 1e-4, depths 1-3 trained for real (docs/science.md, AT17).

The measure (docs/science.md states it): σ_k is *learned* at its ``learned`` event (the first recorded step at
which it reaches half its target, ``ibviewer/core/events.py``); the *lag* of pair k is σ_{k+1} at that step as a
fraction of its own target, σ_{k+1}(t½_k)/s_{k+1}: how far the next value has already risen when one is learned.
Learning is incremental when every lag is small; the separation of a run is -log10 of its largest lag (decades).
Depth 1 (gradient descent on W itself) has no order to learn in: its values are measured against their final
values, which it reaches all at once.

Run as a script (``PYTHONPATH=$PWD python tests/test_theory_incremental.py``) it prints the table of AT17 for
depths 1-4 and seeds 0-2.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.events import learned_singular_values

SEEDS = [int(s) for s in os.environ.get("IBVIEWER_SCIENCE_SEEDS", "0,1").split(",")]
TARGETS = np.array([12.0, 6.0, 4.0, 3.0])
#: depth: (step size, steps); stable at each depth, long enough for σ₄ (docs/science.md, AT17)
ARMS = {1: (0.01, 100), 2: (0.01, 300), 3: (0.01, 1000), 4: (0.01, 2500)}


def train(depth: int, seed: int) -> Engine:
    lr, steps = ARMS[depth]
    cfg = build_config(preset="gissin_incremental_depth", overrides=[
        ("model.depth", depth), ("optimizer.lr", lr), ("run.steps", steps), ("run.record_every", 1),
        ("problem.seed", seed), ("run.seed", seed)])
    e = Engine(cfg)
    e.run()
    assert e.status == "max_steps", e.message
    return e


def measure(e: Engine) -> dict:
    """Half-times (steps) of σ₁…σ₄ from the run's ``learned`` events, and the lags of the three pairs."""
    cols = {k: np.asarray(e.history[k]) for k in e.history.keys()}
    steps, sv = cols["step"], cols["sv"]
    if e.cfg.model.depth == 1:
        goal = sv[-1, :4]  # no order to learn in: half of the final values
        learned = learned_singular_values({"step": steps, "sv": sv[:, :4]}, None, rank_tol=1e-9)
    else:
        goal = TARGETS
        learned = learned_singular_values(cols, e.problem.target)
    half = {ev["index"]: ev["step"] for ev in learned}
    lags = []
    for k in (1, 2, 3):
        if k in half:
            row = int(np.searchsorted(steps, half[k]))
            lags.append(float(sv[row, k] / goal[k]))
    return {"half": [half.get(k) for k in (1, 2, 3, 4)], "lags": lags, "order": [ev["index"] for ev in learned],
            "rel_error": float(cols["rel_error"][-1])}


@pytest.mark.slow  # about 8 s a seed on one core: depth 3 needs 1,000 steps of d = 50 sensing, each recorded
@pytest.mark.parametrize("seed", SEEDS)
def test_at17_depth_makes_learning_incremental(seed):
    got = {depth: measure(train(depth, seed)) for depth in (1, 2, 3)}
    for depth in (2, 3):
        half = got[depth]["half"]
        # one at a time, in decreasing order of the target's singular values
        assert None not in half, (depth, half)
        assert got[depth]["order"] == [1, 2, 3, 4] and all(a < b for a, b in zip(half, half[1:])), (depth, half)
    # depth 1 fits every value at once: when one reaches half its final value, the next is well on its way
    assert min(got[1]["lags"]) >= 0.15, got[1]
    # the separation grows with depth: each lag shrinks from depth 1 to 2 to 3, the largest at least halves
    assert max(got[2]["lags"]) < 0.5 and max(got[3]["lags"]) <= 0.5 * max(got[2]["lags"]), got
    assert all(l3 < l2 for l2, l3 in zip(got[2]["lags"], got[3]["lags"])), got
    assert max(got[2]["lags"]) < max(got[1]["lags"]), got

def test_at17_half_times_are_where_the_spectrum_crosses_half_its_target():
    """The measure's half-times, read from the raw spectrum without the events (an independent reading)."""
    e = train(2, SEEDS[0])
    steps, sv = np.asarray(e.history["step"]), np.asarray(e.history["sv"])
    direct = [int(steps[np.argmax(sv[:, j] >= TARGETS[j] / 2)]) for j in range(4)]
    assert measure(e)["half"] == direct


def _table(seeds=(0, 1, 2), depths=(1, 2, 3, 4)) -> None:
    for depth in depths:
        for seed in seeds:
            m = measure(train(depth, seed))
            sep = -np.log10(max(m["lags"]))
            print(f"depth {depth} seed {seed}: half-times {m['half']} lags {np.round(m['lags'], 4).tolist()} "
                  f"separation {sep:.2f} decades, relative error {m['rel_error']:.3g}")


if __name__ == "__main__":
    _table()
