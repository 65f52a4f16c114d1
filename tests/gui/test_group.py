"""The worker's LiveGroup (Qt-free): runs that come and go, live optimizer changes, state for sessions."""

import numpy as np
import pytest

from ibviewer.core.config import DEFAULT_PRESET, ConfigError, build_config
from ibviewer.core.engine import Engine
from ibviewer.live.group import LiveGroup


def cfg(**kw):
    c = build_config(preset=DEFAULT_PRESET)
    c.run.steps = 0
    for k, v in kw.items():
        table, name = k.split("__")
        setattr(getattr(c, table), name, v)
    return c.validate()


def specs(*cfgs):
    return [(i, f"run {i}", c.to_dict()) for i, c in enumerate(cfgs)]


def test_build_reuses_unchanged_engines_and_leaves_the_old_group_on_failure():
    g = LiveGroup.build(specs(cfg(), cfg(model__init_scale=1e-2)))
    assert len(g.batches) == 1 and g.problem is g.engines[1].problem
    g.step(20)
    kept = g.engines[0]
    g2 = LiveGroup.build(specs(cfg(optimizer__lr=0.005), cfg(model__depth=2)), g)
    assert g2.engines[0] is kept and kept.step_count == 0 and kept.cfg.optimizer.lr == 0.005
    assert g2.engines[1] is not g.engines[1] and g2.problem is g.problem
    bad = cfg()
    bad.problem.singular_values = [1.0] * 21  # valid numbers, more than a 20 x 20 matrix has
    with pytest.raises((ConfigError, ValueError)):
        LiveGroup.build(specs(bad), g2)
    assert kept.cfg.optimizer.lr == 0.005 and g2.engines[0] is kept


def test_a_live_learning_rate_stays_in_the_stack_and_matches_a_single_run():
    g = LiveGroup.build(specs(cfg(), cfg(model__init_scale=1e-2)))
    g.step(30)
    g.set_optimizer(1, {"lr": 0.004})
    assert len(g.batches) == 1 and len(g.batches[0].engines) == 2
    g.step(30)
    e = Engine(cfg(model__init_scale=1e-2))
    e.step(30)
    e.set_lr(0.004)
    e.step(30)
    np.testing.assert_allclose(g.engines[1].product(), e.product(), rtol=1e-10, atol=1e-14)
    assert g.engines[1].time == pytest.approx(e.time)


def test_another_optimizer_leaves_the_stack_with_its_state_and_remove_keeps_the_rest():
    g = LiveGroup.build(specs(cfg(optimizer__name="momentum", optimizer__lr=0.002),
                             cfg(optimizer__name="momentum", optimizer__lr=0.002, model__init_scale=1e-2),
                             cfg(optimizer__name="momentum", optimizer__lr=0.002, model__init_scale=1e-1)))
    g.step(20)
    g.set_optimizer(0, {"momentum": 0.5})
    assert g.engines[0] in g.singles and g.engines[0].optimizer.state is not None
    assert len(g.batches[0].engines) == 2
    g.remove(1)
    assert g.ids == [0, 2] and len(g.engines) == 2
    before = [e.step_count for e in g.engines]
    g.step(10)
    assert [e.step_count for e in g.engines] == [b + 10 for b in before]


def test_synced_state_resumes_a_stacked_momentum_run_exactly(tmp_path):
    from ibviewer.core.session import load_session, save_session

    mk = lambda a: cfg(optimizer__name="momentum", optimizer__lr=0.002, model__init_scale=a)
    g = LiveGroup.build(specs(mk(1e-3), mk(1e-2)))
    g.step(40)
    g.sync_state()
    save_session(tmp_path / "s.ibvs", list(zip(g.names, g.engines)), {})
    loaded = LiveGroup(*zip(*[(i, n, e) for i, (n, e) in enumerate(load_session(tmp_path / "s.ibvs").runs)]))
    assert len(loaded.batches) == 1 and len(loaded.batches[0].engines) == 2  # restored runs stack again
    g.step(40)
    loaded.step(40)
    for a, b in zip(g.engines, loaded.engines):
        assert a.step_count == b.step_count == 80
        np.testing.assert_allclose(a.product(), b.product(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["adam", "gd"])
def test_restored_runs_stack_again_and_go_on_as_if_never_saved(tmp_path, name):
    from ibviewer.core.session import load_session, save_session

    mk = lambda a: cfg(optimizer__name=name, optimizer__lr=1e-3 if name == "adam" else 0.01, model__init_scale=a)
    g = LiveGroup.build(specs(mk(1e-3), mk(1e-2), mk(1e-1)))
    g.step(33)
    g.sync_state()
    save_session(tmp_path / "s.ibvs", list(zip(g.names, g.engines)), {})
    loaded = LiveGroup(*zip(*[(i, n, e) for i, (n, e) in enumerate(load_session(tmp_path / "s.ibvs").runs)]))
    assert [len(b.engines) for b in loaded.batches] == [3] and not loaded.singles
    g.step(150)
    loaded.step(150)
    for a, b in zip(g.engines, loaded.engines):
        assert a.step_count == b.step_count == 183
        np.testing.assert_allclose(a.product(), b.product(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-10, atol=1e-14)
