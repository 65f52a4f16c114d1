"""The plot panels as docks of the main window: which panels a problem gets, how their docks are laid out, the
user's arrangement of them remembered per layout, and drawing on them without a panel's bug stopping the app.

A part the window composes (``window.docks``): the window says *which* layout (from its runs) and *when* to
draw (a snapshot, an x-axis change); this object owns the panels (``docks.panels``), their dock widgets
(``docks.dock_widgets``) and the arrangement.  The panels dict is a new one at every rebuild, so a holder of the
old one (the timeline's wrapped panels) can tell by identity that the panels changed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QByteArray, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from ibviewer.core.config import Config
from ibviewer.core.geometry import geometry_applies
from ibviewer.gui.panels import PANEL_CLASSES, Panel, PlotPanel, panel_layout
from ibviewer.gui.settings import AppSettings
from ibviewer.live.series import plain_symbols

#: a layout: columns of panel names (top to bottom) and (panel, tabbed behind panel) pairs
Layout = tuple[list[list[str]], list[tuple[str, str]]]


def layout_for(cfg: Config, run_cfgs: Iterable[Config]) -> Layout:
    """The panels of cfg's family; with several runs, those of the deepest (balancedness from depth 2)."""
    same = [c for c in run_cfgs if c.family == cfg.family] or [cfg]
    deep = [c for c in same if c.model.depth > 1 and c.parametrization in ("product", "hadamard")]
    c = max(deep, key=lambda c: c.model.depth) if deep else cfg
    return panel_layout(cfg.family, c.model.depth, c.parametrization, cfg.problem.kind, geometry_applies(cfg))


