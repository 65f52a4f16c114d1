"""Determinism (docs/science.md, "Determinism"): one config and seed give bit-identical histories in the app and on
the command line, and runs trained stacked equal the same runs trained alone within a stated tolerance.

The app's path is the worker's: a :class:`~ibviewer.live.worker.Worker` serving a fake GUI in this process
(commands in, snapshots out, every snapshot acknowledged as the GUI does), playing until its runs stop; its
histories are those of its engines and, as the GUI holds them, the rows its snapshots carried merged into a
:class:`~ibviewer.live.series.HistoryMirror`.  The command line's path is ``ibviewer run --out DIR`` in this
process, read back from ``history.npz``.
"""

import json
from collections import deque

import numpy as np
import pytest

from ibviewer.cli import main
from ibviewer.core.compare import expand, parse_compare
from ibviewer.core.config import build_config, preset_info
from ibviewer.core.engine import Engine
from ibviewer.live import protocol as msg
from ibviewer.live.group import LiveGroup
from ibviewer.live.series import HistoryMirror
from ibviewer.live.worker import Worker

#: the one column that is not a function of the config and seed: seconds of wall clock spent training
WALL_CLOCK = "wall"


class PlayToTheEnd:
    """Both pipe ends of a worker: plays after the first snapshot, acknowledges every snapshot, merges each run's
    rows into a mirror as the GUI does, and quits once every run has stopped."""

    def __init__(self):
        self.queue: deque = deque()
        self.mirrors: dict[int, HistoryMirror] = {}
        self.polls = 0

    def poll(self, _timeout=0.0) -> bool:
        self.polls += 1
        if self.polls > 2_000_000:  # never: a run that does not stop fails the test instead of hanging it
            self.queue.append(msg.Quit())
        return bool(self.queue)

    def recv(self):
        return self.queue.popleft()

    def send(self, message) -> None:
        assert not isinstance(message, (msg.ConfigError, msg.Error, msg.Fatal)), f"the worker refused: {message}"
        if not isinstance(message, msg.Snapshot):
            return
        self.queue.append(msg.Ack(message.seq))
        for entry in message.runs:
            self.mirrors.setdefault(entry.id, HistoryMirror()).update(entry.rows, entry.replace)
        if message.seq == 1:
            self.queue.append(msg.Play())
        elif not message.playing and all(e.step > 0 and e.status != "running" for e in message.runs):
            self.queue.append(msg.Quit())

    def close(self) -> None:
        pass


def app_histories(runs):
    """Train ``runs`` (name, Config) in a worker as the app does; (engine histories, GUI mirrors, step counts) in
    run order."""
    pipe = PlayToTheEnd()
    specs = tuple(msg.RunSpec(i, name, cfg.to_dict()) for i, (name, cfg) in enumerate(runs))
    worker = Worker(pipe, pipe, {"runs": specs})
    worker.serve(specs[0].cfg)
    assert pipe.polls <= 2_000_000, "the runs never stopped"
    engines = worker.group.engines
    return ([e.history.as_dict() for e in engines], [pipe.mirrors[i] for i in range(len(runs))],
            [e.step_count for e in engines])


def cli_histories(argv, out):
    """``ibviewer run ARGV --out OUT``; (histories in run order, summaries)."""
    assert main(["run", *argv, "--out", str(out), "-q"]) == 0
    top = json.loads((out / "summary.json").read_text())
    if "runs" not in top:
        return [dict(np.load(out / "history.npz"))], [top]
    return ([dict(np.load(out / r["folder"] / "history.npz")) for r in top["runs"]],
            [r["summary"] for r in top["runs"]])


def assert_bitwise(a: np.ndarray, b: np.ndarray, what: str) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype, f"{what}: {a.shape} {a.dtype} against {b.shape} {b.dtype}"
    if a.tobytes() != b.tobytes():
        diff = np.nanmax(np.abs(a.astype(float) - b.astype(float)))
        raise AssertionError(f"{what} differs (max |difference| {diff:.3g})")


def preset_compare_flags(preset: str) -> list[str]:
    """The --compare flags that make the runs a comparison preset shows in the app."""
    return [f"--compare={k}={','.join(map(str, v))}" for k, v in preset_info(preset)["compare"].items()]


#: (preset, steps, extra --set, whether the app shows the preset's comparison): matrix sensing, matrix completion,
#: the pm_power (Hadamard) diagonal network, SGD (the sampler), an MLP (its BLAS-sized products), and a comparison
#: preset whose runs the worker and ``run --compare`` both train as one stack
CASES = [
    ("sensing_incremental_rank", 1500, [], False),
    ("completion_depth_low_rank", 1500, [], False),
    ("hadamard_l1_bias", 3000, [], False),
    ("even_large_step_sgd", 1500, ["optimizer.name=sgd"], False),
    ("mlp_interpolation_generalizes", 150, [], False),
    ("pesme_saddle_to_saddle", 2000, [], True),
]


