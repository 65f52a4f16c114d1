"""The window's status bar: the selected run's step, loss and rate, its end (diverged, converged, finished),
the worker's state with a restart button when it died, and one-line messages.

A part the window composes (``window.status``, also ``window.statusBar()``): every message shown is kept in
``messages`` too, so a test or the user's report can read what was said after it left the bar.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QPushButton, QStatusBar, QVBoxLayout, QWidget

from ibviewer.gui.session_controller import STATUS_TEXT

ERROR_MS = 15000
INFO_MS = 6000


def fmt_num(v: float | None) -> str:
    """A number in the status bar: 4 significant digits, scientific when very small or large; — for none."""
    if v is None or not math.isfinite(v):
        return "—" if v is None else str(v)
    return f"{v:.3e}" if (v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4)) else f"{v:.4g}"


class MessageLabel(QLabel):
    """A message shown whole: it wraps at the bar's width and asks for the height its lines need (a status bar's
    own message is one line, cut off mid-word at the window's edge)."""

    def __init__(self):
        super().__init__("")
        self.setObjectName("status_message")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

    def fit(self) -> None:
        need = self.heightForWidth(max(self.width(), 1)) if self.text() else 0
        if need > 0 and need != self.minimumHeight():
            self.setMinimumHeight(need)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()


class RunStatusBar(QStatusBar):
    """The status bar of a window; ``restart_button`` is shown when the worker died (the window connects it)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        #: every message shown, oldest first
        self.messages: list[str] = []
        self._last_status: str | None = None
        self.run_label = QLabel("")
        self.run_label.setObjectName("run_status")
        self.run_label.setTextFormat(Qt.TextFormat.PlainText)
        self.step_label = QLabel("step 0")
        self.loss_label = QLabel("loss —")
        self.rate_label = QLabel("")
        self.worker_label = QLabel("")
        self.worker_label.setObjectName("worker_status")
        for w in (self.step_label, self.loss_label, self.rate_label):
            w.setMinimumWidth(110)
        self.loss_label.setMinimumWidth(150)
        self.restart_button = QPushButton("Restart worker")
        self.restart_button.setObjectName("restart_worker")
        self.restart_button.hide()
        # the message above the run's end, both wrapping: neither hides nor cuts the other
        self.message_label = MessageLabel()
        self.message_label.hide()
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.clearMessage)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.message_label)
        column.addWidget(self.run_label)
        self.run_label.setWordWrap(True)
        self.addWidget(left, 1)
        for w in (self.step_label, self.loss_label, self.rate_label, self.worker_label, self.restart_button):
            self.addPermanentWidget(w)

    # ------------------------------------------------------------------ messages
    def show_error(self, text: str) -> None:
        """One message (whitespace folded), marked ⚠ in red, for 15 s."""
        text = " ".join(str(text).split())
        self.messages.append(text)
        self.showMessage("⚠ " + text, ERROR_MS)
        self.message_label.setStyleSheet("color: #b00020;")

    def show_info(self, text: str) -> None:
        self.messages.append(text)
        self.showMessage(text, INFO_MS)

    # the bar's own message is one line that is cut off at the window's edge: messages go to a wrapping label
    def showMessage(self, text: str, timeout: int = 0) -> None:
        self.message_label.setStyleSheet("")
        self.message_label.setText(str(text))
        self.message_label.setToolTip(str(text))
        self.message_label.setVisible(bool(text))
        if timeout > 0:
            self._message_timer.start(int(timeout))
        else:
            self._message_timer.stop()

    def currentMessage(self) -> str:
        return self.message_label.text()

    def clearMessage(self) -> None:
        self._message_timer.stop()
        self.message_label.setText("")
        self.message_label.setMinimumHeight(0)
        self.message_label.hide()

    def text(self) -> str:
        """Everything the bar shows, " | " between the parts."""
        return " | ".join(t for t in (self.currentMessage(), self.run_label.text(), self.step_label.text(),
                                      self.loss_label.text(), self.rate_label.text(), self.worker_label.text()) if t)

    # ------------------------------------------------------------------ the run
    def show_progress(self, snap: dict[str, Any], playing: bool, n_compared: int = 0) -> None:
        """Step, loss and rate of ``snap`` (the rate "× n runs" when ``n_compared`` runs train together); the
        run's end once, when its status changes."""
        self.step_label.setText(f"step {snap['step']:,}")
        self.loss_label.setText(f"loss {fmt_num(snap['loss'])}")
        rate = snap.get("rate", 0.0)
        rate_text = f"{rate:,.0f} steps/s × {n_compared} runs" if n_compared and rate > 0 else f"{rate:,.0f} steps/s"
        self.rate_label.setText(rate_text if playing and rate > 0 else "paused" if not playing else "")
        status = snap["status"]
        if status != self._last_status:
            self._last_status = status
            if status == "diverged":
                self.set_run_label(f"⚠ {snap['message']}", "#b00020")
                self.messages.append(snap["message"])
            elif status in ("converged", "max_steps"):
                self.set_run_label(f"{STATUS_TEXT[status]}: {snap['message']}", "#1a5fb4")
            else:
                self.set_run_label("", None)

    def reset_run_status(self) -> None:
        """The run starts again: no end shown."""
        self._last_status = None
        self.set_run_label("", None)

    def set_run_label(self, text: str, color: str | None) -> None:
        self.run_label.setText(text)
        self.run_label.setStyleSheet(f"color: {color}; font-weight: bold;" if color else "")

    def set_worker_label(self, text: str, color: str) -> None:
        self.worker_label.setText(text)
        self.worker_label.setStyleSheet(f"color: {color};")
