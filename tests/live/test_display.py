"""A large matrix reaches the GUI as a block-mean image: each pixel the mean of the entries it covers."""

import numpy as np

from ibviewer.live.display import DISPLAY_SIDE, display_factor, display_matrix


def test_a_small_matrix_is_sent_whole():
    p = np.arange(12.0).reshape(3, 4)
    assert display_matrix(p) is p


def test_each_pixel_is_the_mean_of_its_block_edges_included():
    rng = np.random.default_rng(0)
    p = rng.standard_normal((1030, 700))
    img = display_matrix(p)
    f = display_factor(p.shape)
    assert f == 3 and max(img.shape) <= DISPLAY_SIDE and img.dtype == np.float32
    assert img.shape == (344, 234)
    for i, j in [(0, 0), (5, 17), (343, 233), (343, 0), (100, 233)]:  # 1030 = 3 * 343 + 1: a one-row last block
        block = p[3 * i : 3 * i + 3, 3 * j : 3 * j + 3]
        assert np.isclose(img[i, j], block.mean(), rtol=1e-6, atol=1e-7)
    assert np.isclose(img.mean(), p[:1029, :699].reshape(343, 3, 233, 3).mean(axis=(1, 3)).mean(), atol=1e-3)


def test_a_4000_matrix_comes_down_to_at_most_the_display_side():
    assert display_factor((4000, 4000)) == 8 and display_matrix(np.ones((4000, 4000))).shape == (500, 500)
