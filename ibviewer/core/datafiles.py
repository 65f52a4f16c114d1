"""Training on your own data: which problem kind a data file holds, and the configuration that trains on it.

Qt-free, so the app's "Load data…" and any script decide the same way; the window only asks which kind the
file holds (offering :func:`guess_kind` first) and applies the configuration :func:`config_for_data` returns.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ibviewer.core.config import Config, ConfigError, build_config, set_key

#: data files a problem can read (problem.source)
DATA_SUFFIXES = (".npy", ".npz", ".csv")


class DataFileError(ValueError):
    """A data file that cannot be trained on: one line saying why."""


def guess_kind(path: str | Path, prefer: str = "") -> str:
    """The problem kind a data file most likely holds (by its arrays' names and shapes); ``prefer`` (the current
    kind) decides between kinds the file fits equally (A and y: sensing or sparse recovery).  A file that cannot
    be read is guessed a plain matrix (reading it for real then says what is wrong)."""
    path = Path(path)
    suffix = path.suffix.lower()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a guess: complex values are refused when the file is read
        return _guess(path, suffix, prefer)


def _guess(path: Path, suffix: str, prefer: str) -> str:
    from ibviewer.core.problems import READ_ERRORS

    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = set(z.files)
                if {"X", "labels"} <= keys:
                    return "logistic_separable"
                if {"X", "Y"} <= keys:
                    return "linear_regression"
                if {"A", "y"} <= keys:
                    a = z["A"]
                    if "W" in keys or a.ndim == 3:
                        return "matrix_sensing"
                    if "x" in keys:
                        return "sparse_recovery"
                    square = a.ndim == 2 and round(a.shape[1] ** 0.5) ** 2 == a.shape[1]
                    return "matrix_sensing" if square and prefer == "matrix_sensing" else "sparse_recovery"
                if "mask" in keys or ("M" in keys and np.isnan(np.asarray(z["M"], float)).any()):
                    return "matrix_completion"
                return "matrix_factorization"
        m = np.load(path, allow_pickle=False) if suffix == ".npy" else np.genfromtxt(path, delimiter=",")
        if np.issubdtype(np.asarray(m).dtype, np.floating) and np.isnan(m).any():
            return "matrix_completion"
    except (*READ_ERRORS, TypeError):  # unreadable, or values that are not numbers: reading it says why
        pass
    return "matrix_factorization"


#: the size keys a data file sets, by kind: the config says what is trained (the controls, summary.json)
FILE_SIZES = {
    "matrix_factorization": ("d",),
    "matrix_completion": ("d", "measurements"),
    "matrix_sensing": ("d", "measurements"),
    "sparse_recovery": ("n", "measurements"),
    "linear_regression": ("d", "outputs", "samples"),
    "logistic_separable": ("d", "samples"),
}


def file_sizes(kind: str, problem) -> dict[str, int]:
    """The sizes of ``problem`` (built from a file) under their config keys: a matrix's side (when square), the
    number of measurements or observed entries, a vector's length, inputs, outputs and samples."""
    shape, n_data = tuple(problem.shape), int(problem.n_data)
    sizes: dict[str, int] = {}
    if kind in ("matrix_factorization", "matrix_completion", "matrix_sensing"):
        if len(shape) == 2 and shape[0] == shape[1]:
            sizes["d"] = int(shape[0])
        if kind != "matrix_factorization":
            sizes["measurements"] = n_data
    elif kind == "sparse_recovery":
        sizes.update(n=int(shape[0]), measurements=n_data)
    elif kind == "linear_regression":
        sizes.update(d=int(shape[1]), outputs=int(shape[0]), samples=n_data)
    elif kind == "logistic_separable":
        sizes.update(d=int(shape[1]), samples=n_data)
    return {k: v for k, v in sizes.items() if k in FILE_SIZES.get(kind, ())}


def _take_sizes(cfg: Config, kind: str, problem) -> None:
    """Write the file's sizes into ``cfg`` (the sizes it had described the generated problem, not this one).
    Settings that only shape a generated problem (rank, sparsity) are left as they are unless the new sizes
    make them invalid, where they are brought within them."""
    for key, value in file_sizes(kind, problem).items():
        set_key(cfg, "problem." + key, value)
    p = cfg.problem
    if "d" in FILE_SIZES.get(kind, ()) and p.rank > p.d:
        set_key(cfg, "problem.rank", p.d)
    if kind == "sparse_recovery" and p.sparsity > p.n:
        set_key(cfg, "problem.sparsity", p.n)
    if p.singular_values and len(p.singular_values) > p.d:
        set_key(cfg, "problem.singular_values", [])
    cfg.validate()


def config_for_data(cfg: Config, path: str | Path, kind: str | None = None) -> tuple[Config, str]:
    """The configuration that trains on ``path`` and the kind it was read as: ``cfg`` with the file as its source
    when ``kind`` is cfg's kind, else the defaults of ``kind``.  ``kind`` None: cfg's kind when the file fits it
    as well as any other, else :func:`guess_kind`'s.  The file is read and checked here, so a bad one is refused
    before anything changes (:class:`DataFileError`, one line)."""
    from ibviewer.core.problems import FILE_LAYOUT, make_problem

    path = Path(path)
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise DataFileError(f"{path.name}: not a data file; use {', '.join(DATA_SUFFIXES)}")
    if path.is_dir():
        raise DataFileError(f"data file {str(path)!r} is a folder; choose a {', '.join(DATA_SUFFIXES)} file")
    if not path.exists():
        raise DataFileError(f"data file {str(path)!r} does not exist")
    if not path.is_file():
        raise DataFileError(f"data file {str(path)!r} is not a regular file (a device or a pipe)")
    if kind is None:
        kind = guess_kind(path, prefer=cfg.problem.kind)
    if kind not in FILE_LAYOUT:
        raise DataFileError(f"problem kind {kind!r} does not read data files; kinds that do: {', '.join(FILE_LAYOUT)}")
    try:
        trial = cfg.copy() if kind == cfg.problem.kind else build_config(overrides=[("problem.kind", kind)])
        set_key(trial, "problem.source", str(path.resolve()))
        if kind == "matrix_factorization":
            set_key(trial, "problem.target", "file")
        trial.validate()
        problem = make_problem(trial)
        _take_sizes(trial, kind, problem)
    except ConfigError as exc:
        raise DataFileError(" ".join(str(exc).split())) from None
    except (ValueError, OSError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataFileError(f"{path.name} cannot be used for {kind}: {text}") from None
    return trial, kind
