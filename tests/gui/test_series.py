"""The GUI's Qt-free drawing helpers: decimation keeps what a log axis shows."""

import numpy as np

from ibviewer.live.series import BUCKETS, Frame, HistoryMirror


def mirror(steps, loss):
    m = HistoryMirror()
    m.update({"step": np.asarray(steps, float), "loss": np.asarray(loss, float)}, replace=True)
    return m


def engine_like_steps(total=80_000):
    """Every step for the first 20, then log-spaced, then every 25 steps (the engine's record schedule)."""
    steps = list(range(20))
    k = 20
    while k < 500:
        steps.append(k)
        k = int(k * 1.05) + 1
    steps += list(range(500, total, 25))
    return np.array(steps)


def test_log_axis_keeps_the_early_steps_as_their_own_points():
    steps = engine_like_steps()
    m = mirror(steps, np.exp(-np.sqrt(steps)))
    f = Frame(m, "log_step")
    x = f.x[np.isfinite(f.x)]
    assert len(f.x) <= 2 * (BUCKETS + 1)
    # steps 1..10 are each drawn (a log axis gives them most of its first decade)
    for k in range(1, 11):
        assert np.any(np.isclose(x, np.log10(k))), k
    y = f.col("loss", log=True)
    assert y.shape == f.x.shape
    # the decimated curve still spans the data: min and max of every bucket are kept
    assert np.nanmin(y) == np.nanmin(np.log10(m["loss"][1:]))


def test_linear_axis_buckets_are_even_in_steps_and_unsorted_x_falls_back_to_rows():
    steps = engine_like_steps()
    f = Frame(mirror(steps, np.ones(len(steps))), "step")
    widths = np.diff(steps[f.edges])
    assert widths.max() <= 2 * np.median(widths)
    shuffled = np.random.default_rng(0).permutation(steps)
    g = Frame(mirror(shuffled, np.ones(len(steps))), "step")
    assert len(g.edges) == BUCKETS and np.all(np.diff(g.edges) > 0)
