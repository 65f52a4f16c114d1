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

#: generous: this 2-core machine is shared with other work
TIMEOUT_MS = 20000


@pytest.fixture(scope="module")
def window(qapp):
    """One main window on the default preset, as fast as possible, worker ready; closed after the module."""
    from ibviewer.gui.window import MainWindow

    win = MainWindow(build_config(preset=DEFAULT_PRESET), preset=DEFAULT_PRESET, speed=0)
    win.show()
    wait_for(qapp, lambda: win.worker_ready and win.last_snap is not None, "the worker did not start")
    yield win
    win.close()
    qapp.processEvents()


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
