"""``ibviewer bench``: the engine against a plain torch-autograd loop on the same problem, in one run.

The plain loop is written as a user would write it: parameters with ``requires_grad``, ``loss.backward()``,
an in-place SGD update under ``no_grad``.  The engine records its metrics at its default cadence, as in the
app, and takes the steps between records through its fast path where it has one (``fast_path`` in the row).
Both are timed in alternating blocks (so machine noise hits both alike) and the best block of each is reported,
one JSON object per line.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import numpy as np

from ibviewer.core.bench_large import LARGE_ROWS, run_rows
from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine

ROWS: dict[str, list[tuple[str, Any]]] = {
    "sensing": [
        ("problem.kind", "matrix_sensing"), ("problem.d", 30), ("problem.rank", 3), ("problem.measurements", 600),
        ("problem.singular_values", []), ("model.depth", 3), ("model.init_scale", 1e-3), ("optimizer.lr", 0.01),
    ],
    "completion": [
        ("problem.kind", "matrix_completion"), ("problem.d", 30), ("problem.rank", 3), ("problem.measurements", 270),
        ("model.depth", 3), ("model.init_scale", 1e-3), ("optimizer.lr", 0.01),
    ],
    "pm_power": [
        ("problem.kind", "sparse_recovery"), ("problem.n", 1000), ("problem.measurements", 200),
        ("problem.sparsity", 5), ("model.parametrization", "pm_power"), ("model.depth", 3),
        ("model.init_scale", 1e-2), ("optimizer.lr", 0.02),
    ],
    "regression": [
        ("problem.kind", "linear_regression"), ("problem.d", 6), ("problem.samples", 50), ("model.depth", 3),
    ],
    # a ReLU MLP (biases, standard init) on a teacher-student problem; GD with a step below 2 / lambda_max(NTK)
    "mlp": [
        ("problem.kind", "teacher_student"), ("problem.samples", 200), ("model.parametrization", "mlp"),
        ("model.depth", 3), ("model.width", 256), ("optimizer.name", "gd"), ("optimizer.lr", 0.005),
    ],
}


def plain_loop(engine: Engine, device: str = "cpu") -> Callable[[int], None]:
    """A torch-autograd training loop for the engine's problem and initial point, as a user would write it."""
    import torch

    from ibviewer.core.ops import to_numpy

    torch.set_num_threads(1)
    cfg, prob = engine.cfg, engine.problem
    lr = cfg.optimizer.lr
    dt = torch.float64 if cfg.run.dtype == "float64" else torch.float32
    params = [torch.tensor(np.asarray(to_numpy(p)), dtype=dt, device=device, requires_grad=True)
              for p in engine.params]
    data = {k: torch.as_tensor(v, device=device, dtype=dt if np.asarray(v).dtype.kind == "f" else None)
            for k, v in prob.data.items()}
    kind, depth = prob.kind, cfg.model.depth
    if cfg.family == "mlp":
        return _plain_mlp_loop(engine, params, data, lr)

    def loss_fn():
        if cfg.family == "diagonal":
            u, v = params
            x = u**depth - v**depth
            return 0.5 * ((data["A"] @ x - data["y"]) ** 2).sum()
        p = params[0]
        for w in params[1:]:
            p = w @ p
        if kind == "matrix_sensing" and "left" in data:  # rank-one measurements, written with their structure
            return 0.5 * ((((data["left"] @ p) * data["right"]).sum(1) - data["y"]) ** 2).sum()
        if kind == "matrix_sensing":
            return 0.5 * ((data["A"] @ p.reshape(-1) - data["y"]) ** 2).sum()
        if kind == "matrix_factorization":
            return 0.5 * ((p - data["M"]) ** 2).sum()
        if kind == "matrix_completion":
            return 0.5 * ((p[data["rows"], data["cols"]] - data["values"]) ** 2).sum()
        if kind == "linear_regression":
            n = data["X"].shape[1]
            return ((p @ data["X"] - data["Y"]) ** 2).sum() / (2 * n)
        raise ValueError(kind)

    return _sgd_loop(loss_fn, params, lr)


