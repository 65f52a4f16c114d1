"""Damaged session files opened through the window (File ▸ Open session), not only through ``load_session``: the
app's own path adds the worker's answer, the rollback of a refused open, and the saved view (dock layout, x axis,
speed, run looks, panel states, timeline position), which only the app reads.

The session damaged is one the app saved itself (two runs and the full view of a real window), cut short,
overwritten with random bytes, its JSON (view included) or its arrays replaced by random values, with the
strategy of the command-line fuzzer (``tests/test_fuzz_cli.py``).  A refused file gives one line and changes
nothing: the runs, their step and history are as before, and they still step, and play if they were playing.  A
file that opens is usable: its runs step.  Never an exception, a Qt warning or a dead worker.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QtMsgType, qInstallMessageHandler

from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.gui.window import MainWindow
from tests.test_fuzz_cli import FUZZ, damaged_sessions

from .conftest import TIMEOUT_MS, wait_for

#: CI tries these many (a fixed sequence); IBVIEWER_APP_FUZZ_EXAMPLES tries more locally
EXAMPLES = int(os.environ.get("IBVIEWER_APP_FUZZ_EXAMPLES", "200"))
WARNINGS = (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
TALLY: Counter = Counter()


@pytest.fixture(scope="module")
def app_session(qapp, tmp_path_factory):
    """A window with two runs on a small problem, and the bytes of a session it saved (30 steps in)."""
    cfg = build_config(preset=DEFAULT_PRESET, overrides=[("problem.d", 6), ("problem.rank", 2),
                                                         ("problem.singular_values", "[]"),
                                                         ("problem.measurements", 30), ("run.steps", 0)])
    win = MainWindow(cfg, speed=0)
    win.show()
    wait_for(qapp, lambda: win.worker_ready and win.last_snap is not None, "the worker did not start")
    win.add_run("optimizer.name", "adam")
    wait_for(qapp, lambda: win.worker_ready and win.last_snap is not None and len(win.runs) == 2, "two runs")
    win.step_n(30)
    wait_for(qapp, lambda: win.last_snap["step"] == 30 and win.last_snap["pending"] == 0, "30 steps")
    win.recording.timeline.seek_step(10)  # the view keeps a scrubbed timeline too
    path = tmp_path_factory.mktemp("app_session") / "good.ibvs"
    saved: list[str] = []
    win.session_saved.connect(saved.append)
    assert win.save_session(path)
    wait_for(qapp, lambda: bool(saved), "the session was not saved")
    win.recording.timeline.go_live()
    errors: list[str] = []  # every error line the status bar shows
    show_error = win.status.show_error

    def recording_show_error(text: str) -> None:
        errors.append(text)
        show_error(text)

    win.status.show_error = recording_show_error
    yield win, path.read_bytes(), errors
    win.close()
    qapp.processEvents()
    print(f"\napp session fuzzer: {dict(TALLY)}")


def _state(win) -> tuple:
    return (win.gen, win.selected_id, tuple((r.id, r.name, repr(r.cfg.to_dict())) for r in win.runs),
            win.mirror.n, win.last_snap["step"])


@settings(FUZZ, max_examples=EXAMPLES)
@given(data=st.data(), playing=st.booleans())
def test_damaged_sessions_through_the_app(qtbot, tmp_path_factory, app_session, data, playing):
    win, original, errors = app_session
    raw = data.draw(damaged_sessions(original))
    path = tmp_path_factory.mktemp("fuzz") / "s.ibvs"
    path.write_bytes(raw)
    warned: list[str] = []
    previous = qInstallMessageHandler(lambda kind, _c, m: warned.append(m) if kind in WARNINGS else None)
    try:
        with qtbot.capture_exceptions() as exceptions:
            _open_one(qtbot, win, path, playing, errors)
        assert not exceptions, exceptions[0][1]
    finally:
        qInstallMessageHandler(previous)
    assert not [w for w in warned if not w.startswith("This plugin does not support")], warned


def _open_one(qtbot, win, path, playing: bool, errors: list[str]) -> None:
    if win.playing != playing:
        win.play() if playing else win.pause()
    if not playing:
        qtbot.waitUntil(lambda: not win.last_snap["playing"] and win.last_snap["pending"] == 0, timeout=TIMEOUT_MS)
    before = _state(win)
    n_err = len(errors)
    opened: list[str] = []

    def on_opened(p: str) -> None:
        opened.append(p)

    win.session_opened.connect(on_opened)
    assert win.open_session(path)
    qtbot.waitUntil(lambda: bool(opened) or len(errors) > n_err, timeout=TIMEOUT_MS)
    win.session_opened.disconnect(on_opened)
    if opened:  # a usable session: its runs step
        TALLY["opened"] += 1
        qtbot.waitUntil(lambda: win.worker_ready and win.last_snap is not None, timeout=TIMEOUT_MS)
        win.pause()
        qtbot.waitUntil(lambda: win.last_snap["pending"] == 0 and not win.last_snap["playing"], timeout=TIMEOUT_MS)
        step = win.last_snap["step"]
        win.step_once()
        qtbot.waitUntil(lambda: win.last_snap["step"] == step + 1 or win.controller.play_status() is not None,
                        timeout=TIMEOUT_MS)
        assert not win.worker_dead
        return
    TALLY["refused"] += 1
    new = errors[n_err:]
    assert len(new) == 1 and "\n" not in new[0] and str(path) in new[0], new
    gen, selected, runs, rows, step = before
    after = _state(win)
    assert after[:3] == (gen, selected, runs), "a refused session changed the runs"
    assert after[3] >= rows and after[4] >= step, "a refused session erased the history"
    if playing:  # still playing: the step goes on
        assert win.playing
        qtbot.waitUntil(lambda: win.last_snap["step"] > after[4] and win.last_snap["playing"], timeout=TIMEOUT_MS)
    else:  # still stepping from where it was
        assert after[4] == step and not win.playing
        win.step_once()
        qtbot.waitUntil(lambda: win.last_snap["step"] == step + 1 and win.last_snap["pending"] == 0,
                        timeout=TIMEOUT_MS)


def test_a_view_of_the_wrong_types_is_skipped_part_by_part(qtbot, tmp_path, app_session):
    """The saved view is a convenience: each part of a type it cannot have is skipped, and the session opens
    (a run entry that was not a table ended the open half-way, before it was announced)."""
    import io
    import json
    import zipfile

    win, original, errors = app_session
    with zipfile.ZipFile(io.BytesIO(original)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    doc = json.loads(files["session.json"])
    doc["view"].update(runs=[None, {"visible": "no", "colour": [999, -1, "a"]}], speed=-5, x_mode=["step"],
                       timeline=[], panels="none", layout="not base64!")
    files["session.json"] = json.dumps(doc).encode()
    path = tmp_path / "odd_view.ibvs"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    opened: list[str] = []

    def on_opened(p: str) -> None:
        opened.append(p)

    win.session_opened.connect(on_opened)
    with qtbot.capture_exceptions() as exceptions:
        assert win.open_session(path)
        qtbot.waitUntil(lambda: bool(opened) and win.worker_ready and win.last_snap is not None, timeout=TIMEOUT_MS)
    win.session_opened.disconnect(on_opened)
    assert not exceptions, exceptions[0][1]
    assert [r.name for r in win.runs] == ["gd", "adam"] and all(r.visible for r in win.runs)
    assert all(len(r.colour) == 3 and all(0 <= v <= 255 for v in r.colour) for r in win.runs)
    assert win.speed != -5 and win.x_mode in ("step", "log_step", "time")
