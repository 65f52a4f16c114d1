"""The gallery: a browser of the presets -- the literature's experiments -- with a thumbnail, the paper it
reproduces and one line on what it shows.

Thumbnails are PNGs shipped in ``resources/thumbnails`` (made by ``python -m ibviewer.gui.gallery
--make-thumbnails``, which trains each preset headless and draws its telling quantity); a preset without one
shows its experiment tag instead.
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPixmap, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from ibviewer.core.config import preset_info, preset_names
from ibviewer.core.preset_text import look_for
from ibviewer.core.resources import resources_dir
from ibviewer.gui.preset_words import preset_html, preset_plain

THUMB = QSize(240, 150)


def thumbnails_dir() -> Path:
    return resources_dir() / "thumbnails"


def _placeholder(text: str) -> QPixmap:
    img = QImage(THUMB, QImage.Format.Format_ARGB32)
    img.fill(QColor("#eef2f7"))
    p = QPainter(img)
    p.setPen(QColor("#44546a"))
    f = QFont()
    f.setPointSize(22)
    f.setBold(True)
    p.setFont(f)
    p.drawText(img.rect(), Qt.AlignmentFlag.AlignCenter, text)
    p.end()
    return QPixmap.fromImage(img)


def thumbnail(name: str) -> QPixmap:
    f = thumbnails_dir() / f"{name}.png"
    if f.is_file():
        pm = QPixmap(str(f))
        if not pm.isNull():
            return pm
    return _placeholder(preset_info(name).get("experiment", name.split("_")[0]))


class QtGallery(QDialog):
    """Pick a preset; ``chosen(name)`` is emitted on Open (or a double click)."""

    chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Gallery of experiments")
        self.resize(1100, 720)
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Filter:"))
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("name, paper or words of the description")
        self.filter.textChanged.connect(self._apply_filter)
        top.addWidget(self.filter)
        lay.addLayout(top)
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(THUMB)
        self.list.setGridSize(QSize(THUMB.width() + 24, THUMB.height() + 64))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setWordWrap(True)
        self.list.setMovement(QListWidget.Movement.Static)
        # Enter (and a double click, which Qt reports as an activation too) opens the experiment
        self.list.itemActivated.connect(lambda _item: self.open_selected())
        self.list.currentItemChanged.connect(self._show_details)
        lay.addWidget(self.list, 1)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setMinimumHeight(80)
        lay.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.open_selected)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        for name in preset_names():
            meta = preset_info(name)
            tag = meta.get("experiment")
            title = meta.get("title", name)
            item = QListWidgetItem(QIcon(thumbnail(name)), f"{tag}: {title}" if tag else title)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(f"{name}\n{preset_plain(meta)}\n{meta.get('paper', '')}")
            item.setSizeHint(QSize(THUMB.width() + 20, THUMB.height() + 60))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def names(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if not self.list.item(i).isHidden()]

    def select(self, name: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == name:
                self.list.setCurrentRow(i)
                return
        raise KeyError(name)

    def _apply_filter(self, text: str) -> None:
        words = text.lower().split()
        for i in range(self.list.count()):
            item = self.list.item(i)
            name = item.data(Qt.ItemDataRole.UserRole)
            meta = preset_info(name)
            hay = " ".join([name, meta.get("title", ""), meta.get("description", ""), meta.get("paper", ""),
                            meta.get("experiment", ""), look_for(meta)]).lower()
            item.setHidden(not all(w in hay for w in words))
        self._follow_filter()

    def _follow_filter(self) -> None:
        """The details describe a shown experiment: when the filter hides the highlighted one, the first shown
        one is highlighted instead, and nothing when the filter hides them all."""
        current = self.list.currentItem()
        if current is not None and not current.isHidden():
            return
        shown = [self.list.item(i) for i in range(self.list.count()) if not self.list.item(i).isHidden()]
        if shown:
            self.list.setCurrentItem(shown[0])
        else:
            self.list.setCurrentItem(None)
            self._show_details(None)

    def _show_details(self, item, _prev=None) -> None:
        if item is None:
            self.details.setText("")
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        meta = preset_info(name)
        runs = meta.get("runs") or meta.get("compare")
        extra = ""
        if isinstance(runs, list):
            extra = f"<br><i>runs:</i> {', '.join(str(r.get('name', r)) for r in runs)}"
        elif isinstance(runs, dict):
            extra = "<br><i>compares:</i> " + "; ".join(f"{k} = {', '.join(map(str, v))}" for k, v in runs.items())
        self.details.setText(f"<b>{escape(meta.get('title', name))}</b> &nbsp; <tt>{name}</tt>"
                             f"<br>{preset_html(meta)}<br><i>{escape(meta.get('paper', ''))}</i>{extra}")

    def shown_details(self) -> str:
        """The details pane's text without markup (what a person reads there)."""
        doc = QTextDocument()
        doc.setHtml(self.details.text())
        return doc.toPlainText()

    def open_selected(self) -> None:
        """Open the highlighted experiment (the Open button, Enter, a double click)."""
        item = self.list.currentItem()
        if item is None or item.isHidden():
            return
        self.chosen.emit(item.data(Qt.ItemDataRole.UserRole))
        self.accept()


