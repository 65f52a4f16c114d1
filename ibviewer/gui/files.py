"""The window's files: configurations (TOML) saved and opened, and the File ▸ Recent files menu, which opens a
session, a configuration or a data file by its type.

Sessions themselves are the window's (the worker writes them); data files are :mod:`ibviewer.gui.data_files`'.
Every file saved or opened joins the recent files in the app settings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from ibviewer.core.config import ConfigError, build_config, dumps_toml
from ibviewer.core.datafiles import DATA_SUFFIXES
from ibviewer.core.io import atomic_write_text
from ibviewer.gui.settings import AppSettings

#: session files (``ibviewer.core.session.SUFFIX``, not imported here: that module brings the engine and torch)
SESSION_SUFFIX = ".ibvs"
CONFIG_FILTER = "TOML (*.toml);;All files (*)"


def save_config(window: QMainWindow, path: str | Path) -> bool:
    """Write the selected run's configuration to ``path`` as TOML (atomically)."""
    try:
        atomic_write_text(path, dumps_toml(window.cfg))
    except OSError as exc:
        window.show_error(f"cannot save {path}: {exc.strerror or exc}")
        return False
    window.show_info(f"configuration saved to {path}")
    window.remember_file(path)
    return True


def open_config(window: QMainWindow, path: str | Path) -> bool:
    """Make the configuration in ``path`` the run (it restarts); a bad file gives one line, nothing changes."""
    try:
        cfg = build_config(config_file=path)
    except ConfigError as exc:
        window.show_error(str(exc))
        return False
    window.apply_config(cfg, f"opened {path}: the run restarts")
    window.remember_file(path)
    return True


def save_config_dialog(window: QMainWindow) -> bool:
    start = str(Path(window.settings.start_dir()) / "ibviewer.toml")
    path, _ = QFileDialog.getSaveFileName(window, "Save configuration", start, CONFIG_FILTER)
    if not path:
        return False
    if "." not in Path(path).name:
        path += ".toml"
    return save_config(window, path)


def open_config_dialog(window: QMainWindow) -> bool:
    path, _ = QFileDialog.getOpenFileName(window, "Open configuration", window.settings.start_dir(), CONFIG_FILTER)
    return bool(path) and open_config(window, path)


def open_path(window: QMainWindow, path: str | Path) -> bool:
    """Open a file by its type: a session (.ibvs), a data file (.npy, .npz, .csv) or else a configuration."""
    p = Path(path)
    if p.suffix == SESSION_SUFFIX:
        return window.open_session(p)
    if p.suffix.lower() in DATA_SUFFIXES:
        return window.load_data(p)
    return window.open_config(p)


def fill_recent(menu: QMenu, settings: AppSettings, open_path: Callable[[str], object]) -> None:
    """The recent files that still exist, most recent first (the first nine numbered for the keyboard)."""
    menu.clear()
    recent = settings.existing_recent()
    if not recent:
        a = menu.addAction("(none yet)")
        a.setEnabled(False)
        return
    for i, p in enumerate(recent):
        a = menu.addAction(f"&{i + 1}  {Path(p).name}" if i < 9 else Path(p).name)
        a.setToolTip(p)
        a.setStatusTip(p)
        a.setData(p)
        a.triggered.connect(lambda _checked=False, p=p: open_path(p))
