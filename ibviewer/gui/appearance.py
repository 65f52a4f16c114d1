"""How the window looks: light or dark theme, the text size (for a projector) and full screen.

A small part the window composes (``window.appearance``): it keeps the choices in the app settings, so the next
window opens looking the same, and applies them to the window's widgets, docks and panels.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow

from ibviewer.gui.settings import FONT_SCALES, THEMES, AppSettings, clamp_font_scale


def dark_palette() -> QPalette:
    """Light text on dark grey: the widgets' side of the dark theme (the plots follow the panels' own)."""
    pal = QPalette()
    base, text, mid = QColor(30, 32, 36), QColor(228, 228, 228), QColor(48, 51, 57)
    R = QPalette.ColorRole
    for role, c in ((R.Window, mid), (R.WindowText, text), (R.Base, base), (R.AlternateBase, mid),
                    (R.Text, text), (R.Button, mid), (R.ButtonText, text), (R.ToolTipBase, base),
                    (R.ToolTipText, text), (R.Highlight, QColor(60, 120, 200)),
                    (R.HighlightedText, QColor(255, 255, 255)), (R.PlaceholderText, QColor(165, 165, 170)),
                    (R.BrightText, QColor(255, 255, 255)), (R.Link, QColor(110, 170, 255)),
                    # the bevels and frames the style draws (check boxes, buttons, group lines) from these
                    (R.Light, QColor(92, 96, 104)), (R.Midlight, QColor(70, 74, 81)), (R.Mid, QColor(40, 42, 47)),
                    (R.Dark, QColor(22, 23, 26)), (R.Shadow, QColor(10, 10, 12))):
        pal.setColor(role, c)
    # disabled widgets: readable, and dimmer than enabled ones
    off = QColor(128, 130, 136)
    for role in (R.WindowText, R.Text, R.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, off)
    pal.setColor(QPalette.ColorGroup.Disabled, R.Button, QColor(42, 44, 49))
    pal.setColor(QPalette.ColorGroup.Disabled, R.Base, QColor(36, 38, 42))
    return pal


def next_font_scale(current: float, direction: int) -> float:
    """The next step of :data:`FONT_SCALES` up (direction > 0) or down from ``current`` (clamped at the ends)."""
    if direction > 0:
        return next((v for v in FONT_SCALES if v > current + 1e-9), FONT_SCALES[-1])
    return next((v for v in reversed(FONT_SCALES) if v < current - 1e-9), FONT_SCALES[0])


class Appearance:
    """Theme, text size and full screen of one window (``window``: a MainWindow: its ``actions``, ``panels``,
    ``docks`` (a :class:`~ibviewer.gui.docks.PanelDocks`), ``controls_dock``, ``runs_dock`` and ``show_info``)."""

    def __init__(self, window: QMainWindow, settings: AppSettings):
        self.window = window
        self.settings = settings

    @property
    def dark(self) -> bool:
        return self.settings.theme == "dark"

    # ------------------------------------------------------------------ theme
    def set_theme(self, name: str) -> None:
        """Light (the default, also for an unknown name) or dark: the widgets' palette and the plots."""
        w = self.window
        name = name if name in THEMES else "light"
        self.settings.theme = name
        w.actions["dark_theme"].setChecked(name == "dark")
        if name == "dark":
            pal = dark_palette()
        else:
            app = QApplication.instance()
            pal = app.palette() if app is not None else QPalette()
        w.setPalette(pal)
        w.controls.set_dark(name == "dark")
        for p in w.panels.values():
            if hasattr(p, "set_dark"):
                p.set_dark(name == "dark")

    def toggle_dark(self) -> None:
        """The theme the "Dark theme" action's check says."""
        self.set_theme("dark" if self.window.actions["dark_theme"].isChecked() else "light")

    # ------------------------------------------------------------------ text size
    def set_font_scale(self, scale: float) -> None:
        """Every text of the window (controls, panels' axes and legends) at ``scale`` times the app's size."""
        w = self.window
        self.settings.font_scale = clamp_font_scale(scale)
        app = QApplication.instance()
        base = app.font() if app is not None else QFont()
        f = QFont(w.font())
        if base.pointSizeF() > 0:
            f.setPointSizeF(base.pointSizeF() * self.settings.font_scale)
        w.setFont(f)
        for dock in [w.controls_dock, w.runs_dock, *w.docks.dock_widgets.values()]:
            self.style_dock(dock)
        w.docks.apply_fonts()
        # the controls' column as wide as its larger text needs: nothing cut at the right edge (the dock asks its
        # widget again once the fonts have changed)
        w.controls.widget().adjustSize()
        w.controls.updateGeometry()
        w.controls_dock.setMinimumWidth(w.controls.minimumSizeHint().width())
        if w.controls_dock.isVisible():
            w.resizeDocks([w.controls_dock], [w.controls.minimumSizeHint().width() + 8], Qt.Orientation.Horizontal)
            if getattr(w, "side_width", None) is not None:
                w.side_width.remember()

    def step_font_scale(self, direction: int) -> float:
        """One step larger (direction > 0) or smaller, said in the status bar; the new scale."""
        nxt = next_font_scale(self.settings.font_scale, direction)
        self.set_font_scale(nxt)
        self.window.show_info(f"text at {nxt:g}×")
        return nxt

    def style_dock(self, dock: QDockWidget) -> None:
        """A dock's title a little larger and bold, its contents at the window's font."""
        f = QFont(self.window.font())  # from the window's font: restyling (a new font scale) does not compound
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() + 1)
        dock.setFont(f)
        if dock.widget() is not None:
            dock.widget().setFont(QFont(self.window.font()))

    # ------------------------------------------------------------------ full screen
    def toggle_full_screen(self) -> None:
        w = self.window
        if w.isFullScreen():
            w.showNormal()
        else:
            w.showFullScreen()
        w.actions["fullscreen"].setChecked(w.isFullScreen())
