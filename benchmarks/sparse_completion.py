"""Dense masked against sparse (CSR) completion gradients, one core, float32: prints one JSON line per case.

Each case times, for the same factors and observed entries, one full-batch loss-and-gradient step of the engine's
code paths: ``LossHead`` with the dense mask, and with ``sparse_gradient=True``, each followed by the model's
gradient products, for the depth-2 product and for the symmetric U Uᵀ (on a symmetric problem).  ``ratio`` =
dense seconds / sparse seconds (above 1: the sparse path is faster), measured in one run.  Usage: ``PYTHONPATH=$PWD python benchmarks/sparse_completion.py``.
"""

from __future__ import annotations

import json
import time

import numpy as np
from threadpoolctl import threadpool_limits

from ibviewer.core.config import build_config
from ibviewer.core.models import make_model
from ibviewer.core.problems import LossHead, make_problem

CASES = [(1000, 1000, 0.10), (1000, 1000, 0.03), (1000, 1000, 0.01), (1000, 20, 0.10), (1000, 20, 0.03),
         (2000, 20, 0.01)]


def _best(f, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    for (d, width, frac), model_name in [(case, m) for m in ("product", "symmetric") for case in CASES]:
        cfg = build_config(overrides={"problem.kind": "matrix_completion", "problem.d": d, "problem.rank": 2,
                                      "problem.measurements": int(frac * d * d), "model.depth": 2,
                                      "model.width": width, "run.dtype": "float32", "model.parametrization": model_name,
                                      "problem.symmetric": model_name == "symmetric"})
        problem = make_problem(cfg)
        data = {k: (v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in problem.data.items()}
        model = make_model(cfg, problem)
        params = [w.astype(np.float32) for w in model.init(np.random.default_rng(0))]
        heads = {"dense": LossHead(problem, data), "sparse": LossHead(problem, data, sparse_gradient=True)}

        def step(head):
            P, cache = model.forward_and_cache(params)
            _, G = head(P)
            return model.grads(params, G, cache)

        with threadpool_limits(1):
            times = {k: _best(lambda h=h: step(h)) for k, h in heads.items()}
        print(json.dumps({"model": model_name, "d": d, "width": width, "observed_fraction": frac,
                          "dense_ms": round(times["dense"] * 1e3, 2), "sparse_ms": round(times["sparse"] * 1e3, 2),
                          "ratio": round(times["dense"] / times["sparse"], 2)}), flush=True)


if __name__ == "__main__":
    main()
