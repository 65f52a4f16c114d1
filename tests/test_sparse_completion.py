"""Completion with few observed entries takes a sparse (CSR) gradient: the same loss, gradient and iterates as
the masked dense computation, and recovery at d = 1,000."""

import numpy as np
import pytest
import torch

from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.sparse_completion import SPARSE_FRACTION, SparseObserved, takes_sparse_gradient


def test_the_sparse_loss_and_gradient_equal_the_masked_dense_ones():
    rng = np.random.default_rng(0)
    d = 40
    idx = rng.choice(d * d, 60, replace=False)
    rows, cols = np.divmod(idx, d)
    vals = rng.standard_normal(60)
    P = rng.standard_normal((d, d))
    loss, G = SparseObserved(rows, cols, vals, (d, d))(P)
    M = np.zeros((d, d))
    mask = np.zeros((d, d))
    M[rows, cols] = vals
    mask[rows, cols] = 1.0
    assert np.isclose(loss, 0.5 * (((P - M) * mask) ** 2).sum(), rtol=1e-13)
    assert np.allclose(G.toarray(), (P - M) * mask, rtol=0, atol=1e-15)


def _engine(depth: int, d: int = 60, observed: int = 90, **extra):
    c = build_config(overrides={"problem.kind": "matrix_completion", "problem.d": d, "problem.rank": 2,
                                "problem.measurements": observed, "model.depth": depth, "model.width": 12,
                                "model.init_scale": 0.1, "optimizer.lr": 0.05, **extra})
    c.run.steps = 0
    return Engine(c)


@pytest.mark.parametrize("depth", [2, 3])
def test_the_iterates_match_plain_autograd_gd_on_the_observed_entries(depth):
    e = _engine(depth)
    assert e.head.sparse is not None  # 90 of 3,600 entries: 2.5 %
    data = e.problem.data
    rows, cols = torch.as_tensor(data["rows"]), torch.as_tensor(data["cols"])
    vals = torch.as_tensor(data["values"])
    params = [torch.tensor(np.asarray(p), requires_grad=True) for p in e.params]
    for _ in range(40):
        p = params[0]
        for w in params[1:]:
            p = w @ p
        loss = 0.5 * ((p[rows, cols] - vals) ** 2).sum()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for w, g in zip(params, grads):
                w -= 0.05 * g
    e.step(40)  # records at some steps (the general loop) and the fast path between them
    for mine, ref in zip(e.params, params):
        assert np.allclose(mine, ref.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_the_symmetric_model_on_few_entries_steps_as_plain_autograd_gd():
    e = _engine(2, **{"problem.symmetric": True, "model.parametrization": "symmetric"})
    assert e.head.sparse is not None
    data = e.problem.data
    rows, cols = torch.as_tensor(data["rows"]), torch.as_tensor(data["cols"])
    vals = torch.as_tensor(data["values"])
    u = torch.tensor(np.asarray(e.params[0]), requires_grad=True)
    for _ in range(40):
        loss = 0.5 * (((u @ u.T)[rows, cols] - vals) ** 2).sum()
        (g,) = torch.autograd.grad(loss, [u])
        with torch.no_grad():
            u -= 0.05 * g
    e.step(40)
    assert np.allclose(e.params[0], u.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_which_runs_take_the_sparse_gradient():
    assert takes_sparse_gradient("matrix_completion", (100, 100), int(SPARSE_FRACTION * 1e4), 2, "product", True)
    assert not takes_sparse_gradient("matrix_completion", (100, 100), int(SPARSE_FRACTION * 1e4) + 1, 2,
                                     "product", True)  # denser: BLAS on the dense gradient is faster
    assert not takes_sparse_gradient("matrix_completion", (100, 100), 10, 1, "product", True)  # depth 1
    assert not takes_sparse_gradient("matrix_completion", (100, 100), 10, 2, "product", False)  # torch
    assert not takes_sparse_gradient("razin_cohen", (2, 2), 3, 3, "product", True)
    assert takes_sparse_gradient("matrix_completion", (100, 100), 10, 2, "symmetric", True)
    assert _engine(2, observed=400).head.sparse is None  # 11 % observed


@pytest.mark.slow
def test_completion_at_d_1000_from_2_percent_of_the_entries_recovers_the_matrix():
    c = build_config(overrides={"problem.kind": "matrix_completion", "problem.d": 1000, "problem.rank": 2,
                                "problem.measurements": 20_000, "model.depth": 2, "model.width": 20,
                                "model.init_scale": 1e-8, "optimizer.lr": 0.05, "run.dtype": "float32"})
    c.run.steps = 0
    e = Engine(c)
    assert e.head.sparse is not None
    e.step(600)
    assert e.status == "ready"
    assert e.history["rel_error"][-1] <= 0.12  # measured 0.092 (docs/science.md, "Large problems")
