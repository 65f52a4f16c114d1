"""The monkey test: 2,000 seeded random actions of a restless user on a real window (see ``tests/gui/monkey.py``
for the actions).  Nothing may escape: no Python exception in a slot, no Qt warning, no rejected input that
changed something; at the end the worker is alive and answers.  The slowest action is printed, not asserted.

CI always tries the same sequence (a fixed seed); ``IBVIEWER_MONKEY_SEED`` and ``IBVIEWER_MONKEY_ACTIONS`` try
others locally.
"""

import os
import random
import traceback
import warnings
from contextlib import contextmanager

from PySide6.QtCore import QtMsgType, qInstallMessageHandler

from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.gui.window import MainWindow

from .conftest import TIMEOUT_MS
from .monkey import Monkey

SEED = int(os.environ.get("IBVIEWER_MONKEY_SEED", "20261130"))
ACTIONS = int(os.environ.get("IBVIEWER_MONKEY_ACTIONS", "2000"))
#: Known, and being fixed in the Controls panel (ibviewer/gui/controls.py): a spin box repairs or drops invalid
#: text without a message ("-5" becomes 5, "1e400" becomes 1400, "abc" is dropped), and a number field that shows
#: its value to 3 significant digits commits that rounded value when focus leaves it after a refused entry (lr
#: 0.07827 became 0.0783 after "-1e9" was refused).  Until then the monkey lists these instead of failing; set
#: both True once the Controls panel reports invalid input and a refused entry restores the exact value.
INVALID_TEXT_IS_REPORTED = True
REFUSED_TEXT_CHANGES_NOTHING = True
WARNINGS = (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
#: what the offscreen platform says it cannot do for a window (raise it, pass on size hints): the test platform's
#: limits, not the app's warnings
PLATFORM_LIMITS = "This plugin does not support"


def _text(exceptions) -> str:
    return "".join(traceback.format_exception(*exceptions[0]))


@contextmanager
def qt_warnings():
    """Every Qt warning while inside, as a list of lines (pytest-qt's qtlog captures nothing under ``-s``)."""
    seen: list[str] = []

    def handler(kind, _context, message):
        if kind in WARNINGS and not message.startswith(PLATFORM_LIMITS):
            seen.append(message)

    previous = qInstallMessageHandler(handler)
    try:
        yield seen
    finally:
        qInstallMessageHandler(previous)


def test_two_thousand_random_actions(qtbot, tmp_path, capsys):
    win = MainWindow(build_config(preset=DEFAULT_PRESET), preset=DEFAULT_PRESET, speed=0)
    win.show()
    qtbot.waitUntil(lambda: win.worker_ready and win.last_snap is not None, timeout=TIMEOUT_MS)
    monkey = Monkey(qtbot, win, tmp_path, random.Random(SEED))
    done: list[str] = []
    try:
        with qtbot.capture_exceptions() as exceptions, qt_warnings() as warned, \
                warnings.catch_warnings(record=True) as py_warned:
            warnings.simplefilter("always")
            for i in range(ACTIONS):
                name = monkey.act()
                done.append(name)
                assert not exceptions, f"action {i} ({monkey.log[-1]}) raised: {_text(exceptions)}"
                assert not warned, f"action {i} ({monkey.log[-1]}) gave Qt warnings: {warned}"
                numeric = [f"{w.filename}:{w.lineno}: {w.message}" for w in py_warned
                           if issubclass(w.category, (RuntimeWarning, UserWarning))]
                assert not numeric, f"action {i} ({monkey.log[-1]}) gave warnings: {numeric}"
            # the worker is alive and answers: a step is taken and its snapshot arrives
            win.pause()
            qtbot.waitUntil(monkey.settled_ready(), timeout=TIMEOUT_MS)
            if win.controller.config_pending():
                win.controller.send_config()
            qtbot.waitUntil(lambda: win.worker_ready and win.last_snap is not None, timeout=TIMEOUT_MS)
            win.reset_run()
            qtbot.waitUntil(lambda: win.last_snap["step"] == 0 and win.last_snap["pending"] == 0,
                            timeout=TIMEOUT_MS)
            seq = win.last_snap["seq"]
            win.step_n(3)

            def answered() -> bool:
                # three steps taken, or fewer where the monkey's own limits stop the run (a loss tolerance above
                # the loss, a step limit of 1), said by a snapshot sent after the command
                s = win.last_snap
                stopped = s["status"] in ("converged", "max_steps", "diverged") and s["step"] < 3
                return s["seq"] > seq and s["pending"] == 0 and (s["step"] == 3 or stopped)

            try:
                qtbot.waitUntil(answered, timeout=TIMEOUT_MS)
            except Exception:
                s = win.last_snap
                raise AssertionError(f"3 steps not taken: step {s['step']}, pending {s['pending']}, status "
                                     f"{s['status']} ({s['message']}), runs {[r.name for r in win.runs]}, "
                                     f"kind {win.cfg.problem.kind}; last actions {monkey.log[-12:]}") from None
            assert win.client.process.is_alive() and not win.worker_dead
            assert not exceptions, f"raised at the end: {_text(exceptions)}"
            assert not warned, f"Qt warnings at the end: {warned}"
    finally:
        win.close()
    t = monkey.tally
    with capsys.disabled():
        print(f"\nmonkey: seed {SEED}, {len(done)} actions, {t.rejected} inputs rejected in one line; "
              f"slowest to idle: {t.slowest[1]} {t.slowest[0] * 1000:.0f} ms; slowest answered by the worker: "
              f"{t.slowest_answer[1]} {t.slowest_answer[0] * 1000:.0f} ms")
        print(f"monkey: actions {dict(sorted(t.counts.items()))}")
        costly = sorted(t.seconds.items(), key=lambda kv: -kv[1])[:8]
        print("monkey: seconds spent " + ", ".join(f"{k} {v:.1f}" for k, v in costly))
        if t.unreported:
            print(f"monkey: invalid text not reported ({len(t.unreported)}): {sorted(set(t.unreported))}")
        if t.changed_by_rejection:
            print(f"monkey: rejected inputs that changed something: {t.changed_by_rejection}")
    assert not (INVALID_TEXT_IS_REPORTED and t.unreported), f"invalid text taken silently: {t.unreported}"
    assert not (REFUSED_TEXT_CHANGES_NOTHING and t.changed_by_rejection), t.changed_by_rejection
