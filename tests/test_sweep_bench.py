"""``ibviewer bench sweep`` prints its figures as JSON (no timed assertion: the figures depend on the machine;
docs/benchmarks.md has them)."""

from __future__ import annotations

import json

from ibviewer.cli import main


def test_bench_sweep_prints_its_figures(capsys):
    assert main(["bench", "sweep", "--runs", "16", "--steps", "20", "--d", "6"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["runs"] == 16 and result["workers"] == 2
    assert result["serial_seconds"] > 0 and result["cluster_seconds"] > 0
    assert abs(result["speedup"] - result["serial_seconds"] / result["cluster_seconds"]) < 0.01
    # the cluster trained the very runs the serial loop did
    assert result["same_rows"] is True and result["failed"] == 0


def test_bench_sweep_refuses_a_grid_it_cannot_make(capsys):
    assert main(["bench", "sweep", "--runs", "20"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "multiple of 16" in err
