"""``ibviewer bench --large``: the engine against a plain torch-autograd loop at the sizes researchers reproduce
papers at (d = 1,000 completion and factorization, rank-one sensing at d = 200), float32, one thread.

Each row runs in a process of its own (spawned), so that its ``peak_rss_mb`` (``resource.getrusage`` maxrss)
is that row's: the engine is built and timed first (``engine_peak_rss_mb`` is read then), the plain loop after
it (``peak_rss_mb`` covers both).  The engine records its metrics at the cadence a long run settles to (one
record every ``record_stride`` steps, past the log-spaced early records), timed in blocks of one stride (one
record each), and without records (``engine_steps_only_per_s``: the training steps alone, what the plain loop
does); the plain loop in blocks of as many steps; each side's best block is kept.  ``engine_status`` says that
the engine was still training (``ready``), not stopped by a divergence, when it was timed.  The
rank-one row also times a plain loop over the dense operator of the same measurements (``plain_dense_*``), what
a user without the structure would write.  ``--device cuda`` runs the same rows on a GPU (``device`` in the row).
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import time
from typing import Any, Callable

import numpy as np

#: the rows: problem name -> configuration overrides (float32, full-batch GD)
LARGE_ROWS: dict[str, list[tuple[str, Any]]] = {
    "completion_d1000": [
        ("problem.kind", "matrix_completion"), ("problem.d", 1000), ("problem.rank", 5),
        ("problem.measurements", 100_000), ("model.depth", 2), ("model.init_scale", 1e-3), ("optimizer.lr", 0.002),
    ],
    "sensing_rank_one_d200": [
        ("problem.kind", "matrix_sensing"), ("problem.operator", "rank_one"), ("problem.d", 200),
        ("problem.rank", 2), ("problem.measurements", 4000), ("problem.singular_values", []), ("model.depth", 2),
        ("model.init_scale", 1e-3), ("optimizer.lr", 0.001),
    ],
    "factorization_d1000": [
        ("problem.kind", "matrix_factorization"), ("problem.d", 1000), ("problem.target", "lowrank_noise"),
        ("problem.rank", 10), ("model.depth", 3), ("model.init_scale", 1e-3), ("optimizer.lr", 0.05),
    ],
}


def _peak_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1e6 if sys.platform == "darwin" else rss * 1024 / 1e6


def _best(run: Callable[[int], Any], steps: int, repeats: int, sync: Callable[[], None]) -> float:
    """Best seconds per step over ``repeats`` blocks of ``steps`` steps."""
    best = float("inf")
    for _ in range(repeats):
        sync()
        t = time.perf_counter()
        run(steps)
        sync()
        best = min(best, (time.perf_counter() - t) / steps)
    return best


def _dense_plain_loop(engine, device: str) -> Callable[[int], None]:
    """Plain autograd over the dense m x d^2 operator of the engine's rank-one measurements."""
    import torch

    from ibviewer.core.bench import _sgd_loop
    from ibviewer.core.rank_one import dense_operator

    d = engine.problem.data
    a = torch.as_tensor(dense_operator(d["left"].astype(np.float32), d["right"].astype(np.float32)), device=device)
    y = torch.as_tensor(d["y"], dtype=torch.float32, device=device)
    params = [torch.tensor(np.asarray(p), dtype=torch.float32, device=device, requires_grad=True)
              for p in engine.params]

    def loss_fn():
        p = params[0]
        for w in params[1:]:
            p = w @ p
        return 0.5 * ((a @ p.reshape(-1) - y) ** 2).sum()

    return _sgd_loop(loss_fn, params, engine.cfg.optimizer.lr)


def large_row(name: str, overrides, steps: int = 0, repeats: int = 2, device: str = "cpu") -> dict[str, Any]:
    """One row, measured in this process (:func:`run_rows` gives each row a process of its own); ``steps`` per
    block (0: one record stride)."""
    from ibviewer.core.backend import limit_threads
    from ibviewer.core.bench import _fast_path_name, machine_fields, plain_loop
    from ibviewer.core.config import build_config
    from ibviewer.core.engine import Engine

    limit_threads()
    over = list(overrides) + [("run.steps", 0), ("run.dtype", "float32"), ("run.device", device)]
    sync: Callable[[], None] = lambda: None
    if device == "cuda":
        import torch

        sync = torch.cuda.synchronize
    t0 = time.perf_counter()
    engine = Engine(build_config(overrides=over))
    setup = time.perf_counter() - t0
    engine.step(3)
    # a long run records every `stride` steps once past its log-spaced early records (step ~500); time that
    # steady cadence from here: the next record one stride ahead, blocks of whole strides (one record each)
    stride = engine.stride
    engine.schedule.load_state_dict({"stride": stride, "next_record": engine.step_count + stride},
                                    engine.step_count)
    steps = steps or stride
    best_e = _best(engine.step, steps, repeats, sync)
    # the training steps alone: the next record out of reach of the timed blocks
    engine.schedule.load_state_dict({"stride": 10**9, "next_record": engine.step_count + 10**9}, engine.step_count)
    best_s = _best(engine.step, steps, repeats, sync)
    engine_peak = _peak_mb()
    plain = plain_loop(engine, device=device)
    plain(2)
    best_p = _best(plain, steps, repeats, sync)
    row: dict[str, Any] = {
        "problem": name,
        "device": device,
        "dtype": "float32",
        "engine_steps_per_s": round(1 / best_e, 2),
        "plain_steps_per_s": round(1 / best_p, 2),
        "ratio": round(best_p / best_e, 2),
        "engine_steps_only_per_s": round(1 / best_s, 2),
        "ratio_steps_only": round(best_p / best_s, 2),
        "engine_status": engine.status,
        "engine_setup_s": round(setup, 2),
        "record_stride": stride,
        "steps_per_block": steps,
        "fast_path": _fast_path_name(engine),
        "engine_peak_rss_mb": round(engine_peak, 1),
    }
    if engine.problem.kind == "matrix_sensing" and "left" in engine.problem.data:
        dense = _dense_plain_loop(engine, device)
        dense(2)
        best_d = _best(dense, steps, repeats, sync)
        row["plain_dense_steps_per_s"] = round(1 / best_d, 2)
        row["ratio_dense"] = round(best_d / best_e, 2)
    row["peak_rss_mb"] = round(_peak_mb(), 1)
    row.update(machine_fields())
    return row


def _child(args) -> dict[str, Any]:
    return large_row(*args)


def run_rows(names: list[str], steps: int, repeats: int, device: str,
             rows: dict[str, list[tuple[str, Any]]] | None = None):
    """Yield each row as measured in a fresh spawned process (its own peak memory)."""
    rows = LARGE_ROWS if rows is None else rows
    ctx = multiprocessing.get_context("spawn")
    for name in names:
        with ctx.Pool(1) as pool:
            yield pool.apply(_child, ((name, rows[name], steps, repeats, device),))
