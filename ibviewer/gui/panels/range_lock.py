"""A plot panel's range lock: "Lock ranges" in the plot's context menu freezes the x and y ranges it shows now.

Managed ranges follow the data (they grow in 1-2-5 steps as a run goes on); a lecturer who framed a plot for a
point, or who shows two sessions one after the other, wants the frame to stay.  A locked panel ignores its
managed ranges, the mouse and "Fit plots", and puts its ranges back whenever something else moved them (an
export fitting its axes).  The lock and its ranges are part of the panel's saved choices (``state()``), so a
session and an export keep them.  Changing the x axis keeps the y range and fits x once on the new axis, where
it is then held (an x range in steps means nothing in log steps).
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtGui import QAction

#: the key of the saved choices
KEY = "range_lock"

Range = tuple[float, float]


class RangeLock:
    """The lock of one :class:`~ibviewer.gui.panels.base.PlotPanel` (``panel.range_lock``)."""

    def __init__(self, panel):
        self.panel = panel
        self.x: Range | None = None  # the held x range (None while locked: fit once, then hold)
        self.y: Range | None = None
        self.x_mode: str | None = None  # the x axis the x range belongs to
        self.locked = False
        self.action = QAction("Lock ranges", panel.widget)
        self.action.setCheckable(True)
        self.action.setToolTip("Freeze this plot's ranges as they are (no auto-ranging, no zoom); kept in sessions "
                               "and exports")
        self.action.toggled.connect(self.set_locked)
        menu = panel.vb.menu
        if menu is not None:
            menu.addSeparator()
            menu.addAction(self.action)

    # ------------------------------------------------------------------ the user's toggle
    def set_locked(self, on: bool) -> None:
        """Lock the ranges shown now (on), or give the panel back to its managed ranges (off)."""
        on = bool(on)
        if self.action.isChecked() != on:
            self.action.setChecked(on)  # comes back here through toggled
            return
        if on == self.locked:
            return
        if on:
            (x0, x1), (y0, y1) = self.panel.vb.viewRange()
            self._hold((x0, x1), (y0, y1), self.panel.x_mode)
        else:
            self.locked = False
            self.x = self.y = None
            self.panel.vb.setMouseEnabled(True, True)
            self.panel.fit_view()
            self.panel.request_redraw()

    def _hold(self, x: Range | None, y: Range | None, x_mode: str | None) -> None:
        self.locked = True
        self.x, self.y, self.x_mode = x, y, x_mode
        self.panel.manual = True  # every path that leaves a zoomed plot alone leaves a locked one alone too
        self.panel.vb.setMouseEnabled(False, False)
        self.apply()

    # ------------------------------------------------------------------ holding
    def x_mode_changed(self, mode: str) -> None:
        """The x axis changed: y stays held; x is fitted once on the new axis (by :meth:`hold`), then held."""
        if not self.locked:
            return
        if mode != self.x_mode:
            self.x, self.x_mode = None, mode
        self.panel.manual = True

    def hold(self, xb: Range | None) -> None:
        """Called instead of the managed ranges while locked: the held ranges back in place; an x range still to
        fit on a new x axis is fitted to ``xb`` (the data's x bounds) and held from then on."""
        if self.x is None and xb is not None:
            keeper = self.panel.xkeep
            keeper.reset()
            r = keeper.fit(*xb)
            if r is not None:
                self.panel.vb.setXRange(*r, padding=0.02)
                self.x = tuple(self.panel.vb.viewRange()[0])
        self.apply()

    def apply(self) -> None:
        """Put the held ranges back where anything (the ViewBox menu's "View All", an export) moved them."""
        if not self.locked:
            return
        vb = self.panel.vb
        (x0, x1), (y0, y1) = vb.viewRange()
        x = self.x if self.x is not None and not _same(self.x, (x0, x1)) else None
        y = self.y if self.y is not None and not _same(self.y, (y0, y1)) else None
        if x is not None or y is not None:
            vb.setRange(xRange=x, yRange=y, padding=0.0)

    # ------------------------------------------------------------------ saved with the panel's choices
    def state(self) -> dict[str, Any]:
        """``{"range_lock": {"x": [x0, x1], "y": [y0, y1], "x_mode": mode}}`` while locked, else nothing."""
        if not self.locked:
            return {}
        return {KEY: {"x": list(self.x) if self.x is not None else None,
                      "y": list(self.y) if self.y is not None else None, "x_mode": self.x_mode}}

    def restore(self, state: dict[str, Any]) -> None:
        """Lock at saved ranges (a malformed entry is ignored, as unknown keys are)."""
        saved = state.get(KEY)
        if not isinstance(saved, dict):
            return
        x, y = _range(saved.get("x")), _range(saved.get("y"))
        if y is None:
            return
        mode = saved.get("x_mode")
        if mode != self.panel.x_mode:
            x, mode = None, self.panel.x_mode  # saved on another x axis: fitted once on this one
        self.locked = False
        self.action.blockSignals(True)
        self.action.setChecked(True)
        self.action.blockSignals(False)
        self._hold(x, y, mode)
        self.panel.request_redraw()


def _range(v: Any) -> Range | None:
    """A saved [lo, hi] as a range, None unless two finite numbers with lo < hi."""
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        return None
    try:
        lo, hi = float(v[0]), float(v[1])
    except (TypeError, ValueError):
        return None
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) and lo < hi else None


def _same(a: Range, b: Range) -> bool:
    tol = 1e-9 * max(1.0, abs(a[1] - a[0]))
    return abs(a[0] - b[0]) <= tol and abs(a[1] - b[1]) <= tol
