"""Presentation mode: the plots alone, full screen, with text a room can read.

One key (P, or ``ibviewer gui --present``) hides the controls, the runs, the menu, the toolbars and the status
bar, puts the window full screen, scales every text together (ticks, labels, legends, markers, the caption) and
shows the experiment's title and description as a caption above the plots.  In the mode, 1–9 show one panel
alone (in the layout's order) and 0 the whole layout again; Escape (or P) leaves and brings everything back as it
was.  A part the window composes (``window.presentation``); the keys are in the action table and the shortcuts
dialog.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QSizePolicy, QToolBar, QVBoxLayout, QWidget

#: the text scale of presentation mode (at least: a larger scale the user chose is kept)
PRESENT_SCALE = 1.75


class Caption(QWidget):
    """The experiment's title (bold) over its description, wrapping at the window's width."""

    def __init__(self):
        super().__init__()
        self.setObjectName("present_caption")
        # a toolbar gives a widget its size hint unless it expands: the caption takes the window's width
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 6, 16, 6)
        lay.setSpacing(2)
        self.title = QLabel()
        self.title.setObjectName("present_title")
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.text = QLabel()
        self.text.setObjectName("present_text")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(self.title)
        lay.addWidget(self.text)

    def set_text(self, title: str, text: str) -> None:
        self.title.setText(title)
        self.title.setVisible(bool(title))
        self.text.setText(text)
        self.text.setVisible(bool(text))

    def set_font(self, base: QFont) -> None:
        big = QFont(base)
        big.setBold(True)
        big.setPointSizeF(base.pointSizeF() * 1.35)
        self.title.setFont(big)
        self.text.setFont(QFont(base))


def caption_for(meta: dict[str, Any] | None, fallback: str) -> tuple[str, str]:
    """(title, text) of the caption: the preset's experiment and title, and what to look for (else its
    description); ``fallback`` (the window's title) for a custom configuration."""
    meta = meta or {}
    title = str(meta.get("title") or "")
    if title and meta.get("experiment"):
        title = f"{meta['experiment']}: {title}"
    text = str(meta.get("look_for") or meta.get("description") or "")
    return (title or fallback), text


class Presentation(QObject):
    """Presentation mode of ``window`` (a MainWindow: its ``appearance``, ``docks``, ``controls_dock``,
    ``runs_dock``, ``actions`` and ``controller``).  ``changed(bool)`` when it is entered or left."""

    changed = Signal(bool)

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self.active = False
        #: the panel shown alone (its name), or None for the whole layout
        self.solo: str | None = None
        #: (title, text) shown instead of the experiment's (a talk's scene caption), or None
        self.caption_override: tuple[str, str] | None = None
        #: the panels shown in the mode (a talk's scene's), or None for the layout
        self.chosen: list[str] | None = None
        self._saved: dict[str, Any] = {}
        self.caption = Caption()
        self.caption_bar = QToolBar("Caption")
        self.caption_bar.setObjectName("toolbar_caption")
        self.caption_bar.setMovable(False)
        self.caption_bar.setFloatable(False)
        self.caption_bar.addWidget(self.caption)
        self.caption_bar.toggleViewAction().setVisible(False)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.caption_bar)
        self.caption_bar.hide()
        # 0-9 choose what is shown; only while presenting (elsewhere the digits belong to the fields)
        self._digit_keys = []
        for k in range(10):
            sc = QShortcut(QKeySequence(str(k)), window)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.setEnabled(False)
            sc.activated.connect(lambda k=k: self.show_panel(k))
            self._digit_keys.append(sc)

    # ------------------------------------------------------------------ entering and leaving
    def toggle(self) -> None:
        if self.active:
            self.leave()
        else:
            self.enter()

    def enter(self, panel: str | int | None = None, full_screen: bool = True) -> None:
        """Hide everything but the plots, scale the text, show the caption; ``panel`` (a name or a 1-based
        index in the layout) alone if given."""
        w = self.window
        if not self.active:
            bars = [b for b in w.findChildren(QToolBar)
                    if b is not self.caption_bar and not getattr(b, "keep_when_presenting", False)]
            self._saved = {
                "bars": {b: b.isVisible() for b in bars},
                "docks": {d: d.isVisible() for d in (w.controls_dock, w.runs_dock)},
                "panels": {name: d.isVisible() for name, d in w.docks.dock_widgets.items()},
                "menu": w.menuBar().isVisible(),
                "status": w.statusBar().isVisible(),
                "scale": w.appearance.settings.font_scale,
                "state": w.windowState(),
            }
            for bar in bars:
                bar.hide()
            w.controls_dock.hide()
            w.runs_dock.hide()
            w.menuBar().hide()
            w.statusBar().hide()
            self.active = True
            for sc in self._digit_keys:
                sc.setEnabled(True)
            self.set_caption()
            self.caption_bar.show()
            if self._saved["scale"] < PRESENT_SCALE:
                w.appearance.set_font_scale(PRESENT_SCALE)
            self.caption.set_font(w.font())
            if full_screen:
                w.showFullScreen()
            w.actions["present"].setChecked(True)
            w.actions["leave_present"].setEnabled(True)
            self.changed.emit(True)
        if panel is not None:
            self.show_panel(panel)
        elif self.chosen:
            self.show_panels(self.chosen)

    def leave(self) -> None:
        """Everything back as it was before the mode was entered."""
        if not self.active:
            return
        w = self.window
        s = self._saved
        self.active = False
        for sc in self._digit_keys:
            sc.setEnabled(False)
        self.show_panel(0)
        self.caption_bar.hide()
        for bar, visible in s["bars"].items():
            bar.setVisible(visible)
        for dock, visible in s["docks"].items():
            dock.setVisible(visible)
        w.menuBar().setVisible(s["menu"])
        w.statusBar().setVisible(s["status"])
        w.appearance.set_font_scale(s["scale"])
        w.setWindowState(s["state"])
        w.actions["present"].setChecked(False)
        w.actions["leave_present"].setEnabled(False)
        self.changed.emit(False)

    # ------------------------------------------------------------------ what is shown
    def panel_names(self) -> list[str]:
        """The panels of the layout, in its order (what 1–9 choose from)."""
        return list(self.window.docks.dock_widgets)

    def show_panel(self, which: str | int) -> bool:
        """One panel alone (its name or 1-based index), or (0) the chosen panels or the layout as it was; False
        for no such panel."""
        names = self.panel_names()
        docks = self.window.docks.dock_widgets
        if which == 0 or which is None:
            # back to the scene's panels (a talk), else to the layout as it was
            self.solo = None
            shown = self._saved.get("panels", {})
            for name, dock in docks.items():
                dock.setVisible(name in self.chosen if self.active and self.chosen else shown.get(name, True))
            return True
        if isinstance(which, int):
            if not 1 <= which <= len(names):
                return False
            which = names[which - 1]
        if which not in docks:
            return False
        self.solo = which
        for name, dock in docks.items():
            dock.setVisible(name == which)
        docks[which].raise_()
        return True

    def show_panels(self, names: list[str] | None) -> None:
        """Only ``names`` of the layout (the others hidden) while in the mode; None: the whole layout.  Kept for
        the next time the mode is entered."""
        self.chosen = list(names) if names else None
        if not self.active:
            return
        docks = self.window.docks.dock_widgets
        if not self.chosen:
            self.show_panel(0)
            return
        self.solo = None
        for name, dock in docks.items():
            dock.setVisible(name in self.chosen)

    def set_caption(self) -> None:
        """The caption of the selected run's experiment (after a preset changes), or the override."""
        w = self.window
        if self.caption_override is not None:
            self.caption.set_text(*self.caption_override)
            return
        self.caption.set_text(*caption_for(w.cfg.meta if w.preset else None, w.windowTitle()))
