"""A sweep: a base configuration, a grid of values for some of its keys, and seeds; one run per grid point and
seed.  What ``ibviewer sweep SWEEP.toml`` reads (docs/architecture.md, "Sweeps").

A SWEEP.toml holds

* the base: ``preset = NAME`` (its configuration; any comparison the preset makes is ignored) and/or the four
  config tables ``[problem]``, ``[model]``, ``[optimizer]``, ``[run]`` (which change the preset's keys);
* ``[grid]``: dotted keys mapped to lists of values (every combination is a grid point), or to
  ``{ from = A, to = B, count = N, scale = "linear" | "log" }`` for evenly spaced values (add ``random = true``
  for values drawn at random over the range, ``seed = K`` to draw others); two ratio keys of
  sparse recovery, ``"m/n"`` (sets ``problem.measurements`` to round(m/n * n)) and ``"s/m"`` (sets
  ``problem.sparsity`` to round(s/m * measurements)), draw phase diagrams on the axes of the literature;
* ``[tied]`` (optional): keys whose value follows a grid key's, ``"model.init_scale" = { with = "model.depth",
  values = [1e-3, 1e-3, 0.1] }`` (one value per value of that grid key, in its order): a setting that must change
  with another, such as the initialization scale that suits each depth, without a grid axis of its own;
* ``seeds``: how many seeds per grid point (seed k sets both ``problem.seed`` and ``run.seed`` to k, so the
  data and the initialization vary), or a list of seeds;
* ``steps`` (optional): ``run.steps`` of every run;
* ``[plot]`` (optional): ``x``, ``y`` (grid keys, or ``seed`` for one cell per seed), ``metric`` (a result column) and ``threshold`` (plot the
  share of seeds whose metric is below it instead of the mean);
* ``[meta]`` (optional, free-form): ``title``, ``description``, ``paper``.

Every value is checked as it is read; a bad one raises :class:`~ibviewer.core.config.ConfigError`, one line
naming the key and what is allowed.  Keys that only clash in combination (a rank above d at one grid point)
are not refused here: that run is recorded as failed, with the reason, and the others go on.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ibviewer.core.config import (
    TABLES,
    Config,
    ConfigError,
    build_config,
    check_value,
    config_from_dict,
    load_toml,
)
from ibviewer.core.resources import resources_dir

#: grid keys that are ratios rather than config keys: what each sets, and from what
RATIO_KEYS = {
    "m/n": "problem.measurements = round(m/n * problem.n)",
    "s/m": "problem.sparsity = round(s/m * problem.measurements)",
}
#: the scalar columns of a result row besides the grid keys, ``seed`` and the distances ``dist_<reference>``
SCALARS = ("run", "seed", "status", "message", "diverged", "steps", "final_loss", "relative_error",
           "erank_entropy", "erank_nuclear_over_operator", "erank_stable", "numerical_rank", "l1",
           "test_accuracy", "wall_seconds")
#: the metrics a phase diagram can show: numeric result columns (and any ``dist_<reference>``)
METRICS = ("final_loss", "relative_error", "erank_entropy", "erank_nuclear_over_operator", "erank_stable",
           "numerical_rank", "l1", "test_accuracy", "steps", "wall_seconds")
#: the most runs one sweep may hold (a typo such as count = 1e6 fails at once, not after hours)
MAX_RUNS = 100_000


def sweeps_dir() -> Path:
    """The shipped sweep presets (``resources/sweeps/<name>.toml``)."""
    return resources_dir() / "sweeps"


def sweep_preset_names() -> list[str]:
    return sorted(p.stem for p in sweeps_dir().glob("*.toml"))


class Span(BaseModel):
    """Grid values over a range: ``count`` values from ``from`` to ``to``, on a linear or log scale, evenly
    spaced, or with ``random = true`` drawn uniformly on that scale (sorted; ``seed`` fixes the draw, so that the
    same SWEEP.toml names the same runs and a folder resumes)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: float = Field(alias="from")
    stop: float = Field(alias="to")
    count: int = Field(ge=1, le=10_000)
    scale: str = "linear"
    random: bool = False
    seed: int = Field(default=0, ge=0)

    @field_validator("scale")
    @classmethod
    def _scale(cls, v: str) -> str:
        if v not in ("linear", "log"):
            raise ValueError("scale must be 'linear' or 'log'")
        return v

    def values(self) -> list[float]:
        log = self.scale == "log"
        if log and (self.start <= 0 or self.stop <= 0):
            raise ValueError("a log scale needs from > 0 and to > 0")
        lo, hi = (math.log(self.start), math.log(self.stop)) if log else (self.start, self.stop)
        if self.random:
            vals = np.sort(np.random.default_rng(self.seed).uniform(lo, hi, self.count))
        else:
            vals = np.linspace(lo, hi, self.count)
        return [float(f"{v:.12g}") for v in (np.exp(vals) if log else vals)]


