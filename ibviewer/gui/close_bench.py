"""``ibviewer bench close``: how long the app takes to end when its window is closed during training, during a
comparison and during an export, and what it leaves behind.

    ibviewer bench close [--rounds N] [--situations training,comparison,export] [--signal TERM|INT]

Each round starts the app as a process of its own (offscreen, as ``ibviewer gui`` builds it: the default preset
playing, three runs of it for a comparison, and for an export an animation being rendered over a previous file
of the same name).  Once it is in the situation it says so on stdout; the benchmark then sends it SIGTERM (or
SIGINT: both close the window, as its close button does) and measures the seconds until the process has exited.
It then checks that the worker and the encoder are gone and that the previous file is intact with nothing beside
it.  One JSON line per situation: the close times (median, min, max), orphans and leftover files.  Figures are in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ibviewer.core.cli_args import UsageError, report_error
from ibviewer.core.processes import child_processes

PROG = "ibviewer bench close"
SITUATIONS = ("training", "comparison", "export")
PREVIOUS = b"the previous talk"
#: steps trained before the app reports that it is in its situation
WARM_STEPS = 200


def ffmpeg_children() -> list[int]:
    """This process's live ffmpeg children."""
    return [pid for pid, cmd in child_processes() if "ffmpeg" in cmd]


def child(situation: str, folder: str) -> int:
    """The app in ``situation``; prints ``READY <worker pid> <ffmpeg pid or 0>`` once there."""
    from PySide6.QtCore import QTimer

    from ibviewer.core.config import DEFAULT_PRESET, build_config
    from ibviewer.gui.app import SIGNAL_TICK_MS, close_window, create_app, end_now
    from ibviewer.gui.export_ui import AnimationSettings, Recording
    from ibviewer.gui.window import MainWindow

    app = create_app()
    cfg = build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 0)])
    runs = None
    if situation == "comparison":
        runs = [(f"depth {d}", build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 0), ("model.depth", d)]))
                for d in (2, 3, 4)]
    win = MainWindow(cfg, preset=DEFAULT_PRESET, play=True, speed=0, runs=runs, restore_geometry=False,
                     recording=Recording)
    win.show()
    marks: dict[str, float] = {}

    def close() -> None:  # what ibviewer.gui.app.request_close schedules, with the time of each phase
        marks.setdefault("handled", time.time())
        close_window(win)
        marks.setdefault("closed", time.time())

    def on_signal(*_) -> None:
        marks.setdefault("signal", time.time())
        QTimer.singleShot(0, close)

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, on_signal)

    def ready(ffmpeg: int = 0) -> None:
        print(f"READY {win.client.pid} {ffmpeg}", flush=True)

    def export() -> None:
        out = Path(folder) / "talk.mp4"
        settings = AnimationSettings(path=str(out), size=(640, 360), fps=30, seconds=600, panels=["loss", "heatmap"])

        def on_progress(done: int, total: int) -> None:
            if done == 10:
                pids = ffmpeg_children()
                ready(pids[0] if pids else 0)

        win.recording.export_animation(settings, on_progress=on_progress)

    def poll() -> None:
        snap = win.last_snap
        if snap is None or snap["step"] < WARM_STEPS:
            return
        timer.stop()
        if situation == "export":
            QTimer.singleShot(0, export)
        else:
            ready()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(50)
    tick = QTimer()  # lets Python run its signal handlers while the event loop waits, as the app does
    tick.timeout.connect(lambda: None)
    tick.start(SIGNAL_TICK_MS)
    try:
        app.exec()
    finally:
        win.shutdown()
    marks["exec_returned"] = time.time()
    print("MARKS " + json.dumps(marks), flush=True)
    end_now(0)  # as `ibviewer gui` ends
    return 0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its (gone) parent's reaper has ended
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def one_round(situation: str, signum: int, timeout: float = 120) -> dict:
    """Start the app in ``situation``, close it with ``signum``; the seconds until it exited, and what it left."""
    with tempfile.TemporaryDirectory(prefix="ibviewer-bench-close-") as folder:
        (Path(folder) / "talk.mp4").write_bytes(PREVIOUS)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", IBVIEWER_CONFIG_DIR=str(Path(folder) / "settings"))
        cmd = [sys.executable, "-m", "ibviewer.gui.close_bench", "--child", situation, "--folder", folder]
        # stderr to a file: Qt's warnings must never fill a pipe that nobody reads and stall the app
        with tempfile.TemporaryFile("w+") as log:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env, text=True)
            try:
                line = proc.stdout.readline()
                if not line.startswith("READY"):
                    proc.kill()
                    proc.wait()
                    log.seek(0)
                    raise RuntimeError(f"the app did not reach {situation!r}: {log.read().strip()[-300:]}")
                _, worker, ffmpeg = line.split()
                sent, t0 = time.time(), time.perf_counter()
                proc.send_signal(signum)
                proc.wait(timeout)
                seconds = time.perf_counter() - t0
                rest = proc.stdout.read()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                proc.stdout.close()
            log.seek(0)
            err = log.read()
        time.sleep(0.05)
        orphans = [int(p) for p in (worker, ffmpeg) if _alive(int(p))]
        for pid in orphans:  # never leave them running, whatever the figures say
            os.kill(pid, signal.SIGKILL)
        files = sorted(p.name for p in Path(folder).iterdir() if p.name != "settings")
        intact = (Path(folder) / "talk.mp4").read_bytes() == PREVIOUS
        marks = next((json.loads(m[6:]) for m in rest.splitlines() if m.startswith("MARKS ")), {})
        phases = {}
        if {"handled", "closed", "exec_returned"} <= set(marks):
            phases = {"to_handler": marks["handled"] - sent, "window_close": marks["closed"] - marks["handled"],
                      "to_exit": seconds - (marks["closed"] - sent)}
        return {"seconds": seconds, "phases": phases, "exit_code": proc.returncode, "orphans": len(orphans),
                "leftovers": [f for f in files if f != "talk.mp4"], "previous_intact": intact,
                "traceback": err[err.index("Traceback"):][-600:] if "Traceback" in err else ""}


