"""The x-axis chooser of the plots over time: a combo box on the run toolbar and the View menu's exclusive
x-axis actions, kept showing the same mode.

A part the window composes (``window.x_axis``): it only shows and reports the choice (``chosen``); the window
applies it to the panels and redraws (:meth:`ibviewer.gui.window.MainWindow.set_x_mode`).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QComboBox, QLabel, QToolBar, QWidget

from ibviewer.live.series import X_MODES

X_MODE_TEXT = {"step": "step", "log_step": "log step", "time": "time η·k", "rescaled": "η·k / ln(1/α)"}


class XAxisChooser(QObject):
    """The combo box (``combo``) and the actions (``group``, each action's data its mode) showing ``mode``."""

    #: the user picked a mode in the combo box (the actions call the window's slot themselves)
    chosen = Signal(str)

    def __init__(self, group: QActionGroup, mode: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.group = group
        self.combo = QComboBox(parent)
        self.combo.setObjectName("x_axis")
        for m in X_MODES:
            self.combo.addItem(X_MODE_TEXT[m], m)
        self.combo.setToolTip("x axis of the plots over time: step k, log10 k (shows plateaus), the time η·k, or the\n"
                              "rescaled time η·k / ln(1/α) (runs of different small α line up)")
        self.combo.activated.connect(self._on_activated)
        self.show(mode)

    def add_to(self, toolbar: QToolBar) -> None:
        """The label and the combo box on ``toolbar`` (its x-axis section)."""
        toolbar.addWidget(QLabel(" x axis: "))
        toolbar.addWidget(self.combo)

    def show(self, mode: str) -> None:
        """The combo box and the actions at ``mode`` (one of :data:`~ibviewer.live.series.X_MODES`)."""
        if mode not in X_MODES:
            raise ValueError(f"x axis {mode!r}: use one of {', '.join(X_MODES)}")
        self.combo.setCurrentIndex(self.combo.findData(mode))
        for a in self.group.actions():
            a.setChecked(a.data() == mode)

    @Slot(int)
    def _on_activated(self, _index: int) -> None:
        self.chosen.emit(self.combo.currentData())
