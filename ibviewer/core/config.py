"""Run configuration: a typed, validated, TOML-backed description of one training run.

A config has four tables -- ``problem``, ``model``, ``optimizer``, ``run`` -- as in the TOML files of
``resources/presets``.  Every key has a default; a problem kind's own defaults come from its preset
(``resources/presets/<kind>.toml`` is the kind's default preset).  Overrides use dotted keys
(``--set model.depth=3``).  Any invalid input raises :class:`ConfigError` with a one-line message that names
the key and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ibviewer.core.resources import presets_dir

PROBLEM_KINDS = (
    "matrix_sensing",
    "matrix_completion",
    "matrix_factorization",
    "sparse_recovery",
    "linear_regression",
    "logistic_separable",
    "razin_cohen",
    "teacher_student",
    "digits",
)
#: model family of each problem kind: which parametrizations apply
FAMILY = {
    "matrix_sensing": "factorization",
    "matrix_completion": "factorization",
    "matrix_factorization": "factorization",
    "razin_cohen": "factorization",
    "linear_regression": "linear_network",
    "logistic_separable": "classifier",
    "sparse_recovery": "diagonal",
    "teacher_student": "mlp",
    "digits": "mlp",
}
PARAMETRIZATIONS = {
    "factorization": ("product",),
    "linear_network": ("product",),
    "classifier": ("product",),
    "diagonal": ("pm_power", "hadamard", "linear"),
    "mlp": ("mlp",),
}
ACTIVATIONS = ("relu", "tanh", "linear")
INITS = ("gaussian", "identity", "orthogonal", "balanced", "zeros", "constant")
OPTIMIZERS = ("gd", "sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad")
DTYPES = ("float64", "float32")
DEVICES = ("cpu", "cuda", "auto")
BACKENDS = ("auto", "numpy", "torch")
FACTORIZATION_TARGETS = ("spectrum", "lowrank_noise", "file")
REGRESSION_INPUTS = ("gaussian", "whitened")
X_AXES = ("step", "log_step", "time")


class ConfigError(ValueError):
    """Bad configuration: the message is one line naming the key and what is allowed."""


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} = {value!r} is not allowed; choose one of: {', '.join(allowed)}")


def _positive(key: str, value: float, *, strict: bool = True) -> None:
    if strict and not value > 0:
        raise ConfigError(f"{key} = {value!r} is not allowed; it must be > 0")
    if not strict and not value >= 0:
        raise ConfigError(f"{key} = {value!r} is not allowed; it must be >= 0")
    if not math.isfinite(value):
        raise ConfigError(f"{key} = {value!r} is not allowed; it must be a finite number")


@dataclass
class ProblemConfig:
    kind: str = "matrix_sensing"
    d: int = 20  # matrix size (square), or input dimension of regression / classification
    n: int = 100  # vector length (sparse recovery)
    rank: int = 2
    measurements: int = 160  # sensing: matrices; completion: observed entries; sparse: rows of A
    sparsity: int = 5
    samples: int = 50  # training samples (regression, classification)
    noise: float = 0.0
    seed: int = 0
    #: factorization target: Chou et al. spectrum, low rank plus noise, or a file
    target: str = "spectrum"
    #: explicit singular values of the ground truth (sensing/completion/factorization); empty = random
    singular_values: list[float] = field(default_factory=list)
    #: a .npy/.csv/.npz file holding the matrix to factorize (target = "file")
    source: str = ""
    #: regression inputs
    inputs: str = "gaussian"
    #: regression output dimension (0 = d)
    outputs: int = 0
    #: held-out samples (teacher_student)
    test_samples: int = 1000


@dataclass
class ModelConfig:
    depth: int = 3
    #: hidden width; 0 = the problem's natural size (d); MLPs also take a list, one width per hidden layer
    width: int = 0
    init: str = "gaussian"
    init_scale: float = 1e-3
    #: per-entry std that overrides init_scale for the gaussian init (0 = use init_scale)
    init_std: float = 0.0
    parametrization: str = "auto"
    #: MLPs: activation, biases, weight normalization
    activation: str = "relu"
    bias: bool = True
    weight_norm: bool = False
    #: MLPs: train f(w) - f(w0), the centred model of lazy-training studies (Chizat, Oyallon, Bach)
    center_output: bool = False


@dataclass
class OptimizerConfig:
    name: str = "gd"
    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 0  # 0 = full batch
    weight_decay: float = 0.0
    beta2: float = 0.999
    eps: float = 1e-8


@dataclass
class RunConfig:
    steps: int = 20000
    seed: int = 0
    dtype: str = "float64"
    device: str = "cpu"
    backend: str = "auto"
    #: record metrics every this many steps (plus log-spaced early steps); 0 = automatic
    record_every: int = 0
    loss_tol: float = 0.0
    #: the run diverges when the loss exceeds this multiple of its initial value (or is NaN/Inf)
    diverge_factor: float = 1e8
    #: rows of history kept before thinning
    history_rows: int = 20000
    #: effective-rank and numerical-rank tolerance (relative to the largest singular value)
    rank_tol: float = 1e-3


@dataclass
class Config:
    problem: ProblemConfig = field(default_factory=ProblemConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    run: RunConfig = field(default_factory=RunConfig)
    #: free-form description (title, paper, description) from a preset; not validated
    meta: dict[str, Any] = field(default_factory=dict)

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
        out = {name: dataclasses.asdict(getattr(self, name)) for name in TABLES}
        if self.meta:
            out["meta"] = copy.deepcopy(self.meta)
        return out

    def copy(self) -> "Config":
        return copy.deepcopy(self)

    # ------------------------------------------------------------------ checks
    def validate(self) -> "Config":
        p, m, o, r = self.problem, self.model, self.optimizer, self.run
        _choice("problem.kind", p.kind, PROBLEM_KINDS)
        for key in ("d", "n", "rank", "measurements", "samples"):
            if getattr(p, key) < 1:
                raise ConfigError(f"problem.{key} = {getattr(p, key)} is not allowed; it must be >= 1")
        if p.sparsity < 0:
            raise ConfigError(f"problem.sparsity = {p.sparsity} is not allowed; it must be >= 0")
        _positive("problem.noise", p.noise, strict=False)
        _choice("problem.target", p.target, FACTORIZATION_TARGETS)
        _choice("problem.inputs", p.inputs, REGRESSION_INPUTS)
        if p.kind in ("matrix_sensing", "matrix_completion", "matrix_factorization") and p.rank > p.d:
            raise ConfigError(f"problem.rank = {p.rank} is not allowed; it must be <= problem.d = {p.d}")
        if p.kind == "matrix_completion" and p.measurements > p.d * p.d:
            raise ConfigError(
                f"problem.measurements = {p.measurements} is not allowed for matrix_completion; "
                f"at most d*d = {p.d * p.d} entries can be observed"
            )
        if p.kind == "sparse_recovery" and p.sparsity > p.n:
            raise ConfigError(f"problem.sparsity = {p.sparsity} is not allowed; it must be <= problem.n = {p.n}")
        if p.singular_values and any(not (s > 0 and math.isfinite(s)) for s in p.singular_values):
            raise ConfigError("problem.singular_values must be a list of positive numbers")
        if p.kind == "matrix_factorization" and p.target == "file" and not p.source:
            raise ConfigError("problem.source must name a .npy, .npz or .csv file when problem.target = 'file'")
        if p.outputs < 0:
            raise ConfigError(f"problem.outputs = {p.outputs} is not allowed; it must be >= 0 (0 = d)")

        if m.depth < 1:
            raise ConfigError(f"model.depth = {m.depth} is not allowed; it must be >= 1")
        if isinstance(m.width, list):
            if self.family != "mlp":
                raise ConfigError("model.width must be one whole number for this problem.kind (a list is for MLPs)")
            if len(m.width) != m.depth - 1 or any(w < 1 for w in m.width):
                raise ConfigError(
                    f"model.width = {m.width} is not allowed; give model.depth - 1 = {m.depth - 1} widths, each >= 1"
                )
        elif m.width < 0:
            raise ConfigError(f"model.width = {m.width} is not allowed; it must be >= 1 (or 0 for the problem size)")
        _choice("model.init", m.init, INITS)
        _positive("model.init_scale", m.init_scale)
        _positive("model.init_std", m.init_std, strict=False)
        allowed = ("auto",) + PARAMETRIZATIONS[self.family]
        if m.parametrization not in allowed:
            raise ConfigError(
                f"model.parametrization = {m.parametrization!r} is not allowed for problem.kind = {p.kind!r}; "
                f"choose one of: {', '.join(allowed)}"
            )
        if m.init == "zeros" and m.depth != 1:
            raise ConfigError("model.init = 'zeros' is only allowed with model.depth = 1 (deeper products stay at 0)")
        if self.family == "diagonal":
            if m.init not in ("constant", "gaussian", "zeros"):
                raise ConfigError(
                    f"model.init = {m.init!r} is not allowed for diagonal models; choose one of: constant, gaussian, zeros"
                )
            if self.parametrization == "linear" and m.depth != 1:
                raise ConfigError("model.depth must be 1 with model.parametrization = 'linear'")
        elif m.init == "constant":
            raise ConfigError("model.init = 'constant' is only allowed for diagonal models (problem.kind = sparse_recovery)")
        if self.family == "mlp" and m.init not in ("gaussian", "orthogonal"):
            raise ConfigError(f"model.init = {m.init!r} is not allowed for MLPs; choose one of: gaussian, orthogonal")
        _choice("model.activation", m.activation, ACTIVATIONS)
        if m.weight_norm and self.parametrization not in ("mlp", "pm_power"):
            raise ConfigError("model.weight_norm is allowed for MLPs and the pm_power diagonal model only")
        if p.test_samples < 1:
            raise ConfigError(f"problem.test_samples = {p.test_samples} is not allowed; it must be >= 1")

        _choice("optimizer.name", o.name, OPTIMIZERS)
        _positive("optimizer.lr", o.lr)
        if not 0 <= o.momentum < 1:
            raise ConfigError(f"optimizer.momentum = {o.momentum} is not allowed; it must be in [0, 1)")
        if not 0 <= o.beta2 < 1:
            raise ConfigError(f"optimizer.beta2 = {o.beta2} is not allowed; it must be in [0, 1)")
        _positive("optimizer.eps", o.eps)
        if o.batch_size < 0:
            raise ConfigError(f"optimizer.batch_size = {o.batch_size} is not allowed; it must be >= 1 (or 0 = full batch)")
        _positive("optimizer.weight_decay", o.weight_decay, strict=False)

        if r.steps < 0:
            raise ConfigError(f"run.steps = {r.steps} is not allowed; it must be >= 0")
        _choice("run.dtype", r.dtype, DTYPES)
        _choice("run.device", r.device, DEVICES)
        _choice("run.backend", r.backend, BACKENDS)
        if r.record_every < 0:
            raise ConfigError(f"run.record_every = {r.record_every} is not allowed; it must be >= 1 (or 0 = automatic)")
        _positive("run.loss_tol", r.loss_tol, strict=False)
        _positive("run.diverge_factor", r.diverge_factor)
        if r.history_rows < 16:
            raise ConfigError(f"run.history_rows = {r.history_rows} is not allowed; it must be >= 16")
        if not 0 < r.rank_tol < 1:
            raise ConfigError(f"run.rank_tol = {r.rank_tol} is not allowed; it must be in (0, 1)")
        return self


TABLES = {
    "problem": ProblemConfig,
    "model": ModelConfig,
    "optimizer": OptimizerConfig,
    "run": RunConfig,
}


def known_keys() -> list[str]:
    return [f"{t}.{f.name}" for t, cls in TABLES.items() for f in fields(cls)]


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Coerce ``value`` to the type of ``default`` (the field's default)."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{key} = {value!r} is not allowed; it must be true or false")
    if isinstance(default, int):
        if isinstance(value, bool):
            raise ConfigError(f"{key} = {value!r} is not allowed; it must be a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                f = float(value)
            except ValueError:
                pass
            else:
                if f.is_integer():
                    return int(f)
        raise ConfigError(f"{key} = {value!r} is not allowed; it must be a whole number")
    if isinstance(default, float):
        if isinstance(value, bool):
            raise ConfigError(f"{key} = {value!r} is not allowed; it must be a number")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{key} = {value!r} is not allowed; it must be a number")
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key} = {value!r} is not allowed; it must be a string")
    if isinstance(default, list):
        if isinstance(value, str):
            text = value.strip().strip("[]")
            value = [v for v in (s.strip() for s in text.split(",")) if v]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} = {value!r} is not allowed; it must be a list of numbers")
        try:
            return [float(v) for v in value]
        except (TypeError, ValueError):
            raise ConfigError(f"{key} = {value!r} is not allowed; it must be a list of numbers") from None
    return value


def _coerce_width(key: str, value: Any) -> int | list[int]:
    """model.width: a whole number, or (MLPs) a list of them."""
    if isinstance(value, str) and ("," in value or value.strip().startswith("[")):
        value = [v for v in (s.strip() for s in value.strip().strip("[]").split(",")) if v]
    if isinstance(value, (list, tuple)):
        return [_coerce(key, v, 0) for v in value]
    return _coerce(key, value, 0)


def set_key(cfg: Config, dotted: str, value: Any) -> None:
    """Set ``table.key`` on ``cfg`` with type coercion; unknown keys raise ConfigError."""
    if "." not in dotted:
        raise ConfigError(f"unknown key {dotted!r}; keys look like table.key, e.g. model.depth")
    table, key = dotted.split(".", 1)
    if table == "meta":
        cfg.meta[key] = value
        return
    if table not in TABLES:
        raise ConfigError(f"unknown table {table!r} in {dotted!r}; tables are: {', '.join(TABLES)}")
    obj = getattr(cfg, table)
    names = {f.name: f for f in fields(obj)}
    if key not in names:
        raise ConfigError(f"unknown key {dotted!r}; {table} keys are: {', '.join(names)}")
    if dotted == "model.width":
        setattr(obj, key, _coerce_width(dotted, value))
        return
    setattr(obj, key, _coerce(dotted, value, getattr(type(obj)(), key)))


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
    _choice("problem.kind", kind, PROBLEM_KINDS)

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
