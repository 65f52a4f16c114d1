"""Runs side by side, the Qt part: the run list dock ("Runs") and the "Add run" dialog.

What the GUI knows of each run (:class:`~ibviewer.live.runs.RunView`: config, colour, visibility, history
mirror, latest product) and the rules for adding, removing, renaming and selecting runs live in the Qt-free
:mod:`ibviewer.live.runs`; these widgets show a :class:`~ibviewer.live.runs.RunCollection` and report what
the user asked for as signals.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ibviewer.core.config import PARAMETRIZATIONS, Config
from ibviewer.live.runs import CHANGES, RunView, describe, fmt_value, suggestions, value_of


def swatch(c: tuple[int, int, int], size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor(*c))
    return QIcon(pm)


class AddRunDialog(QDialog):
    """'Add run': the selected run with one change (what, and its new value)."""

    def __init__(self, cfg: Config, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Add run")
        self.cfg = cfg
        form = QFormLayout(self)
        form.addRow(QLabel("A copy of the selected run with one change; all runs share the problem\n"
                           "and restart together from step 0."))
        self.key = QComboBox()
        self.key.setObjectName("add_run_key")
        for key, label in CHANGES:
            if key == "model.parametrization" and len(PARAMETRIZATIONS.get(cfg.family, ())) < 2:
                continue
            self.key.addItem(label, key)
        self.value = QComboBox()
        self.value.setObjectName("add_run_value")
        self.value.setEditable(True)
        self.current = QLabel()
        self.key.currentIndexChanged.connect(self._on_key)
        form.addRow("change", self.key)
        form.addRow("now", self.current)
        form.addRow("new value", self.value)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._on_key(0)

    def _on_key(self, _i: int) -> None:
        key = self.key.currentData()
        self.current.setText(fmt_value(value_of(self.cfg, key)))
        self.value.clear()
        for v in suggestions(self.cfg, key):
            self.value.addItem(v)
        self.value.setCurrentIndex(0)

    def choice(self) -> tuple[str, str]:
        return self.key.currentData(), self.value.currentText().strip()


class QtRunList(QWidget):
    """The "Runs" dock: one line per run (colour, name; the check box shows or hides it), the selected run is
    the one the controls edit.  Double-click a name to rename it."""

    selected = Signal(int)
    visibility = Signal(int, bool)
    renamed = Signal(int, str)
    add_requested = Signal()
    remove_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        self.list = QListWidget()
        self.list.setObjectName("runs")
        self.list.setIconSize(QSize(14, 14))
        self.list.setToolTip("Every run trains on the same data.  Tick to show, double-click to rename;\n"
                             "the selected run is the one the controls edit and the heatmap shows.")
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemChanged.connect(self._on_changed)
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.btn_add = QPushButton("Add run…")
        self.btn_add.setObjectName("add_run")
        self.btn_add.setToolTip("Clone the selected run with one change (depth, α, optimizer, η, parametrization, seed)")
        self.btn_add.clicked.connect(self.add_requested)
        self.btn_rename = QPushButton("Rename")
        self.btn_rename.setObjectName("rename_run")
        self.btn_rename.clicked.connect(self._rename)
        self.btn_remove = QPushButton("Remove")
        self.btn_remove.setObjectName("remove_run")
        self.btn_remove.clicked.connect(self._remove)
        for b in (self.btn_add, self.btn_rename, self.btn_remove):
            row.addWidget(b)
        lay.addLayout(row)
        self._filling = False

    def sizeHint(self) -> QSize:
        return QSize(340, 150)

    def set_runs(self, runs: list[RunView], selected: int | None) -> None:
        self._filling = True
        try:
            self.list.clear()
            for run in runs:
                it = QListWidgetItem(swatch(run.colour), run.name)
                it.setData(Qt.ItemDataRole.UserRole, run.id)
                it.setFlags(it.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable)
                it.setCheckState(Qt.CheckState.Checked if run.visible else Qt.CheckState.Unchecked)
                it.setToolTip(f"{run.name}: {describe(run.cfg)}")
                self.list.addItem(it)
                if run.id == selected:
                    self.list.setCurrentItem(it)
            self.btn_remove.setEnabled(len(runs) > 1)
        finally:
            self._filling = False

    def update_run(self, run: RunView) -> None:
        """One run's line again (its name, whether it is shown), without reporting that as the user's edit."""
        it = self.item(run.id)
        if it is None:
            return
        want = Qt.CheckState.Checked if run.visible else Qt.CheckState.Unchecked
        if it.text() == run.name and it.checkState() == want:
            return
        self._filling = True
        try:
            it.setText(run.name)
            it.setCheckState(want)
            it.setToolTip(f"{run.name}: {describe(run.cfg)}")
        finally:
            self._filling = False

    def set_current(self, rid: int) -> None:
        """Run ``rid``'s line becomes the current one (as the user selecting it would)."""
        it = self.item(rid)
        if it is not None and self.list.currentItem() is not it:
            self.list.setCurrentItem(it)

    def item(self, rid: int) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            it = self.list.item(i)
            if it.data(Qt.ItemDataRole.UserRole) == rid:
                return it
        return None

    def _on_current(self, item, _prev=None) -> None:
        if item is not None and not self._filling:
            self.selected.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _on_changed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        rid = int(item.data(Qt.ItemDataRole.UserRole))
        self.visibility.emit(rid, item.checkState() == Qt.CheckState.Checked)
        self.renamed.emit(rid, item.text())

    def _rename(self) -> None:
        it = self.list.currentItem()
        if it is not None:
            self.list.editItem(it)

    def _remove(self) -> None:
        it = self.list.currentItem()
        if it is not None:
            self.remove_requested.emit(int(it.data(Qt.ItemDataRole.UserRole)))

