"""The configuration keys, each declared once: type, bounds, choices, unit and help text.

Each table of a run configuration (``problem``, ``model``, ``optimizer``, ``run``) is a pydantic model whose
fields are declared with :func:`key`.  Everything else reads these declarations: validation (one-line
:class:`ConfigError` messages that name the key and what is allowed, :func:`field_domain`), the controls'
tooltips and ``--help`` (:func:`field_help`) and the README's key table (``ibviewer.core.config_docs``), so a
new key or a changed bound is written in one place.  Checks that involve several keys live on the whole
configuration (``ibviewer.core.config.Config``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

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
    "tensor_completion",
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
    "tensor_completion": "tensor",
}
PARAMETRIZATIONS = {
    "factorization": ("product", "symmetric"),
    "linear_network": ("product",),
    "classifier": ("product",),
    "diagonal": ("pm_power", "hadamard", "linear"),
    "mlp": ("mlp",),
    "tensor": ("cp",),
}
#: problem kinds whose targets label noise (``optimizer.label_noise``) can perturb: the squared losses
LABEL_NOISE_KINDS = ("matrix_sensing", "matrix_completion", "matrix_factorization", "sparse_recovery",
                     "linear_regression", "razin_cohen")
ALL_PARAMETRIZATIONS = ("auto", "product", "symmetric", "pm_power", "hadamard", "linear", "mlp", "cp")
#: problem kinds that can have a symmetric positive semidefinite ground truth (``problem.symmetric``) and so the
#: symmetric model W = U Uᵀ (``model.parametrization = symmetric``)
SYMMETRIC_KINDS = ("matrix_sensing", "matrix_completion", "matrix_factorization")
ACTIVATIONS = ("relu", "tanh", "linear")
INITS = ("gaussian", "identity", "orthogonal", "balanced", "zeros", "constant")
OPTIMIZERS = ("gd", "sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad")
DTYPES = ("float64", "float32")
DEVICES = ("cpu", "cuda", "auto")
BACKENDS = ("auto", "numpy", "torch")
FACTORIZATION_TARGETS = ("spectrum", "lowrank_noise", "file")
REGRESSION_INPUTS = ("gaussian", "whitened")
X_AXES = ("step", "log_step", "time")
#: measurement operators of matrix sensing (ibviewer.core.rank_one)
SENSING_OPERATORS = ("dense", "rank_one")


class ConfigError(ValueError):
    """Bad configuration: the message is one line naming the key and what is allowed."""


# ------------------------------------------------------------------------------------------- value types
# Values arrive as TOML values, or as text from --set and the controls: the types below read both, and refuse
# what would silently change meaning (a bool as a number, 2.5 as a whole number).

def _whole(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a bool is not a whole number")
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value  # pydantic refuses it, and the message comes from the declaration
        return int(number) if number.is_integer() else value
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a bool is not a number")
    return value


def _truth(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise ValueError("not true or false")


def _list_text(value: Any) -> Any:
    """``"3, 2"`` or ``"[3, 2]"`` (text from --set or a text field) -> ``["3", "2"]``."""
    if isinstance(value, str):
        return [v for v in (s.strip() for s in value.strip().strip("[]").split(",")) if v]
    return value


def _width_text(value: Any) -> Any:
    if isinstance(value, str) and ("," in value or value.strip().startswith("[")):
        return _list_text(value)
    return value


Whole = Annotated[int, BeforeValidator(_whole)]
Number = Annotated[float, BeforeValidator(_number)]
Truth = Annotated[bool, BeforeValidator(_truth)]
PositiveNumbers = Annotated[list[Annotated[Number, Field(gt=0, allow_inf_nan=False)]], BeforeValidator(_list_text)]
Widths = Annotated[
    Union[Annotated[Whole, Field(ge=0)], list[Annotated[Whole, Field(ge=1)]]], BeforeValidator(_width_text)
]


def key(default: Any, help: str, *, unit: str = "", zero: str = "", domain: str = "", **bounds: Any) -> Any:
    """Declare one configuration key: its default, help text, unit, what 0 means (``zero``), bounds (``ge``,
    ``gt``, ``le``, ``lt``) and, where the type does not say it, the allowed values in words (``domain``)."""
    extra = {"unit": unit, "zero": zero, "domain": domain}
    if isinstance(default, list):
        return Field(default_factory=lambda: list(default), description=help, json_schema_extra=extra, **bounds)
    if isinstance(default, float):
        bounds.setdefault("allow_inf_nan", False)
    return Field(default, description=help, json_schema_extra=extra, **bounds)


class Table(BaseModel):
    """One table of a configuration.  Assigning a field checks it against its declaration; a bad value raises
    :class:`ConfigError` naming ``table.key``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    NAME: ClassVar[str] = ""

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in type(self).model_fields:
            keys = ", ".join(type(self).model_fields)
            raise ConfigError(f"unknown key '{self.NAME}.{name}'; {self.NAME} keys are: {keys}")
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise field_error(f"{self.NAME}.{name}", value, exc) from None

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]


