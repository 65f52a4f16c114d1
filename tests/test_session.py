import json
import zipfile

import numpy as np
import pytest

from ibviewer.core.compare import RunGroup, expand, parse_compare
from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.session import SessionError, load_session, save_session


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
