"""Fuzzing the command line in-process: random configs (as --set flags and as TOML files), random TOML bytes,
random data files for problem.source and damaged session files.  Every input must end as exit code 0 (accepted)
or 2 with exactly one line on stderr ("ibviewer: error: ..."), or, for a run that trained, 1 when it diverged
and said so; never an exception, never a numpy warning on the terminal.

The cheap path is ``ibviewer run --check`` (validation, the memory estimate and the problem's data, nothing
trained or written); a few examples in each fuzzer train for real (two steps) and write their folder.  The memory
available is pinned at 256 MiB, so that a random size is refused by the estimate rather than allocated.  With
``-s`` each fuzzer prints how many inputs it tried and how they ended.
"""

from __future__ import annotations

import functools
import io
import json
import string
import sys
import warnings
import zipfile
from collections import Counter

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ibviewer.cli import main
from ibviewer.core import sizing
from ibviewer.core.config_fields import PROBLEM_KINDS, choices, field_default, known_keys

FUZZ_MEMORY = 256 << 20
FUZZ = settings(deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
TALLY: dict[str, Counter] = {}


@pytest.fixture(autouse=True)
def small_memory(monkeypatch):
    monkeypatch.setattr(sizing, "available_bytes", lambda: FUZZ_MEMORY)


@pytest.fixture(scope="module", autouse=True)
def print_tally():
    yield
    for name, counts in TALLY.items():
        total = sum(counts.values())
        print(f"\n{name}: {total} inputs: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
              file=sys.__stderr__)


def run_cli(capsys, argv: list[str]) -> tuple[int, str]:
    """``ibviewer argv`` in-process: (exit code, stderr); fails on any numpy warning."""
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rc = main(argv)
    err = capsys.readouterr().err
    noisy = [w for w in caught if issubclass(w.category, (RuntimeWarning, UserWarning, np.exceptions.ComplexWarning))]
    assert not noisy, f"{argv}: {noisy[0].category.__name__}: {noisy[0].message}"
    return rc, err


def check_outcome(fuzzer: str, argv: list[str], rc: int, err: str, *, trained: bool = False) -> None:
    lines = err.strip().splitlines()
    allowed = (0, 1, 2) if trained else (0, 2)
    assert rc in allowed, f"{argv}: exit code {rc}: {err}"
    if rc == 2:
        assert len(lines) == 1 and lines[0].startswith("ibviewer: error: "), f"{argv}: {err!r}"
        outcome = "clean error"
    else:
        assert lines == [], f"{argv}: exit code {rc} but stderr {err!r}"
        outcome = "accepted" if rc == 0 else "diverged (exit 1, stated)"
    TALLY.setdefault(fuzzer, Counter())[outcome + (" after training" if trained else "")] += 1


def check_run_folder(out, rc: int) -> None:
    """A run that ended (0 or 1) left its whole folder; a refused one left none; never a temporary folder."""
    leftovers = [p.name for p in out.parent.iterdir() if p.name.endswith((".part", ".old"))]
    assert leftovers == []
    if rc in (0, 1):
        summary = json.loads((out / "summary.json").read_text())
        assert (summary["status"] == "diverged") == (rc == 1)
        assert (out / "history.npz").is_file() and (out / "history.csv").is_file()
    else:
        assert not out.exists()


# ------------------------------------------------------------------------------------------ (a) config schema
INTERESTING = ["nan", "inf", "-inf", "1e400", "-1", "0", "1", "2.5", "1e300", "-0", "true", "false", "[]",
               "[1, 2]", "", " ", "0x10", "１", "1_000", "None", "gaussian", "auto", "9" * 30]
KEYS = st.one_of(st.sampled_from(known_keys()),
                 st.sampled_from(["problem.nope", "nope.key", "model", "", ".", "run..steps", "meta.title"]))
VALUES = st.one_of(
    st.integers(-3, 40),
    st.integers(),
    st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(string.printable, max_size=10),
    st.text(max_size=6),
    st.lists(st.one_of(st.integers(-5, 40), st.floats(-10, 10)), max_size=4),
    st.sampled_from(INTERESTING),
)
KINDS = st.sampled_from(PROBLEM_KINDS)


def plausible(key: str):
    """Values near a key's domain (its choices, small numbers), so that many configs pass validation and reach
    the problem's construction, where the subtler failures live."""
    allowed = choices(key)
    if allowed:
        return st.sampled_from(allowed)
    default = field_default(key)
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.integers(0, 12)
    if isinstance(default, float):
        return st.sampled_from([0.0, 1e-3, 0.1, 0.5, 0.99, 1.0, 2.0, 1e6])
    if isinstance(default, list):
        return st.lists(st.sampled_from([0.5, 1.0, 3.0, 10.0]), max_size=4)
    return st.sampled_from(["", "/dev/null", "/nonexistent.npy"])


PAIRS = st.one_of(
    st.tuples(KEYS, VALUES),
    st.sampled_from(known_keys()).flatmap(lambda k: st.tuples(st.just(k), plausible(k))),
)


def as_text(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def base_argv(kind: str, *, check: bool) -> list[str]:
    return ["run", "-q"] + (["--check"] if check else []) + ["--set", "run.steps=2", "--set", f"problem.kind={kind}"]


@settings(FUZZ, max_examples=1000)
@given(kind=KINDS, pairs=st.lists(PAIRS, min_size=1, max_size=3),
       train=st.integers(1, 40).map(lambda k: k == 20))
def test_fuzz_config_keys_as_set_flags(capsys, tmp_path_factory, kind, pairs, train):
    argv = base_argv(kind, check=not train)
    for key, value in pairs:
        argv += ["--set", f"{key}={as_text(value)}"]
    if train:  # about one example in 40 trains (2 steps) and writes its folder
        out = tmp_path_factory.mktemp("set") / "out"
        argv += ["--set", "run.steps=2", "--out", str(out)]
    rc, err = run_cli(capsys, argv)
    check_outcome("config keys as --set", argv, rc, err, trained=train)
    if train:
        check_run_folder(out, rc)


@settings(FUZZ, max_examples=1000)
@given(kind=KINDS, pairs=st.lists(PAIRS.filter(lambda kv: kv[0].count(".") == 1 and not kv[0].startswith("meta")),
                                  min_size=1, max_size=3),
       shape=st.sampled_from(["tables", "flat", "table_is_value"]))
def test_fuzz_config_keys_as_toml_files(capsys, tmp_path_factory, kind, pairs, shape):
    data: dict = {"problem": {"kind": kind}, "run": {"steps": 2}}
    for key, value in pairs:
        table, name = key.split(".", 1)
        if shape == "flat":
            data[key] = value  # a dotted key at the top: an unknown table
        elif shape == "table_is_value":
            data[table] = value  # a table given as a plain value
        else:
            data.setdefault(table, {})[name] = value
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError, OverflowError):
        assume(False)  # a value TOML cannot hold (an int beyond 64 bits): not a file anyone can write
    path = tmp_path_factory.mktemp("toml") / "c.toml"
    path.write_text(text, encoding="utf-8")
    argv = ["run", "-q", "--check", "--config", str(path)]
    rc, err = run_cli(capsys, argv)
    check_outcome("config keys in TOML files", argv, rc, err)


# ------------------------------------------------------------------------------------------ (b) raw TOML bytes
def _preset_bytes() -> bytes:
    from ibviewer.core.config import preset_path

    return preset_path("sensing_incremental_rank").read_bytes()


PRESET = _preset_bytes()
TOML_BYTES = st.one_of(
    st.binary(max_size=300),
    st.integers(0, len(PRESET)).map(lambda n: PRESET[:n]),  # a valid file cut anywhere
    st.tuples(st.integers(0, len(PRESET) - 1), st.binary(min_size=1, max_size=8)).map(
        lambda t: PRESET[:t[0]] + t[1] + PRESET[t[0] + len(t[1]):]),  # a few bytes overwritten
    st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252"]).map(
        lambda enc: PRESET.decode().replace("Incremental", "Incrémental").encode(enc, errors="replace")),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", errors="surrogatepass")),
)


