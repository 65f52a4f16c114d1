"""``ibviewer bench longrun``: a long run in the app with every panel on screen, as one JSON line.

The app must stay usable for a run of a million steps: its memory bounded (the worker's history has a fixed
budget and thins itself, the GUI's mirror of it follows, the timeline keeps a bounded number of past products)
and its event loop as prompt at the end as at the start.  This benchmark trains until ``--steps`` (10^6) in the
real window (offscreen unless ``--visible``) as fast as the worker can, every panel shown (tabbed panels are
floated out so that each one draws every frame), and prints:

- ``rss_curve``: ``--points`` (10) samples spread over the run, each
  ``[step, gui_mb, worker_mb, total_mb, mirrors_mb, timeline_products_mb]``: the resident memory of the GUI process
  and of the training worker (``VmRSS`` of ``/proc/<pid>/status``), and the GUI's two growing stores;
- ``rss_peak_total_mb``: the largest total seen (sampled four times a second);
- ``history_full_at_step``: the first step at which a worker history thinned itself (its budget was full), and
  ``rss_growth_after_full_mb``: the total at the end minus the total at the first sample after that step;
- ``lateness_start`` / ``lateness_end``: over the first and the last tenth of the run, p50/p99/max of how late a
  5 ms timer on the GUI thread fires, p50/p99 of how long after the worker sent it a snapshot was drawn, and
  p50/p99 of the time the panels took to draw a frame;
- ``mirror_mb``, ``timeline_products``: the GUI's stores at the end; ``panels_visible`` of ``panels``.

The runs have no step limit, as in the app after "no limit" (the recording stride is then the finest, so the
history's budget fills within the run), and no loss tolerance; the benchmark pauses them at ``--steps``.
By default the app's own preset and, when it compares runs, all of them (``--single``: only the first).
Figures: docs/benchmarks.md ("Long run").
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from array import array
from typing import Any

from ibviewer.core.cli_args import UsageError, command_parser, report_error, resolve
from ibviewer.core.config import ConfigError

PROG = "ibviewer bench longrun"


def make_parser():
    p = command_parser(PROG, __doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1_000_000, help="pause the runs at this step (default 1000000)")
    p.add_argument("--points", type=int, default=10, help="points of the printed memory curve (default 10)")
    p.add_argument("--max-fps", type=float, default=30.0, help="the window's update cap (default 30)")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="give up (exit 1) when the run has not finished after this many seconds (default 1800)")
    p.add_argument("--single", action="store_true", help="one run, not the runs a preset compares")
    p.add_argument("--visible", action="store_true", help="use the real display instead of offscreen")
    return p


def rss_mb(pid: int | None) -> float:
    """Resident memory of process ``pid`` in MiB (``VmRSS`` of ``/proc/<pid>/status``); 0 when unreadable."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(q / 100 * (len(v) - 1))))]


def curve(samples: list[tuple], steps: int, points: int) -> list[list[float]]:
    """``points`` samples at evenly spaced fractions of ``steps`` (the first sample at or past each, the last
    sample for the end): ``[step, gui_mb, worker_mb, total_mb, mirrors_mb, timeline_products_mb]``."""
    out = []
    for i in range(1, points + 1):
        target = steps * i / points
        s = next((s for s in samples if s[1] >= target), samples[-1]) if i < points else samples[-1]
        out.append([int(s[1]), round(s[2], 1), round(s[3], 1), round(s[2] + s[3], 1), round(s[4], 1),
                    round(s[5], 1)])
    return out


def show_every_panel(win) -> None:
    """Float out every panel that is not on screen (tabbed behind another): each then draws every frame."""
    for dock in win.docks.dock_widgets.values():
        if not dock.widget().isVisible():
            dock.setFloating(True)
            dock.show()
            dock.raise_()


