"""A sweep's results folder: ``sweep.json`` (the sweep, to rebuild any run), ``results.parquet`` (one row per
finished run) and, on request, ``results.csv``.

Rows are written whole: the table is rewritten atomically (temporary file, then rename) as runs finish, at most
once a second and at the end, so an interrupted sweep leaves every row it wrote complete, and a second call
with the same folder finds them and runs only what is missing.  A folder made by a different sweep is refused,
so rows of two sweeps never mix.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from pathlib import Path
from typing import Any

from ibviewer.core.io import atomic_write_bytes, atomic_write_text, check_writable_dir, write_json
from ibviewer.core.sweep import RATIO_KEYS, SCALARS, Sweep

SPEC_FILE, RESULTS_FILE, CSV_FILE = "sweep.json", "results.parquet", "results.csv"
#: the format of sweep.json this version writes and reads
FORMAT = 1
#: column types of the scalars (grid keys take the type of their values)
INT_COLUMNS = ("run", "seed", "steps", "numerical_rank")
TEXT_COLUMNS = ("status", "message")
BOOL_COLUMNS = ("diverged",)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON would store them (tuples as lists, 1 and 1.0 alike)."""
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))


def runs_of(sweep: Sweep) -> dict[str, Any]:
    """What decides a sweep's runs (the base, the grid, the seeds): a folder resumes only the same ones."""
    data = sweep.to_dict()
    return {k: data[k] for k in ("base", "grid", "seeds", "tied")}


def read_spec(folder: str | Path) -> Sweep:
    """The sweep a results folder was made by; OSError (one line) when the folder holds none."""
    folder = Path(folder)
    path = folder / SPEC_FILE
    if not path.is_file():
        raise OSError(f"{str(folder)!r} is not a sweep's folder (no {SPEC_FILE}); make one with 'ibviewer sweep'")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise OSError(f"{str(path)!r} has format {data.get('format')!r}; this version reads format {FORMAT}")
        return Sweep.from_dict(data["sweep"], source=str(folder))
    except (ValueError, KeyError, TypeError) as exc:
        raise OSError(f"{str(path)!r} cannot be read: {exc}") from None


def read_rows(folder: str | Path) -> list[dict[str, Any]]:
    """The rows of ``results.parquet`` (none when the folder has no results yet), in run order."""
    path = Path(folder) / RESULTS_FILE
    if not path.is_file():
        return []
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises its own error types for a damaged file
        raise OSError(f"{str(path)!r} cannot be read: {' '.join(str(exc).split())}") from None
    return sorted(rows, key=lambda r: r["run"])


def columns(sweep: Sweep, rows: list[dict[str, Any]]) -> list[str]:
    """The table's columns: the grid keys (and the keys a ratio sets), ``seed`` and the other scalars, then
    the distances to the references that any row has."""
    keys = list(sweep.keys) + list(sweep.tied)
    keys += [RATIO_KEYS[k].split(" ")[0] for k in sweep.keys if k in RATIO_KEYS]
    dists = sorted({k for r in rows for k in r if k.startswith("dist_")})
    return keys + list(SCALARS) + dists


def table(sweep: Sweep, rows: list[dict[str, Any]]):
    """The rows as a pyarrow table with a fixed type per scalar column (a failed run's missing values are
    nulls, never a change of type)."""
    import pyarrow as pa

    arrays, names = [], []
    for name in columns(sweep, rows):
        values = [r.get(name) for r in rows]
        if name in INT_COLUMNS:
            kind = pa.int64()
        elif name in TEXT_COLUMNS:
            kind = pa.string()
        elif name in BOOL_COLUMNS:
            kind = pa.bool_()
        elif name in SCALARS or name.startswith("dist_") or name in RATIO_KEYS:
            kind = pa.float64()
        else:
            kind = None  # a grid key: its values' own type
        arrays.append(pa.array(values, type=kind))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def _csv_text(sweep: Sweep, rows: list[dict[str, Any]]) -> str:
    names = columns(sweep, rows)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(names)
    for r in rows:
        w.writerow(["" if r.get(n) is None else (repr(r[n]) if isinstance(r[n], float) else r[n]) for n in names])
    return buf.getvalue()


class ResultStore:
    """The finished runs of one sweep in one folder: what is there already, and each new row as it comes."""

    def __init__(self, folder: str | Path, sweep: Sweep, *, every: float = 1.0):
        self.folder = Path(folder)
        self.sweep = sweep
        self.every = every
        self.rows: dict[int, dict[str, Any]] = {}
        self.dirty = False
        self.last_write = -math.inf

    def open(self) -> "ResultStore":
        """Create the folder, or check that it holds this sweep's results and read them; OSError (one line) if
        it holds something else."""
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise OSError(f"output {str(folder)!r} exists and is not a folder; choose another --out")
        if (folder / SPEC_FILE).is_file():
            if not _same(runs_of(read_spec(folder)), runs_of(self.sweep)):
                raise OSError(f"{str(folder)!r} holds the results of a different sweep; choose another --out (or "
                              "the same SWEEP.toml to finish that one)")
            self.rows = {r["run"]: r for r in read_rows(folder)}
            # the same runs: a changed [plot] or [meta] is taken (they change the drawing, not the rows)
            write_json(folder / SPEC_FILE, {"format": FORMAT, "sweep": self.sweep.to_dict()})
        else:
            if folder.is_dir() and any(folder.iterdir()):
                raise OSError(f"output folder {str(folder)!r} holds other files (no {SPEC_FILE}: not a sweep's "
                              "folder); choose an empty or new folder with --out")
            check_writable_dir(folder)
            write_json(folder / SPEC_FILE, {"format": FORMAT, "sweep": self.sweep.to_dict()})
        return self

    def add(self, row: dict[str, Any]) -> None:
        self.rows[row["run"]] = row
        self.dirty = True
        if time.monotonic() - self.last_write >= self.every:
            self.flush()

    def flush(self) -> None:
        """Write the table now if it changed (atomically: the old file stays whole until the new one is)."""
        if not self.dirty:
            return
        import pyarrow.parquet as pq

        rows = [self.rows[i] for i in sorted(self.rows)]
        buf = io.BytesIO()
        pq.write_table(table(self.sweep, rows), buf)
        atomic_write_bytes(self.folder / RESULTS_FILE, buf.getvalue())
        self.dirty = False
        self.last_write = time.monotonic()

    def write_csv(self) -> None:
        """``results.csv`` beside the table (asked for after the rows were written)."""
        rows = [self.rows[i] for i in sorted(self.rows)]
        atomic_write_text(self.folder / CSV_FILE, _csv_text(self.sweep, rows))
