"""When the window grows, the plots take the space: the side column (the controls and the run list) keeps the
width it had, whatever the window's size.

Left to itself, a main window whose docks fill it (the central widget is hidden: every panel is a dock) shares
a change of width between the dock areas, and the controls took most of it (374 → 1,197 px when the window went
from 1,400 to 2,400 px, the panels 336 → 395).  This filter remembers the side dock's width as the user leaves it
(a dragged separator: the window sees the mouse released over it; a larger text: :meth:`remember`) and puts it
back, the plot columns sharing the rest, after every change of the window's size.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow


class SideWidth(QObject):
    """Keeps ``dock`` (a side dock of ``window``, whose ``docks.fit_columns`` spreads the plot columns) at its
    width when the window is resized."""

    def __init__(self, window: QMainWindow, dock: QDockWidget):
        super().__init__(window)
        self.window = window
        self.dock = dock
        #: the width to keep (None until the first layout)
        self.width: int | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._restore)
        window.installEventFilter(self)

    def remember(self) -> None:
        """The side dock's width now is the one to keep."""
        self.window.layout().activate()
        if self.dock.isVisible() and not self.dock.isFloating():
            self.width = self.dock.width()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window:
            kind = event.type()
            if kind == QEvent.Type.Resize:
                self._timer.start()
            elif kind == QEvent.Type.MouseButtonRelease:  # a separator between docks was dragged
                QTimer.singleShot(0, self.remember)
        return False

    def _restore(self) -> None:
        d = self.dock
        self.window.layout().activate()  # the docks at the window's new size first
        if self.width is None:
            self.remember()
        elif d.isVisible() and not d.isFloating() and d.width() != self.width:
            self.window.resizeDocks([d], [self.width], Qt.Orientation.Horizontal)
            self.window.docks.fit_columns(self.width)  # the plots take what the side column gave back