class ProblemConfig(Table):
    NAME: ClassVar[str] = "problem"
    kind: Literal[PROBLEM_KINDS] = key(
        "matrix_sensing", "The training problem; each kind has its own defaults, those of its preset "
        "(changing it resets the run)")
    d: Whole = key(20, "Matrix size d (the product is d×d), or the input dimension of regression/classification;"
                       "\ntensor completion: the size of each of the three modes (d×d×d)", ge=1)
    n: Whole = key(100, "Length n of the sparse vector x ∈ ℝⁿ (sparse recovery)", ge=1)
    rank: Whole = key(2, "Rank r of the ground truth W* = U Vᵀ (U, V ∈ ℝ^{d×r}), used when no singular values "
                         "are given; MLP teachers: hidden width;\ntensor completion: the CP rank of T*", ge=1)
    measurements: Whole = key(160, "Sensing: m matrices A_i with y_i = ⟨A_i, W*⟩; completion (matrix "
                                   "or tensor): m observed entries;\nsparse recovery: m rows of A (m < n)", ge=1)
    sparsity: Whole = key(5, "Number s of nonzero entries of x* (sparse recovery)", ge=0)
    samples: Whole = key(50, "Number of training samples (regression, classification, MLPs)", ge=1)
    noise: Number = key(0.0, "Standard deviation of the Gaussian noise added to the observations", ge=0)
    seed: Whole = key(0, "Seed of the problem's data (ground truth, measurements)", ge=0)
    target: Literal[FACTORIZATION_TARGETS] = key(
        "spectrum", "Factorization target: Q diag(10·2^{−i}) Qᵀ (spectrum), U diag(s) Vᵀ plus noise "
        "(lowrank_noise) or a matrix from problem.source (file)")
    singular_values: PositiveNumbers = key(
        [], "Singular values of the ground truth, e.g. 12, 6, 3 (empty: random U Vᵀ with ‖W*‖_F = d);\n"
        "tensor completion: the norms of T*'s CP components (empty: problem.rank norms d^{3/2}/√r)",
        domain="a list of numbers > 0 (empty = random)")
    source: str = key("", "A .npy, .npz or .csv file holding the problem's data (e.g. the matrix to factorize "
                          "with problem.target = file); empty = generated",
                      domain="a file path, or empty")
    inputs: Literal[REGRESSION_INPUTS] = key(
        "gaussian", "Regression inputs: Gaussian, or whitened so that X Xᵀ/n = I")
    outputs: Whole = key(0, "Output dimension of the teacher W_t (linear regression)", ge=0, zero="d")
    test_samples: Whole = key(1000, "Number of held-out samples for the test loss (MLPs)", ge=1)
    operator: Literal[SENSING_OPERATORS] = key(
        "dense", "Sensing measurements: dense Gaussian matrices A_i (m·d² numbers), or rank-one A_i = a_i b_iᵀ "
        "(2·m·d numbers, applied as matrix products; the size for large d)")
    symmetric: Truth = key(
        False, "A symmetric positive semidefinite ground truth W* = U Uᵀ (sensing, completion, factorization) "
        "and, for sensing,\nsymmetric measurements (A_i + A_iᵀ)/2: the setting of the symmetric model W = U Uᵀ "
        "(model.parametrization = symmetric)")


class ModelConfig(Table):
    NAME: ClassVar[str] = "model"
    depth: Whole = key(3, "Depth N: W = W_N ⋯ W_1 (diagonal nets: x = u^{⊙N} − v^{⊙N}); deeper → stronger "
                          "low-rank/sparse bias", ge=1)
    width: Widths = key(0, "Hidden width k of the factors; MLPs: one number or a list, one width per hidden "
                           "layer, e.g. 64, 32",
                        domain="a whole number >= 0 (0 = the problem's size d), or for MLPs a list of "
                               "model.depth - 1 whole numbers >= 1")
    init: Literal[INITS] = key("gaussian", "Initialization scheme of the factors (diagonal nets: constant, "
                                           "gaussian or zeros; MLPs: gaussian or orthogonal)")
    init_scale: Number = key(1e-3, "α, the initialization scale: the scale of the end-to-end product "
                                   "(factorizations),\nthe initial value of every factor entry (diagonal nets: "
                                   "u = v = α·1).\nSmall α: rich regime (low rank / sparse); large α: kernel "
                                   "regime (min-ℓ2)", gt=0, le=1e6)
    init_std: Number = key(0.0, "Per-entry standard deviation of a Gaussian init; overrides α when > 0", ge=0,
                           le=1e6, zero="use α")
    parametrization: Literal[ALL_PARAMETRIZATIONS] = key(
        "auto", "Matrices: W = W_N ⋯ W_1 (product) or W = U Uᵀ (symmetric: depth 2, a symmetric problem);\n"
        "diagonal nets: x = u^{⊙N} − v^{⊙N} (pm_power), x = w_1 ⊙ ⋯ ⊙ w_N (hadamard) or plain x "
        "(linear); tensor completion: cp; auto: the first of the problem's family (product, pm_power, mlp, cp)")
    components: Whole = key(10, "Number R of components of a CP factorization T = Σ_r a_r ⊗ b_r ⊗ c_r (tensor "
                                "completion; more than the true CP rank: the implicit bias picks how many are used)",
                            ge=1, le=10000)
    activation: Literal[ACTIVATIONS] = key("relu", "MLP activation σ in W_N σ(⋯σ(W_1 x))")
    bias: Truth = key(True, "MLP layers with biases")
    weight_norm: Truth = key(False, "Weight normalization w = g·v/‖v‖ (MLPs; the pm_power diagonal model: "
                                    "Chou, Rauhut, Ward)")
    center_output: Truth = key(False, "Train f(w) − f(w₀), the centred model of lazy-training studies "
                                      "(Chizat, Oyallon, Bach; MLPs)")


