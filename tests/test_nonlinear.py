"""Nonlinear networks (issue 6): gradients against torch autograd, and the presets' outcomes on several seeds."""

import numpy as np
import pytest
import torch

from ibviewer.config import ConfigError, build_config
from ibviewer.engine import Engine

TS = [("problem.kind", "teacher_student"), ("problem.samples", 30), ("problem.test_samples", 50),
      ("model.width", "[7, 5]"), ("run.steps", 0)]


@pytest.mark.parametrize("activation", ["relu", "tanh", "linear"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("weight_norm", [False, True])
@pytest.mark.parametrize("kind", ["teacher_student", "digits"])
def test_backprop_matches_torch_autograd(activation, bias, weight_norm, kind):
    over = TS + [("model.activation", activation), ("model.bias", bias), ("model.weight_norm", weight_norm),
                 ("problem.kind", kind), ("problem.samples", 40)]
    e = Engine(build_config(overrides=over))
    loss, grads = e.model.loss_and_grads(e.params, e.data)
    tparams = [torch.tensor(p, requires_grad=True) for p in e.params]
    tdata = {k: torch.as_tensor(v) for k, v in e.data.items()}
    out = e.model.forward(tparams, tdata["X"])
    if kind == "teacher_student":
        tl = ((out - tdata["Y"]) ** 2).sum() / (2 * out.shape[0])
    else:
        tl = torch.nn.functional.cross_entropy(out, tdata["labels"])
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    for g, tp in zip(grads, tparams):
        np.testing.assert_allclose(g, tp.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_torch_backend_matches_numpy_for_mlps():
    a = Engine(build_config(overrides=TS))
    b = Engine(build_config(overrides=TS + [("run.backend", "torch")]))
    a.step(30)
    b.step(30)
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-9)
    np.testing.assert_allclose(a.history["layer_rel_change"], b.history["layer_rel_change"], rtol=1e-7)


def test_width_list_and_errors():
    cfg = build_config(overrides=TS + [("model.depth", 3)])
    assert cfg.model.width == [7, 5]
    with pytest.raises(ConfigError, match="model.depth - 1 = 1"):
        build_config(overrides=TS + [("model.depth", 2)])
    with pytest.raises(ConfigError, match="a list is for MLPs"):
        build_config(overrides=[("problem.kind", "matrix_sensing"), ("model.width", "[3, 4]")])
    with pytest.raises(ConfigError, match="model.activation"):
        build_config(overrides=TS + [("model.activation", "gelu")])
    with pytest.raises(ConfigError, match="problem.samples"):
        Engine(build_config(overrides=[("problem.kind", "digits"), ("problem.samples", 5)]))


def trivial_test_loss(e):
    y_test, y = e.problem.data["Y_test"], e.problem.data["Y"]
    return float(((y_test - y.mean()) ** 2).sum() / (2 * len(y_test)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_interpolation_with_generalization(seed):
    """Parameters >= 10x samples: train loss < 1e-6 while the test loss is below the trivial predictor's by a
    clear factor (measured 2.8-3.5x at n = 100 on seeds 0-2; asserted >= 2x); with n = 20 the gap grows."""
    over = [("problem.seed", seed), ("run.seed", seed)]
    e = Engine(build_config(preset="mlp_interpolation_generalizes", overrides=over))
    e.run()
    s = e.summary()
    assert s["n_params"] >= 10 * s["n_samples"]
    assert s["train_loss"] < 1e-6
    ratio = trivial_test_loss(e) / s["test_loss"]
    assert ratio >= 2.0
    small = Engine(build_config(preset="mlp_interpolation_generalizes", overrides=over + [("problem.samples", 20)]))
    small.run()
    ss = small.summary()
    assert ss["train_loss"] < 1e-6
    assert ss["test_loss"] - ss["train_loss"] > 1.5 * (s["test_loss"] - s["train_loss"])


@pytest.mark.parametrize("seed", [0, 1])
def test_lazy_against_rich(seed):
    """Large init: weights move little (relative change << 1) and the hidden layer keeps a high effective rank;
    small init: weights move far and the hidden layer becomes low rank."""
    out = {}
    for scale in (4.0, 0.1):
        e = Engine(build_config(preset="mlp_lazy_vs_rich", overrides=[
            ("model.init_scale", scale), ("problem.seed", seed), ("run.seed", seed), ("run.steps", 6000),
            ("optimizer.lr", 0.05 if scale < 1 else 0.05 / scale**2)]))
        e.run()
        out[scale] = e.summary()
    lazy, rich = out[4.0], out[0.1]
    assert max(lazy["layer_relative_change"][:2]) < 0.1
    assert min(rich["layer_relative_change"][:2]) > 0.5
    assert lazy["layer_effective_ranks"][1] > 3 * rich["layer_effective_ranks"][1]


@pytest.mark.slow
def test_digits_reach_full_training_accuracy_and_generalize():
    """Measured: 100 % training accuracy, test accuracy 0.96 after 5000 steps (seed 0); asserted >= 0.9 at
    1500 steps on two seeds."""
    for seed in (0, 1):
        e = Engine(build_config(overrides=[("problem.kind", "digits"), ("problem.seed", seed), ("run.seed", seed),
                                           ("run.steps", 1500)]))
        e.run()
        s = e.summary()
        assert s["train_accuracy"] == 1.0
        assert s["test_accuracy"] >= 0.9
