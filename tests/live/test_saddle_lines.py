"""The limit's and the lasso path's lines on every time axis (ibviewer/live/saddle_lines.py), against the
conversions written out: τ ln(1/α) is the time, over η the step."""

import math

import numpy as np
import pytest

from ibviewer.core.lasso import lasso_path
from ibviewer.core.saddle import saddle_to_saddle
from ibviewer.live.saddle_lines import saddle_lines

RNG = np.random.default_rng(3)
A = RNG.standard_normal((6, 12)) / math.sqrt(6)
Y = A[:, [1, 7]] @ np.array([1.5, -0.8])
LIM, PATH = saddle_to_saddle(A, Y), lasso_path(A, Y)
INFO = {"rate": 2.0, "alpha": 1e-6, "jump_times": LIM.times, "plateaus": LIM.plateaus, "losses": LIM.losses,
        "lasso_lambdas": PATH.lambdas, "lasso_coefs": PATH.coefs}


@pytest.mark.parametrize("mode", ["rescaled", "time", "step", "log_step"])
def test_the_jumps_sit_at_their_times_on_every_axis(mode):
    alpha, lr = 1e-6, 0.02
    ln = math.log(1 / alpha)
    tau_end = 2 * LIM.times[-1]
    lines = saddle_lines(INFO, [1, 7], mode, lr, alpha, tau_end=tau_end)
    t = LIM.times * ln  # gradient-flow time
    want = {"rescaled": LIM.times, "time": t, "step": t / lr, "log_step": np.log10(t / lr)}[mode]
    np.testing.assert_allclose(lines.jumps_x, want, rtol=1e-12)
    np.testing.assert_allclose(lines.stair_x[1:-1:2], want, rtol=1e-12)
    np.testing.assert_allclose(lines.stair_y[::2], LIM.plateaus[:, [1, 7]], atol=1e-15)
    np.testing.assert_allclose(lines.loss_y[::2], LIM.losses, rtol=1e-15)
    # the lasso path at λ = 1/(2τ), τ read back from the axis
    back = {"rescaled": lambda x: x, "time": lambda x: x / ln, "step": lambda x: x * lr / ln,
            "log_step": lambda x: 10.0**x * lr / ln}[mode](lines.lasso_x)
    np.testing.assert_allclose(lines.lasso_y, PATH.at(1 / (2 * back))[:, [1, 7]], atol=1e-9)


def test_no_lines_without_a_theory():
    assert saddle_lines(None, [0], "rescaled", 0.01, 1e-6) is None
    assert saddle_lines(INFO, [0], "rescaled", 0.01, None) is None
    no_path = {k: v for k, v in INFO.items() if not k.startswith("lasso")}
    lines = saddle_lines(no_path, [1], "rescaled", 0.01, 1e-6)
    assert len(lines.lasso_x) == 0 and len(lines.jumps_x) == len(LIM.times)
