"""The saddle-to-saddle limit and the lasso path in the app: the theory toggles of the coordinates and loss panels
draw the limit's staircases, its loss and jump times, and the lasso path, at the values the core computes from the
problem's data (docs/science.md, "Saddle to saddle")."""

import math

import numpy as np

from ibviewer.core.config import build_config
from ibviewer.core.lasso import lasso_path
from ibviewer.core.problems import make_problem
from ibviewer.core.saddle import saddle_to_saddle
from tests.gui.conftest import TIMEOUT_MS, legend_text, settle

STEPS = 3000


def start(qtbot, window):
    cfg = build_config(preset="saddle_to_saddle_limit", overrides=[("run.steps", STEPS)])
    window.apply_runs([("run", cfg)])
    qtbot.waitUntil(lambda: window.worker_ready and window.cfg.problem.n == 30 and window.last_snap is not None,
                    timeout=TIMEOUT_MS)
    window.step_n(STEPS)
    settle(qtbot, window, STEPS)
    data = make_problem(cfg).data
    return cfg, saddle_to_saddle(data["A"], data["y"]), lasso_path(data["A"], data["y"])


def test_the_coordinates_panel_draws_the_limit_and_the_lasso_path(qtbot, window):
    cfg, lim, path = start(qtbot, window)
    window.set_x_mode("rescaled")
    coords = window.panels["coordinates"]
    assert coords.theory_box is not None
    coords.theory_box.setChecked(True)  # the check box, as a user clicks it
    window.redraw()
    shown = coords.support[: len(coords.lead)]
    tau_end = STEPS * cfg.optimizer.lr / math.log(1 / cfg.model.init_scale)
    for j, i in enumerate(shown):
        x, y = coords.saddle.limit[j].getData()
        # the staircase: every jump before the end at its rescaled time, each plateau at the limit's value
        jumps = lim.times[lim.times < tau_end]
        np.testing.assert_allclose(x[1:-1:2], jumps, rtol=1e-12)
        np.testing.assert_allclose(y[::2], lim.plateaus[: len(jumps) + 1, i], atol=1e-12)
        # the lasso path at λ = 1/(2τ)
        lx, ly = coords.saddle.lasso[j].getData()
        assert len(lx) > 100 and lx.max() <= tau_end * (1 + 1e-12)
        np.testing.assert_allclose(ly, path.at(1 / (2 * lx))[:, i], atol=1e-12)
    legend = legend_text(coords)
    assert "limit" in legend and "1/(2τ)" in legend
    # on the step axis the same staircase sits at τ ln(1/α) / η steps
    window.set_x_mode("step")
    window.redraw()
    x, _ = coords.saddle.limit[0].getData()
    jumps = lim.times[lim.times < tau_end]
    np.testing.assert_allclose(x[1:-1:2], jumps * math.log(1 / cfg.model.init_scale) / cfg.optimizer.lr, rtol=1e-9)
    coords.theory_box.setChecked(False)
    window.redraw()
    x, _ = coords.saddle.limit[0].getData()
    assert x is None or len(x) == 0
    assert "1/(2τ)" not in legend_text(coords)


def test_the_loss_panel_draws_the_limit_s_loss_and_jump_times(qtbot, window):
    cfg, lim, _path = start(qtbot, window)
    window.set_x_mode("rescaled")
    loss = window.panels["loss"]
    assert not loss.theory_box.isHidden()  # shown for this run only
    loss.theory_box.setChecked(True)
    window.redraw()
    tau_end = STEPS * cfg.optimizer.lr / math.log(1 / cfg.model.init_scale)
    jumps = lim.times[lim.times < tau_end]
    assert len(jumps) >= 2
    np.testing.assert_allclose(sorted(line.value() for line in loss.saddle.jumps), jumps, rtol=1e-12)
    _x, y = loss.saddle.loss.getData()
    np.testing.assert_allclose(10.0 ** y[::2], lim.losses[: len(jumps) + 1], rtol=1e-9)
    assert "its jumps" in legend_text(loss)
    loss.theory_box.setChecked(False)
    window.redraw()
    assert loss.saddle.jumps == []
    # a run the theory does not describe (matrix sensing): no toggle
    window.apply_runs([("run", build_config(preset="sensing_incremental_rank"))])
    qtbot.waitUntil(lambda: window.worker_ready and window.cfg.problem.kind == "matrix_sensing"
                    and window.last_snap is not None, timeout=TIMEOUT_MS)
    assert window.panels["loss"].theory_box.isHidden()  # (a new family: the panels are built anew)