def make_parser() -> argparse.ArgumentParser:
    from ibviewer.core.cli_args import ArgumentParser

    p = ArgumentParser(prog=PROG, description="Seconds from a close request to the app's exit, in three "
                       "situations; orphans and leftover files.")
    p.add_argument("--rounds", type=int, default=5, help="app starts per situation (default 5)")
    p.add_argument("--situations", default=",".join(SITUATIONS), help="comma-separated: " + ", ".join(SITUATIONS))
    p.add_argument("--signal", default="TERM", help="TERM or INT (both close the window; default TERM)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = make_parser().parse_args(argv)
        if args.child:
            return child(args.child, args.folder)
        situations = [s.strip() for s in args.situations.split(",") if s.strip()]
        bad = [s for s in situations if s not in SITUATIONS]
        if bad or not situations:
            raise UsageError(f"--situations {args.situations!r} is not allowed; choose from: {', '.join(SITUATIONS)}")
        if args.rounds < 1:
            raise UsageError(f"--rounds {args.rounds} is not allowed; it must be >= 1")
        if args.signal not in ("TERM", "INT"):
            raise UsageError(f"--signal {args.signal!r} is not allowed; choose TERM or INT")
    except UsageError as exc:
        return report_error(PROG, exc)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    signum = signal.SIGTERM if args.signal == "TERM" else signal.SIGINT
    for situation in situations:
        rounds = [one_round(situation, signum) for _ in range(args.rounds)]
        times = [r["seconds"] for r in rounds]
        print(json.dumps({
            "situation": situation,
            "signal": f"SIG{args.signal}",
            "rounds": len(rounds),
            "close_s_median": round(statistics.median(times), 3),
            "close_s_min": round(min(times), 3),
            "close_s_max": round(max(times), 3),
            # medians of the phases: signal to the close (event loop), the window's close (worker stopped, export
            # cancelled), then to the process's end (Qt and Python shutting down)
            **{f"{k}_s_median": round(statistics.median(r["phases"][k] for r in rounds), 3)
               for k in ("to_handler", "window_close", "to_exit") if all(r["phases"] for r in rounds)},
            "exit_codes": sorted({r["exit_code"] for r in rounds}),
            "orphans": sum(r["orphans"] for r in rounds),
            "leftover_files": sum(len(r["leftovers"]) for r in rounds),
            "previous_intact": all(r["previous_intact"] for r in rounds),
            "tracebacks": sum(bool(r["traceback"]) for r in rounds),
            "first_traceback": next((r["traceback"] for r in rounds if r["traceback"]), None),
            "cpus": os.cpu_count(),
            "load_1min": round(os.getloadavg()[0], 2),
        }), flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
