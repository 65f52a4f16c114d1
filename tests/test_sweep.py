"""Sweeps: SWEEP.toml checked key by key, the runs they make, a small sweep on a local cluster (rows, columns, the
phase diagram), a failing run isolated with its reason, resuming without running anything twice, and Ctrl+C /
SIGTERM keeping every finished row and leaving no worker behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ibviewer.cli import main
from ibviewer.core.config import ConfigError, build_config
from ibviewer.core.sweep import load_sweep, parse_sweep, sweep_preset_names
from ibviewer.core.sweep_results import read_rows
from ibviewer.core.sweep_run import run_sweep

ROOT = Path(__file__).resolve().parents[1]

#: a small matrix-sensing sweep: 2 depths x 2 ranks x 2 seeds; rank 9 > d = 6 cannot be built (a failed run)
SMALL = """
preset = "sensing_depth_low_rank"
seeds = 2
steps = 150

[problem]
d = 6
measurements = 30

[grid]
"model.depth" = [1, 2]
"problem.rank" = [1, 9]

[plot]
x = "model.depth"
y = "problem.rank"
metric = "relative_error"
threshold = 0.5
"""


def small_dict(**changes) -> dict:
    import tomllib

    data = tomllib.loads(SMALL)
    data.update(changes)
    return data


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------------------ the spec
@pytest.mark.parametrize("change, named", [
    ({"sedes": 3}, "sedes"),
    ({"grid": {"model.deep": [1, 2]}}, "model.deep"),
    ({"grid": {"model.depth": [0, 1]}}, "model.depth"),
    ({"grid": {"model.depth": 3}}, "grid.model.depth"),
    ({"grid": {}}, "grid"),
    ({"seeds": 0}, "seeds"),
    ({"steps": 0}, "steps"),
    ({"plot": {"x": "model.depth", "y": "problem.d"}}, "plot.y"),
    ({"plot": {"x": "model.depth", "y": "problem.rank", "metric": "loss"}}, "plot.metric"),
    ({"grid": {"m/n": [0.5]}}, "m/n"),
    ({"grid": {"run.seed": [1, 2]}}, "run.seed"),
    ({"preset": "no_such_preset"}, "no_such_preset"),
    ({"grid": {"model.init_scale": {"from": 0, "to": 1, "count": 3, "scale": "log"}}}, "model.init_scale"),
])
def test_a_bad_sweep_is_one_line_naming_the_key(change, named):
    with pytest.raises(ConfigError) as err:
        parse_sweep(small_dict(**change), "s.toml")
    text = str(err.value)
    assert "\n" not in text and named in text and text.startswith("s.toml")


def test_runs_are_grid_points_times_seeds_with_the_seed_on_data_and_init():
    sweep = parse_sweep(small_dict(grid={"model.depth": [1, 2, 3], "model.init_scale": [1e-3, 1e-2]}, seeds=2,
                                   plot=None))
    points = sweep.points()
    assert [p.index for p in points] == list(range(12)) and sweep.run_count == 12
    assert {(dict(p.values)["model.depth"], dict(p.values)["model.init_scale"], p.seed) for p in points} == {
        (d, a, s) for d in (1, 2, 3) for a in (1e-3, 1e-2) for s in (0, 1)}
    p = points[7]  # depth 2, init 1e-2, seed 1
    cfg = sweep.config(dict(p.values), p.seed)
    expected = build_config(preset="sensing_depth_low_rank", overrides=[
        ("problem.d", 6), ("problem.measurements", 30), ("run.steps", 150), ("model.depth", 2),
        ("model.init_scale", 1e-2), ("problem.seed", 1), ("run.seed", 1)])
    assert cfg.to_dict() | {"meta": {}} == expected.to_dict() | {"meta": {}}


TIED = {"model.init_scale": {"with": "model.depth", "values": [1e-3, 0.1]}}


def test_a_tied_key_follows_its_grid_key_in_every_run_row_and_panel(tmp_path):
    sweep = parse_sweep(small_dict(grid={"model.depth": [1, 2], "problem.rank": [1, 2]}, tied=TIED, seeds=1,
                                   plot={"x": "problem.rank", "y": "seed", "metric": "relative_error"}))
    points = sweep.points()
    assert sweep.run_count == 4  # no axis of its own
    assert {(dict(p.values)["model.depth"], dict(p.values)["model.init_scale"]) for p in points} == {
        (1, 1e-3), (2, 0.1)}
    assert sweep.config({"model.depth": 2, "problem.rank": 1}, 0).model.init_scale == 0.1
    out = tmp_path / "out"
    assert run_sweep(sweep, out, workers=0).ran == 4
    rows = read_rows(out)
    assert [(r["model.depth"], r["model.init_scale"]) for r in rows] == [(1, 1e-3)] * 2 + [(2, 0.1)] * 2
    from ibviewer.core.phase import phase_grid
    from ibviewer.core.sweep_results import read_spec

    grid = phase_grid(sweep, rows)
    assert [grid.facet_title(f) for f in range(2)] == ["model.depth = 1, model.init_scale = 0.001",
                                                      "model.depth = 2, model.init_scale = 0.1"]
    assert all(len(grid.rows(f, 0, ix)) == 1 for f in range(2) for ix in range(2))
    assert read_spec(out).tied == {"model.init_scale": ("model.depth", [1e-3, 0.1])}  # kept in the folder
    # a different tie is a different sweep: the folder does not resume it
    other = parse_sweep(small_dict(grid={"model.depth": [1, 2], "problem.rank": [1, 2]}, seeds=1, plot=None,
                                   tied={"model.init_scale": {"with": "model.depth", "values": [1e-3, 0.2]}}))
    with pytest.raises(OSError, match="different sweep"):
        run_sweep(other, out, workers=0)


@pytest.mark.parametrize("tied, named", [
    ({"model.init_scale": {"with": "model.width", "values": [1, 2]}}, "not a grid key"),
    ({"model.init_scale": {"with": "model.depth", "values": [1e-3]}}, "give one per value of model.depth (2)"),
    ({"model.init_scale": {"with": "model.depth", "values": [1e-3, -1]}}, "model.init_scale"),
    ({"model.depth": {"with": "problem.rank", "values": [1, 2]}}, "tie it or sweep it"),
    ({"run.seed": {"with": "model.depth", "values": [1, 2]}}, "cannot be tied"),
    ({"problem.sparsity": {"with": "model.depth", "values": [1, 2]}, "grid": {"s/m": [0.2]}}, "cannot be tied"),
    ({"model.init_scale": {"by": "model.depth", "values": [1, 2]}}, "tied.model.init_scale"),
])
def test_a_bad_tie_is_one_line_naming_the_key(tied, named):
    tied = dict(tied)
    grid = {"model.depth": [1, 2], "problem.rank": [1, 2], **tied.pop("grid", {})}
    base = {"preset": "hadamard_l1_bias", "problem": {"n": 50}, "plot": None} if "s/m" in grid else {}
    if base:
        grid.pop("problem.rank")
    with pytest.raises(ConfigError) as err:
        parse_sweep(small_dict(grid=grid, tied=tied, **base), "s.toml")
    text = str(err.value)
    assert "\n" not in text and named in text and text.startswith("s.toml"), text


def test_ratio_keys_set_measurements_and_sparsity():
    sweep = parse_sweep({"preset": "hadamard_l1_bias", "problem": {"n": 50}, "steps": 10,
                         "grid": {"m/n": [0.4], "s/m": [0.3]}})
    cfg = sweep.config({"m/n": 0.4, "s/m": 0.3}, 0)
    assert (cfg.problem.measurements, cfg.problem.sparsity) == (20, 6)


def test_spans_are_evenly_spaced():
    sweep = parse_sweep(small_dict(grid={"model.init_scale": {"from": 1e-4, "to": 1.0, "count": 5, "scale": "log"},
                                         "optimizer.lr": {"from": 0.1, "to": 0.3, "count": 3}}, plot=None))
    assert sweep.grid["model.init_scale"] == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0], rel=1e-12)
    assert sweep.grid["optimizer.lr"] == pytest.approx([0.1, 0.2, 0.3], rel=1e-12)


def test_random_spans_are_drawn_in_the_range_the_same_each_time():
    spec = {"from": 1e-3, "to": 1.0, "count": 6, "scale": "log", "random": True}
    values = parse_sweep(small_dict(grid={"model.init_scale": spec}, plot=None)).grid["model.init_scale"]
    assert len(set(values)) == 6 and values == sorted(values) and all(1e-3 <= v <= 1.0 for v in values)
    assert parse_sweep(small_dict(grid={"model.init_scale": spec}, plot=None)).grid["model.init_scale"] == values
    other = parse_sweep(small_dict(grid={"model.init_scale": spec | {"seed": 1}}, plot=None))
    assert other.grid["model.init_scale"] != values


def test_every_sweep_preset_is_valid():
    names = sweep_preset_names()
    assert len(names) >= 6
    for name in names:
        sweep = load_sweep(name)
        assert sweep.plot is not None and sweep.meta.get("title"), name
        assert sweep.base["run"]["steps"] >= 1


def test_the_donoho_tanner_preset_sweeps_depths_one_to_three_on_the_ratios():
    sweep = load_sweep("basis_pursuit_phase")
    assert sweep.grid["model.depth"] == [1, 2, 3]
    assert (sweep.plot.x, sweep.plot.y) == ("m/n", "s/m")
    assert sweep.base["model"]["parametrization"] == "pm_power"


# ------------------------------------------------------------------------------------------------ running
def _summary_of_run(tmp_path: Path, sets: list[str]) -> dict:
    out = tmp_path / "single"
    args = ["run", "--preset", "sensing_depth_low_rank", "-q", "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    return json.loads((out / "summary.json").read_text())


def test_a_small_sweep_on_a_local_cluster(tmp_path, capsys):
    spec = write(tmp_path, SMALL)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "2", "--csv", "-q"]) == 0
    table = pq.read_table(out / "results.parquet")
    assert table.num_rows == 8
    for column in ("model.depth", "problem.rank", "seed", "status", "message", "diverged", "steps", "final_loss",
                   "relative_error", "erank_entropy", "erank_stable", "numerical_rank", "dist_min_nuclear",
                   "dist_min_l2", "wall_seconds"):
        assert column in table.column_names, column
    assert table.schema.field("final_loss").type == pa.float64()
    rows = table.to_pylist()
    assert sorted((r["model.depth"], r["problem.rank"], r["seed"]) for r in rows) == [
        (d, k, s) for d in (1, 2) for k in (1, 9) for s in (0, 1)]
    # the runs that cannot be built are failed rows with the reason; the others trained to the end
    for r in rows:
        if r["problem.rank"] == 9:
            assert r["status"] == "failed" and "problem.rank = 9" in r["message"] and r["final_loss"] is None
        else:
            assert r["status"] == "max_steps" and r["steps"] == 150 and r["final_loss"] > 0
    # a row's scalars are those of the summary.json of `ibviewer run` with the same config and seed
    row = next(r for r in rows if (r["model.depth"], r["problem.rank"], r["seed"]) == (2, 1, 1))
    summary = _summary_of_run(tmp_path, ["problem.d=6", "problem.measurements=30", "run.steps=150",
                                         "model.depth=2", "problem.rank=1", "problem.seed=1", "run.seed=1"])
    assert row["final_loss"] == pytest.approx(summary["final_loss"], rel=1e-9)
    assert row["relative_error"] == pytest.approx(summary["relative_error"], rel=1e-9)
    assert row["erank_entropy"] == pytest.approx(summary["effective_rank"]["entropy"], rel=1e-9)
    assert row["dist_min_nuclear"] == pytest.approx(summary["references"]["min_nuclear"], rel=1e-9)
    assert row["steps"] == summary["steps"]
    # the phase diagram, as PNG and SVG, and the CSV
    assert (out / "phase.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (out / "phase.svg").read_bytes()[:400]
    lines = (out / "results.csv").read_text().splitlines()
    assert len(lines) == 9 and lines[0].split(",")[:3] == ["model.depth", "problem.rank", "run"]


def test_a_diverging_run_is_recorded_and_the_others_go_on(tmp_path):
    sweep = parse_sweep(small_dict(grid={"optimizer.lr": [0.01, 1e4]}, seeds=1, plot=None))
    outcome = run_sweep(sweep, tmp_path / "out", workers=0)
    rows = read_rows(tmp_path / "out")
    assert outcome.complete and outcome.diverged == 1 and len(rows) == 2
    good, bad = rows
    assert good["status"] == "max_steps" and good["relative_error"] is not None
    assert bad["status"] == "diverged" and bad["diverged"] is True and bad["message"]


def test_resume_runs_only_what_is_missing(tmp_path):
    sweep = parse_sweep(small_dict(grid={"model.depth": [1, 2], "problem.rank": [1, 2]}, seeds=2))
    out = tmp_path / "out"
    assert run_sweep(sweep, out, workers=0).ran == 8
    full = read_rows(out)
    # keep 5 of the 8 rows, as an interrupted sweep would have
    kept = [full[i] for i in (0, 2, 3, 5, 6)]
    pq.write_table(pa.Table.from_pylist(kept, schema=pq.read_schema(out / "results.parquet")),
                   out / "results.parquet")
    again = run_sweep(sweep, out, workers=0)
    assert (again.before, again.ran) == (5, 3)
    rows = read_rows(out)
    assert [r["run"] for r in rows] == list(range(8))
    # the kept rows are as they were (their timings too: nothing ran twice)
    assert [rows[i] for i in (0, 2, 3, 5, 6)] == kept
    assert run_sweep(sweep, out, workers=0).ran == 0
    # a new [plot] or [meta] draws differently but runs the same runs: nothing runs again
    retitled = parse_sweep(small_dict(grid={"model.depth": [1, 2], "problem.rank": [1, 2]}, seeds=2,
                                      meta={"title": "renamed"}))
    assert run_sweep(retitled, out, workers=0).ran == 0 and read_rows(out) == rows


def test_a_folder_of_another_sweep_is_refused(tmp_path, capsys):
    spec = write(tmp_path, SMALL)
    out = tmp_path / "out"
    run_sweep(load_sweep(spec), out, workers=0)
    other = write(tmp_path, SMALL.replace("steps = 150", "steps = 151"), "other.toml")
    assert main(["sweep", str(other), "--out", str(out), "--workers", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "different sweep" in err
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "busy"), "--workers", "0"]) == 2
    assert "holds other files" in capsys.readouterr().err


@pytest.mark.parametrize("args, says", [
    (["sweep"], "SWEEP.toml"),
    (["sweep", "x.toml"], "--out"),
    (["sweep", "no_such.toml", "--out", "o"], "does not exist"),
    (["sweep", "basis_pursuit_phase", "--out", "o", "--workers", "-1"], "--workers"),
    (["sweep", "basis_pursuit_phase", "--out", "o", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
     "--scheduler"),
    (["phase", "."], "not a sweep's folder"),
])
def test_bad_command_lines_end_in_one_line_and_exit_2(tmp_path, monkeypatch, capsys, args, says):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and says in err and err.startswith("ibviewer")


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    spec = write(tmp_path, SMALL)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot reach the dask scheduler" in err


def test_sweep_presets_are_listed(capsys):
    assert main(["sweep", "--list"]) == 0
    out = capsys.readouterr().out
    for name in sweep_preset_names():
        assert name in out


# ------------------------------------------------------------------------------------------------ interruption
LONG = SMALL.replace("steps = 150", "steps = 40000").replace("seeds = 2", "seeds = 6").replace(
    '"problem.rank" = [1, 9]', '"problem.rank" = [1, 2]')


def _children(pid: int) -> list:
    import psutil

    return psutil.Process(pid).children(recursive=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_sweep_keeps_its_rows_whole_and_leaves_no_worker(tmp_path, sig):
    """SIGTERM to the command, or Ctrl+C to its process group: exit 130, the finished rows whole, no process
    left, no worker's traceback."""
    import psutil

    spec = write(tmp_path, LONG)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "ibviewer", "sweep", str(spec), "--out", str(out),
                             "--workers", "2", "-q"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "results.parquet").is_file():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no run finished in 120 s"
            time.sleep(0.2)
        workers = _children(proc.pid)
        assert len(workers) >= 2  # the nannies and their worker processes
        if sig == signal.SIGINT:  # Ctrl+C in a terminal: the whole process group gets it
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    gone, alive = psutil.wait_procs(workers, timeout=20)
    assert not alive, [p.pid for p in alive]
    rows = read_rows(out)
    assert 1 <= len(rows) < 24
    assert all(r["status"] == "max_steps" and r["steps"] == 40000 for r in rows)
