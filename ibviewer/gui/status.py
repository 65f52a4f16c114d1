"""The window's status bar: the selected run's step, loss and rate, its end (diverged, converged, finished),
the worker's state with a restart button when it died, and one-line messages.

A part the window composes (``window.status``, also ``window.statusBar()``): every message shown is kept in
``messages`` too, so a test or the user's report can read what was said after it left the bar.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QStatusBar, QWidget

from ibviewer.gui.session_controller import STATUS_TEXT

ERROR_MS = 15000
INFO_MS = 6000


def fmt_num(v: float | None) -> str:
    """A number in the status bar: 4 significant digits, scientific when very small or large; — for none."""
    if v is None or not math.isfinite(v):
        return "—" if v is None else str(v)
    return f"{v:.3e}" if (v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4)) else f"{v:.4g}"


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
        self.addWidget(self.run_label, 1)
        for w in (self.step_label, self.loss_label, self.rate_label, self.worker_label, self.restart_button):
            self.addPermanentWidget(w)

    # ------------------------------------------------------------------ messages
    def show_error(self, text: str) -> None:
        """One line (whitespace folded), marked ⚠, for 15 s."""
        text = " ".join(str(text).split())
        self.messages.append(text)
        self.showMessage("⚠ " + text, ERROR_MS)

    def show_info(self, text: str) -> None:
        self.messages.append(text)
        self.showMessage(text, INFO_MS)

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
                self.set_run_label(f"⚠ {snap['message']}; then press R to reset", "#b00020")
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
