import numpy as np
import pytest

from ibviewer.core.config import ConfigError, build_config
from ibviewer.core.engine import Engine
from ibviewer.core.metrics import balancedness

SENSING = [("problem.kind", "matrix_sensing"), ("problem.d", 8), ("problem.rank", 2), ("problem.measurements", 40),
           ("run.steps", 0)]


def product(params):
    p = params[0]
    for w in params[1:]:
        p = w @ p
    return p


def test_identity_init_is_alpha_times_identity():
    e = Engine(build_config(overrides=SENSING + [("model.init", "identity"), ("model.depth", 3),
                                                 ("model.init_scale", 1e-3)]))
    np.testing.assert_allclose(product(e.params), 1e-3 * np.eye(8), rtol=1e-12)


def test_gaussian_init_per_layer_std():
    e = Engine(build_config(overrides=SENSING + [("model.init", "gaussian"), ("model.depth", 2),
                                                 ("model.init_scale", 1e-2), ("model.width", 200)]))
    std = np.std(np.concatenate([w.ravel() for w in e.params]))
    assert std == pytest.approx(1e-2 ** 0.5 / np.sqrt(200), rel=0.05)
    assert [w.shape for w in e.params] == [(200, 8), (8, 200)]


def test_orthogonal_init_is_scaled_orthogonal():
    e = Engine(build_config(overrides=SENSING + [("model.init", "orthogonal"), ("model.depth", 3),
                                                 ("model.init_scale", 8.0)]))
    for w in e.params:
        np.testing.assert_allclose(w.T @ w, 4.0 * np.eye(8), atol=1e-12)


@pytest.mark.parametrize("width", [0, 12])
def test_balanced_init_is_balanced(width):
    e = Engine(build_config(overrides=SENSING + [("model.init", "balanced"), ("model.depth", 3),
                                                 ("model.init_scale", 0.5), ("model.width", width)]))
    for d in balancedness(e.params):
        assert np.linalg.norm(d) < 1e-12
    assert np.linalg.norm(product(e.params)) > 0


def test_diagonal_constant_init_is_alpha():
    e = Engine(build_config(overrides=[("problem.kind", "sparse_recovery"), ("model.init_scale", 0.02),
                                       ("model.depth", 3)]))
    for w in e.params:
        np.testing.assert_array_equal(w, 0.02)
    h = Engine(build_config(overrides=[("problem.kind", "sparse_recovery"), ("model.parametrization", "hadamard"),
                                       ("model.init_scale", 0.5), ("model.depth", 3)]))
    assert len(h.params) == 3
    np.testing.assert_allclose(h.product(), 0.125)


def test_zeros_only_for_depth_one():
    with pytest.raises(ConfigError, match="depth = 1"):
        build_config(overrides=SENSING + [("model.init", "zeros"), ("model.depth", 2)])
    e = Engine(build_config(overrides=SENSING + [("model.init", "zeros"), ("model.depth", 1)]))
    assert not np.any(e.product())


def test_depth1_from_zero_gives_the_min_frobenius_interpolant():
    e = Engine(build_config(overrides=SENSING + [("model.init", "zeros"), ("model.depth", 1),
                                                 ("optimizer.lr", 0.2), ("run.steps", 3000)]))
    e.run()
    assert e.summary()["references"]["min_l2"] < 1e-6


def test_factorization_of_a_users_matrix(tmp_path):
    m = np.diag([3.0, 1.0, 0.0])
    np.save(tmp_path / "m.npy", m)
    np.savetxt(tmp_path / "m.csv", m, delimiter=",")
    for f in ("m.npy", "m.csv"):
        e = Engine(build_config(overrides=[("problem.kind", "matrix_factorization"), ("problem.target", "file"),
                                           ("problem.source", str(tmp_path / f)), ("model.depth", 2),
                                           ("model.init_scale", 1e-2), ("optimizer.lr", 0.05),
                                           ("run.steps", 4000)]))
        assert e.problem.shape == (3, 3)
        e.run()
        assert e.summary()["relative_error"] < 1e-3


def test_bad_user_matrix_gives_a_clear_error(tmp_path):
    np.save(tmp_path / "v.npy", np.ones(4))
    (tmp_path / "t.txt").write_text("1,2")
    (tmp_path / "bad.csv").write_text("1,a\n2,3\n")
    for f, words in (("v.npy", "2-D matrix"), ("t.txt", "unknown type"), ("bad.csv", "cannot be read"),
                     ("missing.npy", "does not exist")):
        with pytest.raises(ConfigError, match=words):
            Engine(build_config(overrides=[("problem.kind", "matrix_factorization"), ("problem.target", "file"),
                                           ("problem.source", str(tmp_path / f))]))


def test_cuda_without_a_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the error cannot be shown")
    with pytest.raises(ConfigError, match="no CUDA device"):
        Engine(build_config(overrides=SENSING + [("run.device", "cuda")]))
    assert Engine(build_config(overrides=SENSING + [("run.device", "auto")])).device == "cpu"
