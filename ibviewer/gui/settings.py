"""App settings: theme, font scale, panel layouts, last folder and recent files, kept as TOML in the platform's
config folder (platformdirs); the window's geometry and dock state in an INI file beside it (QSettings).

``IBVIEWER_CONFIG_DIR`` points both somewhere else (tests use a temporary folder).  Files are written
atomically; a damaged settings file is set aside (``settings.toml.bad``) and the defaults are used.
"""

from __future__ import annotations

import base64
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w
import tomllib

from ibviewer.core.io import atomic_write_text

ENV_DIR = "IBVIEWER_CONFIG_DIR"
FILE = "settings.toml"
THEMES = ("light", "dark")
MAX_RECENT = 10
FONT_SCALES = (0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0)


def config_dir() -> Path:
    d = os.environ.get(ENV_DIR)
    if d:
        return Path(d)
    import platformdirs

    return Path(platformdirs.user_config_dir("ibviewer", appauthor=False))


@dataclass
class AppSettings:
    theme: str = "light"
    font_scale: float = 1.0
    last_dir: str = ""
    #: most recent first: configs (.toml), sessions (.ibvs) and data files
    recent: list[str] = field(default_factory=list)
    #: the docks' arrangement (QMainWindow.saveState, base64) per panel layout
    layouts: dict[str, str] = field(default_factory=dict)
    #: a note on how the settings were read (not saved)
    note: str = field(default="", compare=False, repr=False)
    #: False: never written (benchmarks, throwaway windows)
    persist: bool = field(default=True, compare=False, repr=False)

    @staticmethod
    def path() -> Path:
        return config_dir() / FILE

    @classmethod
    def load(cls) -> AppSettings:
        p = cls.path()
        if not p.is_file():
            return cls()
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            try:
                os.replace(p, p.with_suffix(".toml.bad"))
            except OSError:
                pass
            return cls(note=f"settings file {str(p)!r} was unreadable ({type(exc).__name__}); defaults used")
        s = cls()
        names = {f.name for f in fields(cls)} - {"note", "persist"}
        for k, v in data.items():
            if k in names:
                setattr(s, k, v)
        s._clean()
        return s

    def _clean(self) -> None:
        if self.theme not in THEMES:
            self.theme = "light"
        try:
            self.font_scale = min(3.0, max(0.5, float(self.font_scale)))
        except (TypeError, ValueError):
            self.font_scale = 1.0
        self.last_dir = str(self.last_dir or "")
        self.recent = [str(r) for r in (self.recent if isinstance(self.recent, list) else [])][:MAX_RECENT]
        self.layouts = {str(k): str(v) for k, v in (self.layouts if isinstance(self.layouts, dict) else {}).items()}

    def save(self) -> Path | None:
        """Write the settings (atomically); None if the folder cannot be written."""
        self._clean()
        if not self.persist:
            return None
        data: dict[str, Any] = {k: v for k, v in asdict(self).items() if k not in ("note", "persist")}
        p = self.path()
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            return atomic_write_text(p, tomli_w.dumps(data))
        except OSError:
            return None

    # ------------------------------------------------------------------ recent files, folders, layouts
    def add_recent(self, path: str | Path) -> None:
        p = str(Path(path).resolve())
        self.recent = [p] + [r for r in self.recent if r != p]
        del self.recent[MAX_RECENT:]
        self.last_dir = str(Path(p).parent)

    def existing_recent(self) -> list[str]:
        return [r for r in self.recent if Path(r).exists()]

    def start_dir(self) -> str:
        return self.last_dir if self.last_dir and Path(self.last_dir).is_dir() else str(Path.home())

    def set_layout(self, key: str, state: bytes) -> None:
        self.layouts[key] = base64.b64encode(bytes(state)).decode("ascii")

    def layout(self, key: str) -> bytes | None:
        v = self.layouts.get(key)
        if not v:
            return None
        try:
            return base64.b64decode(v)
        except ValueError:
            return None


def qsettings():
    """The window's geometry store: an INI file in the same folder as the TOML settings."""
    from PySide6.QtCore import QSettings

    return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)
