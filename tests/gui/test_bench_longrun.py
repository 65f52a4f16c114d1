"""``ibviewer bench longrun`` on a few thousand steps: the JSON line it prints has its figures, and they are
consistent with each other (no timing is asserted: the figures are for docs/benchmarks.md)."""

import json

import pytest

from ibviewer.cli import main


def test_longrun_prints_one_json_line_with_the_memory_curve_and_lateness(qapp, capsys):
    assert main(["bench", "longrun", "--steps", "4000", "--points", "4", "--timeout", "120"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    res = json.loads(out[0])
    assert res["steps"] == 4000 and res["final_step"] >= 4000 and res["runs"] == 1
    curve = res["rss_curve"]
    assert len(curve) == 4 and all(len(point) == 6 for point in curve)
    steps = [p[0] for p in curve]
    assert steps == sorted(steps) and steps[-1] == res["final_step"]
    for _, gui, worker, total, mirrors, products in curve:
        assert gui > 0 and worker > 0 and total == pytest.approx(gui + worker, abs=0.11)
        assert 0 <= mirrors < gui and 0 <= products < gui
    assert res["rss_peak_total_mb"] >= max(p[3] for p in curve) - 0.11
    # every panel of the preset on screen, and drawn
    assert res["panels"] >= 5 and res["panels_visible"] == res["panels"]
    for part in ("lateness_start", "lateness_end"):
        assert res[part]["timer_ticks"] > 0 and res[part]["timer_p99_ms"] >= res[part]["timer_p50_ms"] >= 0
    assert res["cpus"] >= 1 and res["mirror_rows"][0] > 0


@pytest.mark.parametrize("argv", [["--steps", "0"], ["--points", "1"], ["--timeout", "-1"], ["--bogus"],
                                  ["--set", "model.depth=0"]])
def test_longrun_refuses_bad_arguments_with_one_line(argv, capsys):
    assert main(["bench", "longrun", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("ibviewer bench longrun: error: ")
