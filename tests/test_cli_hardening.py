"""The command line's promise for bad input, full disks, interruptions and overflow: one line on stderr with
exit code 2 (never a traceback), a run folder that is whole or absent, and a run whose numbers are not finite
reported as diverged, naming the actual cause."""

from __future__ import annotations

import errno
import json
import os
import warnings

import numpy as np
import pytest

from ibviewer import cli
from ibviewer.cli import main
from ibviewer.core import io as core_io
from ibviewer.core import sizing
from ibviewer.core.config import build_config

SMALL = ["--set", "problem.d=6", "--set", "problem.rank=1", "--set", "problem.singular_values=[]",
         "--set", "problem.measurements=20"]


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ibviewer: error: "), err
    return err[0]


def folder_bytes(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def no_temporaries(folder) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith((".part", ".old"))]


# ------------------------------------------------------------------------------------------ every value to its domain
@pytest.mark.parametrize("key", ["problem.seed", "run.seed"])
def test_a_negative_seed_is_refused_in_one_line(key, capsys):
    assert main(["run", "--check", "--set", f"{key}=-1"]) == 2
    line = one_error_line(capsys)
    assert key in line and ">= 0" in line


def test_a_key_compared_twice_is_an_error_not_the_second_flag_alone(tmp_path, capsys):
    out = tmp_path / "c"
    argv = ["run", "--compare", "model.depth=1,2", "--compare", "model.depth=3", "--out", str(out), "-q"]
    assert main(argv) == 2
    assert "model.depth" in one_error_line(capsys) and not out.exists()


def test_an_init_scale_beyond_its_domain_is_refused(capsys):
    assert main(["run", "--check", "--set", "model.init_scale=1e300"]) == 2
    assert "model.init_scale" in one_error_line(capsys)


# ------------------------------------------------------------------------------------------ size before allocation
def test_a_config_larger_than_memory_is_refused_with_its_size_and_the_key_to_lower(tmp_path, capsys):
    out = tmp_path / "big"
    assert main(["run", "--set", "problem.d=100000", "--out", str(out), "-q"]) == 2
    line = one_error_line(capsys)
    # 200 sensing matrices of 100000² float64 entries: 1.6e13 bytes = 14.6 TiB
    assert "TiB" in line and "problem.d" in line and "available" in line
    assert not out.exists() and not list(tmp_path.iterdir())


def test_the_memory_limit_is_read_at_run_time(monkeypatch, capsys):
    monkeypatch.setattr(sizing, "available_bytes", lambda: 1 << 20)  # 1 MiB
    assert main(["run", "--check", "--set", "problem.d=100"]) == 2  # 200 x 100² x 8 B = 16 MB of matrices
    assert "1 MiB available" in one_error_line(capsys)
    monkeypatch.setattr(sizing, "available_bytes", lambda: 1 << 30)
    assert main(["run", "--check", "-q", "--set", "problem.d=100"]) == 0


def test_the_memory_available_comes_from_the_system():
    with open("/proc/meminfo") as fh:
        total = int(next(line for line in fh if line.startswith("MemTotal:")).split()[1]) * 1024
    assert 0 < sizing.available_bytes() <= total


