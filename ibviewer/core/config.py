"""Run configuration: a typed, validated, TOML-backed description of one training run.

A config has four tables -- ``problem``, ``model``, ``optimizer``, ``run`` -- as in the TOML files of
``resources/presets``.  Each key is declared once, with its type, bounds, unit and help text, in
:mod:`ibviewer.core.config_fields`; this module adds the checks that involve several keys, the loading of
presets and files, and the overrides with dotted keys (``--set model.depth=3``).  Every key has a default; a
problem kind's own defaults come from its preset (``resources/presets/<kind>.toml`` is the kind's default
preset).  Any invalid input raises :class:`ConfigError` with a one-line message that names the key and what is
allowed.  Files and sessions saved by earlier versions load unchanged: the keys and their TOML types are the
same.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ibviewer.core.config_fields import (  # noqa: F401  (re-exported: the public names of the config)
    ACTIVATIONS,
    BACKENDS,
    DEVICES,
    DTYPES,
    FACTORIZATION_TARGETS,
    FAMILY,
    INITS,
    LABEL_NOISE_KINDS,
    OPTIMIZERS,
    PARAMETRIZATIONS,
    PROBLEM_KINDS,
    REGRESSION_INPUTS,
    SYMMETRIC_KINDS,
    TABLES,
    X_AXES,
    ConfigError,
    ModelConfig,
    OptimizerConfig,
    ProblemConfig,
    RunConfig,
    check_value,
    config_error,
    field_domain,
    field_help,
    field_info,
    known_keys,
)
from ibviewer.core.resources import presets_dir


class Config(BaseModel):
    """A whole run configuration: its four tables and the free-form ``meta`` of a preset.

    Assigning a table's key (``cfg.run.seed = 5``) checks that key; :meth:`validate` also checks how keys fit
    together (a rank at most d, an init that suits the model family, ...)."""

    model_config = ConfigDict(extra="forbid")

    problem: ProblemConfig = Field(default_factory=ProblemConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    #: free-form description (title, paper, description) from a preset; not validated
    meta: dict[str, Any] = Field(default_factory=dict)

    # ------------------------------------------------------------------ derived
    @property
    def family(self) -> str:
        return FAMILY[self.problem.kind]

    @property
    def parametrization(self) -> str:
        p = self.model.parametrization
        if p == "auto":
            return PARAMETRIZATIONS[self.family][0]
        return p

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name).model_dump() for name in TABLES}
        if self.meta:
            out["meta"] = copy.deepcopy(self.meta)
        return out

    def copy(self) -> "Config":  # type: ignore[override]
        return self.model_copy(deep=True)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ checks
    def validate(self) -> "Config":  # type: ignore[override]
        """Check every key and how they fit together; returns this config, or raises ConfigError."""
        data = self.to_dict()
        try:
            type(self).model_validate(data)
        except ValidationError as exc:
            raise config_error(exc, data) from None
        return self

    @model_validator(mode="after")
    def _keys_fit_together(self) -> "Config":
        _check_problem(self)
        _check_model(self)
        _check_optimizer(self)
        return self


def _check_problem(cfg: Config) -> None:
    p = cfg.problem
    if p.kind in ("matrix_sensing", "matrix_completion", "matrix_factorization") and p.rank > p.d:
        raise ConfigError(f"problem.rank = {p.rank} is not allowed; it must be <= problem.d = {p.d}")
    if p.kind == "matrix_completion" and p.measurements > p.d * p.d:
        raise ConfigError(
            f"problem.measurements = {p.measurements} is not allowed for matrix_completion; "
            f"at most d*d = {p.d * p.d} entries can be observed"
        )
    if p.kind == "sparse_recovery" and p.sparsity > p.n:
        raise ConfigError(f"problem.sparsity = {p.sparsity} is not allowed; it must be <= problem.n = {p.n}")
    if p.kind == "tensor_completion":
        from ibviewer.core.tensor import check_tensor_problem

        check_tensor_problem(p)
    if p.symmetric:
        if p.kind not in SYMMETRIC_KINDS:
            raise ConfigError(f"problem.symmetric is not allowed for problem.kind = {p.kind!r}; it is for "
                              f"{', '.join(SYMMETRIC_KINDS)}")
        if p.source or (p.kind == "matrix_factorization" and p.target == "file"):
            raise ConfigError("problem.symmetric is for generated problems, not for a data file (problem.source); "
                              "set problem.symmetric = false")
    if p.kind == "matrix_factorization" and p.target == "file" and not p.source:
        raise ConfigError("problem.source must name a .npy, .npz or .csv file when problem.target = 'file'")


def _check_optimizer(cfg: Config) -> None:
    if cfg.optimizer.label_noise > 0 and cfg.problem.kind not in LABEL_NOISE_KINDS:
        raise ConfigError(
            f"optimizer.label_noise = {cfg.optimizer.label_noise:g} is not allowed for problem.kind = "
            f"{cfg.problem.kind!r}; it needs a squared loss: {', '.join(LABEL_NOISE_KINDS)}"
        )


def _check_model(cfg: Config) -> None:
    m, family = cfg.model, cfg.family
    if isinstance(m.width, list):
        if family != "mlp":
            raise ConfigError("model.width must be one whole number for this problem.kind (a list is for MLPs)")
        if len(m.width) != m.depth - 1:
            raise ConfigError(
                f"model.width = {m.width} is not allowed; give model.depth - 1 = {m.depth - 1} widths, each >= 1"
            )
    allowed = ("auto",) + PARAMETRIZATIONS[family]
    if m.parametrization not in allowed:
        raise ConfigError(
            f"model.parametrization = {m.parametrization!r} is not allowed for problem.kind = "
            f"{cfg.problem.kind!r}; choose one of: {', '.join(allowed)}"
        )
    if cfg.parametrization == "symmetric":
        _check_symmetric_model(cfg)
    if family == "tensor" and m.init != "gaussian":
        raise ConfigError(f"model.init = {m.init!r} is not allowed for tensor factorization; it must be gaussian "
                          "(scaled by model.init_scale or model.init_std)")
    if m.init == "zeros" and m.depth != 1:
        raise ConfigError("model.init = 'zeros' is only allowed with model.depth = 1 (deeper products stay at 0)")
    if family == "diagonal":
        if m.init not in ("constant", "gaussian", "zeros"):
            raise ConfigError(
                f"model.init = {m.init!r} is not allowed for diagonal models; choose one of: constant, gaussian, zeros"
            )
        if cfg.parametrization == "linear" and m.depth != 1:
            raise ConfigError("model.depth must be 1 with model.parametrization = 'linear'")
    elif m.init == "constant":
        raise ConfigError("model.init = 'constant' is only allowed for diagonal models (problem.kind = sparse_recovery)")
    if family == "mlp" and m.init not in ("gaussian", "orthogonal"):
        raise ConfigError(f"model.init = {m.init!r} is not allowed for MLPs; choose one of: gaussian, orthogonal")
    if m.weight_norm and cfg.parametrization not in ("mlp", "pm_power"):
        raise ConfigError("model.weight_norm is allowed for MLPs and the pm_power diagonal model only")


def _check_symmetric_model(cfg: Config) -> None:
    """W = U Uᵀ: a product of two factors, positive semidefinite, so it needs a symmetric problem."""
    m, p = cfg.model, cfg.problem
    if p.kind not in SYMMETRIC_KINDS:
        raise ConfigError(f"model.parametrization = 'symmetric' is not allowed for problem.kind = {p.kind!r}; it "
                          f"is for {', '.join(SYMMETRIC_KINDS)}")
    if not p.symmetric:
        raise ConfigError("model.parametrization = 'symmetric' (W = U Uᵀ, positive semidefinite) needs a symmetric "
                          "problem: set problem.symmetric = true")
    if m.depth != 2:
        raise ConfigError(f"model.depth = {m.depth} is not allowed with model.parametrization = 'symmetric'; "
                          "W = U Uᵀ has depth 2")
    if m.init not in ("gaussian", "orthogonal", "identity"):
        raise ConfigError(f"model.init = {m.init!r} is not allowed with model.parametrization = 'symmetric'; "
                          "choose one of: gaussian, orthogonal, identity")


def set_key(cfg: Config, dotted: str, value: Any) -> None:
    """Set ``table.key`` on ``cfg``, read as its declaration says (``"3"`` -> 3); a bad value or an unknown key
    raises ConfigError.  ``meta.*`` keys are free-form."""
    table, _, key = dotted.partition(".")
    if table == "meta" and key:
        cfg.meta[key] = value
        return
    field_info(dotted)  # unknown table or key: the message lists the allowed ones
    setattr(getattr(cfg, table), key, value)


def parse_assignment(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise ConfigError(f"--set {text!r} is malformed; write key=value, e.g. model.depth=3")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def _apply_tables(cfg: Config, data: dict[str, Any], source: str) -> None:
    for table, content in data.items():
        if table == "meta":
            if not isinstance(content, dict):
                raise ConfigError(f"{source}: [meta] must be a table")
            cfg.meta.update(content)
            continue
        if table not in TABLES:
            raise ConfigError(f"{source}: unknown table [{table}]; tables are: {', '.join(TABLES)}, meta")
        if not isinstance(content, dict):
            raise ConfigError(f"{source}: {table} must be a table, e.g. [{table}]")
        for key, value in content.items():
            set_key(cfg, f"{table}.{key}", value)


def load_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text (byte {exc.start}); save it as UTF-8 "
                          "TOML") from None
    except OSError as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {exc.strerror}") from None


def preset_names() -> list[str]:
    return sorted(p.stem for p in presets_dir().glob("*.toml"))


def preset_path(name: str) -> Path:
    path = presets_dir() / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; run 'ibviewer presets' for the list")
    return path


def preset_info(name: str) -> dict[str, Any]:
    return load_toml(preset_path(name)).get("meta", {})


#: the preset whose settings are each problem kind's defaults
KIND_PRESET = {
    "matrix_sensing": "sensing_depth_low_rank",
    "matrix_completion": "completion_depth_low_rank",
    "matrix_factorization": "factorization_sequential_learning",
    "sparse_recovery": "hadamard_l1_bias",
    "linear_regression": "deep_linear_balancedness",
    "logistic_separable": "logistic_max_margin",
    "razin_cohen": "razin_cohen_norms_diverge",
    "teacher_student": "mlp_interpolation_generalizes",
    "digits": "mlp_digits",
    "tensor_completion": "tensor_greedy_rank",
}


def kind_defaults(kind: str) -> dict[str, Any]:
    """The default tables of a problem kind: those of its preset (:data:`KIND_PRESET`)."""
    data = load_toml(preset_path(KIND_PRESET[kind]))
    data.pop("meta", None)
    return data


def build_config(
    *,
    preset: str | None = None,
    config_file: str | Path | None = None,
    data: dict[str, Any] | None = None,
    overrides: list[tuple[str, Any]] | dict[str, Any] | None = None,
) -> Config:
    """Resolve a config: kind defaults, then preset or file or data, then dotted overrides; validated."""
    layers: list[tuple[str, dict[str, Any]]] = []
    if preset is not None and config_file is not None:
        raise ConfigError("give either a preset or a config file, not both")
    if preset is not None:
        layers.append((f"preset {preset!r}", load_toml(preset_path(preset))))
    if config_file is not None:
        layers.append((f"{config_file}", load_toml(config_file)))
    if data is not None:
        layers.append(("config", data))
    if isinstance(overrides, dict):
        overrides = list(overrides.items())
    overrides = list(overrides or [])

    # the kind decides the defaults: the last one named wins
    kind = ProblemConfig().kind
    for _, layer in layers:
        problem = layer.get("problem", {})
        if isinstance(problem, dict) and "kind" in problem:
            kind = problem["kind"]
    for key, value in overrides:
        if key == "problem.kind":
            kind = value
    kind = check_value("problem.kind", kind)

    cfg = Config()
    _apply_tables(cfg, kind_defaults(kind), f"defaults of {kind}")
    for source, layer in layers:
        _apply_tables(cfg, layer, source)
    for key, value in overrides:
        set_key(cfg, key, value)
    return cfg.validate()


def config_from_dict(data: dict[str, Any]) -> Config:
    """Rebuild a fully resolved config (as written by :meth:`Config.to_dict`)."""
    cfg = Config()
    _apply_tables(cfg, data, "config")
    return cfg.validate()


def dumps_toml(cfg: Config) -> str:
    import tomli_w

    return tomli_w.dumps(cfg.to_dict())


DEFAULT_PRESET = "sensing_incremental_rank"


def cfg_get(cfg: Any, path: str, default: Any = None) -> Any:
    """``cfg``'s value at a dotted ``path`` ("model.depth"), for a Config or its dict form; ``default`` where
    it is missing (a problem's info without a config)."""
    cur = cfg
    for part in path.split("."):
        if cur is None:
            return default
        cur = cur.get(part) if isinstance(cur, dict) else getattr(cur, part, None)
    return default if cur is None else cur
