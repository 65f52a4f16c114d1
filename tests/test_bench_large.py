"""``ibviewer bench --large`` on small stand-ins for its rows: the fields of a row and their relations (ratio =
plain ÷ engine time, peak memory of the whole row at least the engine's), a row in a spawned process of its own,
and one-line usage errors.  No timing is asserted; the real sizes are measured by the command itself."""

from __future__ import annotations

import json

import pytest

from ibviewer.cli import main
from ibviewer.core import bench_large
from ibviewer.core.backend import resolve_device

pytest.importorskip("torch")

SMALL = {
    "completion_small": [("problem.kind", "matrix_completion"), ("problem.d", 20), ("problem.rank", 2),
                         ("problem.measurements", 150), ("model.depth", 2), ("optimizer.lr", 0.01)],
    "sensing_rank_one_small": [("problem.kind", "matrix_sensing"), ("problem.operator", "rank_one"),
                               ("problem.d", 12), ("problem.rank", 2), ("problem.measurements", 100),
                               ("problem.singular_values", []), ("model.depth", 2), ("optimizer.lr", 0.005)],
    "factorization_small": [("problem.kind", "matrix_factorization"), ("problem.d", 20),
                            ("problem.target", "lowrank_noise"), ("problem.rank", 3), ("model.depth", 3),
                            ("optimizer.lr", 0.05)],
}


@pytest.mark.parametrize("name", list(SMALL))
def test_a_large_row_has_its_fields(name):
    row = bench_large.large_row(name, SMALL[name], steps=4, repeats=1)
    assert row["problem"] == name and row["device"] == "cpu" and row["dtype"] == "float32"
    assert row["engine_status"] == "ready"  # still training when timed: not diverged, not stopped
    for key in ("engine_steps_per_s", "plain_steps_per_s", "engine_steps_only_per_s"):
        assert row[key] > 0
    # ratio = plain time per step / engine time per step, from the same measurements (rounded to 2 digits)
    assert row["ratio"] == pytest.approx(row["engine_steps_per_s"] / row["plain_steps_per_s"], rel=0.05, abs=0.01)
    assert row["peak_rss_mb"] >= row["engine_peak_rss_mb"] > 10
    assert row["l2_cache_bytes"] > 0 and any(lib.get("user_api") == "blas" for lib in row["blas"])
    assert row["fast_path"] == "ProductGD"
    assert row["steps_per_block"] == 4 and 1 <= row["record_stride"] <= 1000  # the app's stride, not the timing's
    assert ("ratio_dense" in row) == (name == "sensing_rank_one_small")


def test_rows_run_in_a_process_of_their_own():
    rows = list(bench_large.run_rows(["completion_small"], 3, 1, "cpu", rows=SMALL))
    assert [r["problem"] for r in rows] == ["completion_small"]
    json.dumps(rows[0])  # plain JSON


def test_the_large_rows_are_the_stated_ones():
    assert list(bench_large.LARGE_ROWS) == ["completion_d1000", "sensing_rank_one_d200", "factorization_d1000"]
    sizes = {name: dict(over)["problem.d"] for name, over in bench_large.LARGE_ROWS.items()}
    assert sizes == {"completion_d1000": 1000, "sensing_rank_one_d200": 200, "factorization_d1000": 1000}
    assert dict(bench_large.LARGE_ROWS["sensing_rank_one_d200"])["problem.measurements"] == 4000


@pytest.mark.parametrize("argv, says", [
    (["bench", "--large", "--rows", "sensing"], "unknown row 'sensing'; rows with --large are"),
    (["bench", "--rows", "completion_d1000"], "unknown row 'completion_d1000'"),
    (["bench", "--device", "cuda"], "--device cuda needs --large"),
    (["bench", "--large", "--device", "tpu"], "--device 'tpu' is not allowed"),
])
def test_usage_errors_exit_2_with_one_line(argv, says, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err


@pytest.mark.skipif(resolve_device("auto") == "cuda", reason="a CUDA device is present")
def test_cuda_without_a_device_is_refused_in_one_line(capsys):
    assert main(["bench", "--large", "--device", "cuda"]) == 2
    assert "torch sees no CUDA device" in capsys.readouterr().err


@pytest.mark.skipif(resolve_device("auto") == "cuda", reason="a CUDA device is present: the script would run")
def test_gpu_check_fails_in_one_line_without_cuda():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(root)}
    done = subprocess.run(["bash", "benchmarks/gpu_check.sh"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("gpu_check: torch sees no CUDA device")
