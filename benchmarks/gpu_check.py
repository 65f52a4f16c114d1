"""The GPU path checked: a CUDA smoke test of every problem kind, then steps/s at d = 1,000 and 4,000 against the
CPU (docs/benchmarks.md).  Run through ``bash benchmarks/gpu_check.sh`` from the repository root.

1. Smoke (one JSON line per problem kind, ``"check": "smoke"``): the kind's preset trained for ``--smoke-steps``
   steps in float32 on the device (torch) and on the CPU (numpy, closed-form gradients) from the same seeds;
   ``ok`` when the device run is still training (not diverged), its loss is finite and not above its first,
   and its loss agrees with the CPU's to ``rel_diff`` <= 1e-2 (float32 rounding along a short trajectory; an
   MLP's ReLU kinks may move it more, so the MLP kinds only need a finite, decreasing loss).  Also ``tf32``: the
   same device run with TF32 matmuls allowed.
2. Speed (``"check": "speed"``): matrix completion (10 % of the entries, rank 5), factorization (rank 10) and
   rank-one sensing (m = 5·r·d, rank 2), depth 2, float32, at each ``--sizes`` value: the engine's training steps
   per second with no metric record inside the timed blocks (the next record out of reach), on the CPU with one
   thread (``cpu_steps_per_s``) and on the device (``device_steps_per_s``), and their ``speedup``.  The CPU side takes few steps at d = 4,000 (each is a few
   seconds there).

Exits 1 with one line when torch sees no CUDA device (``--device cpu`` runs the same harness on the CPU's torch
backend, small sizes, to check the script itself).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time


def _fail(msg: str) -> None:
    print(f"gpu_check: {msg}", file=sys.stderr)
    sys.exit(1)


def _engine(overrides, device: str, dtype: str = "float32"):
    from ibviewer.core.config import build_config
    from ibviewer.core.engine import Engine

    backend = "numpy" if device == "numpy" else "torch"
    dev = "cpu" if device == "numpy" else device
    return Engine(build_config(overrides=list(overrides) + [
        ("run.device", dev), ("run.backend", backend), ("run.dtype", dtype), ("run.steps", 0)]))


def smoke(kind: str, device: str, steps: int, tf32: bool) -> dict:
    import torch

    from ibviewer.core.config import KIND_PRESET, build_config

    preset = build_config(preset=KIND_PRESET[kind])
    over = [(f"{t}.{k}", v) for t in ("problem", "model", "optimizer") for k, v in vars(getattr(preset, t)).items()]
    row = {"check": "smoke", "kind": kind, "device": device, "preset": KIND_PRESET[kind], "steps": steps}
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        dev = _engine(over, device)
        dev.step(1)
        loss0 = dev.current_loss()
        dev.step(steps - 1)
        cpu = _engine(over, "numpy")
        cpu.step(steps)
        loss, ref = dev.current_loss(), cpu.current_loss()
        rel = abs(loss - ref) / max(abs(ref), 1e-30)
        mlp = dev.is_mlp
        row.update(loss0=loss0, loss=loss, cpu_loss=ref, rel_diff=rel, status=dev.status)
        # not above its first loss (Razin-Cohen from small init sits on a plateau for its first hundreds of steps)
        row["ok"] = bool(dev.status != "diverged" and math.isfinite(loss) and loss <= loss0 * (1 + 1e-6)
                         and (mlp or rel <= 1e-2))
        if tf32 and device == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            t = _engine(over, device)
            t.step(steps)
            row["tf32_loss"] = t.current_loss()
            row["tf32_rel_diff"] = abs(t.current_loss() - ref) / max(abs(ref), 1e-30)
            torch.backends.cuda.matmul.allow_tf32 = False
    except Exception as exc:  # noqa: BLE001 - a smoke test reports any failure as its row
        row.update(ok=False, error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return row


SPEED_PROBLEMS = {
    "completion": lambda d: [("problem.kind", "matrix_completion"), ("problem.d", d), ("problem.rank", 5),
                             ("problem.measurements", d * d // 10), ("optimizer.lr", 0.002)],
    "factorization": lambda d: [("problem.kind", "matrix_factorization"), ("problem.d", d),
                                ("problem.target", "lowrank_noise"), ("problem.rank", 10), ("optimizer.lr", 0.05)],
    "sensing_rank_one": lambda d: [("problem.kind", "matrix_sensing"), ("problem.operator", "rank_one"),
                                   ("problem.d", d), ("problem.rank", 2), ("problem.measurements", 10 * d),
                                   ("problem.singular_values", []), ("optimizer.lr", 0.001)],
}


def steps_per_s(overrides, device: str, steps: int) -> tuple[float, str]:
    """Training steps per second with no record in the timed block, and the engine's status after it."""
    import torch

    e = _engine(list(overrides) + [("model.depth", 2), ("model.init_scale", 1e-3), ("run.history_rows", 16)],
                device)
    e.schedule.load_state_dict({"stride": 10**9, "next_record": 10**9}, 0)  # no record while timed
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    e.step(1)  # warm-up (allocations, kernels)
    sync()
    t = time.perf_counter()
    e.step(steps)
    sync()
    return steps / (time.perf_counter() - t), e.status


def speed(problem: str, d: int, device: str, device_steps: int) -> dict:
    cpu_steps = max(1, min(20, int(2e10 / d**3)))  # ~20 s of CPU at most (d = 4,000: 1 step)
    row = {"check": "speed", "problem": problem, "d": d, "device": device, "dtype": "float32"}
    try:
        over = SPEED_PROBLEMS[problem](d)
        fast, status = steps_per_s(over, device, device_steps)
        cpu, _ = steps_per_s(over, "numpy", cpu_steps)
        row.update({"device_steps_per_s": round(fast, 2), "cpu_steps_per_s": round(cpu, 3),
                    "speedup": round(fast / cpu, 1), "status": status, "cpu_steps_timed": cpu_steps,
                    "device_steps_timed": device_steps})
    except Exception as exc:  # noqa: BLE001
        row.update(error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--sizes", default="1000,4000", help="comma-separated matrix sizes d of the speed rows")
    ap.add_argument("--smoke-steps", type=int, default=50)
    ap.add_argument("--device-steps", type=int, default=20, help="timed steps on the device per speed row")
    ap.add_argument("--skip-smoke", action="store_true")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        _fail("torch is not installed; the GPU path needs it (pip install torch with CUDA)")
    if args.device == "cuda" and not torch.cuda.is_available():
        _fail(f"torch sees no CUDA device (torch {torch.__version__}, built for CUDA {torch.version.cuda}); "
              "run this on a machine with a CUDA GPU")
    from ibviewer.core.backend import limit_threads
    from ibviewer.core.bench import machine_fields
    from ibviewer.core.config import PROBLEM_KINDS

    limit_threads()
    head = {"check": "machine", "torch": torch.__version__, "cuda": torch.version.cuda, **machine_fields()}
    if args.device == "cuda":
        head["gpu"] = torch.cuda.get_device_name(0)
    print(json.dumps(head), flush=True)
    failed = 0
    if not args.skip_smoke:
        for kind in PROBLEM_KINDS:
            row = smoke(kind, args.device, args.smoke_steps, tf32=True)
            failed += not row["ok"]
            print(json.dumps(row), flush=True)
    for d in (int(s) for s in args.sizes.split(",") if s.strip()):
        for problem in SPEED_PROBLEMS:
            row = speed(problem, d, args.device, args.device_steps)
            failed += "error" in row
            print(json.dumps(row), flush=True)
    print(json.dumps({"check": "done", "failed": failed}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
