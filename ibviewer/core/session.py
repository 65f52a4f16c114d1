"""Saved sessions: every run's config, its full training state and history, and the view, in one file.

A session file is a zip archive holding ``session.json`` (format version, the runs' configs and counters, the
view) and one ``run<i>.npz`` per run (parameters, optimizer state, history columns).  Opening a session rebuilds
each run's engine exactly as it was: training goes on from where it stopped, with the same result as if it had
never been interrupted.  Each format version has its own loader; a file from a newer ibviewer is refused with a
clear message.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ibviewer.core.config import ConfigError, config_from_dict
from ibviewer.core.engine import Engine
from ibviewer.core.io import atomic_write_bytes
from ibviewer.core.problems import make_problem

FORMAT = "ibviewer-session"
VERSION = 1
SUFFIX = ".ibvs"


class SessionError(ValueError):
    """A session file that cannot be read: the message says why, in one line."""


@dataclass
class Session:
    runs: list[tuple[str, Engine]] = field(default_factory=list)
    view: dict[str, Any] = field(default_factory=dict)
    version: int = VERSION


# ------------------------------------------------------------------------------------------ engine state
def engine_state(e: Engine) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Everything that makes ``e`` continue exactly: (JSON-able counters, arrays)."""
    from ibviewer.core.ops import to_numpy

    arrays: dict[str, np.ndarray] = {}
    for j, p in enumerate(e.params):
        arrays[f"param/{j}"] = np.array(to_numpy(p))
    opt_state = e.optimizer.state
    if opt_state is not None:
        for j, s in enumerate(opt_state):
            for k, v in s.items():
                arrays[f"opt/{j}/{k}"] = np.array(to_numpy(v))
    h = e.history
    for k in h.keys():
        arrays[f"hist/{k}"] = h[k].copy()
    if e._perm is not None:
        arrays["perm"] = np.asarray(e._perm)
    meta = {
        "config": e.cfg.to_dict(),
        "step_count": e.step_count,
        "time": e.time,
        "status": e.status,
        "message": e.message,
        "wall": e._wall,
        "optimizer": {"name": e.optimizer.name, "t": e.optimizer.t, "has_state": opt_state is not None,
                      "n_params": len(e.params)},
        "history": {"n": h.n, "thinned": h.thinned, "capacity": h.capacity, "requested": h.requested},
        "stride": e.stride,
        "next_record": e._next_record,
        "loss0": e._loss0,
        "batch_rng": e._batch_rng.bit_generator.state,
        "perm_pos": e._perm_pos,
    }
    return meta, arrays


def restore_engine(meta: dict[str, Any], arrays: dict[str, np.ndarray], problem=None) -> Engine:
    cfg = config_from_dict(meta["config"])
    e = Engine(cfg, problem=problem)
    e.params[:] = [e._to_backend(arrays[f"param/{j}"]) for j in range(len(e.params))]
    o = meta["optimizer"]
    e.optimizer.t = o["t"]
    if o["has_state"]:
        state = [dict() for _ in e.params]
        for key, v in arrays.items():
            if key.startswith("opt/"):
                _, j, k = key.split("/", 2)
                state[int(j)][k] = e._to_backend(v)
        e.optimizer.state = state
    hm = meta["history"]
    h = e.history
    cols = {key[5:]: v for key, v in arrays.items() if key.startswith("hist/")}
    if cols:
        h.requested = hm["requested"]
        h.capacity = hm["capacity"]
        h.columns = {}
        for k, v in cols.items():
            col = np.zeros((h.capacity,) + v.shape[1:], dtype=v.dtype) if v.dtype.kind in "iub" else np.full(
                (h.capacity,) + v.shape[1:], np.nan)
            col[: len(v)] = v
            h.columns[k] = col
        h.n = hm["n"]
        h.thinned = hm["thinned"]
    e.step_count = meta["step_count"]
    e.time = meta["time"]
    e.status = meta["status"]
    e.message = meta["message"]
    e._wall = meta["wall"]
    e.stride = meta["stride"]
    e._next_record = meta["next_record"]
    e._loss0 = meta["loss0"]
    e._batch_rng.bit_generator.state = meta["batch_rng"]
    e._perm = arrays.get("perm")
    e._perm_pos = meta["perm_pos"]
    e._current = None
    return e


# ------------------------------------------------------------------------------------------ files
def save_session(path: str | Path, runs: list[tuple[str, Engine]], view: dict[str, Any] | None = None) -> Path:
    """Write a session file atomically (it appears complete or not at all)."""
    path = Path(path)
    buf = io.BytesIO()
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "view": view or {}, "runs": []}
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for i, (name, engine) in enumerate(runs):
            meta, arrays = engine_state(engine)
            meta["name"] = name
            meta["arrays"] = f"run{i}.npz"
            doc["runs"].append(meta)
            npz = io.BytesIO()
            np.savez(npz, **arrays)
            z.writestr(meta["arrays"], npz.getvalue())
        z.writestr("session.json", json.dumps(doc, indent=1))
    try:
        return atomic_write_bytes(path, buf.getvalue())
    except OSError as exc:
        raise SessionError(f"cannot write session {str(path)!r}: {exc.strerror or exc}") from None


def _load_v1(z: zipfile.ZipFile, doc: dict[str, Any]) -> Session:
    runs = []
    problems: dict[str, Any] = {}
    for meta in doc["runs"]:
        with z.open(meta["arrays"]) as fh, np.load(io.BytesIO(fh.read()), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        # runs that share a problem table share one Problem (the same data, generated once)
        key = json.dumps(meta["config"]["problem"], sort_keys=True)
        if key not in problems:
            problems[key] = make_problem(config_from_dict(meta["config"]))
        runs.append((meta["name"], restore_engine(meta, arrays, problem=problems[key])))
    return Session(runs=runs, view=doc.get("view", {}), version=1)


LOADERS = {1: _load_v1}


def _read_doc(z: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    """``session.json`` of an open session archive, its format and version checked."""
    try:
        doc = json.loads(z.read("session.json"))
    except KeyError:
        raise SessionError(f"{str(path)!r} is not an ibviewer session (no session.json inside)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"{str(path)!r} is not an ibviewer session")
    version = doc.get("version")
    if version not in LOADERS:
        newest = max(LOADERS)
        newer = isinstance(version, int) and version > newest
        raise SessionError(f"{str(path)!r} is session format {version}; this ibviewer reads formats 1 to {newest}"
                           + (" (it was written by a newer ibviewer: update ibviewer)" if newer else ""))
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
    except (KeyError, ValueError, OSError) as exc:
        raise SessionError(f"{str(path)!r} is damaged: {exc}") from None


def peek_session(path: str | Path) -> dict[str, Any]:
    """The session's ``session.json`` without loading its runs (format and version checked)."""
    return _open(path, lambda z, doc: doc)


def load_session(path: str | Path) -> Session:
    return _open(path, lambda z, doc: LOADERS[doc["version"]](z, doc))