class PlotSpec(BaseModel):
    """What the phase diagram shows: ``metric`` over the grid keys ``x`` and ``y`` (mean over the seeds, or the
    share of seeds with the metric below ``threshold``)."""

    model_config = ConfigDict(extra="forbid")
    x: str
    y: str
    metric: str = "relative_error"
    threshold: float | None = Field(default=None, allow_inf_nan=False)

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if v not in METRICS and not v.startswith("dist_"):
            raise ValueError(f"unknown metric {v!r}; choose one of: {', '.join(METRICS)}, or dist_<reference>")
        return v


class SweepSpec(BaseModel):
    """The keys of a SWEEP.toml (see the module's docstring), checked one by one."""

    model_config = ConfigDict(extra="forbid")
    preset: str | None = None
    problem: dict[str, Any] = Field(default_factory=dict)
    model: dict[str, Any] = Field(default_factory=dict)
    optimizer: dict[str, Any] = Field(default_factory=dict)
    run: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any] | Span] = Field(min_length=1)
    tied: dict[str, TiedSpec] = Field(default_factory=dict)
    seeds: int | list[int] = Field(default=1)
    steps: int | None = Field(default=None, ge=1)
    plot: PlotSpec | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: int | list[int]) -> int | list[int]:
        if isinstance(v, int) and v < 1:
            raise ValueError("seeds must be at least 1 (or a list of seeds)")
        if isinstance(v, list) and (not v or len(set(v)) != len(v) or min(v) < 0):
            raise ValueError("a list of seeds must be non-empty, without repeats, each >= 0")
        return v


class TiedSpec(BaseModel):
    """A key tied to a grid key: ``values[i]`` goes with the grid key's i-th value."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    with_: str = Field(alias="with")
    values: list[Any] = Field(min_length=1)


@dataclass(frozen=True)
class RunPoint:
    """One run of a sweep: its index, its grid values (grid key -> value, in grid order, then the tied keys'
    values) and its seed."""

    index: int
    values: tuple[tuple[str, Any], ...]
    seed: int

    def columns(self) -> dict[str, Any]:
        """The row's identifying columns: the grid (and tied) keys under their names, and ``seed``."""
        return {**dict(self.values), "seed": self.seed}