# ------------------------------------------------------------------------------------------ thumbnails
def _telling_series(engine) -> tuple[np.ndarray, np.ndarray, str]:
    """(x, ys (rows x curves), label) of the quantity that shows the preset's phenomenon."""
    h = engine.history
    steps = h["step"].astype(float) + 1
    if engine.cfg.family == "mlp":
        return steps, np.column_stack([h["loss"], h["test_loss"]]), "train / test loss"
    if engine.cfg.family == "classifier":
        return steps, h["w_norm"][:, None], "||w||"
    if engine.cfg.family == "diagonal":
        return steps, h["state"], "x_i"
    if engine.cfg.family == "tensor":
        return steps, h["component_norms"], "component norms"
    if engine.cfg.family == "linear_network" and "balance_drift" in h:
        return steps, h["balance_drift"], "balancedness drift"
    return steps, h["sv"][:, :8], "sigma_i"


def make_thumbnail(name: str, path: Path, max_steps: int = 30000) -> None:
    import pyqtgraph as pg

    from ibviewer.core.config import build_config
    from ibviewer.core.engine import Engine

    cfg = build_config(preset=name)
    if cfg.run.steps == 0 or cfg.run.steps > max_steps:
        cfg.run.steps = max_steps
    engine = Engine(cfg)
    engine.run(chunk=5000)
    x, ys, label = _telling_series(engine)
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    w = pg.PlotWidget()
    w.resize(THUMB.width() * 2, THUMB.height() * 2)
    plot = w.getPlotItem()
    logs = ("sigma_i", "train / test loss", "balancedness drift", "component norms")
    plot.setLogMode(x=True, y=label in logs)
    plot.hideAxis("left")
    plot.hideAxis("bottom")
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    order = np.argsort(-np.abs(ys[-1])) if ys.shape[1] > 8 else np.arange(ys.shape[1])
    for i, j in enumerate(order):
        y = ys[:, j]
        if label in logs:
            y = np.where(y > 0, y, np.nan)
        pen = pg.mkPen(colors[i] if i < len(colors) else "#c0c0c0", width=4 if i < len(colors) else 1.5)
        plot.plot(x, y, pen=pen, connect="finite")
    w.show()
    pg.QtWidgets.QApplication.processEvents()
    img = w.grab().scaled(THUMB, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
    w.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(str(path))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["--make-thumbnails"]:
        print("usage: python -m ibviewer.gui.gallery --make-thumbnails [NAME ...]", file=sys.stderr)
        return 2
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    _app = QApplication.instance() or QApplication([])
    names = argv[1:] or preset_names()
    for name in names:
        make_thumbnail(name, thumbnails_dir() / f"{name}.png")
        print(f"thumbnail {name}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
