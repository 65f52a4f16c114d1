"""The divergence banner: when the shown run diverges, a red bar over the plots says what happened and what to
do -- lower η and continue from the last finite state (C), or reset (R) -- with a button for each.

It shows whatever the window's last snapshot says about the shown run, so it appears with the divergence, goes
when the run continues or restarts, and stays in presentation mode (the audience should see it too).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QSizePolicy, QToolBar, QToolButton

from ibviewer.gui.actions import native


class DivergenceBanner(QToolBar):
    """A bar of ``window`` (its ``actions`` "continue" and "reset") shown while the shown run is diverged."""

    #: presentation mode leaves it where it is
    keep_when_presenting = True

    def __init__(self, window: QMainWindow):
        super().__init__("Divergence")
        self.setObjectName("banner_divergence")
        self.setMovable(False)
        self.setFloatable(False)
        self.toggleViewAction().setVisible(False)
        self.setStyleSheet("QToolBar#banner_divergence { background: #b00020; border: 0; padding: 4px; }"
                           "QToolBar#banner_divergence QLabel { color: white; font-weight: bold; }"
                           "QToolBar#banner_divergence QToolButton { color: white; font-weight: bold;"
                           " border: 1px solid white; border-radius: 3px; padding: 3px 10px; margin: 0 4px; }")
        self.label = QLabel()
        self.label.setObjectName("banner_text")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(self.label)
        self.buttons = {}
        for key in ("continue", "reset"):
            b = QToolButton()
            b.setDefaultAction(window.actions[key])
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setObjectName("banner_" + key)
            self.addWidget(b)
            self.buttons[key] = b
        self.window = window
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self)
        window.insertToolBarBreak(self)  # a row of its own, the window's width
        self.hide()

    def show_for(self, snap: dict[str, Any] | None, lr: float) -> None:
        """Shown with what to do while ``snap`` (the shown run's last snapshot) says it diverged; else hidden."""
        if snap is None or snap.get("status") != "diverged":
            if self.isVisible():
                self.hide()
            return
        text = banner_text(str(snap.get("message", "")), int(snap.get("resume_step", -1)), lr)
        if text != self.label.text():
            self.label.setText(text)
        self.buttons["continue"].setVisible(int(snap.get("resume_step", -1)) >= 0)
        if not self.window.toolBarBreak(self):  # a restored window state may put it beside the toolbar
            self.window.insertToolBarBreak(self)
        if not self.isVisible():
            self.show()


def banner_text(message: str, resume_step: int, lr: float) -> str:
    """"The run diverged at step 312: …. Lower η (now 5) and press C to go on from step 300, or R to reset.\""""
    what = message[0].upper() + message[1:] if message else "The run diverged"
    what = what.split("; lower optimizer.lr")[0]  # the advice follows, with the keys to press
    if resume_step >= 0:
        todo = (f"Lower η (now {lr:g}) and press {native('C')} to go on from step {resume_step:,}, "
                f"or {native('R')} to reset.")
    else:
        todo = f"Press {native('R')} to reset."
    return f"⚠ {what}. {todo}"
