"""Saved sessions: every run's config, its full training state and history, and the view, in one file.

A session file is a zip archive holding ``session.json`` (format, version, the view and each run's name and
state) and one ``run<i>.npz`` per run holding the state's arrays.  A run's state is what
:meth:`ibviewer.core.engine.Engine.state_dict` gives; opening a session builds each run's engine from its config
and hands it the state (:meth:`~ibviewer.core.engine.Engine.load_state_dict`, which checks it whole), so that
training goes on from where it stopped with the same result as if it had never been interrupted.

Every format version has its own loader (:data:`LOADERS`), which turns what it reads into today's run states:

* format 1 kept each run's counters under names of the engine's own fields (``next_record``, ``batch_rng``...)
  and its arrays under ``param/<j>``, ``opt/<j>/<key>``, ``hist/<column>``, ``perm``;
* format 2 (written now) stores the state table itself, each array replaced by ``{"__array__": key}`` naming
  its entry in the run's npz.

A file of an unknown or newer format, or with a version that is not an integer, is refused with one line.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ibviewer.core.config import ConfigError, config_from_dict
from ibviewer.core.engine import Engine
from ibviewer.core.engine_state import StateError
from ibviewer.core.io import atomic_write_bytes
from ibviewer.core.problems import make_problem

FORMAT = "ibviewer-session"
VERSION = 2
SUFFIX = ".ibvs"
ARRAY = "__array__"


class SessionError(ValueError):
    """A session file that cannot be read: the message says why, in one line."""


@dataclass
class Session:
    runs: list[tuple[str, Engine]] = field(default_factory=list)
    view: dict[str, Any] = field(default_factory=dict)
    version: int = VERSION


# ------------------------------------------------------------------------------------------ state <-> json + npz
def _split(state: Any, arrays: dict[str, np.ndarray], path: str = "") -> Any:
    """``state`` as JSON-able values, its arrays moved into ``arrays`` (under their path in the table)."""
    if isinstance(state, np.ndarray):
        arrays[path] = state
        return {ARRAY: path}
    if isinstance(state, dict):
        return {str(k): _split(v, arrays, f"{path}/{k}" if path else str(k)) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return [_split(v, arrays, f"{path}/{j}") for j, v in enumerate(state)]
    if isinstance(state, np.generic):
        return state.item()
    return state


def _join(doc: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The inverse of :func:`_split`."""
    if isinstance(doc, dict):
        if set(doc) == {ARRAY}:
            key = doc[ARRAY]
            if not isinstance(key, str) or key not in arrays:
                raise ValueError(f"array {key!r} is missing")
            return arrays[key]
        return {k: _join(v, arrays) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_join(v, arrays) for v in doc]
    return doc


def _read_npz(z: zipfile.ZipFile, name: Any) -> dict[str, np.ndarray]:
    if not isinstance(name, str):
        raise ValueError(f"a run names its arrays {name!r}, not a file")
    with z.open(name) as fh, np.load(io.BytesIO(fh.read()), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


# ------------------------------------------------------------------------------------------ writing
def save_session(path: str | Path, runs: list[tuple[str, Engine]], view: dict[str, Any] | None = None) -> Path:
    """Write a session file (format :data:`VERSION`) atomically: it appears complete or not at all.

    Runs trained in a stack (:mod:`ibviewer.core.compare`) hand it their optimizer state first
    (``Batch.sync_engines`` / ``LiveGroup.sync_state``)."""
    path = Path(path)
    buf = io.BytesIO()
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "view": view or {}, "runs": []}
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for i, (name, engine) in enumerate(runs):
            arrays: dict[str, np.ndarray] = {}
            entry = {"name": name, "arrays": f"run{i}.npz", "state": _split(engine.state_dict(), arrays)}
            doc["runs"].append(entry)
            npz = io.BytesIO()
            np.savez(npz, **arrays)
            z.writestr(entry["arrays"], npz.getvalue())
        z.writestr("session.json", json.dumps(doc, indent=1))
    if path.exists() and (path.is_dir() or not path.stat().st_mode & 0o222):
        what = "a folder" if path.is_dir() else "read-only"
        raise SessionError(f"cannot write session {str(path)!r}: it is {what}; it was left as it was")
    try:
        return atomic_write_bytes(path, buf.getvalue())
    except OSError as exc:
        kept = "the previous file was left as it was" if path.exists() else "nothing was written"
        raise SessionError(f"cannot write session {str(path)!r}: {exc.strerror or exc}; {kept}") from None


