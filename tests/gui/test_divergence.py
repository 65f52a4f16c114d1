"""Divergence shown, not hidden: the blow-up is drawn, a banner says what happened and what to do, and the run
goes on from its last finite state after η is lowered (C)."""

import math

from tests.gui.conftest import TIMEOUT_MS, settle


def test_a_diverged_run_is_bannered_and_goes_on_from_its_last_finite_state(qtbot, window):
    lr = window.cfg.optimizer.lr
    window.step_n(100)
    settle(qtbot, window, 100)
    window.controller.edit("optimizer.lr", 0.2)
    window.step_n(50)
    qtbot.waitUntil(lambda: window.last_snap is not None and window.last_snap["status"] == "diverged",
                    timeout=TIMEOUT_MS)
    snap = window.last_snap
    at, resume = snap["step"], snap["resume_step"]
    assert 100 <= resume < at
    # the blow-up is drawn: the last recorded row is the step it diverged at, its loss beyond the limit
    m = window.mirror
    assert int(m["step"][-1]) == at and math.isfinite(m["loss"][-1]) and m["loss"][-1] > 1e6 * m["loss"][0]
    assert window.banner.isVisible()
    text = window.banner.label.text()
    assert f"diverged at step {at}" in text.lower() and f"step {resume:,}" in text and "η (now 0.2)" in text
    window.controller.edit("optimizer.lr", lr)
    assert window.continue_run()
    qtbot.waitUntil(lambda: window.last_snap is not None and window.last_snap["status"] != "diverged",
                    timeout=TIMEOUT_MS)
    assert window.last_snap["step"] == resume and int(window.mirror["step"][-1]) == resume
    assert not window.banner.isVisible()
    window.step_n(40)
    snap = settle(qtbot, window, resume + 40)
    assert snap["status"] != "diverged" and snap["loss"] < window.mirror["loss"][0]
    assert any(mk["label"] == f"continued, η = {lr:g}" and mk["step"] == resume
               for mk in window.controller.runs.selected.markers())


def test_continue_without_a_diverged_run_says_so_and_changes_nothing(qtbot, window):
    n = len(window.status.messages)
    assert not window.continue_run()
    assert "only a diverged run" in window.status.messages[n]
    assert window.last_snap["step"] == 0 and not window.banner.isVisible()