@dataclass
class Sweep:
    """A checked sweep: the base configuration (as a dict of its four tables), the grid's keys and values, the
    seeds, the plot, where it came from, and the tied keys (tied key -> (grid key, one value per grid value))."""

    base: dict[str, Any]
    grid: dict[str, list[Any]]
    seeds: list[int]
    plot: PlotSpec | None
    meta: dict[str, Any]
    source: str = ""
    tied: dict[str, tuple[str, list[Any]]] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return list(self.grid)

    @property
    def run_count(self) -> int:
        return math.prod(len(v) for v in self.grid.values()) * len(self.seeds)

    def points(self) -> list[RunPoint]:
        """Every run, grid points in the order of the grid (the last key fastest), each with every seed."""
        out = []
        for combo in itertools.product(*self.grid.values()):
            values = tuple(zip(self.grid, combo))
            values += tuple(self.tied_values(dict(values)).items())
            for seed in self.seeds:
                out.append(RunPoint(len(out), values, seed))
        return out

    def tied_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """The tied keys' values at the grid ``values`` (those whose grid key ``values`` has)."""
        out = {}
        for key, (by, tied) in self.tied.items():
            if by in values:
                out[key] = tied[[repr(v) for v in self.grid[by]].index(repr(values[by]))]
        return out

    def config(self, values: dict[str, Any], seed: int) -> Config:
        """The configuration of the run at grid ``values`` (the tied keys follow) with ``seed`` (see
        :func:`run_config`)."""
        grid_values = {k: v for k, v in values.items() if k in self.grid}
        return run_config(self.base, {**grid_values, **self.tied_values(grid_values)}, seed)

    def to_dict(self) -> dict[str, Any]:
        """What a results folder keeps of the sweep (``sweep.json``): enough to rebuild any run exactly."""
        return {
            "base": self.base,
            "grid": self.grid,
            "seeds": self.seeds,
            "plot": None if self.plot is None else self.plot.model_dump(),
            "meta": self.meta,
            "tied": {k: {"with": by, "values": v} for k, (by, v) in self.tied.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "") -> "Sweep":
        plot = data.get("plot")
        tied = {k: (t["with"], list(t["values"])) for k, t in (data.get("tied") or {}).items()}  # (absent before)
        return cls(base=data["base"], grid={k: list(v) for k, v in data["grid"].items()}, seeds=list(data["seeds"]),
                   plot=None if plot is None else PlotSpec(**plot), meta=dict(data.get("meta") or {}), source=source,
                   tied=tied)


def run_config(base: dict[str, Any], values: dict[str, Any], seed: int) -> Config:
    """The configuration of one run: the ``base`` tables, the grid ``values`` (the ratio keys set measurements
    and sparsity), and ``seed`` as both ``problem.seed`` and ``run.seed``; ConfigError (one line) when its keys do
    not fit together."""
    data = copy.deepcopy(base)
    for key, value in values.items():
        if key not in RATIO_KEYS:
            table, name = key.split(".", 1)
            data[table][name] = value
    if "m/n" in values:
        data["problem"]["measurements"] = max(1, round(values["m/n"] * data["problem"]["n"]))
    if "s/m" in values:
        data["problem"]["sparsity"] = max(1, round(values["s/m"] * data["problem"]["measurements"]))
    data["problem"]["seed"] = seed
    data["run"]["seed"] = seed
    return config_from_dict(data)


def _spec_error(exc: ValidationError, source: str) -> ConfigError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not isinstance(p, int) or len(err["loc"]) < 3]
    # pydantic names the union branch it tried ("list[any]", "Span"): leave those out of the key
    loc = [p for p in loc if not p.startswith(("list[", "Span", "int", "function-"))]
    where = ".".join(loc) or "sweep"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(SweepSpec.model_fields)
        msg = f"unknown key; a sweep has: {allowed}"
    elif where.startswith("grid.") and err["type"] in ("list_type", "model_type", "dict_type"):
        msg = "give a list of values, or { from = A, to = B, count = N, scale = 'linear' | 'log' }"
    return ConfigError(f"{source}: {where}: {msg}")


def _grid_values(key: str, raw: list[Any] | Span, base: Config, source: str) -> list[Any]:
    """The values of one grid key, each read as its key declares it; ConfigError naming the key otherwise."""
    try:
        values = raw.values() if isinstance(raw, Span) else list(raw)
    except ValueError as exc:
        raise ConfigError(f"{source}: grid.{key}: {exc}") from None
    if not values:
        raise ConfigError(f"{source}: grid.{key}: give at least one value")
    if key in RATIO_KEYS:
        if base.problem.kind != "sparse_recovery":
            raise ConfigError(f"{source}: grid key {key!r} is for problem.kind = 'sparse_recovery' "
                              f"({RATIO_KEYS[key]})")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
                raise ConfigError(f"{source}: grid.{key} = {v!r} is not allowed; a ratio must be in (0, 1]")
        return [float(v) for v in values]
    if key in ("problem.seed", "run.seed"):
        raise ConfigError(f"{source}: grid key {key!r} is set by the seeds; use seeds = N or a list of seeds")
    try:
        checked = [check_value(key, v) for v in values]
    except ConfigError as exc:
        raise ConfigError(f"{source}: grid: {exc}") from None
    if len(set(map(repr, checked))) != len(checked):
        raise ConfigError(f"{source}: grid.{key} repeats a value; give each value once")
    return checked


