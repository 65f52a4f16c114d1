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


# ------------------------------------------------------------------------------ one parent parser, one error style
from ibviewer.core.cli_args import UsageError  # noqa: E402


def _command_parsers():
    """(command, a parse function for its arguments, whether it takes --compare) of every command with a config."""
    from ibviewer.cli import make_parser as cli_parser
    from ibviewer.gui.app import make_parser as gui_parser
    from ibviewer.gui.bench import make_parser as bench_gui_parser
    from ibviewer.gui.record import make_bench_parser, make_parser as record_parser

    return [
        ("run", lambda argv: cli_parser().parse_args(["run"] + argv), True),
        ("gui", lambda argv: gui_parser().parse_args(argv), True),
        ("record", lambda argv: record_parser().parse_args(argv), True),
        ("bench gui", lambda argv: bench_gui_parser().parse_args(argv), True),
        ("bench record", lambda argv: make_bench_parser().parse_args(argv), False),
    ]


@pytest.mark.parametrize("index", range(5))
def test_every_command_accepts_the_shared_flags_under_the_same_names(index):
    command, parse, compare = _command_parsers()[index]
    args = parse(["--preset", "hadamard_l1_bias", "--set", "model.depth=2", "--set", "optimizer.lr=0.1"]
                 + (["--compare", "model.depth=1,2"] if compare else []))
    assert args.preset == "hadamard_l1_bias" and args.config is None, command
    assert args.sets == ["model.depth=2", "optimizer.lr=0.1"], command
    if compare:
        assert args.compare == ["model.depth=1,2"], command
    assert parse(["--config", "c.toml"]).config == "c.toml"
    with pytest.raises(UsageError, match="not allowed with argument"):
        parse(["--preset", "a", "--config", "b.toml"])


@pytest.mark.parametrize("argv, prog", [
    (["run", "--bogus"], "ibviewer"),
    (["run", "--steps", "many"], "ibviewer run"),
    (["gui", "--bogus"], "ibviewer gui"),
    (["record", "--bogus"], "ibviewer record"),
    (["bench", "--bogus"], "ibviewer bench"),
    (["bench", "--rows", "nope"], "ibviewer bench"),
    (["bench", "gui", "--bogus"], "ibviewer bench gui"),
    (["bench", "record", "--bogus"], "ibviewer bench record"),
    (["gui", "--preset", "a", "--config", "b.toml"], "ibviewer gui"),
])
def test_a_usage_error_exits_2_with_one_line(argv, prog, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"{prog}: error: ") and "usage:" not in err


@pytest.mark.parametrize("argv", [
    ["run", "--set", "model.dpth=3"],
    ["gui", "--set", "model.dpth=3"],
    ["record", "--set", "model.dpth=3", "--out", "x.mp4"],
    ["bench", "gui", "--set", "model.dpth=3"],
])
def test_set_of_an_unknown_key_lists_the_allowed_ones(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'model.dpth'" in err
    assert "model keys are: depth, width, init, init_scale" in err


def test_help_of_set_lists_the_keys_with_their_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--set KEY=VALUE" in out and "\n  model.depth\n" in out and "Allowed: a whole number >= 1." in out


def test_shared_flags_resolve_to_the_same_configs_in_the_app_and_headless(tmp_path):
    from ibviewer.core.config import build_config
    from ibviewer.gui.app import parse

    # a kind alone takes the kind's defaults (no default preset mixed in), in the app as in `ibviewer run`
    _args, cfg, preset = parse(["--set", "problem.kind=sparse_recovery"])
    assert preset is None and cfg.to_dict() == build_config(overrides=[("problem.kind", "sparse_recovery")]).to_dict()
    out = tmp_path / "r"
    assert main(["run", "--set", "problem.kind=sparse_recovery", "--steps", "5", "--out", str(out), "-q"]) == 0
    assert json.loads((out / "summary.json").read_text())["config"]["model"] == cfg.to_dict()["model"]


def test_a_wide_product_is_written_at_its_own_steps_in_history_npz_and_left_out_of_the_csv(tmp_path):
    out = tmp_path / "wide"
    assert main(["run", "--set", "problem.kind=matrix_factorization", "--set", "problem.d=70", "--steps", "60",
                 "--out", str(out), "-q"]) == 0
    h = np.load(out / "history.npz")
    steps, snap = h["snapshot_step"], h["state"]
    assert snap.shape == (len(steps), 70, 70) and np.all(np.diff(steps) > 0)
    assert set(steps) <= set(h["step"])  # each snapshot is the product at a recorded row's step
    assert "state" not in (out / "history.csv").read_text().splitlines()[0].split(",")
