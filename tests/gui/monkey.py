"""A restless user for the monkey test (``tests/gui/test_monkey.py``): seeded random actions on a real window,
through its widgets (key clicks, wheel turns, mouse clicks) and its public methods, each checked as it ends.

Every action is a method ``do_<name>`` with a weight in :data:`WEIGHTS`; the expensive ones (a preset, a new
problem kind, a run added, a session opened) are chosen rarely, so 2,000 actions fit a CI minute.  After each
action the monkey waits until the event loop is idle again (a zero-time timer posted after the action has
fired) and, for an action that asks the worker for something it must answer (a step, a reset, new runs, a
session), until the answer arrived; the slowest of these times is the figure the test prints.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QLineEdit,
    QPushButton,
    QSpinBox,
)
from pytestqt.exceptions import TimeoutError

from ibviewer.core.config import preset_names

from .conftest import TIMEOUT_MS

#: how often each action is chosen (relative); expensive ones are rare
WEIGHTS = {
    "play": 6, "pause": 6, "shortcut": 6, "step": 8, "step_n": 4, "reset": 3, "new_seed": 1,
    "speed": 4, "wheel_unfocused": 14, "wheel_focused": 2, "type_text": 14, "combo_key": 3, "checkbox": 1,
    "preset": 0.5, "add_run": 1.2, "remove_run": 1, "select_run": 3, "toggle_run_visible": 2, "scrub": 8,
    "go_live": 3, "replay": 1, "export_image": 1, "export_history": 1, "export_animation_cancel": 0.5,
    "export_bad_folder": 1, "resize": 1, "theme": 1, "font_scale": 0.5, "x_axis": 3, "fit": 2, "save_session": 1,
    "open_session": 0.5, "open_missing_session": 1, "open_garbage_session": 1, "toggle_dock": 1, "collapse": 1,
}

#: text typed into fields: numbers in and out of every domain, garbage, empty, huge
TEXTS = ("0", "1", "2", "3", "7", "0.5", "0.01", "1e-3", "2e-2", "-5", "-0.1", "-1e9", "abc", "", " ", "1e400",
         "nan", "inf", "-inf", "99999999999999999999", "1,2", "12, 6, 3", "3, 1", "0x10", "½", "1e-300", "10^-2",
         "5e5", "1.5", "64", "8, 4", "--1", "1e", ".")

def _digits(text: str) -> int:
    """The number a spin box keeps of ``text`` (its digits; "8, 4" is 84)."""
    digits = "".join(c for c in text if c.isdigit())
    return int(digits[:8]) if digits else 0


#: text for the problem's sizes: a spin box keeps the digits of what is typed ("1e400" is 1400, "8, 4" is 84),
#: and a matrix sensing problem of d = 1,400 is a legal problem of gigabytes, d = 84 seconds of reference
#: solutions (the minimum nuclear norm): minutes of a small CI host for nothing the smaller sizes do not show
SIZE_TEXTS = tuple(t for t in TEXTS if _digits(t) <= 30)

#: keys the window's shortcuts answer
SHORTCUTS = ((Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier), (Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier),
             (Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier), (Qt.Key.Key_R, Qt.KeyboardModifier.NoModifier),
             (Qt.Key.Key_A, Qt.KeyboardModifier.NoModifier))

#: presets whose runs take seconds to build (references of a 100 x 100 completion, the digits data): CI time
SLOW_PRESETS = ("arora_completion_100", "mlp_digits", "completion_depth_low_rank")

#: runs a comparison may hold before the monkey prefers removing one
MAX_RUNS = 4

#: what "Add run" may change, with values the app should take and values it should refuse
ADD_RUN = (("optimizer.lr", ("0.05", "0.001", "-1", "abc")), ("model.depth", ("2", "4", "0", "deep")),
           ("optimizer.name", ("adam", "sgd", "nope")), ("run.seed", ("5", "17", "-3")),
           ("model.init_scale", ("0.1", "1e-3", "0")), ("problem.d", ("5",)))


def parse_int(text: str) -> int | None:
    """``text`` as a whole number the way a person would read it (None when it is not one)."""
    try:
        return int(text.strip())
    except ValueError:
        return None


def parse_number(text: str) -> float | None:
    """``text`` as a finite number, in the notations the app documents too (1e-3, 10^-3, 2×10^-3)."""
    t = text.strip()
    for power in ("×10^", "*10^"):
        if power in t:
            t = t.replace(power, "e")
    if t.startswith("10^"):
        t = "1e" + t[3:]
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def is_worker_refusal(line: str) -> bool:
    """The worker's refusal of an edit the window had taken (a size its memory cannot hold): the runs go back to
    the last accepted settings, restarted ("the previous settings were restored") or kept where they stood
    ("nothing was changed"), whatever the monkey did since."""
    return "previous settings were restored" in line or line.endswith("; nothing was changed")


@dataclass
class Tally:
    """What the monkey did and saw."""

    counts: dict[str, int] = field(default_factory=dict)
    #: seconds spent in each action, answers included
    seconds: dict[str, float] = field(default_factory=dict)
    slowest: tuple[float, str] = (0.0, "")
    slowest_answer: tuple[float, str] = (0.0, "")
    rejected: int = 0
    #: an invalid text that was not reported (the field repaired or dropped it): (field, text, what happened)
    unreported: list[tuple[str, str, str]] = field(default_factory=list)
    #: a rejected input after which something had changed: (action, what changed)
    changed_by_rejection: list[tuple[str, str]] = field(default_factory=list)


class Monkey:
    """Random actions on ``win`` (a shown MainWindow), drawn from ``rng``; files go to ``folder``."""

    def __init__(self, qtbot, win, folder: Path, rng: random.Random):
        self.qtbot = qtbot
        self.win = win
        self.folder = folder
        self.rng = rng
        self.tally = Tally()
        self.errors: list[str] = []  # every error line the status bar showed, in order
        self.edits: list[tuple[str, object]] = []  # every edit the controls reported
        self.saved: list[Path] = []
        self.log: list[str] = []  # the actions so far, with what they typed or chose
        self.presets = [p for p in preset_names() if p not in SLOW_PRESETS]
        self.names = list(WEIGHTS)
        self.weights = [WEIGHTS[n] for n in self.names]
        original = win.status.show_error

        def recording_show_error(text: str) -> None:
            self.errors.append(text)
            original(text)

        win.status.show_error = recording_show_error
        win.controls.edited.connect(lambda k, v: self.edits.append((k, v)))
        self.deaths: list[str] = []
        win.controller.died.connect(self.deaths.append)

    # ------------------------------------------------------------------------------------------------ driving
    def act(self) -> str:
        """One random action, then until the app is idle (and the worker answered, where it must)."""
        name = self.rng.choices(self.names, self.weights)[0]
        self.log.append(name)
        t0 = time.perf_counter()
        answer = getattr(self, "do_" + name)()
        self.idle()
        t_idle = time.perf_counter() - t0
        if t_idle > self.tally.slowest[0]:
            self.tally.slowest = (t_idle, name)
        if answer is not None:
            try:
                self.qtbot.waitUntil(answer, timeout=TIMEOUT_MS)
            except TimeoutError:
                raise AssertionError(f"{name}: no answer from the worker; {self.describe()}") from None
            t_answer = time.perf_counter() - t0
            if t_answer > self.tally.slowest_answer[0]:
                self.tally.slowest_answer = (t_answer, name)
        self.tally.counts[name] = self.tally.counts.get(name, 0) + 1
        self.tally.seconds[name] = self.tally.seconds.get(name, 0.0) + time.perf_counter() - t0
        self.check_consistent()
        return name

    def describe(self) -> str:
        """The app's state in one line, for a failure's message."""
        w, s = self.win, self.win.last_snap
        snap = {k: s.get(k) for k in ("gen", "step", "pending", "playing", "status")} if s else None
        return (f"preset {w.preset}, gen {w.gen}, ready {w.worker_ready}, dead {w.worker_dead}, playing {w.playing}, "
                f"edit pending {w.controller.config_pending()}, {len(w.runs)} runs, last snapshot {snap}, "
                f"deaths {self.deaths}, last errors {self.errors[-2:]}; the last actions: {self.log[-25:]}")

    def idle(self) -> None:
        """Until a zero-time timer posted now has fired: the events queued before it were handled."""
        done = []
        QTimer.singleShot(0, lambda: done.append(True))
        while not done:
            QApplication.processEvents()

    def state(self) -> tuple:
        """What a rejected input must leave as it was: the runs' configs and names, the generation (unless an
        earlier edit was waiting for its debounce: it may be sent meanwhile, as a new generation)."""
        w = self.win
        gen = None if w.controller.config_pending() else w.gen
        return (gen, w.selected_id, tuple((r.id, r.name, json.dumps(r.cfg.to_dict(), sort_keys=True)) for r in w.runs))

    def new_errors(self, n_err: int) -> list[str]:
        """Error lines since ``n_err`` that answer the action itself: not the worker's late refusal of an earlier
        edit, nor a compared run that diverged meanwhile."""
        return [e for e in self.errors[n_err:] if not is_worker_refusal(e) and not e.startswith("run '")]

    def unchanged_since(self, before: tuple, n_err: int) -> bool:
        """The state is ``before`` (the generation only compared when known on both sides), or the worker refused
        an earlier edit meanwhile (its rollback restores the accepted runs, not ``before``)."""
        if any(is_worker_refusal(e) for e in self.errors[n_err:]):
            return True
        after = self.state()
        if before[0] is None or after[0] is None:
            return before[1:] == after[1:]
        return after == before

    def what_changed(self, before: tuple) -> str:
        """The difference between ``before`` and now, in a few words (the config keys that changed)."""
        after = self.state()
        if before[:2] != after[:2]:
            return f"generation/selection {before[:2]} -> {after[:2]}"
        old = {rid: (name, cfg) for rid, name, cfg in before[2]}
        new = {rid: (name, cfg) for rid, name, cfg in after[2]}
        if old.keys() != new.keys():
            return f"runs {sorted(old)} -> {sorted(new)}"
        changes = []
        for rid, (n0, c0) in old.items():
            n1, c1 = new[rid]
            if n0 != n1:
                changes.append(f"run {rid} renamed {n0!r} -> {n1!r}")
            a, b = json.loads(c0), json.loads(c1)
            changes += [f"run {rid} {t}.{k}: {a[t][k]!r} -> {b[t][k]!r}" for t in a for k in a[t] if a[t][k] != b[t][k]]
        return "; ".join(changes)

    def check_consistent(self) -> None:
        """The run list shows the runs; a whole-number control without focus shows the selected run's value."""
        w = self.win
        assert w.runs_list.list.count() == len(w.runs), "the run list does not show the runs"
        cfg = w.cfg.to_dict()
        for key, widget in w.controls.widgets.items():
            if isinstance(widget, QSpinBox) and key.count(".") == 1 and not widget.hasFocus():
                table, name = key.split(".")
                assert widget.value() == cfg[table][name], \
                    f"the control {key} shows {widget.value()}, the selected run has {cfg[table][name]}"

    def settled_ready(self):
        """A condition: the worker built the current runs and reported them (no edit waiting to be sent)."""
        w = self.win
        return lambda: (w.worker_ready and w.last_snap is not None) or w.controller.config_pending()

    def can_step(self) -> bool:
        w = self.win
        return (w.worker_ready and not w.controller.config_pending() and w.last_snap is not None
                and w.controller.play_status() is None and not w.playing)

    # ------------------------------------------------------------------------------------------------ run actions
    def do_play(self):
        self.win.actions["play"].trigger() if not self.win.playing else None

    def do_pause(self):
        self.win.pause()

    def do_shortcut(self):
        key, mod = self.rng.choice(SHORTCUTS)
        self.win.activateWindow()
        self.win.setFocus()
        QTest.keyClick(self.win, key, mod)

    def do_step(self):
        if not self.can_step():
            self.win.step_once()
            return None
        before = self.win.snap_count
        self.win.step_once()
        return lambda: self.win.snap_count > before or not self.win.worker_ready

    def do_step_n(self):
        n = self.rng.choice((2, 10, 50))
        self.win.controls.widgets["step_n"].setValue(n)
        can, before = self.can_step(), self.win.snap_count
        self.win.actions["stepn"].trigger()
        return (lambda: self.win.snap_count > before or not self.win.worker_ready) if can else None

    def do_reset(self):
        self.win.actions["reset"].trigger()
        w = self.win
        if not (w.worker_ready and not w.controller.config_pending()):
            return None
        return lambda: (w.last_snap is not None and w.last_snap["step"] == 0) or not w.worker_ready

    def do_new_seed(self):
        QTest.mouseClick(self.win.controls.findChild(QPushButton, "new_seed"), Qt.MouseButton.LeftButton)

    def do_speed(self):
        slider = self.win.controls.widgets["speed"]
        slider.setFocus()
        QTest.keyClick(slider, self.rng.choice((Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End)))

    # ------------------------------------------------------------------------------------------------ controls
    def visible_fields(self, kinds) -> list:
        c = self.win.controls
        return [w for k, w in c.widgets.items() if isinstance(w, kinds) and w.isVisibleTo(c) and w.isEnabled()
                and k not in ("preset",)]

    def wheel(self, widget, up: bool) -> None:
        centre = QPointF(widget.width() / 2, widget.height() / 2)
        ev = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                         QPoint(0, 120 if up else -120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                         Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(widget, ev)

    def do_wheel_unfocused(self):
        """A wheel turn over a field without focus must change nothing (it scrolls the panel)."""
        fields = self.visible_fields((QAbstractSpinBox, QComboBox, QAbstractSlider))
        w = self.rng.choice(fields)
        self.win.controls.setFocus()
        if w.hasFocus():
            return
        before, n_edits = self.state(), len(self.edits)
        value = w.value() if hasattr(w, "value") else w.currentIndex()
        self.wheel(w, self.rng.random() < 0.5)
        after = w.value() if hasattr(w, "value") else w.currentIndex()
        assert after == value and len(self.edits) == n_edits and self.state() == before, \
            f"a wheel turn over the unfocused field {w.objectName()!r} changed it"

    def do_wheel_focused(self):
        fields = self.visible_fields((QSpinBox, QComboBox))
        w = self.rng.choice(fields)
        if w.objectName() in ("problem.kind",):
            return  # a new problem kind is do_combo_key's (rare) job
        w.setFocus()
        self.wheel(w, self.rng.random() < 0.5)
        self.log[-1] += f" {w.objectName()}"

    def do_type_text(self):
        """Text typed into a field and Enter; a refused value is reported in one line and changes nothing."""
        c = self.win.controls
        fields = [(k, w) for k, w in c.widgets.items() if w.isVisibleTo(c) and k.count(".") == 1
                  and (isinstance(w, (QLineEdit, QSpinBox)) or hasattr(w, "field"))]
        key, w = self.rng.choice(fields)
        text = self.rng.choice(SIZE_TEXTS if key.startswith("problem.") or key == "optimizer.batch_size" else TEXTS)
        self.log[-1] += f" {text!r} into {key}"
        edit = w.field if hasattr(w, "field") else w
        before, n_err, n_edits = self.state(), len(self.errors), len(self.edits)
        edit.setFocus()
        line = edit.lineEdit() if isinstance(edit, QSpinBox) else edit
        line.selectAll()
        QTest.keyClick(edit, Qt.Key.Key_Backspace)  # the old text goes, as when a person types over it
        QTest.keyClicks(edit, text)
        QTest.keyClick(edit, Qt.Key.Key_Return)
        self.win.controls.setFocus()  # focus leaves the field, as a click elsewhere would
        self.idle()
        reported = bool(self.new_errors(n_err))
        if reported:
            self.tally.rejected += 1
            if not self.unchanged_since(before, n_err):
                self.tally.changed_by_rejection.append((f"type {text!r} into {key}", self.what_changed(before)))
        else:
            self.check_unreported(key, w, text, n_edits)

    def check_unreported(self, key: str, w, text: str, n_edits: int) -> None:
        """An input taken without a message must be a value the field's own type takes; anything else was
        repaired or dropped silently."""
        if isinstance(w, QSpinBox):
            v = parse_int(text)
            ok = v is not None and w.minimum() <= v <= w.maximum()
        elif key in ("model.width",):
            ok = True  # free text for the config to judge (an error would have been reported)
        elif key == "problem.singular_values":
            parts = [p for p in text.replace("[", "").replace("]", "").split(",") if p.strip()]
            ok = all(parse_number(p) is not None for p in parts)
        else:
            ok = parse_number(text) is not None
        if not ok:
            took = len(self.edits) > n_edits
            self.tally.unreported.append((key, text, "taken as " + repr(self.edits[-1][1]) if took else "dropped"))

    def do_combo_key(self):
        """A combo box stepped with the keyboard (a new problem kind, init, optimizer, ...)."""
        fields = self.visible_fields((QComboBox,))
        w = self.rng.choice(fields)
        w.setFocus()
        QTest.keyClick(w, self.rng.choice((Qt.Key.Key_Down, Qt.Key.Key_Up)))
        self.log[-1] += f" {w.objectName()}={w.currentData()}"
        self.win.controls.setFocus()

    def do_checkbox(self):
        boxes = [w for w in self.visible_fields((QCheckBox,))]
        if boxes:
            w = self.rng.choice(boxes)
            QTest.mouseClick(w, Qt.MouseButton.LeftButton, pos=QPoint(6, w.height() // 2))

    def do_collapse(self):
        from superqt import QCollapsible

        groups = self.win.controls.findChildren(QCollapsible)
        g = self.rng.choice(groups)
        g.toggleButton().click()

    def do_preset(self):
        combo = self.win.controls.widgets["preset"]
        i = combo.findData(self.rng.choice(self.presets))
        self.log[-1] += " " + combo.itemData(i)
        combo.setCurrentIndex(i)
        combo.activated.emit(i)  # what choosing it in the popup emits
        return self.settled_ready()

    # ------------------------------------------------------------------------------------------------ runs
    def do_add_run(self):
        if len(self.win.runs) >= MAX_RUNS:
            return self.do_remove_run()
        key, values = self.rng.choice(ADD_RUN)
        value = self.rng.choice(values)
        self.log[-1] += f" {key}={value}"
        before, n_err = self.state(), len(self.errors)
        run = self.win.add_run(key, value)
        if run is None:
            assert self.new_errors(n_err), f"add run {key}={value!r} refused without a message"
            self.tally.rejected += 1
            assert self.unchanged_since(before, n_err), f"the refused run {key}={value!r} changed {self.what_changed(before)}"
            return None
        return self.settled_ready()

    def do_remove_run(self):
        runs = self.win.runs_list
        if runs.list.count() == 0:
            return
        runs.list.setCurrentRow(self.rng.randrange(runs.list.count()))
        before, n_err = self.state(), len(self.errors)
        if runs.btn_remove.isEnabled():
            runs.btn_remove.click()
        else:  # the last run: the controller refuses in one line
            assert not self.win.controller.remove_run(self.win.selected_id)
            assert self.new_errors(n_err) and self.unchanged_since(before, n_err)
            self.tally.rejected += 1

    def do_select_run(self):
        lst = self.win.runs_list.list
        if lst.count() > 1:
            item = lst.item(self.rng.randrange(lst.count()))
            rect = lst.visualItemRect(item)
            QTest.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    def do_toggle_run_visible(self):
        lst = self.win.runs_list.list
        if lst.count():
            item = lst.item(self.rng.randrange(lst.count()))
            on = item.checkState() == Qt.CheckState.Checked
            item.setCheckState(Qt.CheckState.Unchecked if on else Qt.CheckState.Checked)

    # ------------------------------------------------------------------------------------------------ timeline
    def do_scrub(self):
        tl = self.win.recording.timeline
        tl.slider.setFocus()
        QTest.keyClick(tl.slider, self.rng.choice((Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_PageUp,
                                                   Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End)))

    def do_go_live(self):
        tl = self.win.recording.timeline
        if not tl.btn_live.isChecked():
            tl.btn_live.click()

    def do_replay(self):
        self.win.recording.timeline.btn_replay.click()

    # ------------------------------------------------------------------------------------------------ exports
    def do_export_image(self):
        if self.win.mirror.n == 0:
            return
        panel = self.rng.choice([""] + list(self.win.panels))
        self.win.recording.export_image(str(self.folder / "still.png"), panel=panel, size=(160, 120))

    def do_export_history(self):
        if self.win.mirror.n:
            self.win.recording.export_history(self.folder / self.rng.choice(("h.csv", "h.npz")))

    def do_export_animation_cancel(self):
        if self.win.mirror.n == 0:
            return
        from ibviewer.gui.export_ui import AnimationSettings

        out = self.folder / "anim"
        s = AnimationSettings(path=str(out), kind="frames", size=(96, 64), fps=5, seconds=2)
        n_err = len(self.errors)
        assert self.win.recording.export_animation(s, cancel_after=self.rng.randrange(0, 4)) is None
        assert not self.new_errors(n_err), f"a cancelled export said {self.new_errors(n_err)}"
        assert not out.exists(), f"a cancelled export left {sorted(p.name for p in out.iterdir())}"

    def do_export_bad_folder(self):
        n_err = len(self.errors)
        path = self.folder / "no_such_folder" / "x.png"
        assert self.win.recording.export_image(str(path), size=(64, 48)) is None
        assert self.new_errors(n_err) and not path.parent.exists()
        self.tally.rejected += 1

    # ------------------------------------------------------------------------------------------------ the window
    def do_resize(self):
        self.win.resize(self.rng.randrange(500, 1900), self.rng.randrange(380, 1200))

    def do_theme(self):
        self.win.actions["dark_theme"].trigger()

    def do_font_scale(self):
        self.win.actions[self.rng.choice(("font_larger", "font_smaller"))].trigger()

    def do_x_axis(self):
        self.win.actions[self.rng.choice(("x_step", "x_log_step", "x_time"))].trigger()

    def do_fit(self):
        self.win.actions["fit"].trigger()

    def do_toggle_dock(self):
        docks = [a for a in self.win.view_menu.actions() if a.isCheckable() and a.objectName() == ""]
        if docks:
            self.rng.choice(docks).trigger()

    # ------------------------------------------------------------------------------------------------ sessions
    def do_save_session(self):
        w = self.win
        if not w.worker_ready:
            return None
        path = self.folder / f"s{len(self.saved) % 3}.ibvs"
        got = []
        w.session_saved.connect(got.append)
        n_err = len(self.errors)
        assert w.save_session(path)
        self.saved.append(path)

        def answered():
            return bool(got) or bool(self.new_errors(n_err))

        return answered

    def do_open_session(self):
        w = self.win
        files = [p for p in set(self.saved) if p.is_file()]
        if not files or not w.worker_ready:
            return None
        got, n_err = [], len(self.errors)
        w.session_opened.connect(got.append)
        assert w.open_session(self.rng.choice(sorted(files)))
        return lambda: (bool(got) and w.worker_ready and w.last_snap is not None) or bool(self.new_errors(n_err))

    def do_open_missing_session(self):
        before, n_err = self.state(), len(self.errors)
        assert not self.win.open_session(self.folder / "missing.ibvs")
        assert len(self.new_errors(n_err)) == 1 and self.unchanged_since(before, n_err)
        self.tally.rejected += 1

    def do_open_garbage_session(self):
        w = self.win
        if not w.worker_ready:
            return None
        path = self.folder / "garbage.ibvs"
        path.write_bytes(bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(0, 200))))
        before, n_err = self.state(), len(self.errors)
        assert w.open_session(path)
        self.tally.rejected += 1

        def answered():
            if self.new_errors(n_err):
                assert self.unchanged_since(before, n_err), "a garbage session file changed the runs"
                return True
            return False

        return answered