def _lateness(ticks: list[tuple[int, float]], handled: list[tuple[int, float]], draws: list[tuple[int, float]],
              lo: float, hi: float) -> dict:
    """Percentiles over the records whose step lies in [lo, hi)."""
    t = [v for s, v in ticks if lo <= s < hi]
    h = [v for s, v in handled if lo <= s < hi]
    d = [v for s, v in draws if lo <= s < hi]

    def r(x):
        return None if x is None else round(x, 2)

    return {"timer_p50_ms": r(percentile(t, 50)), "timer_p99_ms": r(percentile(t, 99)),
            "timer_max_ms": r(max(t) if t else None), "timer_ticks": len(t),
            "snapshot_p50_ms": r(percentile(h, 50)), "snapshot_p99_ms": r(percentile(h, 99)), "snapshots": len(h),
            "draw_p50_ms": r(percentile(d, 50)), "draw_p99_ms": r(percentile(d, 99))}


def gui_long_run(cfg, runs, preset: str | None, steps: int, points: int, max_fps: float,
                 timeout: float) -> dict[str, Any]:
    from PySide6.QtCore import QEventLoop, QTimer

    from ibviewer.gui.app import create_app
    from ibviewer.gui.bench import LatenessProbe
    from ibviewer.gui.export_ui import Recording
    from ibviewer.gui.settings import AppSettings
    from ibviewer.gui.window import MainWindow

    app = create_app()
    win = MainWindow(cfg, preset=preset, speed=0, max_fps=max_fps, runs=runs, restore_geometry=False,
                     settings=AppSettings(persist=False), recording=Recording)
    win.show()
    loop = QEventLoop()

    def spin(seconds: float, until) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    try:
        spin(60, lambda: win.worker_ready and win.last_snap is not None)
        if not win.worker_ready:
            raise RuntimeError("the training worker did not start within 60 s")
        show_every_panel(win)
        spin(1, lambda: False)  # the floated docks are laid out and drawn once
        panels = len(win.docks.panels)
        visible = len(win.docks.visible())
        worker_pid = win.client.pid
        step = [0]
        # the benchmark's own records must not grow the memory it measures: the samples are packed six doubles
        # each, and lateness is kept only in the two tenths it is reported for
        packed = array("d")  # per sample: t, step, gui MiB, worker MiB, mirrors MiB, timeline products MiB
        timeline = win.recording.timeline if win.recording is not None else None
        ticks: list[tuple[int, float]] = []  # (step, timer lateness ms)
        handled: list[tuple[int, float]] = []  # (step, ms from the worker's send to the drawn frame)
        full_at: list[int] = []

        def kept(s: int) -> bool:
            return s < steps / 10 or s >= steps - steps / 10

        def sample() -> None:
            mirrors = sum(c.nbytes for r in win.runs for c in r.mirror.cols.values()) / 2**20
            products = 0 if timeline is None else sum(p.nbytes for p in timeline.states.items) / 2**20
            packed.extend((time.monotonic(), step[0], rss_mb(os.getpid()), rss_mb(worker_pid), mirrors, products))

        def tick(late_ms: float) -> None:
            if kept(step[0]):
                ticks.append((step[0], late_ms))

        probe = LatenessProbe(tick)

        def on_merged(snap: dict, replaced: bool) -> None:
            if replaced and snap["step"] > 0 and not full_at:
                full_at.append(int(snap["step"]))

        def on_drawn() -> None:
            snap = win.last_snap
            step[0] = int(snap["step"])
            if kept(step[0]):
                handled.append((step[0], max(0.0, time.time() - snap["sent_at"]) * 1000))

        # the cost of drawing a frame on every panel (does it grow with the run's rows?)
        draws: list[tuple[int, float]] = []  # (step, ms)
        draw = win.docks.draw

        def timed_draw(panels, ctx) -> None:
            t = time.perf_counter()
            draw(panels, ctx)
            if kept(step[0]):
                draws.append((step[0], (time.perf_counter() - t) * 1000))

        win.docks.draw = timed_draw
        win.controller.snapshot_merged.connect(on_merged)
        win.drawn.connect(on_drawn)
        sampler = QTimer()
        sampler.setInterval(250)
        sampler.timeout.connect(sample)
        sample()
        t0 = time.monotonic()
        win.play()
        probe.start()
        sampler.start()

        def reached() -> bool:
            snap = win.last_snap
            return snap is not None and (snap["step"] >= steps or snap["status"] not in ("running", "ready"))

        spin(timeout, reached)
        seconds = time.monotonic() - t0
        rate_step = int(win.last_snap["step"])
        if reached():
            # the end's lateness needs timer ticks while the last tenth is on screen: a fast run can reach its last
            # step before the frame that shows it is drawn, and the loop above then stops with no tick kept there
            spin(2.0, lambda: step[0] >= steps and sum(1 for s, _ in ticks if s >= steps - steps / 10) >= 10)
        win.pause()
        probe.stop()
        sampler.stop()
        sample()
        done = win.last_snap["step"] >= steps
        final_step = int(win.last_snap["step"])
        products = 0 if timeline is None else len(timeline.states)
        rows = [r.mirror.n for r in win.runs]
        status = win.last_snap["status"]
    finally:
        win.close()
        app.processEvents()
    if not done:
        raise RuntimeError(f"the run reached step {final_step:,} of {steps:,} within {timeout:g} s (status {status})")
    samples = [tuple(packed[i : i + 6]) for i in range(0, len(packed), 6)]
    tenth = steps / 10
    end_total = samples[-1][2] + samples[-1][3]
    after = next((s for s in samples if full_at and s[1] >= full_at[0]), None)
    return {
        "final_step": final_step,
        "seconds": round(seconds, 1),
        "steps_per_s": round(rate_step / seconds, 1),
        "status": status,
        "rss_curve": curve(samples, steps, points),
        "rss_peak_total_mb": round(max(s[2] + s[3] for s in samples), 1),
        "rss_end_total_mb": round(end_total, 1),
        "history_full_at_step": full_at[0] if full_at else None,
        "rss_growth_after_full_mb": None if after is None else round(end_total - (after[2] + after[3]), 1),
        "lateness_start": _lateness(ticks, handled, draws, 0, tenth),
        "lateness_end": _lateness(ticks, handled, draws, steps - tenth, math.inf),  # (the records kept)
        "mirror_mb": round(samples[-1][4], 1),
        "mirror_rows": rows,
        "timeline_products": products,
        "timeline_products_mb": round(samples[-1][5], 1),
        "panels": panels,
        "panels_visible": visible,
        "rss_samples": len(samples),
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = make_parser().parse_args(argv)
        if args.steps < 1:
            raise UsageError(f"--steps {args.steps} is not allowed; it must be >= 1")
        if not 2 <= args.points <= 100:
            raise UsageError(f"--points {args.points} is not allowed; it must be between 2 and 100")
        if not args.timeout > 0 or not args.max_fps > 0:
            raise UsageError("--timeout and --max-fps must be > 0")
        # as in the app with no step limit (the history's recording stride is then the finest, so its budget
        # fills within the run), paused once --steps are reached; no loss tolerance stops it early
        resolved = resolve(args, extra=[("run.steps", 0), ("run.loss_tol", 0.0)],
                           preset_runs=not args.single)
    except (UsageError, ValueError, ConfigError) as exc:
        return report_error(PROG, exc)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if not args.visible:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    runs = resolved.runs
    try:
        res = gui_long_run(resolved.cfg, runs, resolved.preset, args.steps, args.points, args.max_fps, args.timeout)
    except RuntimeError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    out = {"steps": args.steps, "preset": resolved.preset, "runs": len(runs) if runs else 1, **res,
           "max_fps": args.max_fps, "cpus": os.cpu_count(),
           "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
