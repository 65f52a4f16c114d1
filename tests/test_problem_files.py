"""Your own problem: data read from problem.source (.npy, .npz, .csv), with clear errors for wrong files."""

import numpy as np
import pytest

from ibviewer.cli import main
from ibviewer.core.config import ConfigError, build_config
from ibviewer.core.engine import Engine


def engine_for(kind, path, **extra):
    over = [("problem.kind", kind), ("problem.source", str(path)), ("run.steps", 0)] + list(extra.items())
    return Engine(build_config(overrides=over))


def test_sensing_from_file(tmp_path):
    rng = np.random.default_rng(0)
    d, m = 5, 20
    w = rng.standard_normal((d, 1)) @ rng.standard_normal((1, d))
    a = rng.standard_normal((m, d, d)) / np.sqrt(m)
    np.savez(tmp_path / "s.npz", A=a, y=a.reshape(m, -1) @ w.ravel(), W=w)
    e = engine_for("matrix_sensing", tmp_path / "s.npz")
    assert e.problem.shape == (d, d) and e.problem.n_data == m
    np.testing.assert_array_equal(e.problem.target, w)
    e.step(100)
    assert e.current_loss() < e.history["loss"][0]


def test_completion_from_csv_with_nans(tmp_path):
    m = np.outer([1.0, 2, 3], [1.0, -1, 2])
    obs = m.copy()
    obs[0, 0] = obs[2, 1] = np.nan
    np.savetxt(tmp_path / "c.csv", obs, delimiter=",")
    e = engine_for("matrix_completion", tmp_path / "c.csv")
    assert e.problem.n_data == 7 and e.problem.target is None
    np.savez(tmp_path / "c.npz", M=m, mask=np.isfinite(obs))
    assert engine_for("matrix_completion", tmp_path / "c.npz").problem.n_data == 7


def test_sparse_and_regression_and_logistic_from_files(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((10, 30))
    x = np.zeros(30)
    x[[3, 7]] = [1.0, -2.0]
    np.savez(tmp_path / "sp.npz", A=a, y=a @ x, x=x)
    e = engine_for("sparse_recovery", tmp_path / "sp.npz")
    assert e.problem.shape == (30,) and set(e.problem.info["support"]) == {3, 7}
    assert set(e.refs) >= {"min_l1", "min_l2"}
    X = rng.standard_normal((4, 25))
    np.savez(tmp_path / "r.npz", X=X, Y=rng.standard_normal((2, 4)) @ X)
    assert engine_for("linear_regression", tmp_path / "r.npz").problem.shape == (2, 4)
    pts = rng.standard_normal((12, 3))
    np.savez(tmp_path / "l.npz", X=pts, labels=np.sign(pts[:, 0] + 0.1))
    assert engine_for("logistic_separable", tmp_path / "l.npz").problem.shape == (1, 3)


@pytest.mark.parametrize("kind, arrays, words", [
    ("matrix_sensing", {"A": np.ones((5, 7)), "y": np.ones(5)}, "A has shape (5, 7)"),
    ("matrix_sensing", {"A": np.ones((5, 9))}, "lacks y"),
    ("sparse_recovery", {"A": np.ones((5, 9)), "y": np.ones(4)}, "y (4,)"),
    ("linear_regression", {"X": np.ones((3, 10)), "Y": np.ones((2, 9))}, "samples are columns"),
    ("logistic_separable", {"X": np.ones((4, 2)), "labels": np.array([1, 0, 1, -1])}, "+1 or -1"),
    ("matrix_completion", {"M": np.ones((3, 3)), "mask": np.ones((2, 2), bool)}, "mask has shape"),
])
def test_wrong_files_give_clear_errors(tmp_path, kind, arrays, words):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ConfigError) as info:
        engine_for(kind, tmp_path / "bad.npz")
    msg = str(info.value)
    assert words in msg and "\n" not in msg and "needs" in msg


def test_file_needing_two_arrays_rejects_npy(tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.ones((3, 4)))
    with pytest.raises(ConfigError, match="lacks A, y"):
        engine_for("sparse_recovery", tmp_path / "a.npy")
    with pytest.raises(ConfigError, match="not used by"):
        engine_for("razin_cohen", tmp_path / "a.npy")
    rc = main(["run", "--set", "problem.kind=sparse_recovery", "--set", f"problem.source={tmp_path / 'a.npy'}",
               "--out", str(tmp_path / "o")])
    assert rc == 2 and "lacks A, y" in capsys.readouterr().err
