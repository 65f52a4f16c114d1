"""A preset's words as rich text: its description and its "look for" line with real subscripts (``W_j`` →
W<sub>j</sub>), as the Controls and the gallery show them (the plain text is :mod:`ibviewer.core.preset_text`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ibviewer.core.preset_text import LOOK_FOR_LEAD, look_for, preset_blurb
from ibviewer.live.series import plain_symbols, symbols


def description_html(meta: Mapping[str, Any] | None) -> str:
    """The description, escaped, with subscripts."""
    return symbols(" ".join(str((meta or {}).get("description", "")).split()))


def look_for_html(meta: Mapping[str, Any] | None) -> str:
    """"<b>Look for:</b> …" with subscripts, or '' when the preset has no such line."""
    text = look_for(meta)
    return f"<b>{LOOK_FOR_LEAD}:</b> {symbols(text)}" if text else ""


def preset_html(meta: Mapping[str, Any] | None) -> str:
    """The description and, below it, what to look for."""
    return "<br>".join(p for p in (description_html(meta), look_for_html(meta)) if p)


def preset_plain(meta: Mapping[str, Any] | None) -> str:
    """The description and the look-for line as plain text with Unicode subscripts (tooltips: σ₁, not σ_1)."""
    return plain_symbols(preset_blurb(meta))
