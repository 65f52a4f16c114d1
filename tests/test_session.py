import importlib.util
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ibviewer.core.compare import RunGroup, expand, parse_compare
from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.session import LOADERS, VERSION, SessionError, load_session, peek_session, save_session
from ibviewer.live.group import LiveGroup


def same_history(a, b):
    assert a.n == b.n
    for k in a.keys():
        if k != "wall":
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.parametrize("overrides", [
    [("optimizer.name", "adam"), ("optimizer.lr", 1e-3)],
    [("optimizer.name", "sgd"), ("optimizer.batch_size", 40)],
    [("optimizer.name", "momentum"), ("optimizer.lr", 1e-3)],
    [("run.history_rows", 32), ("run.record_every", 1)],  # thinned history
])
def test_saved_run_continues_exactly(tmp_path, overrides):
    cfg = build_config(preset="sensing_depth_low_rank", overrides=overrides + [("run.steps", 0)])
    straight = Engine(cfg)
    straight.step(300)
    interrupted = Engine(cfg)
    interrupted.step(120)
    f = tmp_path / "s.ibvs"
    save_session(f, [("a", interrupted)], view={"x_axis": "log_step", "timeline": 120})
    s = load_session(f)
    assert s.view == {"x_axis": "log_step", "timeline": 120}
    name, resumed = s.runs[0]
    assert name == "a" and resumed.step_count == 120
    same_history(resumed.history, interrupted.history)
    resumed.step(180)
    same_history(resumed.history, straight.history)
    for p, q in zip(resumed.params, straight.params):
        np.testing.assert_array_equal(p, q)


def test_several_runs_share_their_problem(tmp_path):
    base = build_config(preset="hadamard_l1_bias", overrides=[("run.steps", 200)])
    group = RunGroup(expand(base, parse_compare(["model.init_scale=0.1,0.01"])))
    group.run()
    f = tmp_path / "g.ibvs"
    save_session(f, list(zip(group.names, group.engines)))
    s = load_session(f)
    assert [n for n, _ in s.runs] == group.names
    assert s.runs[0][1].problem is s.runs[1][1].problem
    for (_, e), orig in zip(s.runs, group.engines):
        assert e.status == orig.status and e.step_count == 200
        same_history(e.history, orig.history)


def test_mlp_session(tmp_path):
    cfg = build_config(overrides=[("problem.kind", "teacher_student"), ("problem.samples", 20),
                                  ("model.width", "[8, 8]"), ("run.steps", 0)])
    a = Engine(cfg)
    a.step(50)
    save_session(tmp_path / "m.ibvs", [("m", a)])
    b = load_session(tmp_path / "m.ibvs").runs[0][1]
    a.step(20)
    b.step(20)
    same_history(a.history, b.history)


def test_bad_session_files(tmp_path):
    with pytest.raises(SessionError, match="does not exist"):
        load_session(tmp_path / "none.ibvs")
    (tmp_path / "text.ibvs").write_text("hello")
    with pytest.raises(SessionError, match="not a zip"):
        load_session(tmp_path / "text.ibvs")
    e = Engine(build_config(preset="sensing_depth_low_rank"))
    save_session(tmp_path / "ok.ibvs", [("a", e)])
    with zipfile.ZipFile(tmp_path / "ok.ibvs") as z:
        doc = json.loads(z.read("session.json"))
        members = {n: z.read(n) for n in z.namelist()}
    doc["version"] = 99
    with zipfile.ZipFile(tmp_path / "new.ibvs", "w") as z:
        for n, data in members.items():
            z.writestr(n, json.dumps(doc) if n == "session.json" else data)
    with pytest.raises(SessionError, match="newer ibviewer"):
        load_session(tmp_path / "new.ibvs")
    with pytest.raises(SessionError, match="cannot write session"):
        save_session(tmp_path / "no" / "dir" / "x.ibvs", [("a", e)])
    assert not list(tmp_path.glob("*.part"))


# ------------------------------------------------------------------------------------------ format 1 and 2
DATA = Path(__file__).parent / "data"


def _fixture_recipe():
    """The settings tests/data/make_format1_sessions.py made the format-1 fixtures with."""
    spec = importlib.util.spec_from_file_location("make_format1_sessions", DATA / "make_format1_sessions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def same_params(a, b):
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p, q)


