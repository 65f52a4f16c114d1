"""Runs side by side: the run list dock ("Runs"), the "Add run" dialog and what the window knows of each run.

All runs share the problem and train together in the worker (:class:`~ibviewer.live.group.LiveGroup`).  The
window keeps one :class:`RunView` per run: its config, colour, visibility, history mirror and latest product.
The selected run is the one the controls edit, the heatmap shows and the recording exports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

from ibviewer.core.config import OPTIMIZERS, PARAMETRIZATIONS, Config
from ibviewer.live.series import HistoryMirror

#: run colours (Okabe-Ito, readable on white and on a projector; distinct for colour-blind viewers)
RUN_COLOURS = [
    (0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (230, 159, 0), (86, 180, 233),
    (90, 90, 90), (140, 86, 75),
]

#: what "Add run" may change, with the label shown
CHANGES = (
    ("model.depth", "depth N"),
    ("model.init_scale", "α (initialization scale)"),
    ("optimizer.name", "optimizer"),
    ("optimizer.lr", "learning rate η"),
    ("model.parametrization", "parametrization"),
    ("run.seed", "initialization seed"),
)
SHORT = {"model.depth": "depth", "model.init_scale": "α", "optimizer.name": "", "optimizer.lr": "η",
         "model.parametrization": "", "run.seed": "seed", "model.weight_norm": "weight norm"}


@dataclass(eq=False)
class RunView:
    """The window's view of one run."""

    id: int
    name: str
    cfg: Config
    colour: tuple[int, int, int]
    visible: bool = True
    mirror: HistoryMirror = field(default_factory=HistoryMirror)
    entry: dict[str, Any] | None = None  # the run's part of the last snapshot
    refs: dict[str, Any] = field(default_factory=dict)
    product: Any = None  # its latest product, when the worker sends it
    said: int | None = None  # the step at which its divergence was reported


def fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def run_label(key: str, value: Any) -> str:
    """A run's name from what tells it apart: 'depth 2', 'α = 0.001', 'adam', 'seed 3'."""
    short = SHORT.get(key, key.split(".", 1)[-1])
    v = fmt_value(value)
    if not short:
        return v
    if short in ("α", "η"):
        return f"{short} = {v}"
    return f"{short} {v}"


#: short names of compared keys (as ibviewer.core.compare names runs: "depth=2, init_scale=0.1")
_KEYS = {"depth": "model.depth", "init_scale": "model.init_scale", "lr": "optimizer.lr", "name": "optimizer.name",
         "parametrization": "model.parametrization", "seed": "run.seed", "weight_norm": "model.weight_norm"}


def pretty_name(name: str) -> str:
    """'depth=2, init_scale=0.1' -> 'depth 2, α = 0.1' (names that are not key=value lists stay)."""
    parts = [p.strip() for p in str(name).split(",")]
    if not parts or not all("=" in p for p in parts):
        return str(name)
    out = []
    for p in parts:
        k, v = (x.strip() for x in p.split("=", 1))
        if k not in _KEYS:
            return str(name)
        if v in ("True", "False"):
            v = "on" if v == "True" else "off"
        out.append(run_label(_KEYS[k], v))
    return ", ".join(out)


def value_of(cfg: Config, key: str) -> Any:
    table, name = key.split(".", 1)
    return getattr(getattr(cfg, table), name)


def suggestions(cfg: Config, key: str) -> list[str]:
    """Values offered for ``key`` in the Add run dialog, the most likely first."""
    v = value_of(cfg, key)
    if key == "model.depth":
        return [str(d) for d in (v + 1, v - 1, 1, 2, 3, 4) if d >= 1 and d != v][:5] or ["2"]
    if key == "model.init_scale":
        return [f"{v * f:g}" for f in (0.1, 10, 0.01, 100)]
    if key == "optimizer.lr":
        return [f"{v * f:g}" for f in (0.5, 2, 0.1, 0.25)]
    if key == "optimizer.name":
        return [o for o in OPTIMIZERS if o != v]
    if key == "model.parametrization":
        return [p for p in PARAMETRIZATIONS.get(cfg.family, ()) if p != cfg.parametrization] or ["auto"]
    if key == "run.seed":
        return [str(v + i) for i in (1, 2, 3)]
    return [fmt_value(v)]


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


def describe(cfg: Config) -> str:
    o = cfg.optimizer
    return (f"depth {cfg.model.depth}, α = {cfg.model.init_scale:g}, {cfg.parametrization}, {o.name}, "
            f"η = {o.lr:g}, seed {cfg.run.seed}")
