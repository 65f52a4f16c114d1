"""What a session file keeps of the window's view, and bringing it back: the dock arrangement, the x axis, the
speed and preset, the runs' names, visibility and colours, each panel's choices and the timeline's position.

The runs themselves (configs, states, histories) are the worker's to write; this is the look around them, and
:class:`SessionView` (``window.sessions``) is the part of the window that saves it with every session and
brings it back when one opens.
Restoring is forgiving: a view is a convenience, so a part that cannot be read is skipped (or, for the
timeline, reported in one line) and never fails the session.  The timeline position comes back only after the
first snapshot of the opened session (:func:`restore_late`), once the histories it points into have arrived.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QObject, Slot

from ibviewer.gui.controls import SPEEDS
from ibviewer.gui.panels import saved_panel_states
from ibviewer.live.markers import USER_KINDS
from ibviewer.live.series import X_MODES

if TYPE_CHECKING:
    from ibviewer.gui.window import MainWindow


def _timeline(window: MainWindow):
    return window.recording.timeline if window.recording is not None else None


def view_state(window: MainWindow) -> dict[str, Any]:
    """The window's view as a session keeps it (plain JSON-able values)."""
    runs = window.runs
    view: dict[str, Any] = {
        "layout": base64.b64encode(bytes(window.saveState())).decode("ascii"),
        "x_mode": window.x_mode,
        "speed": window.speed,
        "preset": window.preset,
        "selected_index": next((i for i, r in enumerate(runs) if r.id == window.selected_id), 0),
        "runs": [{"name": r.name, "visible": r.visible, "colour": list(r.colour), "edits": list(r.edits)}
                 for r in runs],
        "panels": {name: p.state() for name, p in window.panels.items()},
        "annotations": window.annotations.state(),
    }
    tl = _timeline(window)
    if tl is not None:
        mirror = window.mirror
        live = bool(getattr(tl, "live", True))
        step = None
        if not live and mirror.n and getattr(tl, "row", -1) >= 0:
            step = int(mirror["step"][min(tl.row, mirror.n - 1)])
        view["timeline"] = {"live": live or step is None, "step": step}
    return view


def _colour(c: Any) -> tuple[int, int, int] | None:
    """A run's saved colour, if it is one (three whole numbers from 0 to 255)."""
    if isinstance(c, list) and len(c) == 3 and all(type(v) is int and 0 <= v <= 255 for v in c):
        return (c[0], c[1], c[2])
    return None


def restore_view(window: MainWindow, view: dict[str, Any]) -> None:
    """The runs' looks, the dock arrangement, the x axis, the speed and the panels' choices of ``view`` (each
    part of a type it cannot have is skipped)."""
    runs = window.runs
    saved_runs = view.get("runs")
    for r, saved in zip(runs, saved_runs if isinstance(saved_runs, list) else []):
        if not isinstance(saved, dict):
            continue
        if isinstance(saved.get("visible"), bool):
            r.visible = saved["visible"]
        c = _colour(saved.get("colour"))
        if c is not None:
            r.colour = c
        # the changes marked while it trained (event markers of the user's edits), as far as they are markers
        edits = saved.get("edits")
        if isinstance(edits, list):
            r.edits = [dict(m) for m in edits if isinstance(m, dict) and isinstance(m.get("step"), int)
                       and isinstance(m.get("label"), str) and m.get("kind") in USER_KINDS]
    window.controller.runs.version += 1
    window.runs_list.set_runs(runs, window.selected_id)
    layout = view.get("layout")
    if isinstance(layout, str):
        try:
            window.restoreState(QByteArray(base64.b64decode(layout)))
        except ValueError:
            pass
    if view.get("x_mode") in X_MODES:
        window.set_x_mode(view["x_mode"])
    if type(view.get("speed")) is int and view["speed"] in SPEEDS:  # a speed the slider offers
        window.controls.set_speed(view["speed"])
        window.set_speed(view["speed"])
    panels = window.panels
    for name, state in saved_panel_states(view, panels).items():
        window.docks.guard(panels[name], panels[name].restore, state)
    problems = window.annotations.restore(view.get("annotations", []))
    if problems:
        window.show_error(f"{len(problems)} saved annotation(s) left out: {problems[0]}")


def restore_late(window: MainWindow, view: dict[str, Any]) -> None:
    """After the first snapshot of an opened session: the timeline where it was."""
    tl = _timeline(window)
    t = view.get("timeline")
    if not isinstance(t, dict):
        return
    if tl is not None and not t.get("live", True) and t.get("step") is not None and window.mirror.n:
        try:
            tl.seek_step(int(t["step"]))
        except Exception as exc:  # noqa: BLE001 - the view is a convenience: never fail the session for it
            window.show_error(f"the timeline position was not restored: {exc}")


class SessionView(QObject):
    """Sessions of ``window`` with their view: saved with it, restored when one opens (the timeline position
    after the opened session's first snapshot, :meth:`after_snapshot`); the window's ``session_saved`` and
    ``session_opened`` signals follow, and every session file joins the recent files."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        #: the view of the session just opened, until its histories have arrived
        self.pending: dict[str, Any] | None = None
        window.controller.session_saved.connect(self._on_saved)
        window.controller.session_opened.connect(self._on_opened)

    def save(self, path: str | Path) -> bool:
        """Ask the worker to write every run and the view to ``path``; ``session_saved`` follows (or a
        one-line error)."""
        return self.window.controller.save_session(path, view_state(self.window))

    def open(self, path: str | Path) -> bool:
        """Open a session: its runs continue where they stopped, its view comes back; a bad file leaves the
        current runs as they are and says why in one line."""
        return self.window.controller.open_session(path)

    def after_snapshot(self) -> None:
        """The first snapshot of an opened session has been drawn: the timeline where it was."""
        if self.pending is not None:
            view, self.pending = self.pending, None
            restore_late(self.window, view)

    @Slot(str, int)
    def _on_saved(self, path: str, step: int) -> None:
        w = self.window
        w.show_info(f"session saved to {path} (step {step:,})")
        w.files.remember(path)
        w.session_saved.emit(path)

    @Slot(str, object)
    def _on_opened(self, path: str, view: dict[str, Any]) -> None:
        w = self.window
        w.controls.set_config(w.cfg, w.preset)
        w.update_title()
        restore_view(w, view)
        self.pending = view  # the timeline position once the histories have arrived
        w.files.remember(path)
        w.show_info(f"opened session {path} at step {w.controller.runs.selected_step():,}")
        w.session_opened.emit(path)