class OptimizerConfig(Table):
    NAME: ClassVar[str] = "optimizer"
    name: Literal[OPTIMIZERS] = key("gd", "gd: W ← W − η∇L;  sgd: minibatches;  momentum/nesterov: heavy ball "
                                          "with β;\nadam, rmsprop, adagrad: adaptive steps.  Applies live.")
    lr: Number = key(0.01, "Learning rate η (step size).  Stable below about 2/(N σ_max^{2−2/N} ‖𝒜‖²).  "
                           "Applies live.", gt=0)
    momentum: Number = key(0.9, "Momentum β (momentum, nesterov; β₁ of adam).  Applies live.", ge=0, lt=1)
    batch_size: Whole = key(0, "Minibatch size of sgd-style optimizers.  Applies live.", ge=0, zero="full batch",
                            unit="samples")
    weight_decay: Number = key(0.0, "Weight decay λ: adds λ·W to every factor's gradient.  Applies live.", ge=0)
    beta2: Number = key(0.999, "β₂ of adam and the decay of rmsprop's squared-gradient average", ge=0, lt=1)
    eps: Number = key(1e-8, "ε added to the denominators of adam, rmsprop and adagrad", gt=0)
    label_noise: Number = key(0.0, "Label noise σ: fresh N(0, σ²) noise added to every target at every step "
                                   "(squared losses; HaoChen et al., Pillaud-Vivien et al.)", ge=0, zero="off")


class RunConfig(Table):
    NAME: ClassVar[str] = "run"
    steps: Whole = key(20000, "Stop after this many steps", ge=0, zero="no limit", unit="steps")
    seed: Whole = key(0, "Seed of the initialization (R resets with the same seed; 'new seed' draws another)",
                   ge=0)
    dtype: Literal[DTYPES] = key("float64", "Floating-point type of the parameters and data")
    device: Literal[DEVICES] = key("cpu", "Where to train: cpu, cuda (a GPU through torch) or auto (cuda when "
                                          "there is one)")
    backend: Literal[BACKENDS] = key("auto", "Array library: numpy (closed-form gradients, CPU), torch, or auto "
                                             "(numpy on the CPU)")
    record_every: Whole = key(0, "Record the metrics every this many steps (plus log-spaced early steps)", ge=0,
                              zero="automatic", unit="steps")
    loss_tol: Number = key(0.0, "Stop when the loss falls to this value", ge=0, zero="off")
    diverge_factor: Number = key(1e8, "The run diverges when the loss exceeds this multiple of its initial "
                                      "value (or is NaN/Inf)", ge=1)
    history_rows: Whole = key(20000, "Rows of history kept before the history thins itself", ge=16,
                              unit="rows")
    snapshot_mb: Whole = key(64, "Memory for the history's snapshots of wide values (a product larger than "
                                 "64×64), kept apart from the scalar rows; the first and the latest are always kept",
                             ge=1, le=1_000_000, unit="MB")
    rank_tol: Number = key(1e-3, "Effective-rank and numerical-rank tolerance, relative to the largest "
                                 "singular value", gt=0, lt=1)


TABLES: dict[str, type[Table]] = {
    "problem": ProblemConfig,
    "model": ModelConfig,
    "optimizer": OptimizerConfig,
    "run": RunConfig,
}


def known_keys() -> list[str]:
    return [f"{t}.{name}" for t, cls in TABLES.items() for name in cls.model_fields]


