"""Where the shipped resources (presets, themes, icons) live, installed or in a checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def resources_dir() -> Path:
    """The ``resources`` folder: inside the installed package, else beside it in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_resources", here.parent / "resources"):
        if (candidate / "presets").is_dir():
            return candidate
    raise FileNotFoundError(f"ibviewer's resources folder is missing (looked in {here / '_resources'} and {here.parent / 'resources'})")


def presets_dir() -> Path:
    return resources_dir() / "presets"