def same_state(a, b, path="state", rtol=0.0):
    """Engine states ``a`` and ``b`` agree (the wall-clock time aside): counters, generator states and integer
    arrays exactly, float arrays bit for bit, or to ``rtol`` where ``a`` was made on another host (another BLAS
    may round the same sums differently in the last bit)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in set(a) - {"wall_seconds", "wall"}:
            same_state(a[k], b[k], f"{path}.{k}", rtol)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for j, (x, y) in enumerate(zip(a, b)):
            same_state(x, y, f"{path}[{j}]", rtol)
    elif isinstance(a, np.ndarray):
        if rtol and np.issubdtype(a.dtype, np.floating):
            scale = float(np.max(np.abs(b[np.isfinite(b)]), initial=1.0))
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=path)
        else:
            np.testing.assert_array_equal(a, b, err_msg=path)
    elif rtol and isinstance(a, float):
        assert a == pytest.approx(b, rel=rtol, abs=rtol), (path, a, b)
    else:
        assert a == b, (path, a, b)


#: the format-1 fixtures were written on one host and are compared with runs on this one
ACROSS_HOSTS = 1e-10


@pytest.mark.parametrize("name", ["gd", "sgd", "adam"])
def test_format1_run_opens_and_continues_as_if_never_saved(name):
    recipe = _fixture_recipe()
    s = load_session(DATA / f"format1_{name}.ibvs")
    assert s.version == 1 and s.view == {"x_axis": "log_step"}
    [(run_name, resumed)] = s.runs
    assert run_name == name and resumed.step_count == recipe.SINGLE_STEPS
    # an independent run of the same settings, trained as far without a file in between
    straight = Engine(build_config(overrides=recipe.SENSING + recipe.SINGLE[name]))
    straight.step(recipe.SINGLE_STEPS)
    # every counter, generator state and array
    same_state(resumed.state_dict(), straight.state_dict(), rtol=ACROSS_HOSTS)
    resumed.step(80)
    straight.step(80)
    assert resumed.step_count == straight.step_count == recipe.SINGLE_STEPS + 80
    same_state(resumed.state_dict(), straight.state_dict(), rtol=ACROSS_HOSTS)


def test_format1_comparison_opens_stacks_and_continues_exactly():
    recipe = _fixture_recipe()
    s = load_session(DATA / "format1_compare.ibvs")
    assert s.version == 1 and s.view == {"selected_index": 1}
    assert s.runs[0][1].problem is s.runs[1][1].problem
    loaded = LiveGroup(list(range(len(s.runs))), [n for n, _ in s.runs], [e for _, e in s.runs])
    assert [len(b.engines) for b in loaded.batches] == [2]
    straight = RunGroup(expand(build_config(overrides=recipe.SENSING + recipe.SINGLE["gd"]),
                               parse_compare(recipe.COMPARE)))
    straight.step(recipe.COMPARE_STEPS)
    loaded.step(100)
    straight.step(100)
    assert loaded.names == straight.names
    for b in straight.batches:
        b.sync_engines()
    for b in loaded.batches:
        b.sync_engines()
    for a, b in zip(loaded.engines, straight.engines):
        assert a.step_count == b.step_count == recipe.COMPARE_STEPS + 100
        same_state(a.state_dict(), b.state_dict(), rtol=ACROSS_HOSTS)


@pytest.mark.parametrize("overrides", [
    [("optimizer.name", "gd"), ("optimizer.lr", 0.01)],
    [("optimizer.name", "sgd"), ("optimizer.batch_size", 40)],
    [("optimizer.name", "adam"), ("optimizer.lr", 1e-3)],
])
def test_format2_round_trip_continues_bitwise(tmp_path, overrides):
    cfg = build_config(preset="sensing_depth_low_rank", overrides=overrides + [("run.steps", 0)])
    straight = Engine(cfg)
    straight.step(250)
    interrupted = Engine(cfg)
    interrupted.step(97)
    save_session(tmp_path / "s.ibvs", [("a", interrupted)])
    assert peek_session(tmp_path / "s.ibvs")["version"] == 2
    resumed = load_session(tmp_path / "s.ibvs").runs[0][1]
    resumed.step(153)
    same_params(resumed, straight)
    same_history(resumed.history, straight.history)
    assert (resumed.time, resumed.status) == (straight.time, straight.status)


def test_format2_stacked_comparison_round_trip_continues_bitwise(tmp_path):
    base = build_config(preset="sensing_depth_low_rank", overrides=[("run.steps", 0), ("optimizer.name", "adam"),
                                                                     ("optimizer.lr", 1e-3)])
    runs = expand(base, parse_compare(["model.init_scale=0.1,0.01,0.001"]))
    straight = RunGroup(runs)
    straight.step(230)
    group = RunGroup(runs)
    assert [len(b.engines) for b in group.batches] == [3]
    group.step(90)
    for b in group.batches:
        b.sync_engines()
    save_session(tmp_path / "g.ibvs", list(zip(group.names, group.engines)))
    s = load_session(tmp_path / "g.ibvs")
    loaded = LiveGroup([0, 1, 2], [n for n, _ in s.runs], [e for _, e in s.runs])
    assert [len(b.engines) for b in loaded.batches] == [3]
    loaded.step(140)
    for a, b in zip(loaded.engines, straight.engines):
        assert a.step_count == b.step_count == 230
        same_params(a, b)
        same_history(a.history, b.history)


def _rewrite(src, dst, edit_doc=None, edit_arrays=None):
    """A copy of session ``src`` with its session.json and/or the last run's arrays edited."""
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    doc = json.loads(members["session.json"])
    if edit_doc:
        edit_doc(doc)
    members["session.json"] = json.dumps(doc).encode()
    if edit_arrays:
        last = doc["runs"][-1]["arrays"]
        with np.load(io.BytesIO(members[last])) as npz:
            arrays = {k: npz[k] for k in npz.files}
        edit_arrays(arrays)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        members[last] = buf.getvalue()
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    return dst