# --------------------------------------------------------------------------------------- reading declarations
def field_info(dotted: str) -> FieldInfo:
    """The declaration of ``table.key``; ConfigError naming the allowed keys if there is none."""
    table, _, name = dotted.partition(".")
    if not name:
        raise ConfigError(f"unknown key {dotted!r}; keys look like table.key, e.g. model.depth")
    if table not in TABLES:
        raise ConfigError(f"unknown table {table!r} in {dotted!r}; tables are: {', '.join(TABLES)}")
    fields = TABLES[table].model_fields
    if name not in fields:
        raise ConfigError(f"unknown key {dotted!r}; {table} keys are: {', '.join(fields)}")
    return fields[name]


def _extra(info: FieldInfo) -> dict[str, str]:
    return info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}  # type: ignore[return-value]


def format_number(x: float) -> str:
    """A bound or default as one would type it: 16, 0.5, 1e-8."""
    return re.sub(r"e([+-])0*(\d)", lambda m: f"e{'-' if m[1] == '-' else ''}{m[2]}", f"{x:g}")


def _bounds(info: FieldInfo) -> str:
    lo = hi = ""
    for m in info.metadata:
        if isinstance(m, at.Ge):
            lo = f">= {format_number(m.ge)}"
        elif isinstance(m, at.Gt):
            lo = f"> {format_number(m.gt)}"
        elif isinstance(m, at.Le):
            hi = f"<= {format_number(m.le)}"
        elif isinstance(m, at.Lt):
            hi = f"< {format_number(m.lt)}"
    if lo and hi:
        left = "[" if lo.startswith(">=") else "("
        right = "]" if hi.startswith("<=") else ")"
        return f"in {left}{lo.split()[1]}, {hi.split()[1]}{right}"
    return lo or hi


def choices(dotted: str) -> tuple[str, ...]:
    """The allowed values of a key declared with a fixed set of choices, else ()."""
    ann = field_info(dotted).annotation
    return tuple(get_args(ann)) if get_origin(ann) is Literal else ()


def field_domain(dotted: str) -> str:
    """What ``table.key`` allows, in words, e.g. ``a whole number >= 1`` or ``one of: gd, sgd, ...``."""
    info = field_info(dotted)
    extra = _extra(info)
    if extra.get("domain"):
        return extra["domain"]
    allowed = choices(dotted)
    if allowed:
        return "one of: " + ", ".join(allowed)
    ann = info.annotation
    base = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}.get(ann, str(ann))
    if extra.get("unit"):
        base += f" of {extra['unit']}"
    text = f"{base} {_bounds(info)}".strip()
    if extra.get("zero"):
        text += f" (0 = {extra['zero']})"
    return text


def field_help(dotted: str) -> str:
    """The help text of ``table.key`` followed by what it allows: the controls' tooltip and the --help text."""
    return f"{field_info(dotted).description}\nAllowed: {field_domain(dotted)}."


def field_default(dotted: str) -> Any:
    """The built-in default of ``table.key`` (a problem kind's preset may set another)."""
    return field_info(dotted).get_default(call_default_factory=True)


# ------------------------------------------------------------------------------------------------- errors
def _shown(value: Any) -> str:
    """A value as the user typed it: text that reads as a number without quotes."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return repr(value)
        return value
    return repr(value)


def field_error(dotted: str, value: Any, exc: ValidationError | None = None) -> ConfigError:
    """The one-line error for a value of ``table.key`` that its declaration refuses (or the ConfigError a
    cross-key check raised, passed through)."""
    if exc is not None:
        inner = _raised(exc)
        if inner is not None:
            return inner
    return ConfigError(f"{dotted} = {_shown(value)} is not allowed; it must be {field_domain(dotted)}")


def _raised(exc: ValidationError) -> ConfigError | None:
    for err in exc.errors():
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, ConfigError):
            return inner
    return None


def config_error(exc: ValidationError, data: Any) -> ConfigError:
    """The first error of validating a whole configuration (``data``: the tables as dicts) as one line."""
    inner = _raised(exc)
    if inner is not None:
        return inner
    err = exc.errors()[0]
    loc = err["loc"]
    if len(loc) >= 2 and loc[0] in TABLES and loc[1] in TABLES[loc[0]].model_fields:
        table, name = str(loc[0]), str(loc[1])
        value = data.get(table, {}).get(name, err.get("input")) if isinstance(data, dict) else err.get("input")
        return field_error(f"{table}.{name}", value)
    where = ".".join(str(x) for x in loc) or "config"
    return ConfigError(f"{where}: {err['msg'].splitlines()[0]}")


def check_value(dotted: str, value: Any) -> Any:
    """``value`` read as ``table.key`` declares it (``"3"`` -> 3 for a whole number); ConfigError otherwise."""
    field_info(dotted)
    table, name = dotted.split(".", 1)
    probe = TABLES[table]()
    setattr(probe, name, value)
    return getattr(probe, name)
