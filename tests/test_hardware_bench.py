"""Cache sizes read at run time (ibviewer.core.hardware) and the machine facts every ``ibviewer bench`` row
prints: parsed from a fake sysfs tree with known sizes, a stated fallback where there is none, and the JSON
fields present in the rows (no timing is asserted)."""

from __future__ import annotations

import json

import pytest

from ibviewer.core import bench, hardware, problems


def fake_sysfs(tmp_path, entries):
    for i, (level, kind, size) in enumerate(entries):
        d = tmp_path / f"index{i}"
        d.mkdir(parents=True)
        (d / "level").write_text(f"{level}\n")
        (d / "type").write_text(f"{kind}\n")
        (d / "size").write_text(f"{size}\n")
    return tmp_path


@pytest.mark.parametrize("text, expected", [("48K", 48 * 1024), ("2048K", 2 << 20), ("480M", 480 << 20),
                                            ("4096", 4096), ("", None), ("big", None)])
def test_parse_size(text, expected):
    assert hardware.parse_size(text) == expected


def test_the_l2_cache_is_read_from_sysfs(tmp_path):
    root = fake_sysfs(tmp_path, [(1, "Data", "32K"), (1, "Instruction", "32K"), (2, "Unified", "1024K"),
                                 (3, "Unified", "32M")])
    l2 = hardware.l2_cache(root)
    assert (l2["bytes"], l2["level"], l2["type"], l2["source"]) == (1 << 20, 2, "Unified", "sysfs")
    assert hardware.describe_caches(root) == ("L1 Data 32 KiB, L1 Instruction 32 KiB, L2 Unified 1 MiB, "
                                              "L3 Unified 32 MiB")


def test_without_a_description_the_fallback_is_stated(tmp_path):
    l2 = hardware.l2_cache(tmp_path / "absent")
    assert l2["source"] == "fallback" and l2["bytes"] == hardware.FALLBACK_L2_BYTES == 1 << 20
    assert "assumed 1 MiB" in hardware.describe_caches(tmp_path / "absent")
    # an L2 that holds only instructions is not the data cache
    root = fake_sysfs(tmp_path / "x", [(1, "Data", "32K"), (2, "Instruction", "512K")])
    assert hardware.l2_cache(root)["source"] == "fallback"


def test_the_block_sizes_follow_the_cache_of_this_machine():
    l2 = hardware.l2_cache()["bytes"]
    assert problems.BLOCK_BYTES == l2 // 2
    assert problems._TriangularLeastSquares.BAND_BYTES == l2 * 3 // 16


def test_every_bench_row_says_what_its_figures_depend_on(capsys):
    assert bench.main(["--rows", "sensing,completion", "--block", "5", "--repeats", "1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rows.append(bench.bench_compare(2, block=5, repeats=1))  # the compare8 row's code, with two runs
    assert [r["problem"] for r in rows] == ["sensing", "completion", "compare2_completion"]
    for r in rows:
        assert r["l2_cache_bytes"] == hardware.l2_cache()["bytes"]
        assert r["l2_cache"].startswith("level 2 ") and "KiB" in r["l2_cache"]
        assert r["caches"] and r["block_bytes"] == problems.BLOCK_BYTES
        assert r["band_bytes"] == problems._TriangularLeastSquares.BAND_BYTES
        assert any(lib.get("user_api") == "blas" for lib in r["blas"]), r["blas"]
        assert "fast_path" in r
    # sensing at d = 30, m = 600: A is 4.3 MB, read through its triangular factor by the product fast path
    assert rows[0]["fast_path"].startswith("ProductGD")
    assert rows[1]["fast_path"] == "ProductGD" and rows[2]["fast_path"] == "ProductGD (stacked)"
