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
        ([("model.init_scale", 0)], ["model.init_scale", "> 0"]),
        ([("model.init_scale", -1e-3)], ["model.init_scale", "> 0"]),
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
