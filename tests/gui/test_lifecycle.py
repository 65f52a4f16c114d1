"""Worker life cycle: clean close mid-run, death and restart, many cross-thread signals, the entry points."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from PySide6.QtCore import QObject, Slot

from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.gui.client import PipeReader
from ibviewer.gui.window import MainWindow

from .conftest import TIMEOUT_MS

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): it has exited
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _processes_with_env(marker: str) -> list[int]:
    """PIDs whose environment holds ``marker`` (children of a run started with it)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if marker.encode() in (d / "environ").read_bytes() and _alive(int(d.name)):
                    out.append(int(d.name))
            except OSError:
                continue
    return out


def test_closing_mid_run_is_clean_and_fast(qtbot, capfd, qtlog):
    win = MainWindow(build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 0)]), speed=0)
    win.show()
    qtbot.waitUntil(lambda: win.worker_ready, timeout=TIMEOUT_MS)
    win.play()
    qtbot.waitUntil(lambda: win.last_snap is not None and win.last_snap["playing"] and win.last_snap["step"] > 500,
                    timeout=TIMEOUT_MS)
    pid = win.client.pid
    reader = win.client.reader
    win.close()  # how long closing takes is a benchmark's figure, not a test's: see docs/benchmarks.md
    assert not _alive(pid), "the worker outlived the window"
    assert reader.isFinished()
    qtbot.wait(50)
    err = capfd.readouterr().err
    assert "QThread" not in err and "Traceback" not in err
    assert not [r.message for r in qtlog.records if "QThread" in r.message or "Destroyed" in r.message]


def test_worker_death_is_reported_and_restart_works(qtbot):
    """The worker killed while it trains (playing): the app stops playing, says so in the status bar with the way
    out, keeps working without a worker, and Restart brings back a worker that plays."""
    win = MainWindow(build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 0)]), preset=DEFAULT_PRESET,
                     speed=0)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.worker_ready, timeout=TIMEOUT_MS)
        win.play()
        qtbot.waitUntil(lambda: win.last_snap is not None and win.last_snap["playing"] and win.last_snap["step"] > 200,
                        timeout=TIMEOUT_MS)
        pid = win.client.pid
        os.kill(pid, signal.SIGKILL)
        qtbot.waitUntil(lambda: win.worker_dead, timeout=TIMEOUT_MS)
        message = win.statusBar().currentMessage()
        assert "stopped unexpectedly" in message and "Restart worker" in message
        assert win.status.worker_label.text() == "worker stopped"
        assert win.status.restart_button.isVisibleTo(win)
        assert not win.playing and win.actions["play"].text() == "Play"
        win.play()  # no exception while the worker is gone, and nothing pretends to play
        win.step_once()
        qtbot.wait(50)
        assert not win.playing and win.worker_dead
        win.status.restart_button.click()
        qtbot.waitUntil(lambda: win.worker_ready and win.last_snap is not None, timeout=TIMEOUT_MS)
        assert win.client.pid != pid and not _alive(pid)
        assert not win.status.restart_button.isVisibleTo(win)
        assert win.status.worker_label.text() != "worker stopped"
        win.step_n(5)
        qtbot.waitUntil(lambda: win.last_snap["step"] == 5 and win.last_snap["pending"] == 0, timeout=TIMEOUT_MS)
        win.play()  # playable again: it trains on from there
        qtbot.waitUntil(lambda: win.last_snap["playing"] and win.last_snap["step"] > 100, timeout=TIMEOUT_MS)
        assert win.playing
        win.pause()
    finally:
        win.close()


class _Counter(QObject):
    def __init__(self):
        super().__init__()
        self.n = 0
        self.last = None

    @Slot(object)
    def on_message(self, msg):
        self.n += 1
        self.last = msg


def test_twenty_thousand_cross_thread_emits(qtbot):
    """The reader thread's signal, 20,000 times into a GUI-thread slot (PySide6 6.12.0 aborted here)."""
    import multiprocessing

    r, w = multiprocessing.Pipe(duplex=False)
    reader = PipeReader(r)
    counter = _Counter()
    reader.message.connect(counter.on_message)
    reader.start()
    try:
        for i in range(20000):
            w.send(("snapshot", {"seq": i, "rows": {}}))
            if i % 2000 == 0:
                qtbot.wait(1)
        qtbot.waitUntil(lambda: counter.n == 20000, timeout=60000)
        assert counter.last == ("snapshot", {"seq": 19999, "rows": {}})
    finally:
        reader.stop()
        assert reader.wait(2000)
        w.close()
        r.close()


def test_main_rejects_bad_arguments_with_one_line(capsys):
    from ibviewer.gui.app import main

    for argv, needle in ((["--preset", "no_such_preset"], "unknown preset"),
                         (["--set", "model.depth=deep"], "model.depth"),
                         (["--bogus"], "unrecognized arguments"),
                         (["--preset", DEFAULT_PRESET, "--config", "x.toml"], "not allowed with"),
                         (["--config", "/nonexistent/run.toml"], "does not exist"),
                         (["--screenshot", "/nonexistent/dir/shot.png"], "does not exist"),
                         (["--quit-after", "-1"], "--quit-after")):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("ibviewer gui: error:") and needle in err, (argv, err)


def test_main_plays_screenshots_and_quits_without_orphans(tmp_path):
    marker = f"IBV_GUI_TEST_{uuid.uuid4().hex}"
    shot = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", IBV_MARKER=marker, PYTHONPATH=str(ROOT))
    code = ("import sys; from ibviewer.gui.app import main; "
            f"sys.exit(main(['--play', '--speed', '0', '--screenshot', {str(shot)!r}, '--quit-after', '3']))")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=90, cwd=ROOT,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert "QThread" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert shot.stat().st_size > 10000
    from PySide6.QtGui import QImage

    img = QImage(str(shot))
    assert (img.width(), img.height()) == (1560, 940)
    time.sleep(0.2)
    assert _processes_with_env(marker) == [], "a worker process outlived the app"


def test_bench_prints_one_json_line(capsys):
    from ibviewer.gui.bench import main

    assert main(["--seconds", "3", "--headless-seconds", "0.3"]) == 0  # a few frames even on a busy host
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    res = json.loads(out[0])
    for key in ("ratio", "updates_per_s", "lateness_p50_ms", "lateness_p99_ms"):
        assert isinstance(res[key], float), key
    assert res["ratio"] > 0 and res["updates_per_s"] > 0  # the figures themselves are a benchmark's
    assert main(["--seconds", "0"]) == 2


def test_no_display_is_one_line_not_an_abort(monkeypatch, capsys):
    from ibviewer.gui import app

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(app.sys, "platform", "linux")
    assert app.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no display" in err and "xvfb-run" in err
