import json
import subprocess
import sys

import numpy as np
import pytest

from ibviewer.cli import main


def test_run_writes_summary_history_and_csv(tmp_path, capsys):
    out = tmp_path / "r"
    rc = main(["run", "--preset", "hadamard_l1_bias", "--steps", "3000", "--out", str(out)])
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["steps"] == 3000 and s["diverged"] is False
    assert s["config"]["model"]["depth"] == 2 and s["config"]["problem"]["kind"] == "sparse_recovery"
    for k in ("final_loss", "relative_error", "x", "references", "wall_seconds"):
        assert k in s
    assert set(s["references"]) == {"min_l2", "min_l1", "q_alpha"}
    h = np.load(out / "history.npz")
    assert h["step"][-1] == 3000 and h["state"].shape[1] == 100
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["step", "time", "wall", "loss"]
    assert not list(out.glob("*.part"))


def test_run_matrix_summary_fields(tmp_path):
    out = tmp_path / "m"
    assert main(["run", "--preset", "sensing_depth_low_rank", "--steps", "200", "--out", str(out), "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert len(s["singular_values"]) == 20
    assert set(s["effective_rank"]) == {"entropy", "nuclear_over_operator", "stable"}
    assert set(s["references"]) == {"min_l2", "min_nuclear"}


def test_each_kind_alone_runs(tmp_path):
    for kind in ("matrix_completion", "logistic_separable", "linear_regression", "razin_cohen",
                 "matrix_factorization", "sparse_recovery", "matrix_sensing"):
        out = tmp_path / kind
        assert main(["run", "--set", f"problem.kind={kind}", "--steps", "50", "--out", str(out), "-q"]) == 0
        assert json.loads((out / "summary.json").read_text())["config"]["problem"]["kind"] == kind


@pytest.mark.parametrize("argv, words", [
    (["run", "--set", "model.depth=0"], "model.depth"),
    (["run", "--set", "optimizer.lr=-1"], "optimizer.lr"),
    (["run", "--set", "nonsense.key=1"], "nonsense"),
    (["run", "--set", "model.depth"], "key=value"),
    (["run", "--preset", "nope"], "unknown preset"),
    (["run", "--config", "/no/such/file.toml"], "does not exist"),
    (["run", "--set", "problem.kind=sparse_recovery", "--set", "problem.sparsity=1000"], "problem.sparsity"),
    (["run", "--preset", "hadamard_l1_bias", "--out", "/proc/forbidden/x"], "cannot create output folder"),
])
def test_bad_input_exits_2_with_one_line(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err


def test_diverging_run_reports_and_writes(tmp_path, capsys):
    out = tmp_path / "d"
    rc = main(["run", "--preset", "sensing_depth_low_rank", "--set", "optimizer.lr=100", "--set",
               "model.init_scale=1", "--out", str(out)])
    assert rc == 1
    assert "diverged at step" in capsys.readouterr().out
    assert json.loads((out / "summary.json").read_text())["diverged"] is True


def test_presets_listing(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    assert len(lines) >= 11 and "completion_depth_low_rank" in names and names == sorted(names)


def test_module_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "ibviewer", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "ibviewer run" in r.stdout


def test_engine_bench_prints_json_rows(capsys):
    from ibviewer.core.bench import main as bench

    assert bench(["--rows", "completion", "--block", "20", "--repeats", "1"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["problem"] == "completion" and row["ratio"] > 0
    for k in ("engine_steps_per_s", "plain_steps_per_s"):
        assert row[k] > 0
