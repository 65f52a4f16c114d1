"""Playing a talk in the window (``ibviewer gui --talk FILE``): scene after scene, in presentation mode.

:class:`TalkPlayer` opens a scene (its runs, step limit, speed, x axis, panels and caption), and goes to the next
or previous one: PageDown / PageUp, what presentation clickers send, and in presentation mode Right / Left as
well (outside it Right keeps stepping).  "Next" while a scene has not reached its last step first takes it there.
Space plays and pauses as always.  N shows the speaker's notes in a window of their own (for a second screen).
The talk itself is read and checked by :mod:`ibviewer.core.talk`; :func:`check_panels` adds what only the app
knows, the panels each scene's experiment has.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from ibviewer.core.talk import Scene, Talk, TalkError


def scene_panels(scene: Scene) -> list[str]:
    """The panels of a scene's experiment, in its layout's order."""
    from ibviewer.gui.docks import layout_for

    cols, tabs = layout_for(scene.cfg, [c for _, c in scene.runs])
    return [n for col in cols for n in col] + [t for t, _ in tabs]


def check_panels(talk: Talk) -> None:
    """Every panel a scene names is one of its experiment's (TalkError: the scene, the key, the choices)."""
    for scene in talk.scenes:
        if scene.session is not None:
            continue  # a session's runs are known once it is opened
        names = scene_panels(scene)
        for k, a in enumerate(scene.annotations):
            if a.panel not in names:
                raise TalkError(f"scene {scene.index + 1}, annotation {k + 1}: {a.panel!r} is not a panel of this "
                                f"experiment; choose from: {', '.join(names)}")
        for p in scene.panels:
            if p not in names:
                raise TalkError(f"scene {scene.index + 1}, key 'panels': {p!r} is not a panel of this experiment; "
                                f"choose from: {', '.join(names)}")


class NotesWindow(QWidget):
    """The speaker's notes: which scene, its notes, and the next one's title."""

    def __init__(self, parent: QWidget):
        super().__init__(parent, Qt.WindowType.Tool)
        self.setObjectName("talk_notes")
        self.setWindowTitle("Speaker notes")
        lay = QVBoxLayout(self)
        self.where = QLabel()
        self.where.setObjectName("talk_notes_where")
        self.text = QLabel()
        self.text.setObjectName("talk_notes_text")
        self.text.setWordWrap(True)
        self.next = QLabel()
        self.next.setObjectName("talk_notes_next")
        self.next.setStyleSheet("color: #666;")
        for w in (self.where, self.text, self.next):
            w.setTextFormat(Qt.TextFormat.PlainText)
            lay.addWidget(w)
        lay.addStretch(1)
        self.resize(520, 320)

    def show_scene(self, talk: Talk, i: int) -> None:
        s = talk.scenes[i]
        self.where.setText(f"{talk.title} — scene {i + 1} of {len(talk.scenes)}: {s.title}")
        self.text.setText(s.notes or "(no notes)")
        nxt = talk.scenes[i + 1].title if i + 1 < len(talk.scenes) else "(the last scene)"
        self.next.setText(f"next: {nxt}")


