"""``ibviewer bench sweep``: what a local cluster gains on a sweep.  The same grid of matrix-sensing runs
(d = 20, a few thousand steps each) runs first one after another in this process, then on a local cluster of
single-threaded worker processes, the cluster's start-up included; the figures are printed as JSON (runs,
workers, serial_seconds, cluster_seconds, speedup = serial / cluster) with the load of the machine, since other
work on it changes them (docs/benchmarks.md).  Both write their rows through the sweep's own code, and the
bench checks that the two give the same rows.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ibviewer.core.cli_args import ArgumentParser, UsageError, report_error

DEPTHS = (1, 2, 3, 4)
MEASUREMENTS = (120, 160, 200, 240)


def bench_sweep(runs: int, steps: int, d: int):
    """The benchmark's sweep: depth x measurements (16 grid points) x ``runs / 16`` seeds of matrix sensing."""
    from ibviewer.core.sweep import parse_sweep

    return parse_sweep({
        "preset": "sensing_depth_low_rank",
        "steps": steps,
        "problem": {"d": d},
        "grid": {"model.depth": list(DEPTHS), "problem.measurements": list(MEASUREMENTS)},
        "seeds": runs // (len(DEPTHS) * len(MEASUREMENTS)),
    }, "bench sweep")


def _same_rows(a: list[dict], b: list[dict]) -> bool:
    """The two executions trained the same runs to the same numbers (the timings aside)."""
    strip = [{k: v for k, v in r.items() if k != "wall_seconds"} for r in (a + b)]
    return strip[: len(a)] == strip[len(a):]


def run_bench(runs: int = 64, workers: int = 2, steps: int = 25000, d: int = 22) -> dict:
    from ibviewer.core.sweep_results import read_rows
    from ibviewer.core.sweep_run import run_sweep

    sweep = bench_sweep(runs, steps, d)
    tmp = Path(tempfile.mkdtemp(prefix="ibviewer-bench-sweep-"))
    try:
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        serial = run_sweep(sweep, tmp / "serial", workers=0)
        serial_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        cluster = run_sweep(sweep, tmp / "cluster", workers=workers)
        cluster_s = time.perf_counter() - t0
        same = _same_rows(read_rows(tmp / "serial"), read_rows(tmp / "cluster"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if serial.interrupted or cluster.interrupted:
        raise KeyboardInterrupt
    return {
        "runs": sweep.run_count,
        "workers": workers,
        "steps": steps,
        "d": d,
        "serial_seconds": round(serial_s, 3),
        "cluster_seconds": round(cluster_s, 3),
        "speedup": round(serial_s / cluster_s, 3),
        "same_rows": same,
        "failed": serial.failed + cluster.failed,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str]) -> int:
    ap = ArgumentParser(prog="ibviewer bench sweep",
                        description="A sweep of matrix-sensing runs one after another in one process, then on a "
                                    "local dask cluster (start-up included); prints JSON.")
    ap.add_argument("--runs", type=int, default=64, help="runs in the grid, a multiple of 16 (default 64)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes of the cluster (default 2)")
    ap.add_argument("--steps", type=int, default=25000, help="steps of each run (default 25000)")
    ap.add_argument("--d", type=int, default=22, help="matrix size (default 22)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    try:
        args = ap.parse_args(argv)
        if args.runs < 16 or args.runs % 16:
            raise UsageError(f"--runs {args.runs} is not allowed; give a multiple of 16 (16 grid points x seeds)",
                             ap.prog)
        if not 1 <= args.workers <= 512:
            raise UsageError(f"--workers {args.workers} is not allowed; give 1 to 512", ap.prog)
        if args.steps < 1:
            raise UsageError(f"--steps {args.steps} is not allowed; give at least 1", ap.prog)
        if args.d < 2:
            raise UsageError(f"--d {args.d} is not allowed; give at least 2 (rank-2 targets)", ap.prog)
        result = run_bench(args.runs, args.workers, args.steps, args.d)
        text = json.dumps(result, indent=2)
        if args.json:
            from ibviewer.core.io import atomic_write_text

            atomic_write_text(args.json, text + "\n")
        print(text)
        return 0
    except (UsageError, ValueError) as exc:
        return report_error(ap.prog, exc)
    except OSError as exc:
        return report_error(ap.prog, exc)
    except KeyboardInterrupt:
        print(f"{ap.prog}: interrupted", file=sys.stderr)
        return 130