def _nan_param(arrays):
    arrays["params/0"][0, 0] = np.nan


def _set_state(key, value):
    def edit(doc):
        doc["runs"][-1]["state"][key] = value
    return edit


@pytest.mark.parametrize("edit_doc, edit_arrays, message", [
    (None, lambda a: a.update({"params/1": a["params/1"][:-1]}), "params\\[1\\] has shape"),
    (None, _nan_param, "params\\[0\\] holds values that are not finite"),
    (_set_state("step_count", -3), None, "step_count = -3 must be an integer >= 0"),
    (_set_state("step_count", "120"), None, "step_count = '120' must be an integer"),
    (_set_state("status", 3), None, "status = 3 must be one of"),
    (lambda d: d["runs"][-1]["state"]["schedule"].update(next_record=10**6), None, "schedule.next_record"),
    (lambda d: d["runs"][-1]["state"]["sampler"].update(perm_pos=10**6), None, "sampler.perm_pos"),
    (lambda d: d["runs"][-1]["state"].pop("loss0"), None, "lacks loss0"),
    (lambda d: d["runs"][-1].update(state=[1, 2]), None, "has no config table"),
])
def test_damaged_state_is_refused_whole_with_one_line(tmp_path, edit_doc, edit_arrays, message):
    cfg = build_config(preset="sensing_depth_low_rank", overrides=[("run.steps", 0), ("optimizer.name", "sgd"),
                                                                    ("optimizer.batch_size", 40)])
    a, b = Engine(cfg), Engine(cfg)
    a.step(30)
    b.step(20)
    good = save_session(tmp_path / "good.ibvs", [("a", a), ("b", b)])
    bad = _rewrite(good, tmp_path / "bad.ibvs", edit_doc, edit_arrays)
    # the second run is damaged: the first, good one is not handed out either
    with pytest.raises(SessionError, match=message) as info:
        load_session(bad)
    assert "\n" not in str(info.value) and "damaged" in str(info.value) and "run 'b'" in str(info.value)


@pytest.mark.parametrize("version, message", [
    ("2", "version '2'; it must be an integer"),
    (True, "version True; it must be an integer"),
    (2.0, "version 2.0; it must be an integer"),
    (None, "version None; it must be an integer"),
    (0, "session format 0; this ibviewer reads formats 1 to 2"),
])
def test_version_of_the_wrong_type_or_unknown_is_one_line(tmp_path, version, message):
    good = save_session(tmp_path / "good.ibvs", [("a", Engine(build_config(preset="sensing_depth_low_rank")))])
    bad = _rewrite(good, tmp_path / "bad.ibvs", lambda d: d.update(version=version))
    for read in (load_session, peek_session):
        with pytest.raises(SessionError, match=message) as info:
            read(bad)
        assert "\n" not in str(info.value)


def test_every_format_has_its_own_loader():
    assert set(LOADERS) == {1, 2} and VERSION == max(LOADERS)
