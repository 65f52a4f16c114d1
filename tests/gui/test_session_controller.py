"""The session controller on its own (no window): it starts the worker, merges snapshots, acknowledges them so
that more come, rolls a refused config back, and says what happened through its signals."""

import pytest

from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.gui.session_controller import SessionController

from .conftest import TIMEOUT_MS


@pytest.fixture
def controller(qapp):
    cfg = build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 0)])
    c = SessionController([("a", cfg), ("b", cfg.copy())], selected=1, speed=0, max_fps=60)
    heard = {"errors": [], "infos": [], "views": [], "ready": 0, "runs_changed": 0}
    c.error.connect(heard["errors"].append)
    c.info_message.connect(heard["infos"].append)
    c.snapshot_merged.connect(lambda view, _replaced: heard["views"].append(view))
    c.ready.connect(lambda _info: heard.__setitem__("ready", heard["ready"] + 1))
    c.runs_changed.connect(lambda: heard.__setitem__("runs_changed", heard["runs_changed"] + 1))
    c.heard = heard
    c.start()
    yield c
    c.shutdown()
    assert not c.client.is_alive()


def test_snapshots_are_merged_and_acknowledged(qtbot, controller):
    c = controller
    qtbot.waitUntil(lambda: c.worker_ready and c.last_snap is not None, timeout=TIMEOUT_MS)
    assert c.heard["ready"] == 1 and c.info["selected"] == 1 and c.info["shape"] == (20, 20)
    c.step(7)
    # a step-7 snapshot can only follow the first one after its acknowledgement
    qtbot.waitUntil(lambda: c.last_snap["step"] == 7, timeout=TIMEOUT_MS)
    assert [r.entry.step for r in c.runs] == [7, 7] and c.mirror is c.runs.by_id(1).mirror
    assert c.heard["views"][-1]["selected"] == 1 and not c.playing


def test_a_refused_config_is_rolled_back_and_a_bad_session_keeps_the_runs(qtbot, controller, tmp_path):
    c = controller
    qtbot.waitUntil(lambda: c.worker_ready, timeout=TIMEOUT_MS)
    gen = c.gen
    assert c.edit("problem.singular_values", [1.0] * 21) is not None  # valid numbers the worker cannot build
    c.send_config()  # without waiting for the debounce
    assert c.gen == gen + 1
    qtbot.waitUntil(lambda: any("nothing was changed" in e for e in c.heard["errors"]), timeout=TIMEOUT_MS)
    assert [r.cfg.problem.singular_values for r in c.runs] == [[12.0, 6.0, 3.0]] * 2
    # the worker kept its runs under the new generation: nothing is sent again
    qtbot.waitUntil(lambda: c.worker_ready and c.last_snap is not None, timeout=TIMEOUT_MS)
    assert c.gen == gen + 1
    bad = tmp_path / "bad.ibvs"
    bad.write_text("not a session")
    assert c.open_session(bad) and c.gen == gen + 2
    qtbot.waitUntil(lambda: c.gen == gen + 1 and c.worker_ready, timeout=TIMEOUT_MS)  # back to the runs it had
    assert "bad.ibvs" in c.heard["errors"][-1]
    assert not c.open_session(tmp_path / "none.ibvs") and "does not exist" in c.heard["errors"][-1]


def test_runs_come_and_go_through_the_controller(qtbot, controller):
    c = controller
    qtbot.waitUntil(lambda: c.worker_ready, timeout=TIMEOUT_MS)
    run = c.add_run("model.init_scale", 0.01)
    assert run is not None and len(c.runs) == 3 and "3 runs restart" in c.heard["infos"][-1]
    qtbot.waitUntil(lambda: c.worker_ready and len(c.base_info) > 0 and c.last_snap is not None
                    and len(c.last_snap["runs"]) == 3, timeout=TIMEOUT_MS)
    assert c.remove_run(c.runs.selected_id) and c.runs.selected_id == 0 and c.info["selected"] == 0
    assert c.rename(0, "first") and not c.rename(0, "  ") and c.heard["errors"][-1] == "a run needs a name"
    assert c.add_run("problem.rank", 2) is None and "share the problem" in c.heard["errors"][-1]
    c.step(3)
    qtbot.waitUntil(lambda: c.last_snap["step"] == 3 and len(c.last_snap["runs"]) == 2, timeout=TIMEOUT_MS)
    assert [(e.id, e.name) for e in c.last_snap["runs"]] == [(0, "first"), (run.id, run.name)]
