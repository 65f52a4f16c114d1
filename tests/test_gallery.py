"""Every preset loads, its comparison expands, and a short run of each works; two gallery outcomes."""

import pytest

from ibviewer.core.compare import RunGroup, preset_runs
from ibviewer.core.config import preset_info, preset_names


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_runs_with_its_comparison(name):
    meta = preset_info(name)
    assert meta.get("title") and meta.get("description") and meta.get("paper")
    group = RunGroup(preset_runs(name, [("run.steps", 30)]))
    group.run()
    for e in group.engines:
        assert e.step_count == 30 and not e.summary()["diverged"]


def test_large_step_sgd_lands_closer_to_the_sparse_solution():
    """Even et al.: measured distance to x_l1 0.38 (SGD, batch 1, lr 0.03) against 0.62 (GD, same lr)."""
    group = RunGroup(preset_runs("even_large_step_sgd"))
    group.run(chunk=20000)
    gd, sgd = (e.summary()["references"]["min_l1"] for e in group.engines)
    assert sgd < 0.8 * gd


def test_smaller_alpha_gets_closer_to_min_nuclear_norm():
    """Gunasekar et al.: measured distances 0.77, 0.47, 0.23 to the min nuclear norm solution for alpha 1, 0.1, 1e-3."""
    group = RunGroup(preset_runs("gunasekar_sensing"))
    group.run(chunk=20000)
    d = [e.summary()["references"]["min_nuclear"] for e in group.engines]
    assert d[0] > d[1] > d[2]
