"""Which problem a data file holds and the configuration that trains on it, without Qt."""

import numpy as np
import pytest

from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.core.datafiles import DataFileError, config_for_data, guess_kind


def test_guess_kind_reads_the_arrays_names_and_shapes(tmp_path):
    rng = np.random.default_rng(0)
    cases = {
        "labels.npz": (dict(X=rng.standard_normal((6, 2)), labels=np.sign(rng.standard_normal(6))),
                       "logistic_separable"),
        "teacher.npz": (dict(X=rng.standard_normal((3, 8)), Y=rng.standard_normal((2, 8))), "linear_regression"),
        "sensing3d.npz": (dict(A=rng.standard_normal((5, 3, 3)), y=rng.standard_normal(5)), "matrix_sensing"),
        "sensing_w.npz": (dict(A=rng.standard_normal((5, 9)), y=rng.standard_normal(5), W=np.eye(3)),
                          "matrix_sensing"),
        "sparse.npz": (dict(A=rng.standard_normal((5, 7)), y=rng.standard_normal(5)), "sparse_recovery"),
        "masked.npz": (dict(M=np.ones((3, 3)), mask=np.eye(3)), "matrix_completion"),
        "plain.npz": (dict(M=np.ones((3, 3))), "matrix_factorization"),
    }
    for name, (arrays, kind) in cases.items():
        np.savez(tmp_path / name, **arrays)
        assert guess_kind(tmp_path / name) == kind, name
    # A and y with a square number of columns fit both: the current kind decides
    np.savez(tmp_path / "either.npz", A=rng.standard_normal((5, 9)), y=rng.standard_normal(5))
    assert guess_kind(tmp_path / "either.npz") == "sparse_recovery"
    assert guess_kind(tmp_path / "either.npz", prefer="matrix_sensing") == "matrix_sensing"
    m = np.ones((4, 4))
    np.save(tmp_path / "full.npy", m)
    assert guess_kind(tmp_path / "full.npy") == "matrix_factorization"
    m[1, 2] = np.nan
    np.save(tmp_path / "holes.npy", m)
    assert guess_kind(tmp_path / "holes.npy") == "matrix_completion"
    (tmp_path / "holes.csv").write_text("1,2\n,4\n")
    assert guess_kind(tmp_path / "holes.csv") == "matrix_completion"
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    assert guess_kind(tmp_path / "broken.npz") == "matrix_factorization"  # reading it for real says why


def test_config_for_data_trains_on_a_good_file_and_refuses_a_bad_one_in_one_line(tmp_path):
    cfg = build_config(preset=DEFAULT_PRESET)
    rng = np.random.default_rng(1)
    good = tmp_path / "target.npy"
    np.save(good, rng.standard_normal((8, 2)) @ rng.standard_normal((2, 8)))
    # another kind (the default preset senses): that kind's defaults, reading the file
    assert cfg.problem.kind == "matrix_sensing"
    trial, kind = config_for_data(cfg, good)
    assert kind == "matrix_factorization" == trial.problem.kind
    assert trial.problem.source == str(good.resolve()) and trial.problem.target == "file"
    # the same kind keeps the run's own settings
    mf = build_config(overrides=[("problem.kind", "matrix_factorization"), ("model.depth", 4)])
    trial, kind = config_for_data(mf, good)
    assert kind == "matrix_factorization" and trial.model.depth == 4 and trial.problem.source == str(good.resolve())
    assert mf.problem.source != trial.problem.source  # the given config is left as it was
    bad = tmp_path / "bad.npz"
    np.savez(bad, A=np.ones((5, 7)), y=np.ones(3))
    for path, kind, words in ((bad, "sparse_recovery", "bad.npz"), (tmp_path / "x.txt", None, "not a data file"),
                              (tmp_path / "gone.npy", None, "does not exist"),
                              (good, "ridge", "does not read data files")):
        with pytest.raises(DataFileError) as info:
            config_for_data(cfg, path, kind)
        assert words in str(info.value) and "\n" not in str(info.value)
