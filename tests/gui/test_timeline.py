"""The timeline: every panel as of step k shows step k's values, headless and in the live window."""

import math

import numpy as np
import pytest

from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.core.engine import Engine
from ibviewer.gui.export import ExportLayout
from ibviewer.gui.export_ui import Recording
from ibviewer.gui.timeline import HistoryView, RunSource, StateStore

from .conftest import TIMEOUT_MS, fresh, settle


@pytest.fixture(scope="module")
def engine():
    e = Engine(build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 1500)]))
    e.run()
    return e


def test_history_view_is_the_first_rows(engine):
    src = RunSource.from_engine(engine)
    v = src.view(7)
    assert v.size == 7 and "loss" in v and "nope" not in v
    np.testing.assert_array_equal(v["loss"], engine.history["loss"][:7])
    assert v.last("step") == engine.history["step"][6]
    assert isinstance(v, HistoryView) and v.tail is None


def test_state_store_is_bounded_and_finds_the_step_before():
    st = StateStore(budget=64 * 8 * 4)  # room for 64 products of 4 numbers
    for k in range(0, 1000, 5):
        st.add(k, np.full(4, float(k)))
    assert len(st) <= 64
    assert st.steps[0] == 0 and st.steps == sorted(st.steps)
    s = st.step_at(503)
    assert s <= 503 and st.at(503)[0] == s
    st.add(3, np.zeros(4))  # a step back in time: a reset
    assert st.steps == [3]


