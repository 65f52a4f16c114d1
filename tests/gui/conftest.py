"""GUI tests: offscreen Qt, one shared window (the worker's start costs a second or two) and helpers."""

import os

# before anything imports Qt
os.environ["QT_QPA_PLATFORM"] = "offscreen"
# hermetic app settings (recent files, layouts, geometry): a fresh folder for this test session, inherited by
# the app processes the tests start
if "IBVIEWER_CONFIG_DIR" not in os.environ:
    import tempfile

    os.environ["IBVIEWER_CONFIG_DIR"] = tempfile.mkdtemp(prefix="ibviewer-test-settings-")

import time

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from ibviewer.core.config import DEFAULT_PRESET, build_config

#: generous: a 2-core CI host may be shared with other work
TIMEOUT_MS = 20000


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch, tmp_path_factory):
    """Each test's windows start from no saved settings: a window closed by an earlier test in the same process
    saved its layout (the monkey closes docks at random), and a later window restored it (the Controls dock
    hidden, the plots narrower), so a test's outcome hung on which tests ran before it."""
    monkeypatch.setenv("IBVIEWER_CONFIG_DIR", str(tmp_path_factory.mktemp("settings")))


@pytest.fixture(scope="session", autouse=True)
def _collect_cycles_between_events(qapp):
    """The app's garbage-collection policy (ibviewer/gui/gc_policy.py) in every GUI test from the start, not only
    once a window exists: the automatic collector, run at an arbitrary allocation, destroyed a panel a test had
    left behind in the middle of a pyqtgraph layout call of the next test (a segfault in LabelItem.resizeEvent)."""
    from ibviewer.gui.gc_policy import collect_cycles_between_events

    collect_cycles_between_events()


@pytest.fixture(scope="module")
def shared_window(qapp):
    """One main window per test module (starting a worker costs a second or two); tests get it through ``window``,
    which brings it back to a verified start first."""
    from ibviewer.gui.window import MainWindow

    win = MainWindow(build_config(preset=DEFAULT_PRESET), preset=DEFAULT_PRESET, speed=0)
    win.show()
    wait_for(qapp, lambda: win.worker_ready and win.last_snap is not None, "the worker did not start")
    yield win
    win.close()
    qapp.processEvents()


@pytest.fixture
def window(qtbot, shared_window):
    """The module's window at a verified start, whatever the tests before did with it: the default preset's one
    run at step 0, paused, as fast as possible, the timeline live, log-step x axis, light theme, text at 1x."""
    win = shared_window
    back_to_start(qtbot, win)
    return win


def back_to_start(qtbot, win) -> None:
    """Bring ``win`` back to the start ``window`` promises, and check that it is there."""
    default = build_config(preset=DEFAULT_PRESET).to_dict()
    win.pause()
    win.presentation.leave()
    if win.recording is not None and win.recording.timeline is not None:
        win.recording.timeline.go_live()
    if win.preset != DEFAULT_PRESET or len(win.runs) != 1 or win.cfg.to_dict() != default:
        win.load_preset(DEFAULT_PRESET)
        qtbot.waitUntil(lambda: win.worker_ready and win.last_snap is not None, timeout=TIMEOUT_MS)
    win.set_speed(0)
    win.controls.set_speed(0)
    win.set_x_mode("log_step")
    win.appearance.set_theme("light")
    win.appearance.set_font_scale(1.0)
    fresh(qtbot, win)
    assert len(win.runs) == 1 and win.cfg.to_dict() == default and win.preset == DEFAULT_PRESET
    assert win.last_snap["step"] == 0 and not win.playing and win.speed == 0 and win.x_mode == "log_step"


def wait_for(qapp, cond, what: str = "condition", timeout_ms: int = TIMEOUT_MS) -> None:
    """Process events until ``cond()`` (usable in module fixtures, where qtbot is not available)."""
    end = time.monotonic() + timeout_ms / 1000
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out: {what}")
        qapp.processEvents()
        time.sleep(0.002)


def settle(qtbot, win, step: int | None = None) -> dict:
    """Wait until the worker reports an idle run (paused, no pending steps) at ``step`` if given."""

    def ok():
        s = win.last_snap
        return (s is not None and not s["playing"] and s["pending"] == 0
                and (step is None or s["step"] == step))

    qtbot.waitUntil(ok, timeout=TIMEOUT_MS)
    return win.last_snap


def fresh(qtbot, win) -> dict:
    """Back to step 0 of the default preset (reset, same seed), paused."""
    win.reset_run()
    return settle(qtbot, win, 0)


def legend_text(panel) -> str:
    """A panel's legend as a reader sees it: no tags, spaces for &nbsp;, a plain hyphen for the non-breaking one,
    and without the zero-width word joiners that keep a line from breaking inside an entry."""
    import re

    text = re.sub("<[^>]+>", "", panel.legend_label.text())
    return text.replace("&nbsp;", " ").replace("\u2011", "-").replace("\u2060", "")
