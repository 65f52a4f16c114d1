"""``ibviewer bench gui``: how well the live window keeps up, as one JSON line.

Runs the default preset (no step limit, a history that does not thin) headless for a few seconds, then for ``--seconds`` (10) in the real
window (offscreen unless ``--visible``) as fast as possible, and prints:

- ``ratio``: training steps/s with the GUI drawing ÷ the headless engine's steps/s (same config, one BLAS
  thread in both; the headless rate is the mean of a run before and one after the GUI run);
- ``updates_per_s``: snapshots drawn by the panels per second;
- ``lateness_p50_ms`` / ``lateness_p99_ms``: how late a 5 ms timer on the GUI thread fires.

Targets (docs/benchmarks.md): ratio >= 0.85, >= 25 updates/s, p99 lateness <= 50 ms.  Also printed: ``gui_cpu_fraction``
(CPU time of the GUI process per wall second: what the window takes from a 2-core machine) and the 1-minute
load average before the run (other processes' load lowers the ratio: the worker needs a core of its own).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import nullcontext

from ibviewer.core.cli_args import UsageError, command_parser, report_error, resolve
from ibviewer.core.config import ConfigError

PROG = "ibviewer bench gui"



class LatenessProbe:
    """A precise 5 ms timer on the GUI thread that reports, at each tick, how many ms later than due it fired:
    how long the thread was busy (drawing, merging) when a user's input would have waited."""

    INTERVAL_MS = 5

    def __init__(self, report):
        from PySide6.QtCore import Qt, QTimer

        self.report = report
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(self.INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.report(max(0.0, now - self.last - self.INTERVAL_MS / 1000) * 1000)
        self.last = now

    def start(self) -> None:
        self.last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

def make_parser() -> argparse.ArgumentParser:
    p = command_parser(PROG, __doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of training in the window (default 10)")
    p.add_argument("--headless-seconds", type=float, default=3.0, help="seconds of the headless run (default 3)")
    p.add_argument("--max-fps", type=float, default=30.0, help="the window's update cap (default 30)")
    p.add_argument("--visible", action="store_true", help="use the real display instead of offscreen")
    return p


def _one_thread():
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(1)
    except Exception:  # noqa: BLE001  # pragma: no cover - threadpoolctl missing
        return nullcontext()


def headless_rate(cfg, seconds: float, runs=None) -> float:
    """Steps/s of the bare engine (chunks of 1000 steps, like a CLI run); with ``runs``, of a RunGroup."""
    from ibviewer.core.engine import Engine

    if runs:
        from ibviewer.core.compare import RunGroup

        with _one_thread():
            g = RunGroup(runs)
            g.step(200)
            s0, t0 = g.step_count, time.perf_counter()
            while time.perf_counter() - t0 < seconds and not g.stopped:
                g.step(500)
            return (g.step_count - s0) / (time.perf_counter() - t0)
    with _one_thread():
        e = Engine(cfg)
        e.step(200)  # warm up
        s0, t0 = e.step_count, time.perf_counter()
        while time.perf_counter() - t0 < seconds and not e.stopped:
            e.step(500)
        return (e.step_count - s0) / (time.perf_counter() - t0)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    i = min(len(v) - 1, max(0, round(q / 100 * (len(v) - 1))))
    return v[i]


def gui_run(cfg, seconds: float, max_fps: float, runs=None) -> dict:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtGui import QGuiApplication

    from ibviewer.gui.app import create_app
    from ibviewer.gui.export_ui import Recording
    from ibviewer.gui.settings import AppSettings
    from ibviewer.gui.window import MainWindow

    app = create_app()
    # default looks, nothing written to the user's settings; with the timeline, as the app draws it
    win = MainWindow(cfg, preset=None, speed=0, max_fps=max_fps, runs=runs, restore_geometry=False,
                     settings=AppSettings(persist=False), recording=Recording)
    win.show()

    def spin(ms: int, until=None) -> None:
        loop = QEventLoop()
        t = QElapsedTimer()
        t.start()
        while t.elapsed() < ms and not (until and until()):
            loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    spin(60000, lambda: win.worker_ready and win.last_snap is not None)
    if not win.worker_ready:
        win.close()
        raise RuntimeError("the training worker did not start within 60 s")

    lateness: list[float] = []
    probe = LatenessProbe(lateness.append)
    win.play()
    spin(10000, lambda: win.last_snap is not None and win.last_snap["playing"] and win.last_snap["step"] > 0)
    mark = {}

    def snap_mark() -> dict:
        s = win.last_snap
        return {"step": s["step"], "t": time.perf_counter(), "frames": win.frames_drawn}

    mark = snap_mark()
    cpu0 = time.process_time()
    probe.start()
    # steps counted at snapshot arrival: note the time each drawn snapshot arrived
    arrivals = []

    def on_drawn() -> None:
        arrivals.append((time.perf_counter(), win.last_snap["step"]))

    win.drawn.connect(on_drawn)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    probe.stop()
    end = snap_mark()
    cpu = time.process_time() - cpu0
    win.drawn.disconnect(on_drawn)
    platform = QGuiApplication.platformName()
    t_close = time.perf_counter()
    win.close()
    close_s = time.perf_counter() - t_close
    app.processEvents()
    if arrivals:
        t_last, s_last = arrivals[-1]
        steps_per_s = (s_last - mark["step"]) / (t_last - mark["t"])
    else:  # pragma: no cover
        steps_per_s = 0.0
    elapsed = end["t"] - mark["t"]
    return {
        "gui_steps_per_s": steps_per_s,
        "updates_per_s": (end["frames"] - mark["frames"]) / elapsed,
        "lateness_p50_ms": percentile(lateness, 50),
        "lateness_p99_ms": percentile(lateness, 99),
        "lateness_max_ms": max(lateness) if lateness else float("nan"),
        "timer_ticks": len(lateness),
        "steps": end["step"],
        "gui_cpu_fraction": cpu / (end["t"] - mark["t"]),
        "platform": platform,
        "close_seconds": close_s,
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = make_parser().parse_args(argv)
        # no step limit; a history long enough not to thin itself within the run, so that the cost per step
        # (metrics every 10 steps) is the same in the headless and the GUI runs
        # with --compare the window overlays the runs and the headless rate is that of a RunGroup of the same
        # runs (steps of every run per second)
        resolved = resolve(args, extra=[("run.steps", 0), ("run.history_rows", 60000)])
        cfg, runs = resolved.cfg, resolved.runs
        if not args.seconds > 0 or not args.headless_seconds > 0:
            raise UsageError("--seconds and --headless-seconds must be > 0")
    except (UsageError, ValueError, ConfigError) as exc:
        return report_error(PROG, exc)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if not args.visible:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    before = headless_rate(cfg, args.headless_seconds, runs)
    try:
        res = gui_run(cfg, args.seconds, args.max_fps, runs)
    except RuntimeError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    after = headless_rate(cfg, args.headless_seconds, runs)
    headless = (before + after) / 2
    out = {
        "ratio": round(res["gui_steps_per_s"] / headless, 3) if headless > 0 else None,
        "updates_per_s": round(res["updates_per_s"], 1),
        "lateness_p50_ms": round(res["lateness_p50_ms"], 2),
        "lateness_p99_ms": round(res["lateness_p99_ms"], 2),
        "lateness_max_ms": round(res["lateness_max_ms"], 2),
        "gui_steps_per_s": round(res["gui_steps_per_s"], 1),
        "headless_steps_per_s": round(headless, 1),
        "headless_before_after": [round(before, 1), round(after, 1)],
        "gui_cpu_fraction": round(res["gui_cpu_fraction"], 3),
        "load_avg_1m": None if load is None else round(load, 2),
        "seconds": args.seconds,
        "steps": res["steps"],
        "preset": resolved.preset,
        "runs": len(runs) if runs else 1,
        "platform": res["platform"],
        "close_seconds": round(res["close_seconds"], 3),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
