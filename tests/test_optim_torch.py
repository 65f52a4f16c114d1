"""The optimizers step for step against torch.optim, an independent implementation of the same conventions.

Each optimizer (with and without coupled weight decay) takes 40 steps on a least-squares loss over two parameter
arrays of different shapes; ibviewer's update (numpy, closed-form gradients) and torch.optim's (autograd) must agree
to 1e-12 in float64 at every step.  A Nesterov step computed as heavy-ball, an Adam without bias correction, an
RMSprop whose average is not smoothed, or a decay applied after the step would differ by far more than that.
"""

import numpy as np
import pytest
import torch

from ibviewer.core.config import build_config
from ibviewer.core.optim import Optimizer

STEPS = 40
CASES = [
    ("sgd", dict(lr=0.05), lambda ps, lr, mu, b2, eps, wd: torch.optim.SGD(ps, lr=lr, weight_decay=wd)),
    ("momentum", dict(lr=0.02, momentum=0.9),
     lambda ps, lr, mu, b2, eps, wd: torch.optim.SGD(ps, lr=lr, momentum=mu, weight_decay=wd)),
    ("nesterov", dict(lr=0.02, momentum=0.8),
     lambda ps, lr, mu, b2, eps, wd: torch.optim.SGD(ps, lr=lr, momentum=mu, nesterov=True, weight_decay=wd)),
    ("adam", dict(lr=0.01, momentum=0.9, beta2=0.99, eps=1e-8),
     lambda ps, lr, mu, b2, eps, wd: torch.optim.Adam(ps, lr=lr, betas=(mu, b2), eps=eps, weight_decay=wd)),
    ("rmsprop", dict(lr=0.005, beta2=0.95, eps=1e-8),
     lambda ps, lr, mu, b2, eps, wd: torch.optim.RMSprop(ps, lr=lr, alpha=b2, eps=eps, weight_decay=wd)),
    ("adagrad", dict(lr=0.05, eps=1e-10),
     lambda ps, lr, mu, b2, eps, wd: torch.optim.Adagrad(ps, lr=lr, eps=eps, weight_decay=wd)),
]


def _problem(seed: int):
    rng = np.random.default_rng(seed)
    shapes = [(5, 4), (7,)]
    A = [rng.standard_normal((9, int(np.prod(s)))) for s in shapes]
    b = rng.standard_normal(9)
    params = [rng.standard_normal(s) for s in shapes]
    return shapes, A, b, params


def _numpy_grads(params, A, b):
    """∇ of ½‖Σ_i A_i vec(p_i) − b‖² (closed form)."""
    r = sum(a @ p.ravel() for a, p in zip(A, params)) - b
    return [(a.T @ r).reshape(p.shape) for a, p in zip(A, params)]


@pytest.mark.parametrize("wd", [0.0, 0.03], ids=["no_decay", "weight_decay"])
@pytest.mark.parametrize(("name", "settings", "make_torch"), CASES, ids=[c[0] for c in CASES])
def test_optimizer_matches_torch_optim_step_for_step(name, settings, make_torch, wd):
    overrides = [("optimizer.name", name), ("optimizer.weight_decay", wd)]
    overrides += [(f"optimizer.{k}", v) for k, v in settings.items()]
    ocfg = build_config(overrides=overrides).optimizer
    shapes, A, b, params = _problem(seed=7)
    ours = [p.copy() for p in params]
    theirs = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    At = [torch.tensor(a) for a in A]
    bt = torch.tensor(b)
    opt = Optimizer(ocfg)
    topt = make_torch(theirs, ocfg.lr, ocfg.momentum, ocfg.beta2, ocfg.eps, wd)
    for step in range(1, STEPS + 1):
        opt.step(ours, _numpy_grads(ours, A, b))
        topt.zero_grad()
        loss = 0.5 * (sum(a @ p.reshape(-1) for a, p in zip(At, theirs)) - bt).pow(2).sum()
        loss.backward()
        topt.step()
        for mine, ref in zip(ours, theirs):
            ref = ref.detach().numpy()
            err = np.max(np.abs(mine - ref)) / max(1.0, np.max(np.abs(ref)))
            assert err < 1e-12, f"{name} (weight decay {wd}) differs from torch.optim at step {step}: {err:.2e}"


def test_the_comparison_tells_nesterov_from_heavy_ball():
    """The check above has the power to fail: heavy-ball momentum is not Nesterov's update."""
    shapes, A, b, params = _problem(seed=7)
    runs = {}
    for name in ("momentum", "nesterov"):
        ocfg = build_config(overrides=[("optimizer.name", name), ("optimizer.lr", 0.02),
                                       ("optimizer.momentum", 0.8)]).optimizer
        ps = [p.copy() for p in params]
        opt = Optimizer(ocfg)
        for _ in range(3):
            opt.step(ps, _numpy_grads(ps, A, b))
        runs[name] = ps
    assert max(np.max(np.abs(x - y)) for x, y in zip(runs["momentum"], runs["nesterov"])) > 1e-4
