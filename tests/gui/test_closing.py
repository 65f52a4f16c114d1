"""Closing the window during training, during a comparison and during an export: the worker and the encoder
are gone once ``close()`` returns control, no temporary or partial file is left, and the previous export is
intact.  How long closing takes is a benchmark's figure (``ibviewer bench close``, docs/benchmarks.md), not a
test's."""

import os
from pathlib import Path

import shiboken6
from PySide6.QtCore import QTimer

from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.gui.export_ui import AnimationSettings
from ibviewer.gui.window import MainWindow

from .conftest import TIMEOUT_MS


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def ffmpeg_children(encoders) -> list[int]:
    return [pid for pid, _ in encoders()]


def playing_window(qtbot, runs=None) -> MainWindow:
    win = MainWindow(build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 0)]), preset=DEFAULT_PRESET,
                     speed=0, runs=runs)
    win.show()
    qtbot.waitUntil(lambda: win.worker_ready and win.last_snap is not None, timeout=TIMEOUT_MS)
    win.play()
    qtbot.waitUntil(lambda: win.last_snap is not None and win.last_snap["playing"] and win.last_snap["step"] > 200,
                    timeout=TIMEOUT_MS)
    return win


def test_closing_during_a_comparison_stops_the_worker(qtbot):
    runs = [(f"depth {d}", build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 0), ("model.depth", d)]))
            for d in (2, 3, 4)]
    win = playing_window(qtbot, runs)
    assert win.comparing and len(win.runs) == len(runs)
    pid = win.client.pid
    win.close()
    assert gone(pid) and win.client.pid is None


def test_closing_during_an_export_cancels_it_and_closes(qtbot, tmp_path, encoders):
    win = playing_window(qtbot)
    out = tmp_path / "talk.mp4"
    out.write_bytes(b"the previous talk")
    worker = win.client.pid
    seen = {}

    def on_progress(done, total):
        if done == 6 and not seen:
            seen["ffmpeg"] = ffmpeg_children(encoders)
            QTimer.singleShot(0, win.close)  # a close request, delivered by the event loop mid-export

    settings = AnimationSettings(path=str(out), size=(320, 180), fps=10, seconds=120, panels=["loss"])
    assert win.recording.export_animation(settings, on_progress=on_progress) is None
    assert len(seen["ffmpeg"]) == 1  # the encoder was running when the window closed
    assert not (shiboken6.isValid(win) and win.isVisible()) and not win.recording.exporting
    assert gone(worker) and all(gone(pid) for pid in seen["ffmpeg"]) and not ffmpeg_children(encoders)
    assert out.read_bytes() == b"the previous talk" and [p.name for p in tmp_path.iterdir()] == ["talk.mp4"]


def test_an_export_is_refused_once_the_window_closed_and_while_one_runs(qtbot, tmp_path):
    win = playing_window(qtbot)
    settings = AnimationSettings(path=str(tmp_path / "a.mp4"), size=(320, 180), fps=10, seconds=60, panels=["loss"])
    nested = []
    messages = []

    def on_progress(done, total):
        if done == 3 and not nested:
            nested.append(win.recording.export_animation(settings))  # e.g. the menu entry chosen again
            messages.extend(win.status.messages)
            win.close()

    assert win.recording.export_animation(settings, on_progress=on_progress) is None
    assert nested == [None] and "already running" in messages[-1]
    assert win.recording.export_animation(settings) is None
    assert list(Path(tmp_path).iterdir()) == []


def test_bench_close_sends_a_signal_to_the_app_mid_export_and_finds_nothing_left(capsys):
    """``ibviewer bench close``: the real app, closed by SIGTERM (handled as its close button) while exporting."""
    import json

    from ibviewer.gui.close_bench import main as bench_close

    assert bench_close(["--rounds", "1", "--situations", "export"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["situation"] == "export" and result["exit_codes"] == [0] and result["tracebacks"] == 0
    assert result["orphans"] == 0 and result["leftover_files"] == 0 and result["previous_intact"]
    assert result["close_s_max"] > 0
    assert bench_close(["--situations", "screensaver"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_app_closes_on_sigterm_as_on_ctrl_c(tmp_path):
    """``ibviewer gui`` playing: SIGTERM, then SIGTERM again while it closes, ends it with exit 0, no traceback and
    no worker left (it used to die at once on SIGTERM, its worker left to notice a second later)."""
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", IBVIEWER_CONFIG_DIR=str(tmp_path))
    with open(tmp_path / "stderr.txt", "w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "ibviewer", "gui", "--play", "--speed", "0", "--quit-after",
                                 "120"], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 90
            workers = []
            while not workers:  # the worker process has started: the app is up and training
                assert proc.poll() is None and time.monotonic() < deadline
                workers = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                           and _parent(p) == proc.pid and b"spawn_main" in _cmdline(p)]
                time.sleep(0.1)
            time.sleep(1.0)
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.02)
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0)
        text = err.read()
    assert proc.returncode == 0 and "Traceback" not in text, text
    time.sleep(0.2)
    assert all(gone(pid) for pid in workers)


def _parent(proc_dir: Path) -> int:
    try:
        stat = (proc_dir / "stat").read_text()
    except OSError:
        return -1
    return int(stat[stat.rindex(")") + 2:].split()[1])


def _cmdline(proc_dir: Path) -> bytes:
    try:
        return (proc_dir / "cmdline").read_bytes()
    except OSError:
        return b""
