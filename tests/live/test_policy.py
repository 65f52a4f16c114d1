"""The edit policy (Qt-free): which keys apply live, reseed, change the limits or rebuild the runs; what each
sends to the worker; and a refused value changes nothing."""

import pytest

from ibviewer.core.config import ConfigError, build_config
from ibviewer.live import protocol as msg
from ibviewer.live.policy import apply_edit, classify
from ibviewer.live.runs import RunCollection

from .configs import depth1_config

cfg = depth1_config


def two_runs(selected=1):
    return RunCollection([("a", cfg()), ("η = 0.01", cfg(model__init_scale=0.01))], selected=selected)


def state(runs):
    return ([(r.id, r.name, r.cfg.to_dict()) for r in runs], [(i, n, c.to_dict()) for i, n, c in runs.accepted],
            runs.selected_id, runs.next_id)


@pytest.mark.parametrize("key, kind", [
    ("optimizer.lr", "live"), ("optimizer.name", "live"), ("optimizer.momentum", "live"),
    ("optimizer.batch_size", "live"), ("optimizer.weight_decay", "live"), ("run.seed", "reseed"),
    ("run.steps", "limits"), ("run.loss_tol", "limits"), ("model.depth", "rebuild"), ("problem.rank", "rebuild"),
    ("problem.kind", "rebuild"), ("optimizer.beta2", "rebuild"), ("run.dtype", "rebuild")])
def test_each_class_of_key(key, kind):
    assert classify(key) == kind


def test_a_live_change_retunes_the_selected_run_and_its_name_follows():
    runs = two_runs()
    edit = apply_edit(runs, "optimizer.lr", 0.05)
    assert edit.kind == "live" and not edit.rebuild
    assert edit.commands == (msg.SetOptimizer({"lr": 0.05}, 1), msg.Rename(1, "η = 0.05"))
    assert runs.by_id(1).cfg.optimizer.lr == 0.05 and runs.by_id(0).cfg.optimizer.lr == 0.01
    assert runs.accepted_cfg(1).optimizer.lr == 0.05  # the worker has it: a rollback keeps it
    assert runs.by_id(1).name == "η = 0.05" and "applied live to 'η = 0.05'" in edit.note


def test_a_new_seed_resets_with_the_seed_for_the_selected_run():
    runs = two_runs(selected=0)
    edit = apply_edit(runs, "run.seed", 5)
    assert edit.kind == "reseed" and edit.commands == (msg.Reset(5, 0),)
    assert runs.cfg.run.seed == 5 and runs.by_id(1).cfg.run.seed == 0 and runs.accepted_cfg(0).run.seed == 5
    assert "restart together" in edit.note


@pytest.mark.parametrize("key, value, command", [
    ("run.steps", 300, msg.SetMaxSteps(300)), ("run.loss_tol", 1e-4, msg.SetLossTol(1e-4))])
def test_limits_change_every_run_and_the_accepted_copies(key, value, command):
    runs = two_runs()
    edit = apply_edit(runs, key, value)
    field = key.split(".")[1]
    assert edit.kind == "limits" and edit.commands == (command,) and not edit.rebuild
    assert [getattr(r.cfg.run, field) for r in runs] == [value, value]
    assert [getattr(c.run, field) for _, _, c in runs.accepted] == [value, value]


def test_a_problem_key_changes_every_run_and_rebuilds_after_the_debounce():
    runs = two_runs()
    edit = apply_edit(runs, "problem.rank", 2)
    assert edit.rebuild and not edit.at_once and edit.commands == ()
    assert [r.cfg.problem.rank for r in runs] == [2, 2]
    assert [c.problem.rank for _, _, c in runs.accepted] == [3, 3]  # not yet accepted by the worker


def test_a_model_key_changes_the_selected_run_only_and_renames_it_from_the_old_value():
    runs = RunCollection([("depth=1", cfg()), ("b", cfg())])
    edit = apply_edit(runs, "model.depth", 2)
    assert edit.rebuild and edit.renamed and [r.cfg.model.depth for r in runs] == [2, 1]
    assert [r.name for r in runs] == ["depth 2", "b"]


def test_a_new_problem_kind_while_comparing_is_one_run_of_that_kind_at_once():
    runs = two_runs()
    edit = apply_edit(runs, "problem.kind", "matrix_completion")
    assert edit.rebuild and edit.at_once
    assert [(r.name, r.cfg.problem.kind) for r in runs] == [("run", "matrix_completion")]
    assert runs.cfg.to_dict() == build_config(overrides=[("problem.kind", "matrix_completion")]).to_dict()


@pytest.mark.parametrize("key, value", [
    ("problem.rank", 500), ("optimizer.lr", -1.0), ("run.steps", -5), ("model.depth", 0), ("problem.kind", "nope"),
    ("run.seed", "x")])
def test_a_refused_edit_changes_nothing(key, value):
    runs = two_runs()
    before = state(runs)
    with pytest.raises(ConfigError):
        apply_edit(runs, key, value)
    assert state(runs) == before
