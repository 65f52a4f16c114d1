"""The app's exports and session save under faults: a full disk (an encoder that fails, a write that fails), a
read-only file or folder, a folder where the file should be.  Each ends in one line in the status bar, the
previous file intact and no temporary file."""

import errno
import os

import pytest

from ibviewer.core import session as core_session
from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.core.engine import Engine
from ibviewer.gui.export_ui import AnimationSettings

from .conftest import TIMEOUT_MS, settle


def history(qtbot, window):
    window.step_n(60)
    settle(qtbot, window, 60)


def full_disk(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_an_animation_whose_encoder_fails_keeps_the_previous_file(qtbot, window, tmp_path, fake_ffmpeg,
                                                                  encoders):
    history(qtbot, window)
    out = tmp_path / "talk.mp4"
    out.write_bytes(b"the previous talk")
    fake_ffmpeg("full")
    settings = AnimationSettings(path=str(out), size=(160, 90), fps=10, seconds=1, panels=["loss"])
    assert window.recording.export_animation(settings) is None
    message = window.status.messages[-1]
    assert message.startswith("export failed: cannot write") and str(out) in message
    assert "No space left on device" in message and "left as it was" in message
    assert files(tmp_path) == {"talk.mp4": b"the previous talk"}
    assert not encoders()


@pytest.mark.parametrize("name, export", [
    ("w.png", lambda rec, p: rec.export_image(str(p), size=(320, 180))),
    ("loss.svg", lambda rec, p: rec.export_image(str(p), panel="loss", format="svg", size=(320, 180))),
    ("h.csv", lambda rec, p: rec.export_history(p)),
    ("h.npz", lambda rec, p: rec.export_history(p)),
])
def test_a_still_or_history_on_a_full_disk_keeps_the_previous_file(qtbot, window, tmp_path, monkeypatch, name,
                                                                   export):
    history(qtbot, window)
    out = tmp_path / name
    out.write_bytes(b"the previous file")
    with monkeypatch.context() as m:
        m.setattr(os, "fsync", full_disk)
        assert export(window.recording, out) is None
    message = window.status.messages[-1]
    assert str(out) in message and "No space left on device" in message and "left as it was" in message
    assert files(tmp_path) == {name: b"the previous file"}
    assert export(window.recording, out) is not None and out.read_bytes() != b"the previous file"


def test_a_read_only_export_target_is_refused_and_kept(qtbot, window, tmp_path):
    history(qtbot, window)
    out = tmp_path / "h.csv"
    out.write_text("keep me")
    out.chmod(0o444)
    try:
        assert window.recording.export_history(out) is None
        assert "read-only" in window.status.messages[-1]
        settings = AnimationSettings(path=str(tmp_path / "frames"), kind="frames", size=(160, 90), fps=5,
                                     seconds=1, panels=["loss"])
        (tmp_path / "frames").mkdir(mode=0o555)
        assert window.recording.export_animation(settings) is None
        assert "read-only" in window.status.messages[-1]
    finally:
        out.chmod(0o644)
        (tmp_path / "frames").chmod(0o755)
    assert out.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "h.csv"]
    assert list((tmp_path / "frames").iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_an_unwritable_folder_is_one_line(qtbot, window, tmp_path):
    history(qtbot, window)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        assert window.recording.export_history(locked / "h.csv") is None
        assert "not writable" in window.status.messages[-1]
        settings = AnimationSettings(path=str(locked / "a.mp4"), size=(160, 90), fps=5, seconds=1, panels=["loss"])
        assert window.recording.export_animation(settings) is None
        assert "not writable" in window.status.messages[-1]
        assert window.save_session(locked / "s.ibvs")
        qtbot.waitUntil(lambda: "cannot write session" in window.status.messages[-1], timeout=TIMEOUT_MS)
    finally:
        locked.chmod(0o755)
    assert list(locked.iterdir()) == []


def test_a_session_saved_onto_a_folder_or_a_read_only_file_says_so_and_keeps_it(qtbot, window, tmp_path):
    history(qtbot, window)
    folder = tmp_path / "a.ibvs"
    folder.mkdir()
    (folder / "inside").write_text("keep me")
    assert window.save_session(folder)
    qtbot.waitUntil(lambda: "cannot write session" in window.status.messages[-1], timeout=TIMEOUT_MS)
    assert "a folder" in window.status.messages[-1] and files(folder) == {"inside": b"keep me"}
    locked = tmp_path / "b.ibvs"
    locked.write_bytes(b"the previous session")
    locked.chmod(0o444)
    try:
        assert window.save_session(locked)
        qtbot.waitUntil(lambda: "b.ibvs" in window.status.messages[-1], timeout=TIMEOUT_MS)
        assert "read-only" in window.status.messages[-1]
    finally:
        locked.chmod(0o644)
    assert locked.read_bytes() == b"the previous session"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ibvs", "b.ibvs"]
    assert window.worker_ready and not window.worker_dead  # the runs go on


def test_a_session_save_on_a_full_disk_keeps_the_previous_file(tmp_path, monkeypatch):
    """The worker writes sessions with :func:`ibviewer.core.session.save_session`; its failure, injected here."""
    engine = Engine(build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 5)]))
    engine.run()
    path = tmp_path / "s.ibvs"
    path.write_bytes(b"the previous session")
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(core_session.SessionError) as err:
        core_session.save_session(path, [("run", engine)])
    line = str(err.value)
    assert "\n" not in line and str(path) in line and "No space left on device" in line and "left as it was" in line
    assert files(tmp_path) == {"s.ibvs": b"the previous session"}