def _sgd_loop(loss_fn, params, lr: float) -> Callable[[int], None]:
    """k steps of loss.backward() and an in-place SGD update under no_grad, as a user writes them."""
    import torch

    def run(k: int) -> None:
        for _ in range(k):
            loss = loss_fn()
            loss.backward()
            with torch.no_grad():
                for w in params:
                    w -= lr * w.grad
                    w.grad.zero_()

    return run


def _plain_mlp_loop(engine: Engine, params, data, lr: float) -> Callable[[int], None]:
    """The MLP as a user writes it in torch: x @ W.T + b, an activation between layers, the mean loss."""
    import torch
    import torch.nn.functional as F

    m = engine.cfg.model
    if m.weight_norm:
        raise ValueError("the plain loop has no weight normalization")
    per = 2 if m.bias else 1
    layers = [(params[j * per], params[j * per + 1] if m.bias else None) for j in range(m.depth)]
    act = {"relu": torch.relu, "tanh": torch.tanh, "linear": lambda z: z}[m.activation]
    x = data["X"]
    regression = engine.model.task == "regression"
    y = data["Y"] if regression else data["labels"]

    def forward():
        h = x
        for j, (w, b) in enumerate(layers):
            h = F.linear(h, w, b)
            if j < len(layers) - 1:
                h = act(h)
        return h

    with torch.no_grad():
        offset = forward() if m.center_output else 0.0

    def loss_fn():
        out = forward() - offset
        return ((out - y) ** 2).sum() / (2 * len(y)) if regression else F.cross_entropy(out, y)

    return _sgd_loop(loss_fn, params, lr)


def _alternate(a: Callable[[int], Any], b: Callable[[int], Any], block: int, repeats: int) -> tuple[float, float]:
    """Best seconds per step of ``a`` and of ``b``, timed in alternating blocks (noise hits both alike)."""
    a(50)
    b(50)
    best_a = best_b = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a(block)
        best_a = min(best_a, (time.perf_counter() - t) / block)
        t = time.perf_counter()
        b(block)
        best_b = min(best_b, (time.perf_counter() - t) / block)
    return best_a, best_b


def machine_fields() -> dict[str, Any]:
    """What a row's figures depend on beyond the code, read now: the L2 cache (its size sets the blocks of the
    large least-squares losses), the other caches, the BLAS libraries with their threads, and the block sizes
    derived from the cache."""
    from ibviewer.core import problems
    from ibviewer.core.hardware import describe_caches, l2_cache
    from ibviewer.core.provenance import blas_libraries

    l2 = l2_cache()
    return {
        "l2_cache_bytes": l2["bytes"],
        "l2_cache": f"level {l2['level']} {l2['type']}, {l2['bytes'] >> 10} KiB ({l2['source']})",
        "caches": describe_caches(),
        "blas": blas_libraries(),
        "block_bytes": problems.BLOCK_BYTES,
        "band_bytes": problems._TriangularLeastSquares.BAND_BYTES,
    }


def _fast_path_name(engine: Engine) -> str | None:
    """The fast path's class, and for sensing whether the loss reads A through its triangular factor or in
    row blocks."""
    fast = engine.fast_path
    if fast is None:
        return None
    name = type(fast).__name__
    head = engine.head
    if head.bands is not None:
        name += " + triangular factor of A"
    elif head.blocks is not None:
        name += " + row blocks of A"
    return name


def bench_row(name: str, overrides, *, block: int = 500, repeats: int = 5) -> dict[str, Any]:
    cfg = build_config(overrides=list(overrides) + [("run.steps", 0)])
    engine = Engine(cfg)
    best_e, best_p = _alternate(engine.step, plain_loop(engine), block, repeats)
    return {
        "problem": name,
        "engine_steps_per_s": round(1 / best_e, 1),
        "plain_steps_per_s": round(1 / best_p, 1),
        "ratio": round(best_p / best_e, 2),
        "engine_us_per_step": round(best_e * 1e6, 1),
        "plain_us_per_step": round(best_p * 1e6, 1),
        "backend": engine.backend,
        "fast_path": _fast_path_name(engine),
        "record_stride": engine.stride,
        "recorded_rows": engine.history.n,
        **machine_fields(),
    }