@settings(FUZZ, max_examples=1000)
@given(data=TOML_BYTES)
def test_fuzz_raw_toml_bytes(capsys, tmp_path_factory, data):
    path = tmp_path_factory.mktemp("raw") / "c.toml"
    path.write_bytes(data)
    argv = ["run", "-q", "--check", "--set", "run.steps=2", "--config", str(path)]
    rc, err = run_cli(capsys, argv)
    check_outcome("raw TOML bytes", argv, rc, err)


# ------------------------------------------------------------------------------------------ (c) data files
FILE_KINDS = ["matrix_factorization", "matrix_completion", "matrix_sensing", "sparse_recovery",
              "linear_regression", "logistic_separable"]
ARRAY_NAMES = ["M", "mask", "A", "y", "x", "W", "X", "Y", "labels", "arr_0"]
SPECIAL = [np.nan, np.inf, -np.inf, 1e300, -1e300, 0.0, 1.0, -1.0, 1e-320]


@st.composite
def arrays(draw):
    ndim = draw(st.integers(0, 3))
    shape = tuple(draw(st.lists(st.integers(0, 6), min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from(["float64", "float32", "int64", "bool", "complex128", "U3", "uint8"]))
    size = int(np.prod(shape))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.standard_normal(size)
    if size and draw(st.booleans()):
        a[rng.integers(0, size, size=draw(st.integers(1, 3)))] = draw(st.sampled_from(SPECIAL))
    if dtype == "bool":
        return (a > 0).reshape(shape)
    if dtype == "U3":
        return a.astype("U3").reshape(shape)
    if dtype == "complex128":
        return (a + 1j * rng.standard_normal(size)).reshape(shape)
    if dtype in ("int64", "uint8"):
        return np.nan_to_num(a * 3, nan=0, posinf=0, neginf=0).clip(0 if dtype == "uint8" else -9, 9).astype(dtype).reshape(shape)
    with np.errstate(all="ignore"):
        return a.astype(dtype).reshape(shape)


def _valid_arrays(kind: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A file each kind accepts, which the fuzzer then damages."""
    if kind == "matrix_factorization":
        return {"M": rng.standard_normal((4, 3))}
    if kind == "matrix_completion":
        m = rng.standard_normal((4, 4))
        return {"M": m, "mask": rng.random((4, 4)) > 0.3}
    if kind == "matrix_sensing":
        return {"A": rng.standard_normal((6, 9)), "y": rng.standard_normal(6)}
    if kind == "sparse_recovery":
        return {"A": rng.standard_normal((4, 8)), "y": rng.standard_normal(4)}
    if kind == "linear_regression":
        return {"X": rng.standard_normal((3, 10)), "Y": rng.standard_normal((2, 10))}
    x = rng.standard_normal((8, 2))
    return {"X": x, "labels": np.where(x[:, 0] > 0, 1.0, -1.0)}


@st.composite
def data_files(draw):
    """(kind, file contents or a special path, suffix)."""
    kind = draw(st.sampled_from(FILE_KINDS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    content = _valid_arrays(kind, rng)
    for _ in range(draw(st.integers(0, 3))):  # damage: drop, replace or add arrays
        action = draw(st.sampled_from(["drop", "replace", "add"]))
        name = draw(st.sampled_from(ARRAY_NAMES))
        if action == "drop":
            content.pop(name, None)
        else:
            content[name] = draw(arrays())
    form = draw(st.sampled_from(["npz", "npy", "csv", "truncated", "empty", "directory", "/dev/null", "text"]))
    return kind, content, form, draw(st.floats(0, 1)), draw(st.integers(1, 40)) == 20


def _write_data(folder, content: dict, form: str, cut: float) -> str:
    if form == "/dev/null":
        return "/dev/null"
    if form == "directory":
        d = folder / "data.npz"
        d.mkdir()
        return str(d)
    if form == "empty":
        p = folder / "data.npy"
        p.write_bytes(b"")
        return str(p)
    if form == "text":
        p = folder / "data.csv"
        p.write_text("1,2,x\n3,,4\n;;\n")
        return str(p)
    first = next(iter(content.values()), np.zeros((2, 2)))
    if form in ("npy", "csv"):
        p = folder / f"data.{form}"
        if form == "npy":
            np.save(p, first, allow_pickle=False)
        else:
            try:
                np.savetxt(p, np.atleast_2d(first), delimiter=",", fmt="%s")
            except (ValueError, TypeError):
                p.write_text("a,b\n")
        return str(p)
    buf = io.BytesIO()
    np.savez(buf, **content)
    raw = buf.getvalue()
    p = folder / "data.npz"
    p.write_bytes(raw[: int(len(raw) * cut)] if form == "truncated" else raw)
    return str(p)


@settings(FUZZ, max_examples=1000)
@given(spec=data_files())
def test_fuzz_data_files_for_problem_source(capsys, tmp_path_factory, spec):
    kind, content, form, cut, train = spec
    folder = tmp_path_factory.mktemp("data")
    path = _write_data(folder, content, form, cut)
    # about one example in 40 trains
    argv = base_argv(kind, check=not train) + ["--set", f"problem.source={path}"]
    if kind == "matrix_factorization":
        argv += ["--set", "problem.target=file"]
    if train:
        out = folder / "out"
        argv += ["--out", str(out)]
    rc, err = run_cli(capsys, argv)
    check_outcome("data files", argv, rc, err, trained=train)
    if train:
        check_run_folder(out, rc)


# ------------------------------------------------------------------------------------------ (d) session files
@functools.cache
def session_bytes() -> bytes:
    """A small, valid session (an adam run of 30 steps) that the fuzzer damages."""
    import tempfile

    from ibviewer.core.config import build_config
    from ibviewer.core.engine import Engine
    from ibviewer.core.session import save_session

    cfg = build_config(overrides=[("problem.kind", "matrix_sensing"), ("problem.d", 4), ("problem.rank", 1),
                                  ("problem.singular_values", "[]"), ("problem.measurements", 12),
                                  ("run.history_rows", 16), ("optimizer.name", "adam")])
    e = Engine(cfg)
    e.step(30)
    with tempfile.TemporaryDirectory() as folder:
        path = save_session(f"{folder}/s.ibvs", [("a", e)], view={"x_axis": "step"})
        return path.read_bytes()


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 10**20), st.floats(allow_nan=True), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=6,
)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _set_path(doc, path, value):
    if not path:
        return value
    node = doc
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return doc


@st.composite
def damaged_sessions(draw, original: bytes):
    how = draw(st.sampled_from(["json", "json", "json", "array", "bytes", "truncate"]))
    if how == "truncate":
        return original[: draw(st.integers(0, len(original) - 1))]
    if how == "bytes":
        pos = draw(st.integers(0, len(original) - 1))
        junk = draw(st.binary(min_size=1, max_size=16))
        return original[:pos] + junk + original[pos + len(junk):]
    with zipfile.ZipFile(io.BytesIO(original)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    if how == "json":
        doc = json.loads(files["session.json"])
        path = draw(st.sampled_from(sorted(_paths(doc), key=str)))
        doc = _set_path(doc, path, draw(JSON_VALUES))
        files["session.json"] = json.dumps(doc).encode()
    else:
        with np.load(io.BytesIO(files["run0.npz"])) as npz:
            arrays_ = {k: npz[k] for k in npz.files}
        name = draw(st.sampled_from(sorted(arrays_)))
        arrays_[name] = draw(arrays())
        buf = io.BytesIO()
        np.savez(buf, **arrays_)
        files["run0.npz"] = buf.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    return buf.getvalue()


@settings(FUZZ, max_examples=1000)
@given(data=st.data())
def test_fuzz_session_files(tmp_path_factory, data):
    from ibviewer.core.session import SessionError, load_session

    raw = data.draw(damaged_sessions(session_bytes()))
    path = tmp_path_factory.mktemp("ses") / "s.ibvs"
    path.write_bytes(raw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            session = load_session(path)
        except SessionError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
            outcome = "clean error"
        else:
            outcome = "accepted"
            for _, engine in session.runs:  # what opens is usable: finite parameters, a step can be taken
                assert all(np.isfinite(w).all() for w in engine.params)
                engine.step(1)
    assert not [w for w in caught if issubclass(w.category, (RuntimeWarning, UserWarning))]
    TALLY.setdefault("session files", Counter())[outcome] += 1



@settings(FUZZ, max_examples=300)
@given(spec=data_files(), as_kind=st.sampled_from([None] + FILE_KINDS))
def test_fuzz_data_files_through_load_data(tmp_path_factory, spec, as_kind):
    """The app's "Load data…" path (config_for_data): a bad file is a DataFileError of one line, never another
    exception, and a file it accepts makes a problem."""
    from ibviewer.core.config import build_config
    from ibviewer.core.datafiles import DataFileError, config_for_data

    kind, content, form, cut, _ = spec
    path = _write_data(tmp_path_factory.mktemp("load"), content, form, cut)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cfg, read_as = config_for_data(build_config(overrides=[("problem.kind", kind)]), path, as_kind)
        except DataFileError as exc:
            assert "\n" not in str(exc) and str(exc)
            outcome = "clean error"
        else:
            assert cfg.problem.kind == read_as and cfg.problem.source
            outcome = "accepted"
    assert not [w for w in caught if issubclass(w.category, (RuntimeWarning, UserWarning))]
    TALLY.setdefault("data files through Load data", Counter())[outcome] += 1
