"""Peak memory of a 300-step rank-one sensing run at d = 200, m = 4,000, rank 2 (docs/benchmarks.md).

The dense operator of these measurements would hold 4,000 x 200² numbers (1.28 GB in float64); the rank-one
operator holds two 4,000 x 200 arrays (12.8 MB).  Prints one JSON line: the process's peak resident memory
(``resource.getrusage`` maxrss) after building the problem, its references and 300 training steps with the
metrics recorded at the default cadence.  Run from the repository root:

    PYTHONPATH=$PWD python benchmarks/rank_one_memory.py [HISTORY_ROWS]

The history preallocates its rows, each holding the 200 x 200 product (320 KB): with the default
``run.history_rows`` it takes its whole 200 MB budget (651 rows) at the first record, more than the operator.
The benchmark therefore sets ``run.history_rows = 128`` (a 300-step run records 89 rows, so nothing is thinned);
pass another number as the argument to see the default's figure (20000).
"""

from __future__ import annotations

import json
import resource
import sys
import time

from ibviewer.core.backend import limit_threads
from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine


def peak_mb() -> float:
    """Peak resident memory of this process in MB (maxrss is in KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1e6 if sys.platform == "darwin" else rss * 1024 / 1e6


def main() -> None:
    history_rows = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    limit_threads()
    cfg = build_config(overrides=[
        ("problem.kind", "matrix_sensing"), ("problem.operator", "rank_one"), ("problem.d", 200),
        ("problem.rank", 2), ("problem.measurements", 4000), ("problem.singular_values", []),
        ("model.depth", 2), ("model.init_scale", 1e-3), ("optimizer.lr", 0.001), ("run.steps", 300),
        ("run.history_rows", history_rows),
    ])
    t0 = time.perf_counter()
    e = Engine(cfg)
    built = time.perf_counter() - t0
    t1 = time.perf_counter()
    e.run()
    trained = time.perf_counter() - t1
    print(json.dumps({
        "problem": "sensing_rank_one_d200", "d": 200, "measurements": 4000, "rank": 2, "steps": e.step_count,
        "history_rows": history_rows, "history_mb": round(e.history.nbytes / 1e6, 1),
        "setup_s": round(built, 2), "train_s": round(trained, 2), "loss": e.current_loss(),
        "peak_rss_mb": round(peak_mb(), 1),
        "dense_operator_mb": round(4000 * 200 * 200 * 8 / 1e6, 1),
    }))


if __name__ == "__main__":
    main()
