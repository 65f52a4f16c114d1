"""An engine's whole training state as a plain table, and its checked restore.

:func:`state_dict` gives everything that makes a run go on bit for bit: the configuration (learning rate and
limits may have changed live), parameters, optimizer state, step counter, gradient-flow time, wall time, status
and message, the first loss (the divergence limit), the record schedule, the minibatch sampler and the history.
Values are numbers, strings, lists, tables and numpy arrays, so that a session file can store them as JSON and
npz (:mod:`ibviewer.core.session`).

:func:`load_state` checks a table completely before it changes anything: the shapes agree with the engine's
model, parameters and optimizer state are finite, counters are integers within their bounds.  Anything wrong
raises :class:`StateError` with one line naming the key and what is allowed, and the engine stays as it was.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ibviewer.core.bookkeeping import STATUSES
from ibviewer.core.config import ConfigError, config_from_dict
from ibviewer.core.history import History
from ibviewer.core.snapshots import is_wide
from ibviewer.core.ops import to_numpy
from ibviewer.core.schedule import RecordSchedule

if TYPE_CHECKING:
    from ibviewer.core.engine import Engine

KEYS = ("config", "params", "optimizer", "step_count", "time", "wall_seconds", "status", "message", "loss0",
        "schedule", "sampler", "history")
#: the state arrays each optimizer keeps per parameter
OPTIMIZER_STATE = {"gd": set(), "sgd": set(), "momentum": {"b"}, "nesterov": {"b"}, "adam": {"m", "v"},
                   "rmsprop": {"v"}, "adagrad": {"v"}}


class StateError(ValueError):
    """An engine state that cannot be loaded; the message says why in one line."""


def state_dict(e: Engine) -> dict[str, Any]:
    """Everything that makes ``e`` continue exactly, as copies (the engine may train on)."""
    opt = e.optimizer
    h = e.history
    return {
        "config": e.cfg.to_dict(),
        "params": [np.array(to_numpy(p)) for p in e.params],
        "optimizer": {"name": opt.name, "t": opt.t,
                      "state": None if opt.state is None else
                      [{k: np.array(to_numpy(v)) for k, v in s.items()} for s in opt.state]},
        "step_count": e.step_count,
        "time": e.time,
        "wall_seconds": e.wall_seconds,
        "status": e.status,
        "message": e.message,
        "loss0": e.loss0,
        "schedule": e.schedule.state_dict(),
        "sampler": e.sampler.state_dict(),
        "history": {"columns": h.as_dict(), "capacity": h.capacity, "requested": h.requested,
                    "thinned": h.thinned,
                    "snapshots": {"columns": h.snapshots.as_dict(), "stride": h.snapshots.stride,
                                  "thinned": h.snapshots.thinned, "latest": dict(h.latest)}},
    }


def load_state(e: Engine, state: Any) -> None:
    """Make ``e`` the run ``state`` describes, or raise StateError and leave ``e`` as it was."""
    try:
        c = _checked(e, state)
    except StateError:
        raise
    except (ValueError, TypeError, ConfigError) as exc:
        raise StateError(f"engine state: {exc}") from None
    # everything is checked: from here on nothing can fail half-way
    e.cfg = c["cfg"]
    e.reset(e.cfg.run.seed)  # the starting values the metrics compare with (and an MLP's output offset)
    e.params[:] = [e.lib.array(p) for p in c["params"]]
    e.optimizer.t = c["opt_t"]
    e.optimizer.state = None if c["opt_state"] is None else [
        {k: e.lib.array(v) for k, v in s.items()} for s in c["opt_state"]]
    e.step_count, e.time, e._wall = c["step_count"], c["time"], c["wall"]
    e.status, e.message, e.loss0 = c["status"], c["message"], c["loss0"]
    e.schedule.stride, e.schedule.next = c["schedule"]
    e.sampler.load_state_dict(state["sampler"])
    e.history = c["history"]
    e._current = None


def _int(v: Any, name: str, low: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
        raise StateError(f"engine state: {name} = {v!r} must be an integer >= {low}")
    return int(v)


def _real(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v) \
            or v < 0:
        raise StateError(f"engine state: {name} = {v!r} must be a finite number >= 0")
    return float(v)


def _array(v: Any, name: str, shape: tuple) -> np.ndarray:
    if not isinstance(v, np.ndarray) or v.dtype.kind != "f":
        raise StateError(f"engine state: {name} must be an array of floats")
    if v.shape != tuple(shape):
        raise StateError(f"engine state: {name} has shape {v.shape}; the model's is {tuple(shape)}")
    if not np.isfinite(v).all():
        raise StateError(f"engine state: {name} holds values that are not finite")
    return v


def _checked(e: Engine, state: Any) -> dict[str, Any]:
    """The checked, converted values of ``state`` for engine ``e`` (nothing of ``e`` changes)."""
    if not isinstance(state, dict):
        raise StateError(f"engine state must be a table, not {type(state).__name__}")
    missing = [k for k in KEYS if k not in state]
    if missing:
        raise StateError(f"engine state lacks {', '.join(missing)}")
    if not isinstance(state["config"], dict):
        raise StateError("engine state: config must be a table")
    cfg = config_from_dict(state["config"]).validate()
    mine, theirs = e.cfg.to_dict(), cfg.to_dict()
    for part in ("problem", "model"):
        if mine[part] != theirs[part]:
            raise StateError(f"engine state: its {part} settings differ from this engine's; load it into an engine "
                             "built from its config")
    for key in ("dtype", "device", "backend"):
        if mine["run"][key] != theirs["run"][key]:
            raise StateError(f"engine state: run.{key} = {theirs['run'][key]!r}, this engine's is "
                             f"{mine['run'][key]!r}")
    shapes = [tuple(np.shape(p)) for p in e.params]
    params = state["params"]
    if not isinstance(params, list) or len(params) != len(shapes):
        raise StateError(f"engine state: params must be a list of {len(shapes)} arrays")
    params = [_array(p, f"params[{j}]", s) for j, (p, s) in enumerate(zip(params, shapes))]
    opt = state["optimizer"]
    if not isinstance(opt, dict) or set(opt) != {"name", "t", "state"}:
        raise StateError("engine state: optimizer must be a table with the keys name, t, state")
    if opt["name"] != cfg.optimizer.name:
        raise StateError(f"engine state: optimizer.name = {opt['name']!r} but its config says "
                         f"{cfg.optimizer.name!r}")
    opt_state = opt["state"]
    if opt_state is not None:
        allowed = OPTIMIZER_STATE[cfg.optimizer.name]
        if not isinstance(opt_state, list) or len(opt_state) != len(shapes) or not all(
                isinstance(s, dict) and set(s) <= allowed for s in opt_state):
            raise StateError(f"engine state: optimizer.state must be None or {len(shapes)} tables of "
                             f"{sorted(allowed) or 'no'} arrays for {cfg.optimizer.name}")
        opt_state = [{k: _array(v, f"optimizer.state[{j}].{k}", shapes[j]) for k, v in s.items()}
                     for j, s in enumerate(opt_state)]
    step = _int(state["step_count"], "step_count")
    if state["status"] not in STATUSES:
        raise StateError(f"engine state: status = {state['status']!r} must be one of {', '.join(STATUSES)}")
    if not isinstance(state["message"], str):
        raise StateError("engine state: message must be a string")
    loss0 = state["loss0"]
    if loss0 is not None:
        loss0 = _real(loss0, "loss0")
    try:
        schedule = RecordSchedule.checked(state["schedule"], step)
        e.sampler.checked(state["sampler"])
    except ValueError as exc:
        raise StateError(f"engine state: {exc}") from None
    return {"cfg": cfg, "params": params, "opt_t": _int(opt["t"], "optimizer.t"), "opt_state": opt_state,
            "step_count": step, "time": _real(state["time"], "time"),
            "wall": _real(state["wall_seconds"], "wall_seconds"), "status": state["status"],
            "message": state["message"], "loss0": loss0, "schedule": schedule,
            "history": _history(state["history"], step, cfg)}


def _history(h: Any, step: int, cfg: Any) -> History:
    """A new History holding the checked columns of ``h``."""
    if not isinstance(h, dict) or set(h) - {"snapshots"} != {"columns", "capacity", "requested", "thinned"}:
        raise StateError("engine state: history must be a table with the keys columns, capacity, requested, "
                         "thinned (and snapshots)")
    cols = h["columns"]
    if not isinstance(cols, dict) or not all(isinstance(k, str) and isinstance(v, np.ndarray) and v.ndim >= 1
                                             for k, v in cols.items()):
        raise StateError("engine state: history.columns must be a table of arrays")
    capacity = _int(h["capacity"], "history.capacity", 1)
    out = History(cfg.run.history_rows, snapshot_budget=cfg.run.snapshot_mb * 2**20,
                  snapshot_dtype=np.dtype(cfg.run.dtype))
    out.requested = _int(h["requested"], "history.requested", 1)
    out.thinned = _int(h["thinned"], "history.thinned")
    if not cols:
        return out
    lengths = {len(v) for v in cols.values()}
    n = lengths.pop()
    if lengths or n > capacity:
        raise StateError(f"engine state: history columns must have one length, at most history.capacity = {capacity}")
    steps = cols.get("step")
    if steps is None or steps.dtype.kind not in "iu" or steps.ndim != 1:
        raise StateError("engine state: history.columns needs an integer 'step' column")
    if n and (np.any(np.diff(steps) <= 0) or steps[0] < 0 or steps[-1] > step):
        raise StateError(f"engine state: history steps must increase and lie between 0 and step_count = {step}")
    out.capacity = capacity
    # a state saved before wide columns were kept apart holds them in its rows: they become snapshots
    wide = {k: v for k, v in cols.items() if n and is_wide(v[0])}
    for k, v in cols.items():
        if k in wide:
            continue
        shape = (capacity,) + v.shape[1:]
        col = np.zeros(shape, np.int64) if v.dtype.kind in "iub" else np.full(shape, np.nan)
        col[:n] = v
        out.columns[k] = col
    out.n = n
    if wide:
        out.wide = tuple(wide)
        _snapshots(out, {"columns": {"snapshot_step": steps, **wide}, "stride": 1, "thinned": 0,
                         "latest": {k: v[-1] for k, v in wide.items()}}, step)
    elif "snapshots" in h:
        _snapshots(out, h["snapshots"], step)
    return out


def _snapshots(out: History, s: Any, step: int) -> None:
    """Fill ``out.snapshots`` and ``out.latest`` from a saved table, checked."""
    if not isinstance(s, dict) or set(s) != {"columns", "stride", "thinned", "latest"}:
        raise StateError("engine state: history.snapshots must be a table with the keys columns, stride, thinned, "
                         "latest")
    cols, latest = s["columns"], s["latest"]
    if not isinstance(cols, dict) or not isinstance(latest, dict) or not all(
            isinstance(k, str) and isinstance(v, np.ndarray) and v.ndim >= 1
            for k, v in [*cols.items(), *latest.items()]):
        raise StateError("engine state: history.snapshots.columns and .latest must be tables of arrays")
    stride = _int(s["stride"], "history.snapshots.stride", 1)
    thinned = _int(s["thinned"], "history.snapshots.thinned")
    if cols:
        steps = cols.get("snapshot_step")
        if steps is None or steps.dtype.kind not in "iu" or steps.ndim != 1 or len(cols) < 2:
            raise StateError("engine state: history.snapshots.columns needs an integer 'snapshot_step' column "
                             "and at least one snapshot column")
        if {len(v) for v in cols.values()} != {len(steps)}:
            raise StateError("engine state: history.snapshots columns must have one length")
        if len(steps) and (np.any(np.diff(steps) <= 0) or steps[0] < 0 or steps[-1] > step):
            raise StateError(f"engine state: snapshot steps must increase and lie between 0 and step_count = {step}")
        if any(v.dtype.kind not in "fiu" for v in cols.values()):
            raise StateError("engine state: history.snapshots columns must hold numbers")
        out.wide = tuple(k for k in cols if k != "snapshot_step")
        out.snapshots.load(cols, stride, thinned)
    if latest and out.n:
        if set(latest) != set(out.wide):
            raise StateError("engine state: history.snapshots.latest must name the snapshot columns")
        out.latest = {k: np.array(v, dtype=out.snapshots.dtype) for k, v in latest.items()}
        out.latest_step = int(out["step"][-1])