def bench_compare(n_runs: int = 8, *, block: int = 300, repeats: int = 5) -> dict[str, Any]:
    """Cost of ``n_runs`` completion runs (d = 30, differing in alpha) trained together against one run."""
    from ibviewer.core.compare import RunGroup, expand

    base = build_config(overrides=list(ROWS["completion"]) + [("run.steps", 0)])
    alphas = [f"{a:.3g}" for a in np.logspace(-4, -1, n_runs)]
    runs = expand(base, [("model.init_scale", alphas)])
    group = RunGroup(runs)
    best_g, best_1 = _alternate(group.step, Engine(base).step, block, repeats)
    # the same runs trained one after another (no stack): what stacking saves
    best_g2, best_u = _alternate(group.step, RunGroup(runs, batch=False).step, block, repeats)
    return {
        "problem": f"compare{n_runs}_completion",
        "runs": n_runs,
        "batched": len(group.batches) == 1,
        "one_run_us_per_step": round(best_1 * 1e6, 1),
        "all_runs_us_per_step": round(min(best_g, best_g2) * 1e6, 1),
        "cost_ratio": round(min(best_g, best_g2) / best_1, 2),
        "unstacked_us_per_step": round(best_u * 1e6, 1),
        "stacking_speedup": round(best_u / min(best_g, best_g2), 2),
        "fast_path": "ProductGD (stacked)" if any(getattr(b, "fast", None) for b in group.batches) else None,
        **machine_fields(),
    }


def main(argv: list[str] | None = None) -> int:
    from ibviewer.core.cli_args import ArgumentParser, UsageError, report_error

    ap = ArgumentParser(prog="ibviewer bench", description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="",
                    help=f"comma-separated rows among {', '.join(ROWS)}, compare8 (8 runs batched vs 1); all by "
                         "default")
    ap.add_argument("--block", type=int, default=0, help="steps per timed block (default 500; --large: one record stride, 25)")
    ap.add_argument("--repeats", type=int, default=0, help="timed blocks of each side (default 5; --large: 2)")
    ap.add_argument("--large", action="store_true",
                    help=f"the large rows instead ({', '.join(LARGE_ROWS)}), float32, each in a process of its own")
    ap.add_argument("--device", default="cpu", help="with --large: cpu or cuda")
    try:
        args = ap.parse_args(argv)
        allowed = list(LARGE_ROWS) if args.large else list(ROWS) + ["compare8"]
        names = [r.strip() for r in args.rows.split(",") if r.strip()] if args.rows else allowed
        unknown = [r for r in names if r not in allowed]
        if unknown:
            raise UsageError(f"unknown row {unknown[0]!r}; rows{' with --large' if args.large else ''} are: "
                             f"{', '.join(allowed)}")
        if args.device not in ("cpu", "cuda"):
            raise UsageError(f"--device {args.device!r} is not allowed; use cpu or cuda")
        if args.device == "cuda" and not args.large:
            raise UsageError("--device cuda needs --large")
        if args.block < 0 or args.repeats < 0:
            raise UsageError("--block and --repeats must be whole numbers >= 1")
        if args.device == "cuda":
            from ibviewer.core.backend import resolve_device

            if resolve_device("auto") != "cuda":
                raise UsageError("--device cuda: torch sees no CUDA device")
    except UsageError as exc:
        return report_error("ibviewer bench", exc)
    if args.large:
        for row in run_rows(names, args.block, args.repeats or 2, args.device):
            print(json.dumps(row), flush=True)
        return 0
    args.block, args.repeats = args.block or 500, args.repeats or 5
    for name in names:
        if name == "compare8":
            row = bench_compare(8, block=args.block, repeats=args.repeats)
        else:
            row = bench_row(name, ROWS[name], block=args.block, repeats=args.repeats)
        print(json.dumps(row), flush=True)
    return 0
