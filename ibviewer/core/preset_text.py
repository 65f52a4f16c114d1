"""The words a preset shows a person: its description and its one line on what to look for.

A preset's ``[meta]`` table says what the experiment is (``title``, ``description``, ``paper``) and, in
``look_for``, the one thing to watch and the numbers it reaches when trained here (measured, not promised: the
tests train some of them again and check the numbers).  The app's Controls, the gallery and recorded captions all
take their text from here, so they say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: the words that introduce the line, wherever it is shown
LOOK_FOR_LEAD = "Look for"


def look_for(meta: Mapping[str, Any] | None) -> str:
    """The preset's one line on what to look for, stripped ('' when it has none)."""
    return " ".join(str((meta or {}).get("look_for", "")).split())


def look_for_caption(meta: Mapping[str, Any] | None) -> str:
    """The line as a caption shows it ("Look for: …"), or '' when the preset has none.

    A recording's caption gives the preset's title on its first line; this is its second line."""
    text = look_for(meta)
    return f"{LOOK_FOR_LEAD}: {text}" if text else ""


def preset_blurb(meta: Mapping[str, Any] | None) -> str:
    """The description and the look-for line as plain text, one paragraph each (tooltips, the command line)."""
    meta = meta or {}
    parts = [" ".join(str(meta.get("description", "")).split()), look_for_caption(meta)]
    return "\n".join(p for p in parts if p)
