"""The run collection (Qt-free): ids, names, colours, selection, adding, removing, renaming, the rollback to the
runs the worker accepted, adopting what the worker built and merging snapshots into the mirrors."""

import numpy as np
import pytest

from ibviewer.core.config import ConfigError
from ibviewer.live import protocol as msg
from ibviewer.live.runs import RUN_COLOURS, RunCollection, RunRefused, entry_view, pretty_name, unique_name

from .configs import depth1_config

cfg = depth1_config


def entry(rid, step, replace=False, rows=None, product=None, **kw):
    fields = dict(id=rid, name=f"r{rid}", step=step, time=0.0, status="running", message="", loss=1.0, wall=0.0,
                  replace=replace, rows=rows or {}, tail=None, product=product, lr=0.01, optimizer="gd", seed=0)
    fields.update(kw)
    return msg.RunEntry(**fields)


def snapshot(*entries, selected=0, gen=0):
    return msg.Snapshot(seq=1, gen=gen, rate=0.0, playing=False, pending=0, selected=selected, runs=entries,
                        sent_at=0.0)


def test_new_runs_get_fresh_ids_distinct_colours_and_pretty_names():
    runs = RunCollection([("depth=1", cfg()), ("depth=2", cfg(model__depth=2)), ("c", cfg())], selected=1)
    assert [r.id for r in runs] == [0, 1, 2] and runs.selected_id == 1 and runs.cfg.model.depth == 2
    assert [r.colour for r in runs] == RUN_COLOURS[:3]
    assert [r.name for r in runs] == ["depth 1", "depth 2", "c"] and runs.comparing
    runs.replace([("x", cfg())], selected=5)  # an index past the end: the last run
    assert [r.id for r in runs] == [3] and runs.selected_id == 3 and not runs.comparing
    assert [s.id for s in runs.specs()] == [3] and runs.specs()[0].cfg == cfg().to_dict()


def test_add_clones_the_selected_run_with_one_change_under_a_unique_name():
    runs = RunCollection([("run", cfg())])
    v0 = runs.version
    deep = runs.add("model.depth", "3")
    assert deep.id == 1 and deep.cfg.model.depth == 3 and deep.cfg.optimizer == runs.cfg.optimizer
    assert [r.name for r in runs] == ["depth 1", "depth 3"]  # the first run is named by what tells it apart
    assert deep.colour == RUN_COLOURS[1] and runs.version > v0 and runs.selected_id == 0
    again = runs.add("model.depth", 3)
    assert again.name == "depth 3 (2)"
    assert runs.add("model.depth", 3, name="deep").name == "deep"
    assert unique_name("a", {"a", "a (2)"}) == "a (3)"


@pytest.mark.parametrize("key, value, needle", [
    ("problem.rank", 2, "share the problem"), ("model.depth", 1, "already"), ("model.depth", 0, "model.depth"),
    ("optimizer.lr", "fast", "optimizer.lr")])
def test_a_refused_run_changes_nothing(key, value, needle):
    runs = RunCollection([("run", cfg())])
    before = (runs.version, [(r.id, r.name, r.cfg.to_dict()) for r in runs], runs.next_id)
    with pytest.raises(ConfigError, match=needle):
        runs.add(key, value)
    assert (runs.version, [(r.id, r.name, r.cfg.to_dict()) for r in runs], runs.next_id) == before


def test_remove_never_the_last_and_the_selection_moves_to_the_first():
    runs = RunCollection([("a", cfg()), ("b", cfg()), ("c", cfg())], selected=1)
    assert runs.remove(9) is None
    gone = runs.remove(1)
    assert gone.name == "b" and [r.id for r in runs] == [0, 2] and runs.selected_id == 0
    assert [i for i, _, _ in runs.accepted] == [0, 2]
    runs.remove(0)
    with pytest.raises(RunRefused, match="last run"):
        runs.remove(2)
    assert [r.id for r in runs] == [2]


def test_rename_collapses_white_space_and_refuses_an_empty_name():
    runs = RunCollection([("a", cfg()), ("b", cfg())])
    assert runs.rename(1, "  very\t deep  ") and runs.by_id(1).name == "very deep"
    assert not runs.rename(1, "very deep") and not runs.rename(7, "x")
    with pytest.raises(RunRefused, match="needs a name"):
        runs.rename(0, "   ")
    assert runs.by_id(0).name == "a"


