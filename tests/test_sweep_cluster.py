"""A sweep on an existing dask cluster: a scheduler and a worker started here as separate processes (``dask
scheduler``, ``dask worker``) on the loopback address, and ``ibviewer sweep --scheduler ADDRESS``; every process
is ended at the end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ibviewer.cli import main
from ibviewer.core.sweep_results import read_rows

ROOT = Path(__file__).resolve().parents[1]
DASK = shutil.which("dask") or str(Path(sys.executable).with_name("dask"))

SWEEP = """
preset = "hadamard_l1_bias"
seeds = 2
steps = 300

[problem]
n = 20

[grid]
"m/n" = [0.5, 0.8]
"s/m" = [0.2, 0.4]

[plot]
x = "m/n"
y = "s/m"
metric = "relative_error"
threshold = 0.05
"""


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.mark.skipif(not Path(DASK).is_file(), reason="the dask command line is not installed")
def test_a_sweep_on_a_scheduler_and_worker_started_apart(tmp_path, capsys):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    info = tmp_path / "scheduler.json"
    procs = []
    try:
        procs.append(subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                       "--scheduler-file", str(info)], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while not info.is_file():
            assert procs[0].poll() is None and time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written in one go, but give it a moment
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--nworkers", "1",
                                       "--no-dashboard", "--host", "127.0.0.1"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        spec = tmp_path / "sweep.toml"
        spec.write_text(SWEEP)
        out = tmp_path / "out"
        assert main(["sweep", str(spec), "--out", str(out), "--scheduler", address, "-q"]) == 0
    finally:
        _stop(procs)
    assert all(p.returncode is not None for p in procs)
    rows = read_rows(out)
    assert len(rows) == 8
    assert {(r["m/n"], r["s/m"], r["seed"]) for r in rows} == {
        (a, b, s) for a in (0.5, 0.8) for b in (0.2, 0.4) for s in (0, 1)}
    # the ratios became the problem's measurements and sparsity (n = 20)
    for r in rows:
        assert r["problem.measurements"] == round(r["m/n"] * 20)
        assert r["problem.sparsity"] == max(1, round(r["s/m"] * r["problem.measurements"]))
        assert r["status"] in ("max_steps", "converged") and r["steps"] >= 1
    assert (out / "phase.png").is_file() and (out / "phase.svg").is_file()