# ------------------------------------------------------------------------------------------ loading
def _engines(named_states: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Engine]]:
    """An engine per (name, state); runs whose problem tables agree share one Problem (the data, made once).
    Any bad state raises before anything is returned."""
    problems: dict[str, Any] = {}
    runs = []
    for i, (name, state) in enumerate(named_states):
        if not isinstance(name, str):
            raise ValueError(f"run {i + 1} has no name")
        if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
            raise ValueError(f"run {name!r} has no config table")
        cfg = config_from_dict(state["config"])
        key = json.dumps(cfg.to_dict()["problem"], sort_keys=True)
        if key not in problems:
            problems[key] = make_problem(cfg)
        e = Engine(cfg, problem=problems[key])
        try:
            e.load_state_dict(state)
        except StateError as exc:
            raise ValueError(f"run {name!r}: {exc}") from None
        runs.append((name, e))
    return runs


def _runs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    runs = doc.get("runs")
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ValueError("'runs' must be a list of tables")
    return runs


def _state_v1(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """A format-1 run (its engine's fields by name) as today's engine state."""
    o, hm = meta["optimizer"], meta["history"]
    n_params = o["n_params"]
    opt_state = None
    if o["has_state"]:
        opt_state = [dict() for _ in range(n_params)]
        for key, v in arrays.items():
            if key.startswith("opt/"):
                _, j, k = key.split("/", 2)
                opt_state[int(j)][k] = v
    return {
        "config": meta["config"],
        "params": [arrays[f"param/{j}"] for j in range(n_params)],
        "optimizer": {"name": o["name"], "t": o["t"], "state": opt_state},
        "step_count": meta["step_count"],
        "time": meta["time"],
        "wall_seconds": meta["wall"],
        "status": meta["status"],
        "message": meta["message"],
        "loss0": meta["loss0"],
        "schedule": {"stride": meta["stride"], "next_record": meta["next_record"]},
        "sampler": {"rng": meta["batch_rng"], "perm": arrays.get("perm"), "perm_pos": meta["perm_pos"]},
        "history": {"columns": {k[5:]: v for k, v in arrays.items() if k.startswith("hist/")},
                    "capacity": hm["capacity"], "requested": hm["requested"], "thinned": hm["thinned"]},
    }


def _load_v1(z: zipfile.ZipFile, doc: dict[str, Any]) -> Session:
    runs = _engines([(m.get("name"), _state_v1(m, _read_npz(z, m.get("arrays")))) for m in _runs(doc)])
    return Session(runs=runs, view=doc.get("view", {}), version=1)


def _load_v2(z: zipfile.ZipFile, doc: dict[str, Any]) -> Session:
    runs = _engines([(r.get("name"), _join(r.get("state"), _read_npz(z, r.get("arrays")))) for r in _runs(doc)])
    return Session(runs=runs, view=doc.get("view", {}), version=2)


#: one loader per format version, each returning a Session of engines in today's state
LOADERS: dict[int, Callable[[zipfile.ZipFile, dict[str, Any]], Session]] = {1: _load_v1, 2: _load_v2}


def _read_doc(z: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    """``session.json`` of an open session archive, its format and version checked."""
    try:
        doc = json.loads(z.read("session.json"))
    except KeyError:
        raise SessionError(f"{str(path)!r} is not an ibviewer session (no session.json inside)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"{str(path)!r} is not an ibviewer session")
    version = doc.get("version")
    newest = max(LOADERS)
    if isinstance(version, bool) or not isinstance(version, int):
        raise SessionError(f"{str(path)!r} has a session format version {version!r}; it must be an integer "
                           f"from 1 to {newest}")
    if version not in LOADERS:
        raise SessionError(f"{str(path)!r} is session format {version}; this ibviewer reads formats 1 to {newest}"
                           + (" (it was written by a newer ibviewer: update ibviewer)" if version > newest else ""))
    if not isinstance(doc.get("view", {}), dict):
        raise SessionError(f"{str(path)!r} is damaged: its view must be a table")
    return doc


def _open(path: str | Path, read):
    """Run ``read(zipfile, doc)`` on a session file, turning every way it can be wrong into a SessionError."""
    path = Path(path)
    if not path.is_file():
        raise SessionError(f"session file {str(path)!r} does not exist")
    try:
        with zipfile.ZipFile(path) as z:
            return read(z, _read_doc(z, path))
    except SessionError:
        raise
    except zipfile.BadZipFile:
        raise SessionError(f"{str(path)!r} is not an ibviewer session (not a zip archive)") from None
    except ConfigError as exc:
        raise SessionError(f"{str(path)!r} holds a config this ibviewer cannot use: {exc}") from None
    except (KeyError, ValueError, TypeError, IndexError, AttributeError, OSError, EOFError, zlib.error,
            NotImplementedError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SessionError(f"{str(path)!r} is damaged: {text}") from None


def peek_session(path: str | Path) -> dict[str, Any]:
    """The session's ``session.json`` without loading its runs (format and version checked)."""
    return _open(path, lambda z, doc: doc)


def load_session(path: str | Path) -> Session:
    """The session's runs, each an engine ready to train on, and its view; SessionError (one line) otherwise."""
    return _open(path, lambda z, doc: LOADERS[doc["version"]](z, doc))
