"""The view's annotations (``window.annotations``): the lecturer's notes on the panels.

Double-click a time panel to write one there (rich text; an arrow points at the spot); double-click near one to
edit it, or clear its text to remove it.  View ▸ Clear annotations removes them all.  They are part of the view:
a session saves them, a talk's scene brings its own, exports draw them (:mod:`ibviewer.core.annotations`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMainWindow

from ibviewer.core.annotations import Annotation, AnnotationError, annotation_from_dict
from ibviewer.core.theory import rescale_divisor

#: a double-click this many pixels from an annotation's spot edits it instead of adding one
NEAR_PX = 24


class AnnotationSet(QObject):
    """The annotations of ``window`` (its ``panels``, ``mirror``, ``x_mode``, ``last_snap``); ``changed`` when
    they change (the window draws again)."""

    changed = Signal()

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self.items: list[Annotation] = []
        self._attached: set[int] = set()

    # ------------------------------------------------------------------ the list
    def add(self, a: Annotation) -> Annotation:
        self.items.append(a)
        self.changed.emit()
        return a

    def remove(self, a: Annotation) -> None:
        self.items = [x for x in self.items if x is not a]
        self.changed.emit()

    def clear(self) -> None:
        if self.items:
            self.items = []
            self.changed.emit()

    def replace(self, items: list[Annotation]) -> None:
        self.items = list(items)
        self.changed.emit()

    def state(self) -> list[dict[str, Any]]:
        """JSON-ready, for a session's view."""
        return [a.to_dict() for a in self.items]

    def restore(self, state: Any) -> list[str]:
        """Take back a saved list; entries that are not annotations are left out, each named in the list of
        problems returned (the rest of the view still opens)."""
        items, problems = [], []
        for i, d in enumerate(state if isinstance(state, list) else []):
            try:
                items.append(annotation_from_dict(d, f"annotation {i + 1}"))
            except AnnotationError as exc:
                problems.append(str(exc))
        if not isinstance(state, list) and state is not None:
            problems.append("the saved annotations are not a list")
        self.replace(items)
        return problems

    # ------------------------------------------------------------------ placing one
    def at(self, panel: str, x: float, y: float, text: str, arrow: bool = True) -> Annotation | None:
        """An annotation on ``panel`` at the view coordinates (x, y) of its plot (as the x axis and the y
        scale place them: log10 on log axes), or None where x is no step of the run."""
        w = self.window
        p = w.panels.get(panel)
        step = self.step_of_x(x)
        if p is None or step is None or not text.strip():
            return None
        value = 10.0 ** y if getattr(p, "y_log", False) else y
        time = self._time_of_step(step)
        return self.add(Annotation(panel, step, float(value), text.strip(), arrow, time))

    def step_of_x(self, x: float) -> int | None:
        """The recorded step nearest the x coordinate ``x`` of the time plots, None without rows."""
        m = self.window.mirror
        if not m.size or not math.isfinite(x):
            return None
        steps = np.asarray(m["step"], float)
        mode = self.window.x_mode
        if mode == "log_step":
            target = 10.0 ** x
        elif mode in ("time", "rescaled") and "time" in m:
            t = x * rescale_divisor(getattr(m, "init_scale", None)) if mode == "rescaled" else x
            i = int(np.argmin(np.abs(np.asarray(m["time"], float) - t)))
            return int(steps[i])
        else:
            target = x
        return int(steps[int(np.argmin(np.abs(steps - target)))])

    def _time_of_step(self, step: int) -> float | None:
        m = self.window.mirror
        if "time" not in m or not m.size:
            return None
        i = int(np.searchsorted(np.asarray(m["step"]), step))
        return float(m["time"][min(i, m.size - 1)])

    # ------------------------------------------------------------------ the mouse
    def attach(self, panels: dict[str, Any]) -> None:
        """Listen to double-clicks on the time panels (once per panel)."""
        for name, p in panels.items():
            if not hasattr(p, "annotations") or id(p) in self._attached:
                continue
            self._attached.add(id(p))
            p.plot.scene().sigMouseClicked.connect(lambda ev, name=name, p=p: self._clicked(name, p, ev))

    def _clicked(self, name: str, panel, ev) -> None:
        if not ev.double() or ev.button() != Qt.MouseButton.LeftButton:
            return
        vb = panel.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        point = vb.mapSceneToView(ev.scenePos())
        ev.accept()
        near = self._near(name, panel, ev.scenePos())
        text, ok = QInputDialog.getText(self.window, "Annotation", "Text (rich text: <i>, <b>, <sub>, σ₂ …); "
                                        "empty removes it" if near else "Text (rich text: <i>, <b>, <sub>, σ₂ …)",
                                        QLineEdit.EchoMode.Normal, near.text if near else "")
        if not ok:
            return
        if near is not None:
            self.remove(near)
            if text.strip():
                self.add(Annotation(near.panel, near.step, near.y, text.strip(), near.arrow, near.time))
            return
        self.at(name, point.x(), point.y(), text)

    def _near(self, name: str, panel, scene_pos) -> Annotation | None:
        layer = panel.annotations
        for (item, _), a in zip(layer.items, layer.shown):
            if item.isVisible() and (item.mapToScene(0, 0) - scene_pos).manhattanLength() < NEAR_PX * 4 \
                    and a.panel == name:
                return a
        return None
