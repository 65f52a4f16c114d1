"""Tensor completion with a CP factorization (ibviewer/core/tensor.py): the problem, the closed-form gradients
against torch autograd and finite differences, the metrics against direct computations, stacks of runs, events
and the one-line refusals of bad settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ibviewer.cli import main
from ibviewer.core.compare import RunGroup
from ibviewer.core.config import ConfigError, build_config
from ibviewer.core.engine import Engine
from ibviewer.core.events import events
from ibviewer.core.tensor import RANK_FRACTION, component_norms, learned_components, tensor_ranks

SMALL = [("problem.kind", "tensor_completion"), ("problem.d", 4), ("problem.rank", 2), ("problem.measurements", 30),
         ("model.components", 3), ("model.init_scale", 0.5), ("run.steps", 0)]


def small_engine(*extra) -> Engine:
    return Engine(build_config(overrides=SMALL + list(extra)))


def perturbed(e: Engine, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [p + 0.3 * rng.standard_normal(p.shape) for p in e.params]


def torch_loss(params, flat, values, idx=None):
    """½ Σ over the observed entries (or n/|batch| times the sum over a batch), written from the definition."""
    A, B, C = params
    T = torch.einsum("ir,jr,kr->ijk", A, B, C).reshape(-1)
    if idx is None:
        r = T[flat] - values
        return 0.5 * (r * r).sum()
    r = T[flat[idx]] - values[idx]
    return 0.5 * len(flat) / len(idx) * (r * r).sum()


def test_problem_is_a_low_rank_tensor_observed_at_distinct_entries():
    e = small_engine(("problem.singular_values", "3, 1"))
    p = e.problem
    assert p.shape == (4, 4, 4) and p.n_data == 30
    flat = p.data["flat"]
    assert len(np.unique(flat)) == 30 and flat.min() >= 0 and flat.max() < 64
    np.testing.assert_allclose(p.data["values"], p.target.reshape(-1)[flat])
    # the mode-1 unfolding of a CP-rank-2 tensor has rank 2, and its weights are the given norms
    assert np.linalg.matrix_rank(p.target.reshape(4, 16), tol=1e-9) == 2
    np.testing.assert_allclose(p.info["weights"], [3.0, 1.0])


def test_default_weights_give_entries_of_order_one():
    e = Engine(build_config(overrides=[("problem.kind", "tensor_completion"), ("run.steps", 0)]))
    t = e.problem.target
    rms = float(np.sqrt((t * t).mean()))
    assert 0.3 < rms < 3.0


@pytest.mark.parametrize("batch", [False, True])
def test_closed_form_gradients_match_torch_autograd(batch):
    e = small_engine()
    params = perturbed(e)
    idx = np.array([3, 7, 11, 20, 29]) if batch else None
    P, cache = e.model.forward_and_cache(params)
    loss, G = e.head(P, idx)
    grads = e.model.grads(params, G, cache)
    tp = [torch.tensor(p, requires_grad=True) for p in params]
    flat = torch.tensor(e.problem.data["flat"])
    values = torch.tensor(e.problem.data["values"])
    tl = torch_loss(tp, flat, values, None if idx is None else torch.tensor(idx))
    tl.backward()
    assert loss == pytest.approx(float(tl.detach()), rel=1e-12)
    for g, t in zip(grads, tp):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_closed_form_gradients_match_finite_differences():
    e = small_engine()
    params = perturbed(e, 2)

    def full(ps):
        return e.head(e.model.forward_and_cache(ps)[0])[0]

    grads = e.model.grads(params, e.head(e.model.forward_and_cache(params)[0])[1],
                          e.model.forward_and_cache(params)[1])
    h = 1e-6
    rng = np.random.default_rng(3)
    for j, p in enumerate(params):
        for flat in rng.choice(p.size, size=5, replace=False):
            i = np.unravel_index(flat, p.shape)
            plus, minus = [q.copy() for q in params], [q.copy() for q in params]
            plus[j][i] += h
            minus[j][i] -= h
            assert grads[j][i] == pytest.approx((full(plus) - full(minus)) / (2 * h), rel=1e-6, abs=1e-6)


def test_torch_backend_matches_numpy():
    a = small_engine(("run.steps", 40), ("model.init_scale", 0.1))
    b = small_engine(("run.steps", 40), ("model.init_scale", 0.1), ("run.backend", "torch"))
    a.run()
    b.run()
    for p, q in zip(a.params, b.params):
        np.testing.assert_allclose(p, q.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.history["component_norms"], b.history["component_norms"], rtol=1e-9)


def test_sgd_minibatches_train():
    e = small_engine(("run.steps", 300), ("optimizer.name", "sgd"), ("optimizer.batch_size", 10),
                     ("optimizer.lr", 0.02))
    loss0 = e.current_loss()
    e.run()
    assert e.status == "max_steps" and e.current_loss() < loss0


def test_stacked_runs_train_as_they_do_alone():
    over = SMALL[:-1] + [("run.steps", 60)]
    runs = [(f"a{a}", build_config(overrides=over + [("model.init_scale", a)])) for a in (0.1, 0.5)]
    group = RunGroup(runs)
    assert group.batches, "runs of one shape and optimizer train as one stack"
    group.run(chunk=25)
    for (_, cfg), stacked in zip(runs, group.engines):
        alone = Engine(cfg)
        alone.run(chunk=25)
        for p, q in zip(alone.params, stacked.params):
            np.testing.assert_allclose(p, q, rtol=1e-11, atol=1e-14)


def test_metrics_are_the_component_norms_and_their_ranks():
    e = small_engine(("run.steps", 5))
    e.run()
    row = e.history.last()
    A, B, C = e.params
    direct = [np.linalg.norm(A[:, r]) * np.linalg.norm(B[:, r]) * np.linalg.norm(C[:, r]) for r in range(3)]
    np.testing.assert_allclose(row["component_norms"], direct, rtol=1e-12)
    T = np.einsum("ir,jr,kr->ijk", A, B, C)
    t = e.problem.target
    assert row["rel_error"] == pytest.approx(np.sqrt(((T - t) ** 2).sum() / (t**2).sum()), rel=1e-12)
    assert "state" not in e.history.keys()  # d³ numbers a row are not kept
    s = e.summary()
    assert s["component_norms"] == sorted(direct, reverse=True) and s["tensor_rank"]["count"] == row["tensor_rank"]
    assert s["target_component_norms"] == sorted(e.problem.info["weights"].tolist(), reverse=True)


def test_tensor_ranks_of_known_norms():
    assert tensor_ranks(np.ones(5)) == {"entropy": pytest.approx(5.0), "count": 5.0}
    assert tensor_ranks(np.array([7.0, 0.0, 0.0])) == {"entropy": pytest.approx(1.0), "count": 1.0}
    p = np.array([2.0, 1.0, 1.0]) / 4
    assert tensor_ranks(np.array([2.0, 1.0, 1.0]))["entropy"] == pytest.approx(np.exp(-(p * np.log(p)).sum()))
    assert tensor_ranks(np.array([1.0, RANK_FRACTION * 1.01, RANK_FRACTION * 0.99]))["count"] == 2.0
    assert tensor_ranks(np.zeros(4)) == {"entropy": 0.0, "count": 0.0}
    # each factor's column norm multiplies into the component's norm
    f = [np.diag([1.0, 2.0]), np.diag([3.0, 1.0]), np.diag([1.0, 5.0])]
    np.testing.assert_allclose(component_norms(f), [3.0, 10.0])


def test_components_are_marked_learned_when_the_ranked_norms_reach_half_their_targets():
    cfg = build_config(overrides=[("problem.kind", "tensor_completion"), ("problem.singular_values", "8, 2")])
    steps = np.array([0, 10, 20, 30, 40])
    # component 0 carries the small weight, component 1 the large one: the norms are ranked at every row
    norms = np.array([[0.1, 0.1, 0.1], [0.1, 5.0, 0.1], [0.5, 7.9, 0.1], [1.2, 8.0, 0.1], [2.0, 8.0, 0.1]])
    cols = {"step": steps, "time": 0.01 * steps, "component_norms": norms}
    found = learned_components(cols, cfg)
    assert [(e["step"], e["label"]) for e in found] == [(10, "component 1 learned"), (30, "component 2 learned")]
    assert [e["step"] for e in events(cols, cfg, "max_steps", 40) if e["kind"] == "learned"] == [10, 30]


@pytest.mark.parametrize("key, value, words", [
    ("model.components", 0, "model.components"),
    ("problem.measurements", 1001, "at most d³ = 1000"),
    ("problem.d", 300, "too large for tensor_completion"),
    ("model.init", "orthogonal", "must be gaussian"),
])
def test_bad_settings_are_refused_in_one_line(key, value, words):
    with pytest.raises(ConfigError) as err:
        build_config(overrides=[("problem.kind", "tensor_completion"), (key, value)])
    text = str(err.value)
    assert words in text and "\n" not in text


def test_command_line_refuses_in_one_line(tmp_path, capsys):
    code = main(["run", "--set", "problem.kind=tensor_completion", "--set", "problem.measurements=5000",
                 "--out", str(tmp_path / "x"), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "problem.measurements" in err
    assert not (tmp_path / "x").exists()


def test_summary_json_holds_the_tensor_quantities(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--set", "problem.kind=tensor_completion", "--steps", "200", "--out", str(out), "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert len(s["component_norms"]) == s["config"]["model"]["components"] == 10
    assert set(s["tensor_rank"]) == {"entropy", "count"} and "relative_error" in s
    assert s["target_tensor_rank"]["count"] == 3.0


def test_a_session_continues_a_tensor_run_bit_for_bit(tmp_path):
    from ibviewer.core.session import load_session, save_session

    a = small_engine(("run.steps", 200), ("optimizer.name", "adam"), ("optimizer.lr", 0.01))
    a.step(100)
    path = save_session(tmp_path / "t.ibvs", [("tensor", a)])
    (name, b), = load_session(path).runs
    assert name == "tensor" and b.step_count == 100
    a.run()
    b.run()
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(a.history["component_norms"], b.history["component_norms"])


def test_a_tensor_model_too_large_for_the_memory_is_refused_in_one_line():
    from ibviewer.core.sizing import check_memory

    cfg = build_config(overrides=[("problem.kind", "tensor_completion"), ("problem.d", 200),
                                  ("model.components", 10000)])
    # the d² x R Khatri-Rao products alone: 3 · 200² · 10⁴ · 8 bytes = 9.6 GB
    with pytest.raises(ConfigError) as err:
        check_memory(cfg, available=2**30)
    text = str(err.value)
    assert "model.components" in text and "\n" not in text
    check_memory(build_config(preset="tensor_greedy_rank"), available=2**30)  # the preset fits easily