@pytest.mark.parametrize("preset, steps, sets, compare", CASES, ids=[c[0] for c in CASES])
def test_the_app_and_the_command_line_record_bit_identical_histories(tmp_path, preset, steps, sets, compare):
    argv = ["--preset", preset, "--steps", str(steps)] + [f"--set={s}" for s in sets]
    if compare:
        argv += preset_compare_flags(preset)
    cli, summaries = cli_histories(argv, tmp_path / "out")
    base = build_config(preset=preset, overrides=[("run.steps", steps)] + [tuple(s.split("=")) for s in sets])
    runs = (expand(base, parse_compare([f[len("--compare="):] for f in preset_compare_flags(preset)]))
            if compare else [("run", base)])
    engines, mirrors, steps_taken = app_histories(runs)
    assert len(cli) == len(engines) == len(runs) >= (3 if compare else 1)
    for r, (c, e, m) in enumerate(zip(cli, engines, mirrors)):
        assert set(c) == set(e) and WALL_CLOCK in c and len(c["step"]) > 20
        # the same stop (the step limit, or the loss tolerance: the MLP interpolates sooner)
        assert summaries[r]["steps"] == steps_taken[r] <= steps and int(c["step"][-1]) <= steps
        for k in c:
            if k != WALL_CLOCK:
                assert_bitwise(e[k], c[k], f"run {r}: {k} (worker against run)")
        # what the GUI holds: every column the snapshots carry (a matrix model's parameters stay in the worker)
        assert m.n == len(c["step"]) and "loss" in m.cols
        for k, col in m.cols.items():
            if k != WALL_CLOCK:
                assert_bitwise(col[: m.n], c[k].astype(np.float64), f"run {r}: {k} (GUI mirror against run)")


def test_summary_records_the_versions_and_threads_that_made_it(tmp_path):
    import numba
    import scipy
    import torch

    import ibviewer

    assert main(["run", "--preset", "hadamard_l1_bias", "--steps", "50", "--out", str(tmp_path / "r"), "-q"]) == 0
    v = json.loads((tmp_path / "r" / "summary.json").read_text())["versions"]
    assert v["ibviewer"] == ibviewer.__version__ and v["numpy"] == np.__version__
    assert v["torch"] == torch.__version__ and v["scipy"] == scipy.__version__ and v["numba"] == numba.__version__
    blas = [lib for lib in v["blas"] if lib["user_api"] == "blas"]
    # the command line trains on one BLAS thread, as the app's worker does (the same rounding)
    assert blas and all(lib["num_threads"] == 1 for lib in blas) and all(lib["internal_api"] for lib in blas)


# ------------------------------------------------------------------------------------------- stacked against alone
#: Runs trained as one stack are the same arithmetic as runs trained alone, but not the same floating-point
#: operations: their products are batched matrix products (another BLAS kernel, or numpy's own loop, summing in
#: another order) and their fast path updates one flat array for every run.  Every step may therefore round the
#: last bit differently (a relative 1e-16), and over a few thousand steps of a run that converges these
#: differences add up to at most a few 1e-13 of each column's size (docs/science.md, "Determinism", gives the
#: figures).  The tolerance is 1000 times that: normwise per column, max |stacked - alone| <= RTOL * max |alone|.
#: A run near the edge of stability amplifies any last-bit difference, as it would amplify a different BLAS: the
#: cases below are runs that converge.
RTOL = 1e-10

#: (preset, --compare, steps, --set): product factorizations (GD through the stacked fast path; Adam through the
#: batched general loop), the pm_power diagonal network, logistic regression, a linear network with one
#: learning rate per run
STACKS = [
    ("sensing_incremental_rank", "run.seed=0,1,2", 1500, []),
    ("completion_depth_low_rank", "model.init_scale=1e-3,3e-3", 1500, []),
    ("sensing_incremental_rank", "optimizer.lr=0.001,0.002", 800, [("optimizer.name", "adam")]),
    ("pesme_saddle_to_saddle", "model.init_scale=1e-2,1e-5,1e-10", 3000, []),
    ("logistic_max_margin", "optimizer.lr=0.1,0.2", 2000, []),
    ("deep_linear_balancedness", "optimizer.lr=0.01,0.003", 1500, []),
]


def stacked_difference(a: dict, b: dict) -> float:
    """The largest normwise relative difference over the columns of two histories (the wall clock left out)."""
    worst = 0.0
    for k, alone in b.items():
        if k == WALL_CLOCK:
            continue
        x, y = a[k].astype(float), alone.astype(float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), k
        scale = np.nanmax(np.abs(y)) if np.isfinite(y).any() else 0.0
        diff = np.nanmax(np.abs(x - y)) if np.isfinite(y).any() else 0.0
        worst = max(worst, diff / scale if scale > 0 else diff)
    return worst


@pytest.mark.parametrize("preset, compare, steps, sets", STACKS, ids=[f"{s[0]}-{s[1]}" for s in STACKS])
def test_runs_trained_stacked_equal_the_runs_trained_alone_within_the_stated_tolerance(preset, compare, steps,
                                                                                         sets):
    base = build_config(preset=preset, overrides=[("run.steps", steps)] + sets)
    runs = expand(base, parse_compare([compare]))
    group = LiveGroup.build([(i, name, cfg.to_dict()) for i, (name, cfg) in enumerate(runs)])
    assert len(group.batches) == 1 and len(group.batches[0].engines) == len(runs), "the runs must train stacked"
    while not group.stopped:
        group.step(997)
    for (name, cfg), stacked in zip(runs, group.engines):
        alone = Engine(cfg)
        while not alone.stopped:
            alone.step(997)
        assert stacked.status == alone.status == "max_steps", name
        a, b = stacked.history.as_dict(), alone.history.as_dict()
        assert set(a) == set(b)
        np.testing.assert_array_equal(a["step"], b["step"])  # the same records
        assert stacked_difference(a, b) <= RTOL, name
