"""``ibviewer sweep`` (run a grid of runs, write its results and phase diagram) and ``ibviewer phase`` (draw the
phase diagram again from a finished folder).  Bad input ends with one line and exit code 2, like every command
(:mod:`ibviewer.core.cli_args`)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from ibviewer.core.cli_args import ArgumentParser, UsageError, report_error
from ibviewer.core.config import ConfigError

SWEEP_EPILOG = """SWEEP.toml (or the name of a sweep preset, see --list):
  preset = "NAME"            the base configuration (a preset's comparison is ignored); and/or
  [problem] [model] ...      config tables that set or change keys of the base
  seeds = 4                  seeds 0..3 per grid point (seed k sets problem.seed and run.seed to k), or a list
  steps = 2000               run.steps of every run (optional)
  [grid]                     one run per combination of values, per seed:
  "model.depth" = [1, 2, 3]                 a list of values, or evenly spaced values:
  "model.init_scale" = { from = 1e-3, to = 1, count = 4, scale = "log" }   (random = true: drawn at random)
  "m/n" = [...]  "s/m" = [...]              sparse recovery's ratios (they set measurements, sparsity)
  [plot]                     optional: x, y (grid keys), metric (a result column), threshold (share below it)

writes DIR/sweep.json, DIR/results.parquet (one row per run; --csv: results.csv too) and, with [plot],
DIR/phase.png and DIR/phase.svg. Calling it again with the same DIR runs only what is missing.
exit code: 0 when every run has its row (failed and diverged runs included), 130 when interrupted.
"""


def default_workers() -> int:
    """One single-threaded worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def terminate_as_interrupt():
    """SIGTERM raises KeyboardInterrupt, as Ctrl+C does, so both end a sweep the same way (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def sweep_parser() -> ArgumentParser:
    ap = ArgumentParser(prog="ibviewer sweep", description="Run a grid of runs (x seeds) on a dask cluster and "
                        "write one row per run, and the phase diagram.", epilog=SWEEP_EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweep", nargs="?", metavar="SWEEP", help="a SWEEP.toml file, or a sweep preset's name")
    ap.add_argument("--out", metavar="DIR", help="the results folder (required; an earlier one is resumed)")
    ap.add_argument("--workers", type=int, metavar="K", default=None,
                    help=f"worker processes of the local cluster, one thread each (default: one per core, here "
                         f"{default_workers()}); 0: one run after another in this process")
    ap.add_argument("--scheduler", metavar="ADDRESS",
                    help="an existing dask cluster's scheduler (tcp://HOST:PORT) instead of a local cluster")
    ap.add_argument("--csv", action="store_true", help="also write DIR/results.csv")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary lines")
    ap.add_argument("--list", action="store_true", help="list the sweep presets and exit")
    return ap


def _list_presets() -> int:
    from ibviewer.core.sweep import load_sweep, sweep_preset_names

    names = sweep_preset_names()
    width = max(map(len, names))
    for name in names:
        sweep = load_sweep(name)
        print(f"{name:<{width}}  {sweep.run_count:>5} runs  {sweep.meta.get('title', '')}")
    return 0


def cmd_sweep(args) -> int:
    from ibviewer.core.sweep import load_sweep
    from ibviewer.core.sweep_results import read_rows
    from ibviewer.core.sweep_run import run_sweep

    if args.list:
        return _list_presets()
    if args.sweep is None:
        raise UsageError("give a SWEEP.toml (or a sweep preset's name, see --list)", "ibviewer sweep")
    if args.out is None:
        raise UsageError("--out DIR is required: the folder of the results", "ibviewer sweep")
    if args.scheduler is not None and args.workers is not None:
        raise UsageError("--workers is for the local cluster; with --scheduler the cluster's workers run the runs",
                         "ibviewer sweep")
    workers = default_workers() if args.workers is None else args.workers
    if not 0 <= workers <= 512:
        raise UsageError(f"--workers {workers} is not allowed; give 0 (in this process) to 512", "ibviewer sweep")
    sweep = load_sweep(args.sweep)
    out = Path(args.out)
    with terminate_as_interrupt():
        outcome = run_sweep(sweep, out, workers=workers, scheduler=args.scheduler, csv=args.csv,
                            quiet=args.quiet)
    held = outcome.before + outcome.ran
    if not args.quiet:
        print(f"{outcome.ran} runs in {outcome.seconds:.1f} s ({outcome.failed} failed, {outcome.diverged} "
              f"diverged); {out}/results.parquet holds {held} of {outcome.total} runs")
    if outcome.interrupted:
        print(f"ibviewer sweep: interrupted; {held} finished runs are in {out}/results.parquet; run the same "
              "command again to finish", file=sys.stderr)
        return 130
    if sweep.plot is not None:
        from ibviewer.core.phase import write_phase

        paths = write_phase(out, sweep, read_rows(out))
        if not args.quiet:
            print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def phase_parser() -> ArgumentParser:
    ap = ArgumentParser(prog="ibviewer phase", description="Draw a sweep's phase diagram again from its results "
                        "folder: DIR/phase.png and DIR/phase.svg (the sweep's [plot], or the options given).")
    ap.add_argument("folder", metavar="DIR", help="a folder written by 'ibviewer sweep'")
    ap.add_argument("--x", metavar="KEY", help="grid key on the x axis")
    ap.add_argument("--y", metavar="KEY", help="grid key on the y axis")
    ap.add_argument("--metric", metavar="NAME", help="result column to show (default relative_error)")
    ap.add_argument("--threshold", type=float, metavar="T", help="show the share of seeds with the metric below T")
    return ap


def cmd_phase(args) -> int:
    from pydantic import ValidationError

    from ibviewer.core.phase import write_phase
    from ibviewer.core.sweep import PlotSpec
    from ibviewer.core.sweep_results import read_rows, read_spec

    sweep = read_spec(args.folder)
    rows = read_rows(args.folder)
    if not rows:
        raise UsageError(f"{args.folder!r} holds no finished run yet", "ibviewer phase")
    given = {k: getattr(args, k) for k in ("x", "y", "metric", "threshold") if getattr(args, k) is not None}
    plot = sweep.plot.model_dump() if sweep.plot is not None else {}
    plot.update(given)
    for axis in ("x", "y"):
        if axis not in plot:
            raise UsageError(f"the sweep has no [plot] table: give --{axis} (grid keys: {', '.join(sweep.keys)})",
                             "ibviewer phase")
    try:
        spec = PlotSpec(**plot)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UsageError(f"--{err['loc'][0]}: {err['msg'].removeprefix('Value error, ')}", "ibviewer phase") from None
    try:
        paths = write_phase(args.folder, sweep, rows, spec)
    except ValueError as exc:
        raise UsageError(str(exc), "ibviewer phase") from None
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _main(parser: ArgumentParser, command, argv: list[str], prog: str) -> int:
    try:
        return command(parser.parse_args(argv))
    except (UsageError, ConfigError) as exc:
        return report_error(prog, exc)
    except OSError as exc:
        return report_error(prog, exc)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def sweep_main(argv: list[str]) -> int:
    return _main(sweep_parser(), cmd_sweep, argv, "ibviewer sweep")


def phase_main(argv: list[str]) -> int:
    return _main(phase_parser(), cmd_phase, argv, "ibviewer phase")