# ------------------------------------------------------------------------------------------ files read defensively
def test_a_binary_config_file_gets_one_line(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_bytes(b"[model]\ndepth = 2\n# \xff\xfe\n")
    assert main(["run", "--check", "--config", str(path)]) == 2
    assert "not UTF-8" in one_error_line(capsys)


def _source_argv(path, kind="matrix_factorization"):
    argv = ["run", "--check", "--set", f"problem.kind={kind}", "--set", f"problem.source={path}"]
    return argv + (["--set", "problem.target=file"] if kind == "matrix_factorization" else [])


@pytest.mark.parametrize("make, words", [
    (lambda p: np.save(p.with_suffix(".npy"), np.ones((3, 3)) * (1 + 1j)), "complex"),
    (lambda p: np.save(p.with_suffix(".npy"), np.array([[1.0, np.nan], [0, 1]])), "NaN or Inf"),
    (lambda p: np.save(p.with_suffix(".npy"), np.array([[1.0, np.inf], [0, 1]])), "NaN or Inf"),
    (lambda p: p.with_suffix(".npy").write_bytes(b""), "empty or cut short"),
    (lambda p: p.with_suffix(".npy").write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order'"),
     "cannot be read"),
    (lambda p: np.savez(p.with_suffix(".npz"), A=np.ones((3, 3)), B=np.ones((2, 2))), "lacks M"),
    (lambda p: p.with_suffix(".npz").mkdir(), "is a folder"),
])
def test_a_bad_data_file_gets_one_line_naming_the_file(make, words, tmp_path, capsys):
    make(tmp_path / "data")
    path = next(tmp_path.iterdir())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning: the imaginary part is refused, not dropped
        assert main(_source_argv(path)) == 2
    line = one_error_line(capsys)
    assert words in line and str(path) in line


def test_a_device_is_not_a_data_file(capsys):
    assert main(_source_argv("/dev/null")) == 2
    assert "not a regular file" in one_error_line(capsys)


def test_a_truncated_npz_gets_one_line(tmp_path, capsys):
    path = tmp_path / "d.npz"
    np.savez(path, A=np.ones((4, 9)), y=np.ones(4))
    path.write_bytes(path.read_bytes()[:200])
    assert main(_source_argv(path, "matrix_sensing")) == 2
    assert "cannot be read" in one_error_line(capsys)


# ------------------------------------------------------------------------------------------ silently wrong configs
def test_singular_values_that_disagree_with_rank_are_stated(tmp_path):
    out = tmp_path / "r"
    argv = ["run", "-q", "--steps", "3", "--out", str(out)] + SMALL + [
        "--set", "problem.rank=3", "--set", "problem.singular_values=5,2"]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert any("rank 2" in note and "problem.rank = 3" in note for note in summary["notes"])


def test_a_batch_larger_than_the_data_is_stated(tmp_path):
    out = tmp_path / "r"
    argv = ["run", "-q", "--steps", "3", "--out", str(out)] + SMALL + [
        "--set", "optimizer.name=sgd", "--set", "optimizer.batch_size=500"]
    assert main(argv) == 0
    notes = json.loads((out / "summary.json").read_text())["notes"]
    assert any("batch_size = 500" in n and "20 data units" in n and "full batch" in n for n in notes)


def test_sizes_a_data_file_sets_are_stated(tmp_path):
    src = tmp_path / "cs.npz"
    rng = np.random.default_rng(0)
    np.savez(src, A=rng.standard_normal((12, 30)), y=rng.standard_normal(12))  # m = 12, n = 30
    out = tmp_path / "r"
    argv = ["run", "-q", "--steps", "3", "--out", str(out), "--set", "problem.kind=sparse_recovery",
            "--set", f"problem.source={src}", "--set", "problem.n=50"]
    assert main(argv) == 0
    notes = json.loads((out / "summary.json").read_text())["notes"]
    assert any("problem.n = 30" in n and "problem.measurements = 12" in n and "problem.n = 50" in n for n in notes)


def test_the_app_takes_a_data_files_sizes_into_the_config(tmp_path):
    from ibviewer.core.datafiles import config_for_data

    src = tmp_path / "cs.npz"
    rng = np.random.default_rng(0)
    np.savez(src, A=rng.standard_normal((12, 30)), y=rng.standard_normal(12))
    cfg, kind = config_for_data(build_config(overrides=[("problem.kind", "sparse_recovery")]), src)
    assert kind == "sparse_recovery" and (cfg.problem.n, cfg.problem.measurements) == (30, 12)
    sq = tmp_path / "m.npy"
    np.save(sq, rng.standard_normal((3, 3)))
    cfg, _ = config_for_data(build_config(), sq, "matrix_factorization")
    assert cfg.problem.d == 3 and cfg.problem.rank <= 3  # the generated problem's rank kept within the size


# ------------------------------------------------------------------------------------------ overflow
def test_a_divergence_from_huge_data_names_the_data_and_one_from_a_large_step_does_not():
    from ibviewer.core.engine import Engine

    big = build_config()
    big.problem.singular_values = [1e20, 1e19]
    e = Engine(big.validate())
    e.step(100)
    assert e.status == "diverged" and "rescale the data" in e.message and "e+19" in e.message
    fast = build_config()
    fast.optimizer.lr = 5.0
    e = Engine(fast.validate())
    e.step(100)
    assert e.status == "diverged" and "lower optimizer.lr (now 5)" in e.message and "rescale" not in e.message


def test_data_whose_squares_overflow_is_refused_when_read(tmp_path, capsys):
    src = tmp_path / "m.npz"
    np.savez(src, A=np.full((4, 8), 1e300), y=np.ones(4))  # linprog and the loss would both fail on it
    assert main(_source_argv(src, "sparse_recovery")) == 2
    line = one_error_line(capsys)
    assert "1e+300" in line and "rescale the data" in line and "optimizer.lr" not in line


def test_data_that_overflows_the_dtype_is_named_not_the_learning_rate(tmp_path, capsys):
    src = tmp_path / "m.npy"
    np.save(src, np.full((4, 4), 1e30))  # fine in float64, its squares overflow float32
    out = tmp_path / "r"
    argv = _source_argv(src)[:1] + _source_argv(src)[2:] + ["--set", "run.dtype=float32", "--steps", "5",
                                                            "--out", str(out), "-q"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert main(argv) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["steps"] == 0
    assert "rescale the data" in summary["message"] and "float32" in summary["message"]
    assert "optimizer.lr" not in summary["message"]
    assert capsys.readouterr().err == ""


def test_a_run_that_diverges_before_its_first_record_still_writes_a_summary(tmp_path):
    for kind in ("sparse_recovery", "logistic_separable", "teacher_student"):
        out = tmp_path / kind
        argv = ["run", "-q", "--steps", "5", "--set", f"problem.kind={kind}", "--set", "model.init_scale=1e6",
                "--set", "run.dtype=float32", "--out", str(out)]
        assert main(argv) in (0, 1)
        assert json.loads((out / "summary.json").read_text())["steps"] <= 5


def test_a_divergence_factor_below_one_is_refused(capsys):
    assert main(["run", "--check", "--set", "run.diverge_factor=0.001"]) == 2
    assert "run.diverge_factor" in one_error_line(capsys)


def test_iterates_that_overflow_are_diverged_never_a_success(tmp_path, capsys):
    out = tmp_path / "r"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        rc = main(["run", "--set", "problem.kind=logistic_separable", "--set", "optimizer.lr=1e300",
                   "--steps", "50", "--out", str(out), "-q"])
    assert rc == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["diverged"] and "no longer finite" in summary["message"]
    assert capsys.readouterr().err == ""


def test_the_exit_code_rule_is_one_for_single_and_compared_runs():
    assert cli.exit_code(["max_steps"], False) == 0
    assert cli.exit_code(["max_steps", "diverged"], False) == 1
    assert cli.exit_code(["diverged"], True) == 130


def test_a_comparison_with_a_diverged_run_exits_1(tmp_path):
    out = tmp_path / "c"
    argv = ["run", "-q", "--steps", "20", "--out", str(out), "--compare", "optimizer.lr=0.001,1e6"] + SMALL
    assert main(argv) == 1
    statuses = [r["summary"]["status"] for r in json.loads((out / "summary.json").read_text())["runs"]]
    assert statuses == ["max_steps", "diverged"]


# ------------------------------------------------------------------------------------------ outputs whole or absent
def _good_run(out):
    assert main(["run", "-q", "--steps", "3", "--out", str(out)] + SMALL) == 0
    return folder_bytes(out)


def test_a_full_disk_leaves_the_previous_folder_untouched(tmp_path, monkeypatch, capsys):
    out = tmp_path / "r"
    before = _good_run(out)

    def full_disk(path, arrays):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(core_io, "write_npz", full_disk)  # summary.json is written first, then this fails
    assert main(["run", "-q", "--steps", "7", "--out", str(out)] + SMALL) == 2
    line = one_error_line(capsys)
    assert "No space left on device" in line and "history.npz" in line
    assert folder_bytes(out) == before and no_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_a_second_ctrl_c_while_writing_leaves_the_previous_folder_and_one_line(tmp_path, monkeypatch, capsys):
    out = tmp_path / "r"
    before = _good_run(out)

    def interrupted(path, arrays):
        raise KeyboardInterrupt

    monkeypatch.setattr(core_io, "write_npz", interrupted)
    assert main(["run", "-q", "--steps", "7", "--out", str(out)] + SMALL) == 130
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert folder_bytes(out) == before and no_temporaries(tmp_path)


def test_an_output_that_is_a_file_or_a_foreign_folder_is_refused_before_training(tmp_path, capsys):
    as_file = tmp_path / "f"
    as_file.write_text("keep me")
    assert main(["run", "-q", "--steps", "3", "--out", str(as_file)] + SMALL) == 2
    assert "not a folder" in one_error_line(capsys) and as_file.read_text() == "keep me"
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"meow")
    assert main(["run", "-q", "--steps", "3", "--out", str(foreign)] + SMALL) == 2
    assert "other files" in one_error_line(capsys) and (foreign / "cat.jpg").read_bytes() == b"meow"


def test_ctrl_c_during_a_comparison_leaves_no_run_saying_running(tmp_path, monkeypatch):
    from ibviewer.core.compare import RunGroup

    original = RunGroup.step

    def step_then_interrupt(self, k=1):
        original(self, 5)
        raise KeyboardInterrupt

    monkeypatch.setattr(RunGroup, "step", step_then_interrupt)
    out = tmp_path / "c"
    argv = ["run", "-q", "--steps", "100", "--out", str(out), "--compare", "model.depth=1,2"] + SMALL
    assert main(argv) == 130
    top = json.loads((out / "summary.json").read_text())
    assert top["interrupted"] is True
    for run in top["runs"]:
        inner = json.loads((out / run["folder"] / "summary.json").read_text())
        assert inner["status"] == run["summary"]["status"] == "interrupted"
        assert inner["steps"] == 5


def test_check_trains_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--check"] + SMALL) == 0
    assert "nothing trained or written" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_summary_records_the_versions_that_made_it(tmp_path):
    out = tmp_path / "r"
    _good_run(out)
    versions = json.loads((out / "summary.json").read_text())["versions"]
    import torch

    assert versions["numpy"] == np.__version__ and versions["torch"] == torch.__version__
    assert versions["ibviewer"] and isinstance(versions["blas"], list)
    assert any(lib.get("user_api") == "blas" for lib in versions["blas"])


def test_sigterm_ends_a_run_as_ctrl_c_does(tmp_path, monkeypatch):
    import signal

    from ibviewer.core.engine import Engine

    original = Engine.step

    def step_then_terminate(self, k=1):
        taken = original(self, 4)
        os.kill(os.getpid(), signal.SIGTERM)  # the handler raises KeyboardInterrupt here, in the main thread
        return taken

    monkeypatch.setattr(Engine, "step", step_then_terminate)
    before = signal.getsignal(signal.SIGTERM)
    out = tmp_path / "r"
    assert main(["run", "-q", "--steps", "100", "--out", str(out)] + SMALL) == 130
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["steps"] == 4
    assert signal.getsignal(signal.SIGTERM) == before  # the command's handler does not outlive it


def test_compared_runs_are_sized_together(monkeypatch, tmp_path, capsys):
    from ibviewer.core.config import DEFAULT_PRESET, build_config

    cfg = build_config(preset=DEFAULT_PRESET, overrides=[("problem.d", 100), ("problem.rank", 1), ("problem.singular_values", "[]")])
    parts = sizing.estimate_bytes(cfg)
    one = sum(b for b, _, _ in parts)
    params = next(b for b, what, _ in parts if "parameters" in what)
    assert one - params == cfg.problem.measurements * 100 * 100 * 8  # the sensing matrices, shared
    monkeypatch.setattr(sizing, "available_bytes", lambda: one + 2 * params)  # one run fits, ten do not
    assert main(["run", "--check", "-q", "--set", "problem.d=100", "--set", "problem.rank=1",
                 "--set", "problem.singular_values=[]"]) == 0
    argv = ["run", "-q", "--set", "problem.d=100", "--set", "problem.rank=1", "--set", "problem.singular_values=[]",
            "--compare", "run.seed=" + ",".join(map(str, range(10))), "--out", str(tmp_path / "c")]
    assert main(argv) == 2
    assert "memory" in one_error_line(capsys) and not (tmp_path / "c").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_an_unwritable_folder_is_refused_before_training(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["run", "-q", "--steps", "3", "--out", str(locked / "r")] + SMALL) == 2
        assert "not writable" in one_error_line(capsys)
    finally:
        locked.chmod(0o700)


def test_an_output_below_a_file_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["run", "-q", "--steps", "3", "--out", str(tmp_path / "f" / "r")] + SMALL) == 2
    assert "cannot create output folder" in one_error_line(capsys)


def test_a_divergence_after_a_large_initialization_names_the_initialization(tmp_path):
    out = tmp_path / "r"
    assert main(["run", "-q", "--steps", "20", "--set", "model.init_scale=1e6", "--out", str(out)] + SMALL) == 1
    message = json.loads((out / "summary.json").read_text())["message"]
    assert "model.init_scale (now 1e+06" in message and "optimizer.lr" in message
    out2 = tmp_path / "r2"
    assert main(["run", "-q", "--steps", "20", "--set", "optimizer.lr=1e6", "--out", str(out2)] + SMALL) == 1
    assert "init_scale" not in json.loads((out2 / "summary.json").read_text())["message"]
