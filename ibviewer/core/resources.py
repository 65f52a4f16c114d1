"""Where the shipped resources (presets, themes, icons) live, installed or in a checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def resources_dir() -> Path:
    """The ``resources`` folder: inside the installed package, else beside it in a source checkout."""
    package = Path(__file__).resolve().parents[1]  # ibviewer/ (this module is ibviewer/core/resources.py)
    looked = (package / "_resources", package.parent / "resources")
    for candidate in looked:
        if (candidate / "presets").is_dir():
            return candidate
    raise FileNotFoundError(f"ibviewer's resources folder is missing (looked in {looked[0]} and {looked[1]})")


def presets_dir() -> Path:
    return resources_dir() / "presets"
