"""File ▸ Load data…: train the window's runs on a data file of your own.

The decisions (which kind a file holds, the configuration that trains on it, refusing a bad file in one line)
are Qt-free, in :mod:`ibviewer.core.datafiles`; this module asks the user and applies the result to the window.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMainWindow

from ibviewer.core.datafiles import DATA_SUFFIXES, DataFileError, config_for_data, guess_kind


def load_data(window: QMainWindow, path: str | Path, kind: str | None = None) -> bool:
    """Train ``window`` on the data in ``path`` (problem.source); ``kind`` as in
    :func:`~ibviewer.core.datafiles.config_for_data`.  With several runs on the same kind, every run keeps its
    own settings and trains on the file.  A bad file gives one line and changes nothing."""
    path = Path(path)
    try:
        trial, kind = config_for_data(window.cfg, path, kind)
    except DataFileError as exc:
        window.show_error(str(exc))
        return False
    if kind == window.cfg.problem.kind and window.comparing:
        runs = []
        for r in window.runs:
            c = r.cfg.copy()
            c.problem = trial.problem
            runs.append((r.name, c))
        sel = next((i for i, r in enumerate(window.runs) if r.id == window.selected_id), 0)
        window.apply_runs(runs, f"training on {path.name} ({kind}): the runs restart", selected=sel)
    else:
        window.apply_config(trial, f"training on {path.name} ({kind}): the run restarts")
    window.files.remember(path)
    return True


def load_data_dialog(window: QMainWindow) -> bool:
    """Pick a data file, say what it holds (the guess offered first), and train on it."""
    from ibviewer.core.problems import FILE_LAYOUT

    patterns = " ".join("*" + s for s in DATA_SUFFIXES)
    path, _ = QFileDialog.getOpenFileName(window, "Load data", window.settings.start_dir(),
                                          f"Data ({patterns});;All files (*)")
    if not path:
        return False
    kinds = list(FILE_LAYOUT)
    guess = guess_kind(path, prefer=window.cfg.problem.kind)
    items = [f"{k}: {FILE_LAYOUT[k]}" for k in kinds]
    item, ok = QInputDialog.getItem(window, "Load data", f"What does {Path(path).name} hold?", items,
                                    kinds.index(guess) if guess in kinds else 0, False)
    if not ok:
        return False
    return load_data(window, path, kinds[items.index(item)])
