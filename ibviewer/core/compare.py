"""Several runs on the same problem, trained together.

A :class:`RunGroup` holds one :class:`~ibviewer.core.engine.Engine` per run, all sharing one
:class:`~ibviewer.core.problems.Problem` (the same data).  Runs whose parameter shapes and optimizer agree (they may
differ in α, seed, learning rate) are trained as one stack: every matrix product is a batched product over the
runs, so the Python and call overhead is paid once per step for the whole stack.  Each run keeps its own history,
metrics and stop conditions; a run that stops (diverges, converges, reaches its step limit) leaves the stack.
"""

from __future__ import annotations

import itertools
import time
from types import SimpleNamespace
from typing import Any

import numpy as np

from ibviewer.core.config import Config, ConfigError, set_key
from ibviewer.core.engine import QUIET, RUNNING, Engine
from ibviewer.core.fastpath import ProductGD
from ibviewer.core.optim import Optimizer
from ibviewer.core.problems import make_problem

#: optimizers whose update is the same elementwise formula for every run of a stack
BATCHABLE = ("gd", "momentum", "nesterov", "adam", "rmsprop", "adagrad")


def parse_compare(specs: list[str]) -> list[tuple[str, list[str]]]:
    """``["model.depth=1,2,3", ...]`` -> ``[("model.depth", ["1", "2", "3"]), ...]``."""
    out = []
    for spec in specs:
        if "=" not in spec:
            raise ConfigError(f"--compare {spec!r} is malformed; write KEY=V1,V2,..., e.g. model.depth=1,2,3")
        key, values = spec.split("=", 1)
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not vals:
            raise ConfigError(f"--compare {spec!r} lists no values; write KEY=V1,V2,...")
        key = key.strip()
        if any(k == key for k, _ in out):
            raise ConfigError(f"--compare {key} is given twice; list all its values in one flag, e.g. "
                              f"--compare {key}=V1,V2,V3")
        out.append((key, vals))
    return out


def expand(base: Config, axes: list[tuple[str, list[Any]]]) -> list[tuple[str, Config]]:
    """One config per combination of the compared values (the base config when there are none), named
    ``key=value`` (short key)."""
    runs = []
    for combo in itertools.product(*[[(k, v) for v in vals] for k, vals in axes]):
        cfg = base.copy()
        for key, value in combo:
            if key.startswith("problem."):
                raise ConfigError(f"--compare {key}: runs of a comparison share the problem; compare model, "
                                  "optimizer or run keys")
            set_key(cfg, key, value)
        cfg.validate()
        name = ", ".join(f"{k.split('.', 1)[1]}={v}" for k, v in combo) or "run"
        runs.append((name, cfg))
    return runs


def expand_runs(base: Config, runs: list[dict[str, Any]]) -> list[tuple[str, Config]]:
    """Explicit runs: each a table of dotted overrides (and an optional ``name``)."""
    out = []
    for i, spec in enumerate(runs):
        if not isinstance(spec, dict):
            raise ConfigError(f"run {i + 1} of the comparison must be a table of key = value")
        cfg = base.copy()
        items = [(k, v) for k, v in spec.items() if k != "name"]
        for key, value in items:
            if key.startswith("problem."):
                raise ConfigError(f"run {i + 1}: {key}: runs of a comparison share the problem")
            set_key(cfg, key, value)
        cfg.validate()
        name = str(spec.get("name") or ", ".join(f"{k.split('.', 1)[1]}={v}" for k, v in items) or f"run {i + 1}")
        out.append((name, cfg))
    return out


def preset_runs(name: str, overrides: list[tuple[str, Any]] | None = None, *,
                base: Config | None = None) -> list[tuple[str, Config]]:
    """The runs a preset compares (its [meta] ``runs`` list, or the product of its ``compare`` values), made from
    the preset with ``overrides`` (or from ``base``, a config already built from it)."""
    from ibviewer.core.config import build_config, preset_info

    if base is None:
        base = build_config(preset=name, overrides=overrides)
    meta = preset_info(name)
    if "runs" in meta:
        return expand_runs(base, meta["runs"])
    axes = [(k, list(v) if isinstance(v, list) else [v]) for k, v in meta.get("compare", {}).items()]
    return expand(base, axes)


