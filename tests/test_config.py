import pytest

from ibviewer.core.config import (
    DEFAULT_PRESET,
    KIND_PRESET,
    PROBLEM_KINDS,
    ConfigError,
    build_config,
    config_from_dict,
    dumps_toml,
    known_keys,
    preset_names,
)


def test_every_kind_has_defaults_from_its_preset():
    for kind in PROBLEM_KINDS:
        cfg = build_config(overrides=[("problem.kind", kind)])
        assert cfg.problem.kind == kind
        assert KIND_PRESET[kind] in preset_names()


def test_default_preset_exists_and_is_depth3_sensing():
    cfg = build_config(preset=DEFAULT_PRESET)
    assert cfg.problem.kind == "matrix_sensing" and cfg.model.depth == 3 and cfg.model.init_scale < 1e-2


def test_presets_cover_at1_to_at11():
    from ibviewer.core.config import preset_info

    experiments = {preset_info(n).get("experiment") for n in preset_names()}
    assert {f"AT{i}" for i in range(1, 12)} <= experiments


def test_overrides_are_coerced():
    cfg = build_config(preset="sensing_depth_low_rank", overrides=[("model.depth", "2"), ("optimizer.lr", "1e-3"),
                                                                   ("problem.singular_values", "[3, 2]")])
    assert cfg.model.depth == 2 and cfg.optimizer.lr == 1e-3 and cfg.problem.singular_values == [3.0, 2.0]


def test_round_trip_through_toml(tmp_path):
    cfg = build_config(preset="hadamard_l1_bias", overrides=[("optimizer.name", "adam")])
    f = tmp_path / "c.toml"
    f.write_text(dumps_toml(cfg))
    again = build_config(config_file=f)
    assert again.to_dict() == cfg.to_dict()
    assert config_from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()


def test_inapplicable_key_is_kept_and_ignored():
    cfg = build_config(preset="hadamard_l1_bias", overrides=[("problem.rank", 7)])
    assert cfg.to_dict()["problem"]["rank"] == 7


