"""Atomic file output: every file appears complete or not at all (temporary name in the same folder, then rename)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: permissions of a new file as open() would give it (mkstemp's temporary files are 0600)
FILE_MODE = 0o666 & ~_umask()
DIR_MODE = 0o777 & ~_umask()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def write_history_csv(path: str | Path, history: dict[str, np.ndarray]) -> Path:
    """The scalar series of a history (one column each; vectors are left to the .npz)."""
    names = [k for k, v in history.items() if np.ndim(v) == 1]
    first = ["step", "time", "wall", "loss"]
    names.sort(key=lambda k: (first.index(k) if k in first else len(first), k))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(names)
    cols = [history[k] for k in names]
    for row in zip(*cols):
        w.writerow([repr(float(v)) if isinstance(v, (float, np.floating)) else int(v) for v in row])
    return atomic_write_text(path, buf.getvalue())


def check_writable_dir(path: str | Path) -> Path:
    """Create ``path`` (and parents); raise OSError with a clear message when it cannot be written."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create output folder {str(path)!r}: {exc.strerror}") from None
    if not os.access(path, os.W_OK):
        raise OSError(f"output folder {str(path)!r} is not writable")
    return path


def check_output_folder(path: str | Path) -> Path:
    """Check, before a run, that ``path`` can later be written as a unit by :func:`replace_folder`: its parent
    is created and writable, and ``path`` is absent, an empty folder or an earlier output (holds summary.json).
    Returns the absolute path; OSError with a one-line message otherwise."""
    path = Path(path).absolute()
    if path == Path(path.anchor) or Path.cwd().is_relative_to(path):
        raise OSError(f"output folder {str(path)!r} holds the current folder; choose a new folder with --out")
    check_writable_dir(path.parent)
    if path.exists() or path.is_symlink():
        if not path.is_dir() or path.is_symlink():
            raise OSError(f"output {str(path)!r} exists and is not a folder; choose another --out")
        if any(path.iterdir()) and not (path / "summary.json").is_file():
            raise OSError(f"output folder {str(path)!r} holds other files (no summary.json: not an ibviewer "
                          "output); choose an empty or new folder with --out")
    return path


def replace_folder(path: str | Path, write) -> Path:
    """Write the folder ``path`` as a unit: ``write(tmp)`` fills a temporary sibling folder, which then takes
    the place of ``path`` (an earlier folder there is removed only once the new one is in place).  Any failure
    (a full disk, Ctrl+C) leaves ``path`` as it was and no temporary folder behind."""
    path = check_output_folder(path)
    parent = path.parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=parent))
    old: Path | None = None
    try:
        write(tmp)
        os.chmod(tmp, DIR_MODE)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=parent))
            os.replace(path, old)  # onto the empty placeholder: atomic on POSIX
        os.replace(tmp, path)
    except BaseException as exc:
        if old is not None and not path.exists():
            os.replace(old, path)
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        if isinstance(exc, OSError):  # named by the folder asked for, not the temporary one
            what = f"{Path(exc.filename).name}: " if exc.filename else ""
            raise OSError(f"cannot write {str(path)!r} ({what}{exc.strerror or exc}); it was left as it "
                          "was") from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return path
