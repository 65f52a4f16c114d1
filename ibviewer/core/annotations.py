"""Annotations: a lecturer's text (and an arrow) on a panel, pinned to a step and a value.

An annotation appears from its step on (a replay or a scrubbed timeline before that step does not show it yet),
so a talk can say "here σ₂ is learned" at the moment it happens.  Its text is rich text: ``<i>``, ``<b>``,
``<sub>``, ``<sup>`` and Unicode (σ₂, η, ℓ₁) are drawn as written.  Annotations are part of the view: sessions
save them, talks declare them per scene, exports draw them.  Qt-free: this module is the data and its
validation (:func:`annotation_from_dict`: one line naming what is wrong).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

#: the keys of an annotation table (a session's view, a talk's scene)
KEYS = ("panel", "step", "y", "text", "arrow", "time")


class AnnotationError(ValueError):
    """An annotation that cannot be used (one line)."""


@dataclass(frozen=True)
class Annotation:
    """``text`` on panel ``panel`` at step ``step`` and value ``y`` (the panel's own units, not its log);
    ``arrow``: an arrow points at that spot from the text; ``time``: the gradient-flow time of the step, where
    known (the time axis places it there)."""

    panel: str
    step: int
    y: float
    text: str
    arrow: bool = True
    time: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["time"] is None:
            del d["time"]
        return d

    def shown_at(self, step: float) -> bool:
        """Whether it is shown when the panels show ``step`` (from its own step on)."""
        return step >= self.step


def annotation_from_dict(d: Any, where: str = "annotation") -> Annotation:
    """An annotation from a table (``panel``, ``step``, ``y``, ``text``, optional ``arrow`` and ``time``);
    AnnotationError names ``where`` and the key."""
    if not isinstance(d, dict):
        raise AnnotationError(f"{where} must be a table with panel, step, y and text")
    unknown = sorted(set(d) - set(KEYS))
    if unknown:
        raise AnnotationError(f"{where}: key {unknown[0]!r} is not allowed; allowed: {', '.join(KEYS)}")
    for key in ("panel", "step", "y", "text"):
        if key not in d:
            raise AnnotationError(f"{where} needs {key!r}")
    panel, step, y, text = d["panel"], d["step"], d["y"], d["text"]
    if not isinstance(panel, str) or not panel:
        raise AnnotationError(f"{where}: 'panel' must be a panel name, e.g. \"loss\"")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise AnnotationError(f"{where}: 'step' = {step!r} is not allowed; it must be a whole number >= 0")
    if isinstance(y, bool) or not isinstance(y, (int, float)) or not math.isfinite(y):
        raise AnnotationError(f"{where}: 'y' = {y!r} is not allowed; it must be a finite number")
    if not isinstance(text, str) or not text.strip():
        raise AnnotationError(f"{where}: 'text' must be non-empty text")
    arrow = d.get("arrow", True)
    if not isinstance(arrow, bool):
        raise AnnotationError(f"{where}: 'arrow' must be true or false")
    time = d.get("time")
    if time is not None and (isinstance(time, bool) or not isinstance(time, (int, float))
                             or not math.isfinite(time)):
        raise AnnotationError(f"{where}: 'time' = {time!r} is not allowed; it must be a finite number")
    return Annotation(panel, int(step), float(y), text.strip(), arrow, None if time is None else float(time))