@pytest.mark.parametrize(
    "overrides, words",
    [
        ([("model.depth", 0)], ["model.depth", ">= 1"]),
        ([("optimizer.lr", -1)], ["optimizer.lr", "> 0"]),
        ([("optimizer.lr", 0)], ["optimizer.lr", "> 0"]),
        ([("problem.rank", 30)], ["problem.rank", "problem.d"]),
        ([("problem.measurements", 0)], ["problem.measurements", ">= 1"]),
        ([("problem.kind", "sparse_recovery"), ("problem.sparsity", 500)], ["problem.sparsity", "problem.n"]),
        ([("model.init_scale", 0)], ["model.init_scale", "(0, 1e6]"]),
        ([("model.init_scale", -1e-3)], ["model.init_scale", "(0, 1e6]"]),
        ([("model.depht", 3)], ["model.depht", "model keys are"]),
        ([("modle.depth", 3)], ["modle", "tables are"]),
        ([("model.depth", "three")], ["model.depth", "whole number"]),
        ([("optimizer.name", "lbfgs")], ["optimizer.name", "adam"]),
        ([("problem.kind", "nope")], ["problem.kind", "matrix_sensing"]),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(overrides, words):
    with pytest.raises(ConfigError) as info:
        build_config(preset="sensing_depth_low_rank", overrides=overrides)
    msg = str(info.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_malformed_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\ndepth = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        build_config(config_file=bad)
    with pytest.raises(ConfigError, match="does not exist"):
        build_config(config_file=tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="unknown preset"):
        build_config(preset="no_such_preset")


def test_known_keys_cover_the_issue():
    keys = set(known_keys())
    for k in ("problem.kind", "problem.d", "problem.n", "problem.rank", "problem.measurements", "problem.sparsity",
              "problem.samples", "problem.noise", "problem.seed", "model.depth", "model.width", "model.init",
              "model.init_scale", "model.parametrization", "optimizer.name", "optimizer.lr", "optimizer.momentum",
              "optimizer.batch_size", "optimizer.weight_decay", "run.steps", "run.seed", "run.dtype", "run.device",
              "run.record_every", "run.loss_tol"):
        assert k in keys


# ------------------------------------------------------------------------------------- one declaration per key
from pathlib import Path  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ibviewer.core.config import Config, set_key  # noqa: E402
from ibviewer.core.config_docs import config_table_markdown, keys_help, readme_table  # noqa: E402
from ibviewer.core.config_fields import check_value, field_domain, field_help, field_info  # noqa: E402


def test_every_key_has_help_and_a_declared_domain():
    for key in known_keys():
        info = field_info(key)
        assert info.description and len(info.description) > 10, key
        domain = field_domain(key)
        assert domain and "<" not in domain and "typing" not in domain, (key, domain)
        assert field_help(key).startswith(info.description) and domain in field_help(key)


# (key, bad value, words the message must hold): one row per kind of declared field
BAD_VALUES = [
    ("model.depth", "three", "a whole number >= 1"),
    ("model.depth", 2.5, "a whole number >= 1"),
    ("model.depth", True, "a whole number >= 1"),
    ("model.depth", 0, "a whole number >= 1"),
    ("run.steps", -1, "a whole number of steps >= 0 (0 = no limit)"),
    ("optimizer.lr", "fast", "a number > 0"),
    ("optimizer.lr", float("inf"), "a number > 0"),
    ("optimizer.momentum", 1.0, "a number in [0, 1)"),
    ("run.rank_tol", 0, "a number in (0, 1)"),
    ("model.bias", "maybe", "true or false"),
    ("model.bias", 2, "true or false"),
    ("run.dtype", "float16", "one of: float64, float32"),
    ("problem.kind", "nope", "one of: matrix_sensing"),
    ("problem.singular_values", "[3, x]", "a list of numbers > 0"),
    ("problem.singular_values", [3, -1], "a list of numbers > 0"),
    ("model.width", "8, 0", "model.depth - 1 whole numbers >= 1"),
    ("model.width", -2, "a whole number >= 0"),
    ("problem.source", 3, "a file path, or empty"),
]


@pytest.mark.parametrize("key, value, words", BAD_VALUES)
def test_a_bad_value_of_each_kind_gives_one_line_naming_the_key(key, value, words):
    for attempt in (lambda: set_key(Config(), key, value), lambda: check_value(key, value),
                    lambda: build_config(preset="sensing_depth_low_rank", overrides=[(key, value)])):
        with pytest.raises(ConfigError) as info:
            attempt()
        msg = str(info.value)
        assert "\n" not in msg and msg.startswith(f"{key} = ") and words in msg, msg


def test_values_typed_as_text_are_read_as_declared():
    cfg = Config()
    for key, text, expected in [("model.depth", "4", 4), ("run.steps", "1e5", 100000), ("optimizer.lr", "1e-3", 1e-3),
                                ("model.bias", "false", False), ("model.weight_norm", "yes", True),
                                ("problem.singular_values", "12, 6, 3", [12.0, 6.0, 3.0]),
                                ("problem.singular_values", "", []), ("model.width", "64, 32", [64, 32]),
                                ("model.width", "16", 16)]:
        set_key(cfg, key, text)
        value = getattr(getattr(cfg, key.split(".")[0]), key.split(".")[1])
        assert value == expected and type(value) is type(expected), (key, value)


def test_attribute_assignment_is_checked_and_tables_can_be_shared():
    cfg = build_config(preset="sensing_depth_low_rank")
    cfg.run.seed = 5
    assert cfg.run.seed == 5 and cfg.to_dict()["run"]["seed"] == 5
    with pytest.raises(ConfigError, match=r"^model\.depth = 0 is not allowed"):
        cfg.model.depth = 0
    with pytest.raises(ConfigError, match="model keys are: depth, width"):
        cfg.model.depht = 3
    other = build_config(preset="completion_depth_low_rank")
    cfg.problem = other.problem
    assert cfg.problem.kind == "matrix_completion" and cfg.validate() is cfg


def test_copy_is_deep_and_equality_is_that_of_the_dicts():
    cfg = build_config(preset="mlp_lazy_vs_rich")
    twin = cfg.copy()
    assert twin == cfg and twin is not cfg and twin.to_dict() == cfg.to_dict()
    twin.model.width = [3] * (twin.model.depth - 1) if twin.model.depth > 1 else 3
    twin.meta["title"] = "changed"
    assert twin != cfg and cfg.meta.get("title") != "changed"


def test_cross_key_checks_run_on_validate_not_on_assignment():
    cfg = build_config(preset="sensing_depth_low_rank")
    cfg.problem.rank = cfg.problem.d + 1  # each key alone is fine
    with pytest.raises(ConfigError, match=r"problem\.rank = \d+ is not allowed; it must be <= problem\.d"):
        cfg.validate()


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=-50, max_value=50))
def test_whole_number_bounds_follow_the_declaration(n):
    # the bounds as the README states them: depth >= 1, sparsity >= 0, history_rows >= 16
    for key, low in (("model.depth", 1), ("problem.sparsity", 0), ("run.history_rows", 16)):
        if n >= low:
            assert check_value(key, str(n)) == n
        else:
            with pytest.raises(ConfigError, match=f">= {low}"):
                check_value(key, n)


@settings(max_examples=150, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_half_open_interval_follows_the_declaration(x):
    import math

    ok = math.isfinite(x) and 0 <= x < 1  # optimizer.momentum: [0, 1)
    if ok:
        assert check_value("optimizer.momentum", x) == x
    else:
        with pytest.raises(ConfigError, match=r"in \[0, 1\)"):
            check_value("optimizer.momentum", x)


# a file as the app and `ibviewer run` write them before the keys were declared with pydantic (same keys)
SAVED_TOML = """
[problem]
kind = "teacher_student"
d = 10
n = 100
rank = 4
measurements = 160
sparsity = 5
samples = 30
noise = 0.0
seed = 3
target = "spectrum"
singular_values = [3, 2]
source = ""
inputs = "gaussian"
outputs = 0
test_samples = 50
operator = "dense"

[model]
depth = 3
width = [7, 5]
init = "gaussian"
init_scale = 1
init_std = 0.0
parametrization = "auto"
activation = "tanh"
bias = true
weight_norm = false
center_output = false

[optimizer]
name = "adam"
lr = 0.001
momentum = 0.9
batch_size = 0
weight_decay = 0.0
beta2 = 0.999
eps = 1e-08

[run]
steps = 500
seed = 1
dtype = "float64"
device = "cpu"
backend = "auto"
record_every = 0
loss_tol = 0.0
diverge_factor = 100000000.0
history_rows = 20000
rank_tol = 0.001

[meta]
title = "saved"
"""


def test_files_saved_today_load_unchanged(tmp_path):
    import tomllib

    f = tmp_path / "saved.toml"
    f.write_text(SAVED_TOML)
    cfg = build_config(config_file=f)
    assert cfg.model.width == [7, 5] and cfg.model.init_scale == 1.0 and isinstance(cfg.model.init_scale, float)
    assert cfg.problem.singular_values == [3.0, 2.0] and cfg.meta == {"title": "saved"}
    data = tomllib.loads(SAVED_TOML)
    assert config_from_dict(data).to_dict() == cfg.to_dict()
    assert tomllib.loads(dumps_toml(cfg)) == config_from_dict(data).to_dict()
    #: keys declared after this file was saved: written back at their defaults
    added = {"optimizer": {"label_noise": 0.0}, "run": {"snapshot_mb": 64}, "model": {"components": 10},
             "problem": {"symmetric": False}}
    for table in ("problem", "model", "optimizer", "run"):
        written = cfg.to_dict()[table]
        assert set(written) == set(data[table]) | set(added.get(table, {}))  # the same keys, written back
        assert all(written[k] == v for k, v in added.get(table, {}).items())


def test_readme_key_table_is_the_one_made_from_the_declarations():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme_table(readme)
    assert table, "README.md lacks the markers of the key table"
    assert table == config_table_markdown(), (
        "README.md's key table is out of date: run  python -m ibviewer.core.config_docs README.md")
    for key in known_keys():
        assert f"| `{key}` |" in table


def test_keys_help_lists_every_key_with_what_it_allows():
    text = keys_help()
    named = [line.strip() for line in text.splitlines()[1:] if line.startswith("  ") and not line.startswith("   ")]
    assert named == known_keys()
    history = text.split("  run.history_rows\n", 1)[1].split("\n  run.", 1)[0]
    assert "Rows of history" in history and "a whole number of rows >= 16" in " ".join(history.split())


def test_the_controls_tooltips_are_the_declared_help():
    pytest.importorskip("PySide6")
    from ibviewer.gui.controls import tooltip

    assert tooltip("model.init_scale").startswith("α, the initialization scale")
    assert tooltip("model.init_scale").endswith("Allowed: a number in (0, 1e6].")
    assert tooltip("run.steps") == field_help("run.steps") and "0 = no limit" in tooltip("run.steps")
    assert tooltip("speed").startswith("Steps per frame") and tooltip("no.such_key") == ""