def test_select_and_visibility_report_whether_anything_changed():
    runs = RunCollection([("a", cfg()), ("b", cfg(model__depth=3))])
    assert not runs.select(0) and not runs.select(5)
    assert runs.select(1) and runs.cfg.model.depth == 3 and runs.selected.name == "b"
    v = runs.version
    assert runs.set_visible(0, False) and not runs.set_visible(0, False) and runs.version == v + 1
    assert not runs.by_id(0).visible


def test_rollback_restores_the_accepted_runs_and_keeps_their_colours():
    runs = RunCollection([("a", cfg()), ("b", cfg())])
    runs.by_id(1).colour = (1, 2, 3)
    runs.by_id(1).cfg.model.depth = 4
    runs.rename(0, "renamed")
    runs.add("run.seed", 9)
    runs.rollback()
    assert [(r.id, r.name, r.cfg.model.depth) for r in runs] == [(0, "a", 1), (1, "b", 1)]
    assert runs.by_id(1).colour == (1, 2, 3)
    runs.accepted[0][2].model.depth = 5  # the rollback copied: the runs do not share the accepted configs
    assert runs.by_id(0).cfg.model.depth == 1


def test_sync_adopts_what_the_worker_built_and_empties_the_histories():
    runs = RunCollection([("a", cfg()), ("b", cfg())])
    runs.by_id(0).mirror.update({"step": np.array([0.0, 1.0])}, True)
    runs.by_id(0).entry = entry(0, 1)
    built = cfg(model__depth=2).to_dict()
    ready = msg.Ready(gen=1, selected=7, problem={}, runs=(
        msg.ReadyRun(0, "from worker", built, "product", {"min_nuclear": np.ones(2)}, 0),
        msg.ReadyRun(7, "new", cfg().to_dict(), "product", {}, 0)))
    runs.sync(ready)
    a, b = runs
    assert (a.name, a.cfg.model.depth, a.mirror.n, a.entry) == ("from worker", 2, 0, None)
    assert list(a.refs) == ["min_nuclear"] and (b.id, b.name) == (7, "new") and runs.selected_id == 7
    assert runs.next_id == 8 and b.colour not in (a.colour,)


def test_merge_fills_every_mirror_and_returns_the_selected_entry():
    runs = RunCollection([("a", cfg()), ("b", cfg())], selected=1)
    rows = {"step": np.array([0.0, 10.0]), "loss": np.array([2.0, 1.0])}
    snap = snapshot(entry(0, 10, True, rows), entry(1, 10, True, rows, product=np.eye(2)), entry(5, 1), selected=1)
    own, replaced = runs.merge(snap)
    assert own is snap.runs[1] and replaced
    assert [r.mirror.n for r in runs] == [2, 2] and runs.by_id(1).product is snap.runs[1].product
    more = snapshot(entry(0, 20, rows={"step": np.array([20.0]), "loss": np.array([0.5])}), selected=1)
    own, replaced = runs.merge(more)
    assert own is None and not replaced and runs.by_id(0).mirror.n == 3
    assert list(runs.by_id(0).mirror["loss"]) == [2.0, 1.0, 0.5]
    assert runs.by_id(1).product is not None  # an entry without a product keeps the last one
    assert runs.selected_step() == 10


def test_entry_view_is_the_selected_runs_snapshot_as_a_dict():
    snap = snapshot(entry(0, 3), entry(1, 4, product="p"), selected=1, gen=2)
    view = entry_view(snap, snap.runs[0], product="kept")
    assert view["step"] == 3 and view["product"] == "kept" and view["gen"] == 2 and view["selected"] == 1
    assert entry_view(snap, None)["product"] == "p" and entry_view(snap, None)["runs"] == snap.runs


def test_pretty_names_of_compared_keys():
    assert pretty_name("depth=2, init_scale=0.1") == "depth 2, α = 0.1"
    assert pretty_name("weight_norm=True") == "weight norm on" and pretty_name("other=1") == "other=1"