def _batch_key(e: Engine):
    """Runs with equal keys can train as one stack: same shapes and optimizer, and the same optimizer step
    counter and kind of state (so runs restored from a session, or trained alone for a while, stack too)."""
    o = e.cfg.optimizer
    if e.backend != "numpy" or e.batch_size or e.is_mlp or o.name not in BATCHABLE or o.label_noise:
        return None  # (label noise: each run draws its own targets at every step)
    state = e.optimizer.state
    state_keys = None if state is None else tuple(tuple(sorted(s)) for s in state)
    # the whole model but its initialization: a stack trains with its first run's model (pm_power runs of every
    # depth have parameters of the same shapes)
    model = tuple(sorted((k, repr(v)) for k, v in e.cfg.to_dict()["model"].items() if not k.startswith("init")))
    return (e.cfg.parametrization, model, tuple(np.shape(p) for p in e.params), o.name, o.momentum, o.beta2, o.eps,
            o.weight_decay, e.cfg.run.dtype, e.optimizer.t, state_keys)


class Batch:
    """Runs trained as one stack.  The engines' parameters become views into the stacked arrays, so each
    engine's own metrics, history and stop conditions work unchanged."""

    def __init__(self, engines: list[Engine]):
        self.engines = list(engines)
        self._stack()
        # a plain copy of the settings: the stack's learning rate is an array (one per run), which a checked
        # OptimizerConfig refuses; the engines keep their own numbers
        e0 = self.engines[0]
        self.optimizer = Optimizer(SimpleNamespace(**e0.cfg.optimizer.model_dump()))
        # runs that already trained bring their optimizer state (same keys and step counter: see _batch_key)
        self.optimizer.t = e0.optimizer.t
        if e0.optimizer.state is not None:
            self.optimizer.state = [{k: np.stack([e.optimizer.state[j][k] for e in self.engines]) for k in s}
                                    for j, s in enumerate(e0.optimizer.state)]

    def _stack(self) -> None:
        es = self.engines
        e0 = es[0]
        # full-batch GD on a product model: the stack's steps between records go through the fast path, which
        # owns the stacked parameters (one flat array for all layers of all runs)
        self.fast = None
        if isinstance(e0.fast_path, ProductGD) and e0.cfg.optimizer.name == "gd":
            self.fast = ProductGD(e0.model, e0.head, e0.np_dtype, runs=len(es))
            for j, w in enumerate(self.fast.W):
                for r, e in enumerate(es):
                    w[r] = e.params[j]
            self.params = list(self.fast.W)
        else:
            self.params = [np.stack([e.params[j] for e in es]) for j in range(len(e0.params))]
        for r, e in enumerate(es):
            e.params[:] = [p[r] for p in self.params]
        extra = (1,) * (self.params[0].ndim - 1)
        self.lr = np.array([e.cfg.optimizer.lr for e in es]).reshape((-1,) + extra)
        if self.fast is not None:
            # one learning rate per entry: multiplying by a broadcast column costs 2.5x more here
            self._fast_lr = np.repeat(self.lr.reshape(-1, 1), self.fast.flat.shape[1], axis=1)

    def set_lr(self, row: int, lr: float) -> None:
        """A new learning rate for one run of the stack (the run's engine keeps its own number)."""
        self.lr.reshape(-1)[row] = lr
        if self.fast is not None:
            self._fast_lr[row] = lr

    def sync_engines(self, rows: list[int] | None = None) -> None:
        """Hand the stack's optimizer state and step counter to its engines (all, or the given rows)."""
        state = self.optimizer.state
        for r in range(len(self.engines)) if rows is None else rows:
            e = self.engines[r]
            e.optimizer.t = self.optimizer.t
            e.optimizer.state = None if state is None else [{k: v[r].copy() for k, v in s.items()} for s in state]

    def _drop(self, keep: list[int]) -> None:
        # the runs that leave take their optimizer state along: they can go on alone, or be saved
        self.sync_engines([r for r in range(len(self.engines)) if r not in keep])
        self.engines = [self.engines[i] for i in keep]
        if not self.engines:
            return
        # detach the remaining runs into a new, smaller stack; optimizer state follows its rows
        for e in self.engines:
            e.params[:] = [p.copy() for p in e.params]
        state = self.optimizer.state
        self._stack()
        if state is not None:
            self.optimizer.state = [{k: v[keep] for k, v in s.items()} for s in state]

    @QUIET
    def step(self, k: int) -> None:
        t0 = time.perf_counter()
        es = self.engines
        for e in es:
            e.status = RUNNING
        model, head = es[0].model, es[0].head
        opt = self.optimizer
        done = 0
        while done < k:
            # runs at their step limit leave the stack
            keep = [i for i, e in enumerate(es) if not e.stop_at_max_steps()]
            if len(keep) < len(es):
                self._drop(keep)
                es = self.engines
                if not es:
                    break
            if self.fast is not None and all(e.step_count < e.next_record for e in es):
                taken, n = self._fast_steps(k - done)
                done += taken
                if taken == n:
                    continue
            params = self.params
            P, cache = model.forward_and_cache(params)
            losses, G = head.batched(P)
            grads = model.grads(params, G, cache)
            keep = []
            for r, e in enumerate(es):
                if e.bookkeep(P[r], float(losses[r]), lambda r=r, grads=grads: [g[r] for g in grads]):
                    keep.append(r)
            if len(keep) < len(es):
                self._drop(keep)
                es = self.engines
                if not es:
                    break
                grads = [g[keep] for g in grads]
            opt.cfg.lr = self.lr
            opt.step(self.params, grads)
            for e in es:
                e.advance()
            done += 1
        dt = (time.perf_counter() - t0) / max(len(self.engines), 1)
        for e in self.engines:
            e.settle()
            e.add_wall_seconds(dt)

    def _fast_steps(self, k: int) -> tuple[int, int]:
        """The steps up to the next record of the stack through its fast path: (steps taken, steps asked)."""
        es = self.engines
        n = min(k, min(e.next_record - e.step_count for e in es))
        for e in es:
            if e.cfg.run.steps:
                n = min(n, e.cfg.run.steps - e.step_count)
        limits = np.array([e.divergence_limit for e in es])
        tols = np.array([e.cfg.run.loss_tol or -1.0 for e in es])
        wd = es[0].cfg.optimizer.weight_decay
        lr = self.lr.reshape(-1)
        # one learning rate for all (runs that differ in alpha, depth...): a scalar multiply is 2.5x cheaper
        same = bool(np.all(lr == lr[0]))
        taken = self.fast.run(None, n, float(lr[0]) if same else self._fast_lr, wd, limits, tols)
        for e in es:
            for _ in range(taken):
                e.advance()
        return taken, n


