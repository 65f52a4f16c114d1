"""What a panel draws from: one :class:`DrawContext` per drawing, built by whoever shows the panels.

The window builds it from its runs on every frame; an export builds it from recorded :class:`RunSource` s; a
test builds it by hand.  Panels read nothing else (no window, no host object), so the same panel code draws
live, in an export and in a test.  It holds data only -- no Qt -- and is frozen: a panel cannot change what
the next panel sees.  See ``docs/architecture.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ibviewer.core.theory import rescale_divisor
from ibviewer.live.series import X_MODES, Frame, HistoryMirror


@dataclass(frozen=True, eq=False)
class RunFrame:
    """One run as the panels draw it: who it is (id, name, colour), its config and reference solutions, its
    latest product (the end-to-end W or x) and its decimated history (:class:`Frame`)."""

    id: int
    name: str
    colour: tuple[int, int, int]
    frame: Frame
    cfg: Any = None  # a Config
    refs: Mapping[str, Any] = field(default_factory=dict)
    product: Any = None

    @property
    def mirror(self):
        """The run's rows (a HistoryMirror or a view of a recorded history)."""
        return self.frame.mirror


@dataclass(frozen=True, eq=False)
class DrawContext:
    """Everything a panel draws from, for one drawing.

    ``frame``: the selected (shown) run's frame; ``snap``: the latest snapshot numbers of that run (``product``,
    ``step``...), or None before the first; ``x_mode``: the x axis of the time plots; ``runs``: when
    ``comparing``, every visible run (the selected one among them, unless hidden); ``selected_id``: the run the
    controls edit; ``ready``: whether a training worker is there to play (else the panels say they wait).
    """

    frame: Frame
    snap: Mapping[str, Any] | None = None
    x_mode: str = "step"
    runs: tuple[RunFrame, ...] = ()
    selected_id: int = 0
    comparing: bool = False
    ready: bool = True
    #: the shown run's event markers (dicts with step, kind, label and maybe time: :mod:`ibviewer.live.markers`)
    markers: tuple[Mapping[str, Any], ...] = ()
    #: the view's annotations (:class:`ibviewer.core.annotations.Annotation`), each drawn by its panel
    annotations: tuple[Any, ...] = ()
    #: the step the panels show when it is not the latest (a scrubbed timeline): annotations after it wait
    shown_step: int | None = None

    def __post_init__(self):
        if self.x_mode not in X_MODES:
            raise ValueError(f"x mode {self.x_mode!r} is not allowed; choose from: {', '.join(X_MODES)}")

    @property
    def step(self) -> float:
        """The step the panels show: the scrubbed one, else the snapshot's, else the last recorded one."""
        if self.shown_step is not None:
            return self.shown_step
        if self.snap is not None and self.snap.get("step") is not None:
            return self.snap["step"]
        m = self.frame.mirror
        return float(m["step"][-1]) if m.size else 0.0

    @property
    def product(self) -> Any:
        """The selected run's latest product, or None."""
        return None if self.snap is None else self.snap.get("product")

    def compared(self) -> list[tuple[RunFrame, Frame]] | None:
        """(run, frame) of every run to overlay when comparing; None when one run is drawn."""
        if not self.comparing:
            return None
        return [(r, r.frame) for r in self.runs]

    def selected_run(self) -> RunFrame | None:
        return next((r for r in self.runs if r.id == self.selected_id), None)


def marker_x(marker: Mapping[str, Any], x_mode: str, alpha: float | None = None) -> float | None:
    """Where ``marker`` sits on an x axis of ``x_mode``: its step, log10 of it (None at step 0, which a log axis
    cannot show), its gradient-flow time, or that time over ln(1/α) for the rescaled axis (``alpha``: the run's
    initialization scale); None for a time axis when the marker has no time."""
    step = float(marker["step"])
    if x_mode == "log_step":
        return float(np.log10(step)) if step > 0 else None
    if x_mode in ("time", "rescaled"):
        t = marker.get("time")
        if t is None:
            return None
        return float(t) / rescale_divisor(alpha) if x_mode == "rescaled" else float(t)
    return step


def empty_context(x_mode: str = "step", ready: bool = False) -> DrawContext:
    """A drawing with no rows yet (a panel shows its waiting note)."""
    return DrawContext(Frame(HistoryMirror(), x_mode), None, x_mode, ready=ready)


def history_mirror(cols: Mapping[str, Any]) -> HistoryMirror:
    """A HistoryMirror holding ``cols`` (equal-length arrays, including ``step``): handy for building a
    DrawContext from recorded columns."""
    m = HistoryMirror()
    m.update({k: np.asarray(v, dtype=float) for k, v in cols.items()}, True, None)
    return m
