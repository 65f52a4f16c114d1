"""Running a sweep: every run that has no row yet, on a dask.distributed cluster (a local one of single-threaded
worker processes, or an existing one by its scheduler's address) or, with no workers, one after another in this
process.

A run is trained by the same engine as ``ibviewer run`` and its row is made from the same summary, so a row's
scalars are those of the run's summary.json.  A run whose configuration does not fit together, or that raises,
or whose worker dies, gets a row with ``status = "failed"`` and the reason in ``message``; a diverged run a row
with ``status = "diverged"`` and the engine's message.  The others go on.  Ctrl+C (or SIGTERM, which the
command turns into the same) cancels what is pending, writes every finished row whole and closes the local
cluster, so no worker process is left behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from ibviewer.core.sweep import RATIO_KEYS, RunPoint, Sweep, run_config
from ibviewer.core.sweep_results import ResultStore

#: statuses of a row: the engine's stop conditions, and "failed" (no training happened, or it raised)
FAILED = "failed"
#: how long to wait for a worker at an existing scheduler before giving up
WORKER_WAIT_S = 60


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def failed_row(point: RunPoint, reason: str, wall: float = 0.0) -> dict[str, Any]:
    """The row of a run that could not train: its grid values and seed, ``failed`` and the reason."""
    return {**point.columns(), "run": point.index, "status": FAILED, "message": reason, "diverged": False,
            "steps": 0, "wall_seconds": wall}


def row_from_summary(point: RunPoint, cfg, summary: dict[str, Any]) -> dict[str, Any]:
    """A run's row: its grid values, seed, and the scalars of its summary (summary.json's values)."""
    row: dict[str, Any] = {**point.columns(), "run": point.index}
    for key in RATIO_KEYS:
        if key in row:
            target = RATIO_KEYS[key].split(" ")[0]
            table, name = target.split(".")
            row[target] = getattr(getattr(cfg, table), name)
    for name in ("status", "message", "diverged", "steps", "final_loss", "relative_error", "l1",
                 "test_accuracy", "numerical_rank", "wall_seconds"):
        row[name] = summary.get(name)
    for name, value in (summary.get("effective_rank") or {}).items():
        row[f"erank_{name}"] = value
    for name, value in (summary.get("references") or {}).items():
        row[f"dist_{name}"] = value
    return row


def _single_threaded():
    """Every numeric library in this process on one thread: the cluster runs one run per core, and two threads
    per run stall on a shared 2-core machine (docs/architecture.md, the training worker)."""
    from threadpoolctl import threadpool_limits

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    return threadpool_limits(1)


def run_point(base: dict[str, Any], point: RunPoint) -> dict[str, Any]:
    """Train one run of a sweep to its end and return its row (never raises for a bad run: a failed row)."""
    from ibviewer.core.config import ConfigError
    from ibviewer.core.engine import Engine

    t0 = time.perf_counter()
    try:
        cfg = run_config(base, dict(point.values), point.seed)
    except ConfigError as exc:
        return failed_row(point, " ".join(str(exc).split()))
    try:
        with _single_threaded():
            engine = Engine(cfg)
            engine.run(chunk=2000)
            return row_from_summary(point, cfg, engine.summary())
    except Exception as exc:  # any failure of one run is that run's row, not the sweep's end
        return failed_row(point, _one_line(exc), time.perf_counter() - t0)


@dataclass
class Outcome:
    """What a call of :func:`run_sweep` did."""

    total: int
    before: int
    ran: int
    failed: int
    diverged: int
    interrupted: bool
    seconds: float

    @property
    def complete(self) -> bool:
        return not self.interrupted and self.before + self.ran == self.total


def _progress(total: int, initial: int, quiet: bool) -> Callable[[dict[str, Any] | None], None]:
    """A progress bar on a terminal (tqdm on stderr): ``tick(row)`` after each run, ``tick(None)`` to close."""
    if quiet or not sys.stderr.isatty():
        return lambda row: None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=initial, unit="run", dynamic_ncols=True, desc="sweep")
    bad = [0]

    def tick(row):
        if row is None:
            bar.close()
            return
        bad[0] += row["status"] in (FAILED, "diverged")
        bar.update(1)
        if bad[0]:
            bar.set_postfix_str(f"{bad[0]} failed or diverged", refresh=False)

    return tick


def _run_serial(sweep: Sweep, pending: list[RunPoint], done: Callable[[dict[str, Any]], None]) -> None:
    for point in pending:
        done(run_point(sweep.base, point))


@contextlib.contextmanager
def _children_ignore_ctrl_c():
    """Processes started inside inherit an ignored SIGINT: Ctrl+C in a terminal reaches the whole process group,
    and the command, not each worker, answers it (the workers are then closed in order, without a traceback
    each).  Python keeps an inherited SIG_IGN rather than raising KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _client(workers: int, scheduler: str | None):
    """A dask client and the local cluster it owns (None for an existing scheduler); OSError (one line) when the
    scheduler cannot be reached or has no worker."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise OSError(f"cannot reach the dask scheduler at {scheduler!r}: {_one_line(exc)}") from None
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except (OSError, TimeoutError):
            client.close()
            raise OSError(f"the dask scheduler at {scheduler!r} has no worker (waited {WORKER_WAIT_S} s); start "
                          "one with 'dask worker ADDRESS'") from None
        return client, None
    # single-threaded worker processes; the nanny puts OMP_NUM_THREADS=1 etc. in each worker's environment.
    # The scheduler always serves HTTP (8787 when free, else any port, with a warning that says nothing here).
    with warnings.catch_warnings(), _children_ignore_ctrl_c():
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.CRITICAL)
    return Client(cluster), cluster


def _run_cluster(sweep: Sweep, pending: list[RunPoint], done: Callable[[dict[str, Any]], None], workers: int,
                 scheduler: str | None) -> None:
    from distributed import as_completed

    client, cluster = _client(workers, scheduler)
    futures = {}
    try:
        base = client.scatter(sweep.base, broadcast=True) if scheduler is None else sweep.base
        tag = f"{os.getpid()}-{time.time_ns()}"
        for point in pending:
            fut = client.submit(run_point, base, point, key=f"ibviewer-run-{point.index}-{tag}", pure=False)
            futures[fut.key] = (fut, point)
        for fut in as_completed([f for f, _ in futures.values()]):
            point = futures[fut.key][1]
            try:
                row = fut.result()
            except Exception as exc:  # the worker died (KilledWorker) or could not load the task
                row = failed_row(point, _one_line(exc))
            done(row)
    finally:
        pending_futures = [f for f, _ in futures.values() if not f.done()]
        if pending_futures:
            client.cancel(pending_futures, force=True)
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(sweep: Sweep, out, *, workers: int = 2, scheduler: str | None = None, csv: bool = False,
              quiet: bool = True) -> Outcome:
    """Run what ``out`` does not hold yet; every finished row is in ``out/results.parquet`` when this returns,
    also after Ctrl+C (then ``interrupted``).  ``workers = 0``: in this process, one run after another."""
    t0 = time.perf_counter()
    store = ResultStore(out, sweep).open()
    points = sweep.points()
    pending = [p for p in points if p.index not in store.rows]
    before = len(points) - len(pending)
    counts = {"ran": 0, FAILED: 0, "diverged": 0}
    tick = _progress(len(points), before, quiet)

    def done(row: dict[str, Any]) -> None:
        store.add(row)
        counts["ran"] += 1
        if row["status"] in (FAILED, "diverged"):
            counts[row["status"]] += 1
        tick(row)

    interrupted = False
    try:
        if pending:
            if workers == 0 and scheduler is None:
                _run_serial(sweep, pending, done)
            else:
                _run_cluster(sweep, pending, done, workers, scheduler)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        tick(None)
        store.flush()
        if csv:
            store.write_csv()
    return Outcome(len(points), before, counts["ran"], counts[FAILED], counts["diverged"], interrupted,
                   time.perf_counter() - t0)