class RunGroup:
    """Runs on one shared problem, trained together (batched where shapes agree)."""

    def __init__(self, runs: list[tuple[str, Config]], *, batch: bool = True):
        if not runs:
            raise ConfigError("a comparison needs at least one run")
        first = runs[0][1]
        for name, cfg in runs[1:]:
            if cfg.to_dict()["problem"] != first.to_dict()["problem"]:
                raise ConfigError(f"run {name!r} has another problem; runs of a comparison share the problem")
        self.problem = make_problem(first)
        self.names = [n for n, _ in runs]
        self.engines = [Engine(cfg, problem=self.problem) for _, cfg in runs]
        self.batched = batch
        self._form()

    def _form(self) -> None:
        self.batches: list[Batch] = []
        self.singles: list[Engine] = []
        groups: dict[Any, list[Engine]] = {}
        for e in self.engines:
            if e.stopped:
                continue
            key = _batch_key(e) if self.batched else None
            if key is None:
                self.singles.append(e)
            else:
                groups.setdefault(key, []).append(e)
        for members in groups.values():
            if len(members) > 1:
                self.batches.append(Batch(members))
            else:
                self.singles.extend(members)

    @property
    def stopped(self) -> bool:
        return all(e.stopped for e in self.engines)

    @QUIET
    def step(self, k: int = 1) -> None:
        for b in self.batches:
            b.step(k)
        self.batches = [b for b in self.batches if b.engines]
        for e in self.singles:
            e.step(k)

    def run(self, *, chunk: int = 1000, callback=None) -> None:
        while not self.stopped:
            self.step(chunk)
            if callback is not None:
                callback(self)

    @property
    def step_count(self) -> int:
        return max(e.step_count for e in self.engines)