class TalkPlayer(QObject):
    """Plays ``talk`` in ``window`` (a MainWindow).  ``scene_changed(index)`` when a scene opens."""

    scene_changed = Signal(int)

    def __init__(self, window: QMainWindow, talk: Talk, autoplay: bool = False):
        super().__init__(window)
        self.window = window
        self.talk = talk
        #: play each scene as soon as it is built (``ibviewer gui --talk … --play``)
        self.autoplay = autoplay
        self.index = -1
        self._first_pending = 0  # steps to take silently once the scene's runs are built
        self.notes = NotesWindow(window)
        self._keys = []
        for key, slot, presenting_only in (("PgDown", self.next, False), ("PgUp", self.previous, False),
                                           ("Right", self.next, True), ("Left", self.previous, True),
                                           ("N", self.toggle_notes, False)):
            sc = QShortcut(QKeySequence(key), window)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)
            self._keys.append((sc, presenting_only))
        window.presentation.changed.connect(self._on_presenting)
        window.controller.ready.connect(self._on_ready)
        self._on_presenting(window.presentation.active)

    # ------------------------------------------------------------------ navigation
    @property
    def scene(self) -> Scene | None:
        return self.talk.scenes[self.index] if 0 <= self.index < len(self.talk.scenes) else None

    def open_scene(self, i: int) -> bool:
        """Show scene ``i`` (0-based) from its first step, paused; False when there is no such scene."""
        if not 0 <= i < len(self.talk.scenes):
            return False
        w = self.window
        s = self.talk.scenes[i]
        self.index = i
        self._first_pending = s.first
        if s.session is not None:
            w.sessions.open(s.session)
        else:
            runs = []
            for name, cfg in s.runs:
                c = cfg.copy()
                c.run.steps = s.last
                runs.append((name, c))
            w.apply_runs(runs, "", s.preset)
        w.annotations.replace(s.annotations)
        if s.speed is not None:
            w.controls.set_speed(s.speed)
            w.set_speed(s.speed)
        if s.x_axis is not None:
            w.set_x_mode(s.x_axis)
        self._set_theory(s.theory)
        p = w.presentation
        p.caption_override = (s.caption or s.title, "") if s.caption else None
        p.set_caption()
        p.show_panels(s.panels or None)
        self.notes.show_scene(self.talk, i)
        self.scene_changed.emit(i)
        return True

    def next(self) -> bool:
        """The scene's last step if it is not there yet (a scene still playing ends first), else the next scene."""
        s = self.scene
        snap = self.window.last_snap
        if s is not None and snap is not None and snap["step"] < s.last and snap["status"] not in (
                "diverged", "converged"):
            self.window.controller.step(s.last - int(snap["step"]))
            return True
        return self.open_scene(self.index + 1)

    def previous(self) -> bool:
        return self.open_scene(max(self.index - 1, 0))

    def toggle_notes(self) -> None:
        self.notes.setVisible(not self.notes.isVisible())

    # ------------------------------------------------------------------
    def _set_theory(self, on: bool) -> None:
        """Every panel's theory overlay on or off, as the scene says (panels built for its runs included)."""
        for panel in self.window.panels.values():
            if getattr(panel, "theory_box", None) is not None:
                panel.set_theory(on)

    def _on_ready(self, _info) -> None:
        """The scene's runs are built: take them silently to its first step, their panels' overlays as the
        scene says."""
        s = self.scene
        if s is not None:
            self._set_theory(s.theory)
        if self.autoplay:
            self._first_pending = 0
            self.window.controller.play()
        elif self._first_pending > 0:
            n, self._first_pending = self._first_pending, 0
            self.window.controller.step(n)
        s = self.scene
        if s is not None and s.panels:
            self.window.presentation.show_panels(s.panels)

    def stop(self) -> None:
        """The window without the talk: its keys gone, Right stepping again, the caption and panels its own."""
        w = self.window
        w.presentation.changed.disconnect(self._on_presenting)
        w.controller.ready.disconnect(self._on_ready)
        for sc, _ in self._keys:
            sc.setEnabled(False)
            sc.setParent(None)
            sc.deleteLater()
        self._keys = []
        self._on_presenting(False)
        self.notes.hide()
        w.presentation.caption_override = None
        w.presentation.show_panels(None)
        self.index = -1

    def _on_presenting(self, on: bool) -> None:
        """Right / Left go from scene to scene in presentation mode; outside it they step (the Run actions)."""
        for sc, presenting_only in self._keys:
            sc.setEnabled(on or not presenting_only)
        for key, default in (("step1", "Right"),):
            self.window.actions[key].setShortcut(QKeySequence("" if on else default))
