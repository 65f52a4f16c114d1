"""The window's File menu: configurations (TOML) saved and opened, sessions and data files chosen in a dialog,
the gallery, a sweep's results folder (the sweep viewer), and the File ▸ Recent files menu, which opens a session, a configuration or a data file by its
type.

A part the window composes (``window.files``, a :class:`WindowFiles`).  Sessions themselves are the window's
controller's (the worker writes them); data files are :mod:`ibviewer.gui.data_files`'.  Every file saved or
opened joins the recent files in the app settings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from ibviewer.core.config import ConfigError, build_config, dumps_toml
from ibviewer.core.datafiles import DATA_SUFFIXES
from ibviewer.core.io import atomic_write_text
from ibviewer.gui import data_files
from ibviewer.gui.settings import AppSettings

#: session files (``ibviewer.core.session.SUFFIX``, not imported here: that module brings the engine and torch)
SESSION_SUFFIX = ".ibvs"
CONFIG_FILTER = "TOML (*.toml);;All files (*)"
SESSION_FILTER = f"ibviewer session (*{SESSION_SUFFIX});;All files (*)"


class WindowFiles:
    """The File menu of ``window`` (a MainWindow: its ``cfg``, ``settings``, ``preset``, ``apply_config``,
    ``open_session``, ``save_session``, ``load_preset``, ``show_error`` and ``show_info``)."""

    def __init__(self, window: QMainWindow):
        self.window = window
        self.gallery = None
        self.sweep_viewer = None
        self.recent_menu: QMenu | None = None

    def remember(self, path: str | Path) -> None:
        """``path`` joins the recent files (saved at once)."""
        self.window.settings.add_recent(path)
        self.window.settings.save()

    # ------------------------------------------------------------------ configurations
    def save_config(self, path: str | Path) -> bool:
        """Write the selected run's configuration to ``path`` as TOML (atomically)."""
        w = self.window
        try:
            atomic_write_text(path, dumps_toml(w.cfg))
        except OSError as exc:
            w.show_error(f"cannot save {path}: {exc.strerror or exc}")
            return False
        w.show_info(f"configuration saved to {path}")
        self.remember(path)
        return True

    def open_config(self, path: str | Path) -> bool:
        """Make the configuration in ``path`` the run (it restarts); a bad file gives one line, nothing changes."""
        try:
            cfg = build_config(config_file=path)
        except ConfigError as exc:
            self.window.show_error(str(exc))
            return False
        self.window.apply_config(cfg, f"opened {path}: the run restarts")
        self.remember(path)
        return True

    def save_config_dialog(self) -> bool:
        w = self.window
        start = str(Path(w.settings.start_dir()) / "ibviewer.toml")
        path, _ = QFileDialog.getSaveFileName(w, "Save configuration", start, CONFIG_FILTER)
        if not path:
            return False
        if "." not in Path(path).name:
            path += ".toml"
        return self.save_config(path)

    def open_config_dialog(self) -> bool:
        w = self.window
        path, _ = QFileDialog.getOpenFileName(w, "Open configuration", w.settings.start_dir(), CONFIG_FILTER)
        return bool(path) and self.open_config(path)

    # ------------------------------------------------------------------ sessions
    def save_session_dialog(self) -> bool:
        w = self.window
        start = str(Path(w.settings.start_dir()) / ((w.preset or "session") + SESSION_SUFFIX))
        path, _ = QFileDialog.getSaveFileName(w, "Save session", start, SESSION_FILTER)
        return bool(path) and w.save_session(path)

    def open_session_dialog(self) -> bool:
        w = self.window
        path, _ = QFileDialog.getOpenFileName(w, "Open session", w.settings.start_dir(), SESSION_FILTER)
        return bool(path) and w.open_session(path)

    # ------------------------------------------------------------------ sweeps
    def open_sweep(self, folder: str | Path):
        """The sweep viewer of a results folder of ``ibviewer sweep`` (a dialog that does not block); None, with
        one line in the status bar, when the folder is not one."""
        from ibviewer.gui.sweep_viewer import SweepViewer

        try:
            viewer = SweepViewer(self.window, folder)
        except OSError as exc:
            self.window.show_error(str(exc))
            return None
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.sweep_viewer = viewer  # the open viewer (the last one opened)
        viewer.show()
        return viewer

    def open_sweep_dialog(self):
        w = self.window
        folder = QFileDialog.getExistingDirectory(w, "Open sweep (a folder written by ibviewer sweep)",
                                                  w.settings.start_dir())
        return self.open_sweep(folder) if folder else None

    # ------------------------------------------------------------------ data, the gallery, recent files
    def load_data(self, path: str | Path, kind: str | None = None) -> bool:
        """Train on the data in ``path`` (see :func:`ibviewer.gui.data_files.load_data`)."""
        return data_files.load_data(self.window, path, kind)

    def load_data_dialog(self) -> bool:
        return data_files.load_data_dialog(self.window)

    def open_gallery(self):
        """The gallery of experiments (a dialog that does not block); choosing one opens it with all its runs."""
        from ibviewer.gui.gallery import QtGallery

        w = self.window
        dlg = QtGallery(w)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if w.preset:
            try:
                dlg.select(w.preset)
            except KeyError:
                pass
        dlg.chosen.connect(w.load_preset)
        self.gallery = dlg  # the open gallery (the last one opened)
        dlg.open()
        return dlg

    def open_path(self, path: str | Path) -> bool:
        """Open a file by its type: a session (.ibvs), a data file (.npy, .npz, .csv) or else a configuration."""
        p = Path(path)
        if p.suffix == SESSION_SUFFIX:
            return self.window.open_session(p)
        if p.suffix.lower() in DATA_SUFFIXES:
            return self.load_data(p)
        return self.open_config(p)

    def add_recent_menu(self, menu: QMenu) -> QMenu:
        """A "Recent files" submenu of ``menu``, filled each time it opens (see :func:`fill_recent`)."""
        self.recent_menu = menu.addMenu("Recent files")
        self.recent_menu.setObjectName("recent_menu")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        return self.recent_menu

    def _fill_recent(self) -> None:
        fill_recent(self.recent_menu, self.window.settings, self.open_path)


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