def test_state_store_keeps_at_most_max_states_small_products():
    """A product arrives with every snapshot: small ones stop at a count, not at the (far) memory budget, so that
    a long session's memory stops growing (docs/benchmarks.md, "Long run")."""
    from ibviewer.gui.timeline import MAX_STATES

    st = StateStore(budget=2**30)  # room for millions of 4-number products
    for k in range(3 * MAX_STATES):
        st.add(k, np.full(4, float(k)))
    assert MAX_STATES // 2 <= len(st) <= MAX_STATES
    assert st.steps[: MAX_STATES // 4] == list(range(MAX_STATES // 4))  # the early quarter kept whole
    assert st.steps[-1] == 3 * MAX_STATES - 1 and st.at(st.steps[-1])[0] == st.steps[-1]


@pytest.mark.parametrize("reveal", ["cursor", "grow"])
def test_layout_at_step_k_shows_step_k(qapp, engine, reveal):
    src = RunSource.from_engine(engine, "quick")
    h = engine.history
    lay = ExportLayout(src, ["loss", "singular_values", "heatmap"], (800, 450), "light", x_mode="log_step",
                       reveal=reveal)
    try:
        for row in (3, h.n // 3, h.n - 1):
            k = int(h["step"][row])
            lay.show_step(k)
            lay.render_frame()
            assert lay.row == row
            assert lay.lbl_step.text() == f"step {k:,}"
            # the heatmap holds the product W at step k
            np.testing.assert_allclose(lay.panels["heatmap"].img_w.image, h["state"][row])
            loss_curve = next(iter(lay.panels["loss"].curves.values()))
            if reveal == "cursor":
                c = lay.cursors["loss"].line
                assert c.isVisible() and c.value() == pytest.approx(math.log10(k))
                assert len(loss_curve.yData) > 10  # the curve whole
            else:
                # the curves end at step k's values
                assert loss_curve.xData[-1] == pytest.approx(math.log10(k))
                assert loss_curve.yData[-1] == pytest.approx(math.log10(h["loss"][row]))
                sv = lay.panels["singular_values"].lead[0]
                assert sv.yData[-1] == pytest.approx(math.log10(h["sv"][row][0]))
    finally:
        lay.close_layout()


def test_sparse_stems_at_step_k(qapp):
    e = Engine(build_config(preset="hadamard_l1_bias", overrides=[("run.steps", 400)]))
    e.run()
    src = RunSource.from_engine(e)
    lay = ExportLayout(src, ["stems", "coordinates"], (640, 360), "dark", reveal="cursor")
    try:
        row = e.history.n // 2
        lay.show_row(row)
        np.testing.assert_allclose(lay.panels["stems"].heads.data["y"], e.history["state"][row])
    finally:
        lay.close_layout()


def test_window_timeline_scrubs_while_training(qtbot, window):
    rec = window.recording
    tl = rec.timeline
    assert isinstance(rec, Recording)  # built with the window, not attached later
    fresh(qtbot, window)
    tl.go_live()
    # a reference run of the same config, to know W at a recorded step
    ref = Engine(build_config(preset=DEFAULT_PRESET))
    ref.run(200)
    steps = ref.history["step"]
    k = int(next(s for s in steps if 30 <= s <= 120))
    row_ref = int(np.searchsorted(steps, k))
    window.step_n(k)
    settle(qtbot, window, k)
    window.play()
    qtbot.waitUntil(lambda: window.last_snap["step"] > 2000, timeout=TIMEOUT_MS)
    row = tl.seek_step(k)
    assert not tl.live
    assert int(window.mirror["step"][row]) == k
    heat = window.panels["heatmap"].img_w.image
    np.testing.assert_allclose(heat, ref.history["state"][row_ref], rtol=1e-9, atol=1e-12)
    assert f"step {k:,}" in tl.readout.text()
    assert f"loss {ref.history['loss'][row_ref]:.3e}" in tl.readout.text()
    cursor = tl.cursors["loss"].line
    assert cursor.isVisible() and cursor.value() == pytest.approx(math.log10(k))
    # training goes on: new rows extend the slider, the view stays at step k
    n0 = window.mirror.n
    qtbot.waitUntil(lambda: window.mirror.n > n0 + 3 or not window.last_snap["playing"], timeout=TIMEOUT_MS)
    assert tl.slider.maximum() >= n0 - 1
    np.testing.assert_allclose(window.panels["heatmap"].img_w.image, ref.history["state"][row_ref])
    assert cursor.value() == pytest.approx(math.log10(k))
    window.set_x_mode("step")  # a redraw of the window keeps the scrubbed view
    assert cursor.value() == pytest.approx(k)
    np.testing.assert_allclose(window.panels["heatmap"].img_w.image, ref.history["state"][row_ref])
    window.set_x_mode("log_step")
    # live again: the latest state, no cursor
    window.pause()
    snap = settle(qtbot, window)
    tl.go_live()
    assert tl.live and not cursor.isVisible()
    np.testing.assert_allclose(window.panels["heatmap"].img_w.image, snap["product"])


def test_replay_loops_through_the_history(qtbot, window):
    rec = window.recording
    tl = rec.timeline
    if window.mirror.n < 20:
        window.play()
        qtbot.waitUntil(lambda: window.mirror.n >= 20, timeout=TIMEOUT_MS)
        window.pause()
        settle(qtbot, window)
    tl.rate.setCurrentIndex(0)  # 5 s
    tl.loop.setChecked(True)
    seen = set()
    tl.moved.connect(lambda r: seen.add(r))
    tl.btn_replay.setChecked(True)
    assert not tl.live
    qtbot.waitUntil(lambda: len(seen) > 5, timeout=TIMEOUT_MS)
    tl.btn_replay.setChecked(False)
    assert not tl.timer.isActive()
    tl.go_live()
    assert tl.live


def test_fast_frames_match_full_renders(qapp, engine):
    """Frames painted over the cached static picture look like full renders (text anti-aliasing aside)."""
    src = RunSource.from_engine(engine, "quick")
    lay = ExportLayout(src, None, (960, 540), "light", x_mode="log_step")
    try:
        lay.prime()
        shape = (540, 960, 4)
        for row in (2, engine.history.n // 2, engine.history.n - 1):
            lay.show_row(row)
            full = np.frombuffer(lay.render_frame(fast=False).constBits(), np.uint8)[: 960 * 540 * 4]
            full = full.reshape(shape).astype(int)
            fast = np.frombuffer(lay.render_frame(fast=True).constBits(), np.uint8)[: 960 * 540 * 4]
            fast = fast.reshape(shape).astype(int)
            diff = np.abs(full - fast).max(axis=2)
            assert diff.mean() < 0.5, diff.mean()
            inside = np.zeros(diff.shape, bool)
            for _view, dst, _src in lay.dynamic_regions:
                r = dst.toRect()
                inside[r.top(): r.bottom() + 1, r.left(): r.right() + 1] = True
            assert np.count_nonzero(diff[inside]) < 50  # the plots' insides: the same pixels
            assert lay.lbl_step.text() == f"step {int(src.steps[row]):,}"
    finally:
        lay.close_layout()


def test_scrubbing_compared_runs_shows_every_run_as_of_the_step(qtbot, window):
    """The stems of every compared run follow the timeline (not only the selected run's)."""
    rec = window.recording
    tl = rec.timeline
    window.load_preset("hadamard_l1_bias")
    qtbot.waitUntil(lambda: window.worker_ready and len(window.runs) == 3 and window.last_snap is not None,
                    timeout=TIMEOUT_MS)
    window.set_speed(0)
    window.step_n(300)
    qtbot.waitUntil(lambda: all(r.entry and r.entry.step == 300 for r in window.runs), timeout=TIMEOUT_MS)
    settle(qtbot, window)
    stems = window.panels["stems"]
    k = 40
    tl.seek_step(k)
    assert not tl.live

    def drawn(r):
        return stems.run_items[(r.id, "stems")].getData()[1][1::2]

    for r in window.runs:
        row = int(np.searchsorted(r.mirror["step"], k, side="right")) - 1
        np.testing.assert_allclose(drawn(r), r.mirror["state"][row])
        assert not np.allclose(drawn(r), r.product, rtol=1e-3, atol=0)  # an earlier state than the latest
    tl.go_live()
    for r in window.runs:
        np.testing.assert_allclose(drawn(r), r.product)


def test_a_log_replay_starts_where_the_history_first_moves_not_at_step_1():
    from ibviewer.core.recording import first_visible_step

    e = Engine(build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 3000)]))
    e.run()
    src = RunSource.from_engine(e)
    first = first_visible_step(src.steps, src.cols)
    assert first is not None and first > 20  # the preset's plateau: nothing moves over the first decades
    rows = src.schedule_rows(100, "log")
    shown = src.steps[rows]
    assert np.all(np.diff(shown) >= 0) and shown[-1] == src.last_step
    # a plain log spacing from step 1 spends a third of the frames before step 20; this one spends no more than
    # the few frames frame_schedule leads in with
    assert (shown < first).sum() <= 0.1 * len(shown)