def buckets_for(panels: list[Panel]) -> int:
    """Min/max buckets for a frame: one per 2 pixels of the widest plot (200 to 1000)."""
    widest = max((p.widget.width() for p in panels), default=0)
    return int(min(1000, max(200, widest // 2)))


class PanelDocks(QObject):
    """The panels of one window, each in a dock on the right of ``window``, their toggles in ``view_menu``
    above ``before``; ``style_dock`` styles a new dock (the window's fonts), ``report`` shows a one-line error;
    ``side`` gives the docks on the left (controls, runs) when the docks are fitted."""

    #: a panel asked to be drawn again, or a dock came into view (the window redraws)
    redraw_requested = Signal()
    #: an event marker was clicked on a panel (its step)
    marker_clicked = Signal(int)

    def __init__(self, window: QMainWindow, settings: AppSettings, view_menu: QMenu, before: QAction,
                 style_dock: Callable[[QDockWidget], None], report: Callable[[str], None],
                 side: Callable[[], list[QDockWidget]]):
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.view_menu = view_menu
        self.before = before
        self.style_dock = style_dock
        self.report = report
        self.side = side
        self.panels: dict[str, Panel] = {}
        self.dock_widgets: dict[str, QDockWidget] = {}
        self.layout: Layout | None = None
        #: every panel failure ("name: Error: text"); the first three are also reported
        self.errors: list[str] = []
        # deferred work on timers parented to this object: they die with it
        self._redraw_timer = self._single_shot(self.redraw_requested.emit)
        self._fit_timer = self._single_shot(self.fit)

    def _single_shot(self, slot: Callable[[], Any]) -> QTimer:
        t = QTimer(self)
        t.setSingleShot(True)
        t.setInterval(0)
        t.timeout.connect(slot)
        return t

    def layout_key(self) -> str:
        """The layout as text: the settings remember the user's arrangement under it."""
        cols, tabs = self.layout or ([], [])
        return "/".join(["|".join(c) for c in cols] + [f"{a}>{b}" for a, b in tabs])

    # ------------------------------------------------------------------ building
    def rebuild(self, layout: Layout, x_mode: str) -> bool:
        """New panels in ``layout`` (the arrangement of the old ones remembered first); False when the layout
        is the current one (nothing changes)."""
        if layout == self.layout:
            return False
        w = self.window
        if self.layout is not None and self.dock_widgets:
            self.remember_layout()
        self.layout = layout
        for dock in self.dock_widgets.values():
            dock.hide()  # hidden first: removing tabified docks otherwise leaves their tab bar behind
        for dock in self.dock_widgets.values():
            w.removeDockWidget(dock)
            self.view_menu.removeAction(dock.toggleViewAction())
            dock.setParent(None)
            dock.deleteLater()
        self.dock_widgets, self.panels = {}, {}
        cols, tabs = layout
        for name in [n for col in cols for n in col] + [t for t, _ in tabs]:
            panel = PANEL_CLASSES[name](x_mode=x_mode)
            panel.redraw_requested.connect(self.redraw_requested)
            panel.signals.marker_clicked.connect(self.marker_clicked)
            dock = QDockWidget(plain_symbols(panel.title), w)  # a dock title is plain text: σᵢ, not σ_i
            dock.setObjectName("dock_" + name)
            dock.setWidget(panel.widget)
            dock.setToolTip(panel.tooltip)
            self.style_dock(dock)
            dock.visibilityChanged.connect(self._on_visibility)
            self.panels[name] = panel
            self.dock_widgets[name] = dock
            self.view_menu.insertAction(self.before, dock.toggleViewAction())
        docks = self.dock_widgets
        heads = [col[0] for col in cols]
        w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, docks[heads[0]])
        for a, b in itertools.pairwise(heads):
            w.splitDockWidget(docks[a], docks[b], Qt.Orientation.Horizontal)
        for col in cols:
            for a, b in itertools.pairwise(col):
                w.splitDockWidget(docks[a], docks[b], Qt.Orientation.Vertical)
        for name, behind in tabs:
            # lay out first: tabifying into a layout that has pending splits leaves a duplicate tab bar (Qt 6.11)
            w.layout().activate()
            w.tabifyDockWidget(docks[behind], docks[name])
            docks[behind].raise_()
        w.layout().activate()
        self.fit()
        self._fit_timer.start()  # again once the new docks are laid out
        saved = self.settings.layout(self.layout_key())
        if saved is not None:
            w.restoreState(QByteArray(saved))  # the user's arrangement of these panels, from last time
        self.apply_fonts()
        return True

    def remember_layout(self) -> None:
        """The window's arrangement of the current panels, in the settings under this layout."""
        if self.layout is not None:
            self.settings.set_layout(self.layout_key(), bytes(self.window.saveState()))

    def fit(self) -> None:
        """The side docks (controls over the run list) about 370 px wide, the plot columns share the rest."""
        w = self.window
        area = Qt.DockWidgetArea.RightDockWidgetArea
        heads = [d for d in self.dock_widgets.values() if not d.isFloating() and w.dockWidgetArea(d) == area]
        side = self.side()
        if side:
            w.resizeDocks(side[:1], [370], Qt.Orientation.Horizontal)
        if len(side) > 1 and not side[1].isFloating():
            # the run list: a few lines under the controls
            h = max(200, w.height() - 60)
            w.resizeDocks(side[:2], [h - 170, 170], Qt.Orientation.Vertical)
        if heads:
            self.fit_columns(370)

    def fit_columns(self, side: int) -> None:
        """The plot columns share the window's width beside a side column ``side`` px wide (with the central
        widget hidden, Qt would hand a wider window's width to the side column)."""
        w = self.window
        cols, _ = self.layout or ([], [])
        docks = [self.dock_widgets[c[0]] for c in cols if c[0] in self.dock_widgets]
        docks = [d for d in docks if d.isVisible() and not d.isFloating()]
        if docks:
            width = max(1, w.width() - side - 20)
            w.resizeDocks(docks, [width // len(docks)] * len(docks), Qt.Orientation.Horizontal)

    def apply_fonts(self) -> None:
        """Every panel's text size and theme from the settings."""
        dark = self.settings.theme == "dark"
        for p in self.panels.values():
            if hasattr(p, "set_font_scale"):
                p.set_font_scale(self.settings.font_scale)
            if dark and hasattr(p, "set_dark"):
                p.set_dark(True)

    @Slot(bool)
    def _on_visibility(self, visible: bool) -> None:
        if visible:
            self._redraw_timer.start()

    def stop(self) -> None:
        """No more deferred redraws or fits (the window is closing)."""
        for t in (self._redraw_timer, self._fit_timer):
            t.stop()

    # ------------------------------------------------------------------ drawing
    def visible(self) -> list[Panel]:
        """The panels on screen (a hidden or tabbed-away one is not drawn)."""
        return [p for p in self.panels.values() if p.widget.isVisible()]

    def guard(self, panel: Panel, fn: Callable[..., Any], *args: Any) -> None:
        """Run a panel method; a failure is reported once in the status bar (never a traceback dialog)."""
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - a drawing bug must not stop the app or the training
            self.errors.append(f"{panel.name}: {type(exc).__name__}: {exc}")
            if len(self.errors) <= 3:
                self.report(f"the {panel.title} panel could not draw: {type(exc).__name__}: {exc}")

    def draw(self, panels: list[Panel], ctx: Any) -> None:
        """``ctx`` (a :class:`~ibviewer.live.draw.DrawContext`) on each of ``panels``, guarded."""
        for p in panels:
            self.guard(p, p.update, ctx)

    def set_info(self, info: dict[str, Any] | None) -> None:
        """Every panel's static arrays (the selected run's info)."""
        for p in self.panels.values():
            self.guard(p, p.set_info, info)

    def reset(self) -> None:
        """Every panel draws from scratch next time."""
        for p in self.panels.values():
            p.reset()

    def set_x_mode(self, mode: str) -> None:
        for p in self.panels.values():
            p.set_x_mode(mode)

    def fit_plots(self) -> None:
        """Every plot rescaled to its data."""
        for p in self.panels.values():
            if isinstance(p, PlotPanel):
                p.fit_view()
