"""App settings: theme, font scale, panel layouts, last folder, recent files and the window's geometry, in one
TOML file in the platform's config folder (platformdirs).

One store, one model: :class:`AppSettings` is a pydantic model, so a file is validated as it is read.  A file
that cannot be parsed or holds a value the model refuses is set aside (``settings.toml.bad``) and the defaults
are used, with one note saying so (never a traceback: settings are a convenience).  Keys the model does not
know are ignored, so a newer file opens in an older app.  ``IBVIEWER_CONFIG_DIR`` points the store somewhere
else (tests use a temporary folder).  Files are written atomically.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Literal

import tomli_w
import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ibviewer.core.io import atomic_write_text

ENV_DIR = "IBVIEWER_CONFIG_DIR"
FILE = "settings.toml"
THEMES = ("light", "dark")
MAX_RECENT = 10
FONT_SCALES = (0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0)
#: the font scales a window accepts (a projector wants big text, not unreadable text)
FONT_SCALE_RANGE = (0.5, 3.0)
#: fields that describe how the settings were read, not what they are (never written)
_NOT_SAVED = {"note", "persist"}


def config_dir() -> Path:
    d = os.environ.get(ENV_DIR)
    if d:
        return Path(d)
    import platformdirs

    return Path(platformdirs.user_config_dir("ibviewer", appauthor=False))


def clamp_font_scale(scale: float) -> float:
    lo, hi = FONT_SCALE_RANGE
    return min(hi, max(lo, float(scale)))


def _b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _unb64(text: str) -> bytes | None:
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


class AppSettings(BaseModel):
    """What the app remembers between windows (the window reads it when built and writes it when closed)."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    theme: Literal["light", "dark"] = "light"
    font_scale: float = 1.0
    last_dir: str = ""
    #: most recent first: configs (.toml), sessions (.ibvs) and data files
    recent: list[str] = Field(default_factory=list)
    #: the docks' arrangement (QMainWindow.saveState, base64) per panel layout
    layouts: dict[str, str] = Field(default_factory=dict)
    #: the window's size and place (QMainWindow.saveGeometry, base64); "" until a window was closed
    geometry: str = ""
    #: a note on how the settings were read (not saved)
    note: str = Field(default="", exclude=True)
    #: False: never written (benchmarks, throwaway windows)
    persist: bool = Field(default=True, exclude=True)

    @field_validator("font_scale")
    @classmethod
    def _clamp_scale(cls, v: float) -> float:
        return clamp_font_scale(v)

    @field_validator("recent")
    @classmethod
    def _trim_recent(cls, v: list[str]) -> list[str]:
        return v[:MAX_RECENT]

    @staticmethod
    def path() -> Path:
        return config_dir() / FILE

    @classmethod
    def load(cls) -> AppSettings:
        """The stored settings; the defaults (and a one-line ``note``) if the file is unreadable or invalid."""
        p = cls.path()
        if not p.is_file():
            return cls()
        try:
            return cls.model_validate(tomllib.loads(p.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            why = type(exc).__name__
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err.get("loc", ())) or "the file"
            why = f"{where}: {err.get('msg', 'invalid')}"
        try:
            os.replace(p, p.with_suffix(".toml.bad"))
        except OSError:
            pass
        return cls(note=f"settings file {str(p)!r} was unreadable ({why}); defaults used")

    def save(self) -> Path | None:
        """Write the settings (atomically); None if they do not persist or the folder cannot be written."""
        if not self.persist:
            return None
        p = self.path()
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            return atomic_write_text(p, tomli_w.dumps(self.model_dump(mode="json", exclude=_NOT_SAVED)))
        except OSError:
            return None

    # ------------------------------------------------------------------ recent files, folders, layouts, geometry
    def add_recent(self, path: str | Path) -> None:
        p = str(Path(path).resolve())
        self.recent = [p] + [r for r in self.recent if r != p]
        self.last_dir = str(Path(p).parent)

    def existing_recent(self) -> list[str]:
        return [r for r in self.recent if Path(r).exists()]

    def start_dir(self) -> str:
        return self.last_dir if self.last_dir and Path(self.last_dir).is_dir() else str(Path.home())

    def remember_dir(self, path: str | Path) -> None:
        """The folder of a file just written or read is where the next file dialog starts."""
        self.last_dir = str(Path(path).resolve().parent)

    def set_layout(self, key: str, state: bytes) -> None:
        self.layouts = {**self.layouts, key: _b64(state)}

    def layout(self, key: str) -> bytes | None:
        return _unb64(self.layouts.get(key, ""))

    def set_geometry(self, state: bytes) -> None:
        self.geometry = _b64(state)

    def geometry_bytes(self) -> bytes | None:
        return _unb64(self.geometry)
