import json

import numpy as np
import pytest

from ibviewer.cli import main
from ibviewer.core.compare import RunGroup, expand, parse_compare
from ibviewer.core.config import ConfigError, build_config
from ibviewer.core.engine import DIVERGED, MAX_STEPS, Engine


def histories_equal(a, b):
    assert a.n == b.n
    for k in a.keys():
        if k != "wall":
            np.testing.assert_allclose(a[k], b[k], rtol=1e-10, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("preset, axis", [
    ("completion_depth_low_rank", "model.init_scale=1e-3,1e-2,0.1"),
    ("sensing_depth_low_rank", "optimizer.lr=0.01,0.005"),
    ("hadamard_l1_bias", "model.init_scale=1e-3,1e-2"),
    ("factorization_early_stopping", "run.seed=0,1,2"),
    ("deep_linear_balancedness", "optimizer.lr=0.01,0.003,0.001"),
    ("logistic_max_margin", "optimizer.lr=0.1,0.05"),
    ("razin_cohen_norms_diverge", "run.seed=0,1"),
])
def test_batched_runs_equal_separate_runs(preset, axis):
    base = build_config(preset=preset, overrides=[("run.steps", 400)])
    runs = expand(base, parse_compare([axis]))
    group = RunGroup(runs)
    assert len(group.batches) == 1 and not group.singles
    group.run()
    for (name, cfg), e in zip(runs, group.engines):
        alone = Engine(cfg)
        alone.run()
        assert e.step_count == alone.step_count == 400
        histories_equal(e.history, alone.history)


def test_runs_of_other_shapes_train_alone_and_adam_batches():
    base = build_config(preset="completion_depth_low_rank", overrides=[("run.steps", 100)])
    group = RunGroup(expand(base, parse_compare(["model.depth=1,2,3"])))
    assert not group.batches and len(group.singles) == 3
    adam = build_config(preset="completion_depth_low_rank", overrides=[("run.steps", 100), ("optimizer.name", "adam"),
                                                                       ("optimizer.lr", 1e-3)])
    runs = expand(adam, parse_compare(["model.init_scale=1e-2,1e-1"]))
    g = RunGroup(runs)
    assert len(g.batches) == 1
    g.run()
    for (name, cfg), e in zip(runs, g.engines):
        alone = Engine(cfg)
        alone.run()
        histories_equal(e.history, alone.history)


def test_a_diverging_run_leaves_the_stack_and_the_others_go_on():
    base = build_config(preset="sensing_depth_low_rank", overrides=[("run.steps", 300), ("model.init_scale", 1.0)])
    runs = expand(base, parse_compare(["optimizer.lr=0.005,50,0.002"]))
    group = RunGroup(runs)
    group.run()
    statuses = [e.status for e in group.engines]
    assert statuses == [MAX_STEPS, DIVERGED, MAX_STEPS]
    for (name, cfg), e in zip(runs, group.engines):
        if e.status != DIVERGED:
            alone = Engine(cfg)
            alone.run()
            histories_equal(e.history, alone.history)


def test_step_limits_per_run():
    base = build_config(preset="completion_depth_low_rank")
    group = RunGroup(expand(base, parse_compare(["run.steps=50,120"])))
    group.run(chunk=40)
    assert [e.step_count for e in group.engines] == [50, 120]


def test_compare_keys_must_not_change_the_problem():
    base = build_config(preset="completion_depth_low_rank")
    with pytest.raises(ConfigError, match="share the problem"):
        expand(base, parse_compare(["problem.d=10,20"]))
    with pytest.raises(ConfigError, match="KEY=V1,V2"):
        parse_compare(["model.depth"])


def test_cli_compare_writes_one_folder_per_run(tmp_path, capsys):
    out = tmp_path / "c"
    rc = main(["run", "--preset", "hadamard_l1_bias", "--steps", "500", "--compare", "model.init_scale=0.1,0.01",
               "--compare", "optimizer.lr=0.02,0.01", "--out", str(out), "-q"])
    assert rc == 0
    combined = json.loads((out / "summary.json").read_text())
    assert len(combined["runs"]) == 4
    for entry in combined["runs"]:
        s = json.loads((out / entry["folder"] / "summary.json").read_text())
        assert s["steps"] == 500 and s["name"] == entry["name"]
        assert (out / entry["folder"] / "history.npz").is_file()
    assert main(["run", "--preset", "hadamard_l1_bias", "--compare", "model.depth=0,1", "--out", str(tmp_path / "x")]) == 2
    assert "model.depth" in capsys.readouterr().err


def test_a_run_leaving_the_stack_takes_its_optimizer_state():
    base = build_config(preset="completion_depth_low_rank", overrides=[("optimizer.name", "adam"),
                                                                       ("optimizer.lr", 1e-3)])
    runs = expand(base, parse_compare(["run.steps=40,90"]))
    group = RunGroup(runs)
    assert len(group.batches) == 1
    group.run(chunk=30)
    left = group.engines[0]
    alone = Engine(runs[0][1])
    alone.run()
    assert left.optimizer.t == alone.optimizer.t == 40
    for s, a in zip(left.optimizer.state, alone.optimizer.state):
        for k in a:
            np.testing.assert_allclose(s[k], a[k], rtol=1e-9, atol=1e-18)
    # and it goes on alone exactly as the run that never was in a stack
    left.set_max_steps(60)
    alone.set_max_steps(60)
    left.run()
    alone.run()
    histories_equal(left.history, alone.history)


def test_a_stack_on_the_fast_path_takes_a_new_learning_rate_and_stops_like_single_runs():
    base = build_config(preset="completion_depth_low_rank", overrides=[("run.steps", 600), ("run.loss_tol", 1e-3)])
    runs = expand(base, parse_compare(["model.init_scale=1e-3,1e-2,0.1"]))
    group = RunGroup(runs)
    (batch,) = group.batches
    assert batch.fast is not None
    group.step(37)
    batch.set_lr(1, 0.004)
    group.engines[1].set_lr(0.004)
    group.run()
    for (name, cfg), e in zip(runs, group.engines):
        alone = Engine(cfg)
        alone.step(37)
        if e is group.engines[1]:
            alone.set_lr(0.004)
        alone.run()
        assert (e.status, e.step_count) == (alone.status, alone.step_count)
        histories_equal(e.history, alone.history)


@pytest.mark.parametrize("preset, axis", [
    ("hadamard_l1_bias", "model.depth=1,2,3"),  # pm_power: the same parameter shapes at every depth
    ("weight_norm_diagonal", "model.weight_norm=true,false"),
])
def test_runs_of_another_model_never_share_a_stack(preset, axis):
    base = build_config(preset=preset, overrides=[("run.steps", 300)])
    runs = expand(base, parse_compare([axis]))
    group = RunGroup(runs)
    assert all(len({e.cfg.to_dict()["model"]["depth"] for e in b.engines}) == 1 for b in group.batches)
    group.run()
    finals = set()
    for (name, cfg), e in zip(runs, group.engines):
        alone = Engine(cfg)
        alone.run()
        histories_equal(e.history, alone.history)
        finals.add(float(e.history["loss"][-1]))
    assert len(finals) == len(runs)  # the runs differ


def _compared_presets():
    from ibviewer.core.compare import preset_runs
    from ibviewer.core.config import preset_names

    return [n for n in preset_names() if len(preset_runs(n)) > 1]


@pytest.mark.parametrize("preset", _compared_presets())
def test_every_compared_preset_trains_its_runs_together_as_each_alone(preset):
    """Whatever stacks a preset's runs form, each run's history is the one it has alone."""
    from ibviewer.core.compare import preset_runs

    runs = preset_runs(preset, [("run.steps", 150)])
    group = RunGroup(runs)
    group.run()
    for (name, cfg), e in zip(runs, group.engines):
        alone = Engine(cfg, problem=group.problem)
        alone.run()
        assert e.step_count == alone.step_count, name
        np.testing.assert_allclose(e.history["loss"], alone.history["loss"], rtol=1e-6, atol=1e-14, err_msg=name)
