"""Print the value this code reaches in every acceptance experiment of docs/science.md.

Each experiment trains its preset exactly as the test in tests/test_science.py (or tests/test_nonlinear.py)
does and prints the quantity that test checks, per seed, next to the test's tolerance.  The tests assert; this
script measures, so the numbers in docs/science.md can be regenerated:

    PYTHONPATH=$PWD python docs/tools/science_values.py              # every experiment, seeds 0 and 1
    PYTHONPATH=$PWD python docs/tools/science_values.py AT3 AT9      # some of them
    PYTHONPATH=$PWD python docs/tools/science_values.py --seeds 0,1,2 --jobs 2

Output: one Markdown table row per checked quantity and seed, and the wall time of each experiment.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ibviewer.core import metrics as M
from ibviewer.core.compare import preset_runs
from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.problems import make_problem


def train(preset: str, **overrides) -> Engine:
    e = Engine(build_config(preset=preset, overrides=list(overrides.items())))
    e.run()
    return e


def ref(e: Engine, name: str) -> float:
    return e.summary()["references"][name]


def first_at(h, column: str, step: int):
    i = int(np.searchsorted(h["step"], step))
    return int(h["step"][i]), h[column][i]


def g(x: float) -> str:
    return f"{x:.3g}"


# Each experiment returns rows (quantity, tolerance, measured value as text) for one seed.
def at1(seed):
    p = "hadamard_l1_bias"
    n2 = train(p, **{"problem.seed": seed})
    n3 = train(p, **{"problem.seed": seed, "model.depth": 3, "model.init_scale": 1e-2})
    n1 = train(p, **{"problem.seed": seed, "model.depth": 1, "model.parametrization": "linear",
                     "model.init": "zeros", "run.loss_tol": 1e-20})
    return [("N=2: ‖x − x_ℓ1‖/‖x_ℓ1‖", "≤ 0.08", g(ref(n2, "min_l1"))),
            ("N=3: ‖x − x_ℓ1‖/‖x_ℓ1‖", "≤ 0.015", g(ref(n3, "min_l1"))),
            ("depth 1 from 0: distance to x_ℓ1", "≥ 0.5", g(ref(n1, "min_l1"))),
            ("depth 1 from 0: distance to x_ℓ2", "≤ 1e-6", g(ref(n1, "min_l2")))]


def at2(seed):
    p = "hadamard_kernel_to_rich"
    alphas = [10.0, 1.0, 0.3, 0.1, 1e-2, 1e-3]
    runs = [train(p, **{"problem.seed": seed, "model.init_scale": a, "optimizer.lr": 2e-4 if a == 10 else 0.01})
            for a in alphas]
    d = [ref(e, "min_l1") for e in runs]
    n3 = train(p, **{"problem.seed": seed, "model.depth": 3, "model.init_scale": 0.1})
    return [("distance to x_ℓ1 for α = 10, 1, 0.3, 0.1, 1e-2, 1e-3", "strictly decreasing",
             ", ".join(g(v) for v in d)),
            ("α = 10: distance to x_ℓ2", "≤ 1e-3", g(ref(runs[0], "min_l2"))),
            ("α = 1e-3: distance to x_ℓ1", "≤ 0.02", g(d[-1])),
            ("α = 0.1: N=3 distance / N=2 distance", "< 0.5", g(ref(n3, "min_l1") / d[3]))]


def at3(seed):
    rows = []
    for alpha in (1.0, 0.3, 0.1):
        e = train("hadamard_q_alpha_limit", **{"problem.seed": seed, "model.init_scale": alpha})
        s = e.summary()
        rows.append((f"α = {alpha}: distance to the Q_α minimiser (steps, final loss)", "≤ 2e-3",
                     f"{g(ref(e, 'q_alpha'))} ({e.step_count} steps, loss {s['final_loss']:.1e})"))
        rows.append((f"α = {alpha}: distance to x_ℓ1 (non-vacuous)", "> 0.1", g(ref(e, "min_l1"))))
    return rows


def at4(seed):
    p = "sensing_depth_low_rank"
    s = {"problem.seed": seed, "run.seed": seed}
    d3 = train(p, **s)
    d2 = train(p, **s, **{"model.depth": 2})
    d1 = train(p, **s, **{"model.depth": 1, "model.init": "zeros"})
    big = train(p, **s, **{"model.init_scale": 1.0})
    er_true = M.effective_ranks(d3.problem.target_singular_values)["entropy"]
    r3 = d3.summary()
    return [("depth 3, α = 1e-3: relative error", "≤ 0.01", g(r3["relative_error"])),
            ("depth 3: entropy erank − erank(W*)", "|·| ≤ 0.1",
             f"{r3['effective_rank']['entropy'] - er_true:+.3g} (erank(W*) = {er_true:.3f})"),
            ("depth 2, α = 1e-3: relative error", "0.03 – 0.3", g(d2.summary()["relative_error"])),
            ("depth 1 from 0: relative error", "≥ 0.7", g(d1.summary()["relative_error"])),
            ("depth 3, α = 1: relative error", "≥ 0.4", g(big.summary()["relative_error"]))]


def at5(seed):
    p = "completion_depth_low_rank"
    s = {"problem.seed": seed, "run.seed": 0}
    d3 = train(p, **s)
    d2 = train(p, **s, **{"model.depth": 2, "optimizer.lr": 0.02, "run.steps": 20000})
    d1 = train(p, **s, **{"model.depth": 1, "model.init": "zeros"})
    e3, e2, e1 = (e.summary()["relative_error"] for e in (d3, d2, d1))
    return [("depth 3: relative error", "≤ 0.02", g(e3)),
            ("depth 2: relative error", "> depth 3", g(e2)),
            ("depth 1 from 0: relative error", "≥ 0.7", g(e1))]


def _erank_dip(h, target):
    er = h["erank_entropy"]
    i = int(np.argmin(er))
    rise = float(np.min(np.diff(er[i:]))) if i < len(er) - 1 else 0.0
    return (f"start {er[0]:.3f}, minimum {er[i]:.3f}, smallest step after it {rise:+.1e}, "
            f"final {er[-1]:.4f} (erank(A) = {target:.4f})")


def at6(seed):
    if seed != 0:  # the test runs one seed per depth: depth 2 on problem seed 0, depth 3 on problem seed 1
        return []
    alpha, lr = 1e-4, 0.02
    e = train("factorization_sequential_learning", **{"problem.seed": 0, "run.record_every": 1,
                                                      "run.history_rows": 40001})
    h, s = e.history, e.problem.target_singular_values
    t = M.half_times(h["sv"], h["step"], s)
    saxe = np.log(s / alpha - 1) / (2 * lr * s)
    rows = [("N=2: half-times in order", "t_1 < … < t_10", ", ".join(str(int(v)) for v in t)),
            ("N=2: max |half-time − ln(s/α − 1)/(2ηs)|", "≤ 5 steps", g(np.max(np.abs(t - saxe)))),
            ("N=2: entropy erank", "min ≤ 1.5, then non-decreasing, final ±0.01 of erank(A)",
             _erank_dip(h, M.effective_ranks(s)["entropy"]))]
    e = train("factorization_sequential_learning", **{"problem.seed": 1, "model.depth": 3,
                                                      "optimizer.lr": 0.01, "run.steps": 120000})
    h, s = e.history, e.problem.target_singular_values
    t = M.half_times(h["sv"], h["step"], s)
    rows += [("N=3 (problem seed 1): half-times in order", "t_1 < … < t_10", ", ".join(str(int(v)) for v in t)),
             ("N=3: entropy erank", "as N=2", _erank_dip(h, M.effective_ranks(s)["entropy"]))]
    return rows


def at7(seed):
    rows = []
    for depth, arm in ((2, {"model.depth": 2, "model.init_scale": 1e-6, "optimizer.lr": 0.02, "run.steps": 6000}),
                       (3, {})):
        e = train("sensing_incremental_rank",
                  **{"problem.seed": seed, "run.seed": seed, "run.record_every": 1}, **arm)
        h = e.history
        target = e.problem.target_singular_values[:3]
        t = M.half_times(h["sv"][:, :3], h["step"], target)
        _, sv = first_at(h, "sv", int(t[0]))
        rows += [(f"depth {depth}: half-times t₁, t₂, t₃", "t₁ < t₂ < t₃", ", ".join(str(int(v)) for v in t)),
                 (f"depth {depth}: σ₂/6 at t₁", "≤ 0.05", g(sv[1] / target[1]))]
    return rows


def at8(seed):
    e = train("razin_cohen_norms_diverge", **{"run.seed": seed})
    h = e.history
    w00, loss = h["abs_w00"][-1], h["loss"][-1]
    return [("|W00| at loss 1e-3 (steps)", "≥ 15", f"{w00:.4g} ({e.step_count} steps)"),
            ("entropy erank at loss 1e-3", "≤ 1.01", f"{h['erank_entropy'][-1]:.6f}"),
            ("|W00| · √(3·loss)", "1 ± 0.05", f"{w00 * np.sqrt(3 * loss):.4f}"),
            ("‖W‖_F(end)/‖W‖_F(0); ‖W‖_*(end)", "> 10; ≥ 15",
             f"{h['norm_fro'][-1] / h['norm_fro'][0]:.3g}; {h['norm_nuclear'][-1]:.4g}")]


def at9(seed):
    cfg = build_config(preset="logistic_max_margin", overrides=[("problem.seed", seed)])
    lr = 1.0 / np.linalg.norm(make_problem(cfg).data["X"], 2)
    e = train("logistic_max_margin", **{"problem.seed": seed, "optimizer.lr": lr})
    w_hat = float(np.linalg.norm(e.refs["max_margin"][0]))
    h = e.history
    t1, w1 = first_at(h, "w_norm", 100_000)
    t2, w2 = int(h["step"][-1]), h["w_norm"][-1]
    slope = (w2 - w1) / np.log(t2 / t1)
    _, tl1 = first_at(h, "t_loss", 100_000)
    return [("‖ŵ‖ (hard-margin SVM)", "0.7071 ± 1e-4", f"{w_hat:.6f}"),
            ("slope of ‖w‖ against ln t, 1e5 → 1e6, relative to ‖ŵ‖", "within 3 %", f"{slope / w_hat - 1:+.2%}"),
            ("change of t·loss, 1e5 → 1e6", "< 5 %", f"{h['t_loss'][-1] / tl1 - 1:+.2%}"),
            ("angle to ŵ at 1e6 steps (degrees)", "< 1", g(h["angle_deg"][-1]))]


def at10(seed):
    drifts = {}
    for lr in (1e-2, 3e-3, 1e-3):
        e = train("deep_linear_balancedness", **{"problem.seed": seed, "run.seed": seed, "optimizer.lr": lr,
                                                 "run.steps": int(round(30 / lr))})
        d0 = e.history["balancedness"][0]
        drifts[lr] = e.history["balance_drift"][-1]
    per = np.array([drifts[lr] / lr for lr in drifts])
    return [("‖D_j(0)‖_F, j = 1, 2", "in (2, 10)", ", ".join(g(v) for v in d0)),
            ("drift ‖D_j(T) − D_j(0)‖_F at η = 1e-2, 3e-3, 1e-3 (j = 1 | j = 2)", "∝ η",
             " | ".join(", ".join(g(drifts[lr][j]) for lr in drifts) for j in range(len(d0)))),
            ("max/min over η of drift/η", "≤ 1.2", ", ".join(f"{v:.3f}" for v in per.max(0) / per.min(0))),
            ("η = 1e-3: drift / ‖D_j(0)‖_F", "≤ 2e-3", ", ".join(g(v) for v in drifts[1e-3] / d0))]


def at11(seed):
    rows = []
    for depth, arm in ((2, {}), (3, {"model.depth": 3, "optimizer.lr": 0.01, "run.steps": 60000})):
        e = train("factorization_early_stopping", **{"problem.seed": seed, "run.seed": seed}, **arm)
        r = e.history["rel_error"]
        rows.append((f"depth {depth}: best / final error to the clean matrix", "≤ 0.6",
                     f"{r.min() / r[-1]:.3f} ({r.min():.4f} / {r[-1]:.4f})"))
    return rows


def at12(seed):
    over = {"problem.seed": seed, "run.seed": seed}
    plain = ref(train("label_noise_sparse", **over, **{"optimizer.label_noise": 0.0}), "min_l1")
    noisy = ref(train("label_noise_sparse", **over), "min_l1")
    return [("plain GD: distance to x_ℓ1", "> 0.5", g(plain)),
            ("σ = 1: distance to x_ℓ1 / plain GD's", "≤ 0.5", f"{noisy / plain:.3f} ({g(noisy)})")]


def mlp_interpolation(seed):
    over = [("problem.seed", seed), ("run.seed", seed)]
    e = Engine(build_config(preset="mlp_interpolation_generalizes", overrides=over))
    e.run()
    s = e.summary()
    y_test, y = e.problem.data["Y_test"], e.problem.data["Y"]
    trivial = float(((y_test - y.mean()) ** 2).sum() / (2 * len(y_test)))
    small = Engine(build_config(preset="mlp_interpolation_generalizes", overrides=over + [("problem.samples", 20)]))
    small.run()
    ss = small.summary()
    return [("n = 100: train loss", "< 1e-6", f"{s['train_loss']:.1e}"),
            ("n = 100: trivial test loss / test loss", "≥ 2", g(trivial / s["test_loss"])),
            ("gap (test − train) at n = 20 / at n = 100", "> 1.5",
             g((ss["test_loss"] - ss["train_loss"]) / (s["test_loss"] - s["train_loss"])))]


def mlp_lazy_rich(seed):
    out = {}
    for (_, cfg), name in zip(preset_runs("mlp_lazy_vs_rich", [("problem.seed", seed), ("run.seed", seed)]),
                              ("lazy", "rich")):
        e = Engine(cfg)
        e.run()
        sv = np.asarray(e.history.last()["sv_layer1"])
        out[name] = e.summary() | {"stable_rank": float((sv**2).sum() / sv[0] ** 2)}
    lazy, rich = out["lazy"], out["rich"]
    return [("lazy: max relative weight change", "< 0.05", g(max(lazy["layer_relative_change"]))),
            ("rich: min relative change, layers 1–2", "> 1", g(min(rich["layer_relative_change"][:2]))),
            ("hidden-layer stable rank, lazy | rich", "> 10 | < 2.5",
             f"{lazy['stable_rank']:.3g} | {rich['stable_rank']:.3g}"),
            ("hidden-layer entropy erank, lazy | rich", "> 45 | < ½ lazy",
             f"{lazy['layer_effective_ranks'][1]:.3g} | {rich['layer_effective_ranks'][1]:.3g}"),
            ("test loss, lazy / rich", "> 5", g(lazy["test_loss"] / rich["test_loss"]))]


def mlp_digits(seed):
    e = Engine(build_config(preset="mlp_digits", overrides=[("problem.seed", seed), ("run.seed", seed),
                                                            ("run.steps", 1000)]))
    e.run()
    s = e.summary()
    return [("train accuracy at 1,000 steps", "= 1", g(s["train_accuracy"])),
            ("test accuracy at 1,000 steps", "≥ 0.93", f"{s['test_accuracy']:.4f}")]


EXPERIMENTS = {"AT1": at1, "AT2": at2, "AT3": at3, "AT4": at4, "AT5": at5, "AT6": at6, "AT7": at7, "AT8": at8,
               "AT9": at9, "AT10": at10, "AT11": at11, "AT12": at12, "MLP-interpolation": mlp_interpolation,
               "MLP-lazy-rich": mlp_lazy_rich, "MLP-digits": mlp_digits}


def measure(job: tuple[str, int]):
    name, seed = job
    t0 = time.perf_counter()
    rows = EXPERIMENTS[name](seed)
    return name, seed, rows, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experiments", nargs="*", help=f"any of {', '.join(EXPERIMENTS)} (default: all)")
    ap.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1, as the tests)")
    ap.add_argument("--jobs", type=int, default=1, help="processes (default 1)")
    a = ap.parse_args(argv)
    names = a.experiments or list(EXPERIMENTS)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        ap.error(f"unknown experiment {', '.join(unknown)}; allowed: {', '.join(EXPERIMENTS)}")
    seeds = [int(s) for s in a.seeds.split(",")]
    jobs = [(n, s) for n in names for s in seeds]
    t0 = time.perf_counter()
    print("| experiment | seed | quantity | tolerance | measured |\n|---|---|---|---|---|", flush=True)
    times = []
    with ProcessPoolExecutor(max_workers=a.jobs) if a.jobs > 1 else _Serial() as pool:
        for name, seed, rows, sec in pool.map(measure, jobs):
            for q, tol, val in rows:
                cells = (name, str(seed), q, tol, val)
                print("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |", flush=True)
            times.append(f"{name} seed {seed}: {sec:.0f} s")
    print("\n" + "; ".join(times), file=sys.stderr)
    print(f"total wall time {time.perf_counter() - t0:.0f} s ({a.jobs} process(es))", file=sys.stderr)
    return 0


class _Serial:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def map(f, jobs):
        return map(f, jobs)


if __name__ == "__main__":
    raise SystemExit(main())