def _tied_values(key: str, spec: TiedSpec, grid: dict[str, list[Any]], source: str) -> tuple[str, list[Any]]:
    """(the grid key, the values) of one tied key, each value read as its key declares it; ConfigError naming
    the key otherwise."""
    by = spec.with_
    if key in grid:
        raise ConfigError(f"{source}: tied.{key}: the key is a grid key too; tie it or sweep it, not both")
    set_by_ratio = {"problem.measurements": "m/n", "problem.sparsity": "s/m"}
    if key in RATIO_KEYS or key in ("problem.seed", "run.seed") or set_by_ratio.get(key) in grid:
        raise ConfigError(f"{source}: tied.{key}: this key cannot be tied (ratio keys, the keys they set and the "
                          "seeds are set by the grid and the seeds)")
    if by not in grid:
        raise ConfigError(f"{source}: tied.{key}.with = {by!r} is not a grid key; grid keys are: {', '.join(grid)}")
    if len(spec.values) != len(grid[by]):
        raise ConfigError(f"{source}: tied.{key} has {len(spec.values)} values; give one per value of {by} "
                          f"({len(grid[by])})")
    try:
        return by, [check_value(key, v) for v in spec.values]
    except ConfigError as exc:
        raise ConfigError(f"{source}: tied: {exc}") from None


def parse_sweep(data: dict[str, Any], source: str = "sweep") -> Sweep:
    """A sweep from the tables of a SWEEP.toml; ConfigError (one line, naming the key) if any is wrong."""
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise _spec_error(exc, source) from None
    tables = {t: getattr(spec, t) for t in TABLES if getattr(spec, t)}
    try:
        base = build_config(preset=spec.preset, data=tables,
                            overrides=[] if spec.steps is None else [("run.steps", spec.steps)])
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    if base.run.steps == 0:
        raise ConfigError(f"{source}: steps must be at least 1 (run.steps = 0 trains without end); set steps = N")
    grid = {key: _grid_values(key, raw, base, source) for key, raw in spec.grid.items()}
    if ("s/m" in grid and "problem.sparsity" in grid) or ("m/n" in grid and "problem.measurements" in grid):
        raise ConfigError(f"{source}: grid: a ratio key and the key it sets cannot both be swept")
    tied = {key: _tied_values(key, t, grid, source) for key, t in spec.tied.items()}
    seeds = list(range(spec.seeds)) if isinstance(spec.seeds, int) else list(spec.seeds)
    if spec.plot is not None:
        for axis in ("x", "y"):
            name = getattr(spec.plot, axis)
            if name not in grid and name != "seed":
                raise ConfigError(f"{source}: plot.{axis} = {name!r} is not a grid key; grid keys are: "
                                  f"{', '.join(grid)} (and seed: one cell per seed)")
        if spec.plot.x == spec.plot.y:
            raise ConfigError(f"{source}: plot.x and plot.y must be two different grid keys")
    base_dict = base.to_dict()
    base_dict.pop("meta", None)
    sweep = Sweep(base=base_dict, grid=grid, seeds=seeds, plot=spec.plot, meta=dict(spec.meta), source=source,
                  tied=tied)
    if sweep.run_count > MAX_RUNS:
        raise ConfigError(f"{source}: the sweep has {sweep.run_count} runs; at most {MAX_RUNS} are allowed")
    return sweep


def load_sweep(name_or_path: str | Path) -> Sweep:
    """A SWEEP.toml file, or the name of a shipped sweep preset (``resources/sweeps``)."""
    path = Path(name_or_path)
    if not path.is_file() and path.suffix == "" and (sweeps_dir() / f"{path}.toml").is_file():
        path = sweeps_dir() / f"{path}.toml"
    elif not path.is_file():
        raise ConfigError(f"sweep file {str(path)!r} does not exist (sweep presets: "
                          f"{', '.join(sweep_preset_names())})")
    return parse_sweep(load_toml(path), path.name)
