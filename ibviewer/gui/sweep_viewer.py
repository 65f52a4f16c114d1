"""The sweep viewer (File ▸ Open sweep): a sweep's phase diagram in the app.  Hovering a cell shows its numbers
(the cell's value, and each seed's metric and status); clicking it opens that run in the main window, with its
configuration and the seed chosen in the viewer, at step 0 and paused, ready to play.

The cells are those of the headless diagram (:func:`ibviewer.core.phase.phase_grid`), drawn here with a painter
so that hovering and clicking map straight to a cell; the folder is read by the Qt-free
:mod:`ibviewer.core.sweep_results`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ibviewer.core.config import ConfigError
from ibviewer.core.phase import PhaseGrid, phase_grid
from ibviewer.core.sweep import METRICS, PlotSpec, Sweep
from ibviewer.core.sweep_results import read_rows, read_spec

#: room for the axes' labels around the cells (pixels)
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP, MARGIN_RIGHT = 70, 46, 10, 10


def _text(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


class PhaseMap(QWidget):
    """One facet of a phase diagram as coloured cells (x to the right, y upwards, in grid order); emits the cell
    under the mouse (``hovered``; (-1, -1) off the cells) and the cell clicked (``clicked``), as (iy, ix)."""

    hovered = Signal(int, int)
    clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("phase_map")
        self.setMouseTracking(True)
        self.setMinimumSize(360, 300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.grid: PhaseGrid | None = None
        self.facet = 0
        self.cmap = pg.colormap.get("viridis")

    def show_grid(self, grid: PhaseGrid, facet: int = 0) -> None:
        self.grid, self.facet = grid, facet
        self.update()

    def _area(self) -> QRect:
        return self.rect().adjusted(MARGIN_LEFT, MARGIN_TOP, -MARGIN_RIGHT, -MARGIN_BOTTOM)

    def cell_rect(self, iy: int, ix: int) -> QRect:
        """Where the cell (iy, ix) is drawn, in widget coordinates."""
        g, area = self.grid, self._area()
        nx, ny = len(g.xs), len(g.ys)
        x0 = area.left() + area.width() * ix // nx
        x1 = area.left() + area.width() * (ix + 1) // nx
        y1 = area.bottom() + 1 - area.height() * iy // ny
        y0 = area.bottom() + 1 - area.height() * (iy + 1) // ny
        return QRect(x0, y0, x1 - x0, y1 - y0)

    def cell_center(self, iy: int, ix: int) -> QPoint:
        return self.cell_rect(iy, ix).center()

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        """The cell (iy, ix) under ``pos``, or None."""
        if self.grid is None:
            return None
        for iy in range(len(self.grid.ys)):
            for ix in range(len(self.grid.xs)):
                if self.cell_rect(iy, ix).contains(pos):
                    return iy, ix
        return None

    def _limits(self) -> tuple[float, float]:
        g = self.grid
        if g.plot.threshold is not None:
            return 0.0, 1.0
        finite = g.values[np.isfinite(g.values)]
        if not finite.size:
            return 0.0, 1.0
        return float(finite.min()), float(finite.max())

    def colour(self, value: float) -> QColor:
        if math.isnan(value):
            return QColor("#d0d0d0")  # no run gave the metric
        lo, hi = self._limits()
        t = 0.5 if hi <= lo else (value - lo) / (hi - lo)
        return self.cmap.map(min(max(t, 0.0), 1.0), mode="qcolor")

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        if self.grid is None:
            return
        g, p = self.grid, QPainter(self)
        try:
            text = self.palette().windowText().color()
            for iy in range(len(g.ys)):
                for ix in range(len(g.xs)):
                    p.fillRect(self.cell_rect(iy, ix), self.colour(float(g.values[self.facet, iy, ix])))
            p.setPen(QPen(text))
            area = self._area()
            fm = p.fontMetrics()
            for ix, v in enumerate(g.xs):
                r = self.cell_rect(0, ix)
                p.drawText(QRect(r.left(), area.bottom() + 4, r.width(), fm.height()),
                           Qt.AlignmentFlag.AlignHCenter, _text(v))
            for iy, v in enumerate(g.ys):
                r = self.cell_rect(iy, 0)
                p.drawText(QRect(0, r.top(), MARGIN_LEFT - 6, r.height()),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, _text(v))
            p.drawText(QRect(area.left(), area.bottom() + 6 + fm.height(), area.width(), fm.height()),
                       Qt.AlignmentFlag.AlignHCenter, g.plot.x)
            p.save()
            p.translate(fm.height(), area.center().y())
            p.rotate(-90)
            p.drawText(QRect(-area.height() // 2, -fm.height(), area.height(), fm.height()),
                       Qt.AlignmentFlag.AlignHCenter, g.plot.y)
            p.restore()
        finally:
            p.end()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        cell = self.cell_at(event.position().toPoint())
        self.hovered.emit(*(cell or (-1, -1)))
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        cell = self.cell_at(event.position().toPoint())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(*cell)
        super().mousePressEvent(event)


def default_plot(sweep: Sweep, rows: list[dict[str, Any]]) -> PlotSpec:
    """The sweep's own plot, else its first two grid keys (or the first and the seeds) and a metric it has."""
    if sweep.plot is not None:
        return sweep.plot
    keys = sweep.keys
    y = keys[1] if len(keys) > 1 else "seed"
    metric = next((m for m in ("relative_error", "final_loss") if any(r.get(m) is not None for r in rows)),
                  "final_loss")
    return PlotSpec(x=keys[0], y=y, metric=metric)


class SweepViewer(QDialog):
    """A sweep's folder shown as its phase diagram, beside the main window ``window`` (it does not block)."""

    #: a run was opened in the main window (its index in the sweep)
    run_opened = Signal(int)

    def __init__(self, window: QMainWindow, folder: str | Path):
        super().__init__(window)
        self.window = window
        self.folder = Path(folder)
        self.sweep = read_spec(self.folder)  # OSError (one line) when it is not a sweep's folder
        self.rows = read_rows(self.folder)
        if not self.rows:
            raise OSError(f"{str(self.folder)!r} holds no finished run yet")
        self.plot = default_plot(self.sweep, self.rows)
        self.setObjectName("sweep_viewer")
        self.setWindowTitle(f"Sweep: {self.folder.name}")

        self.map = PhaseMap(self)
        self.metric = QComboBox(objectName="sweep_metric")
        present = [m for m in METRICS if any(r.get(m) is not None for r in self.rows)]
        present += sorted({k for r in self.rows for k, v in r.items() if k.startswith("dist_") and v is not None})
        if self.plot.metric not in present:
            present.insert(0, self.plot.metric)
        self.metric.addItems(present)
        self.metric.setCurrentText(self.plot.metric)
        self.facet = QComboBox(objectName="sweep_facet")
        self.seed = QComboBox(objectName="sweep_seed")
        for s in self.sweep.seeds:
            self.seed.addItem(str(s), s)
        self.info = QLabel(objectName="sweep_info")
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setMinimumHeight(120)
        self.info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.caption = QLabel(objectName="sweep_caption")
        self.caption.setWordWrap(True)

        form = QFormLayout()
        form.addRow("metric", self.metric)
        form.addRow("panel", self.facet)
        form.addRow("seed to open", self.seed)
        lay = QVBoxLayout(self)
        lay.addWidget(self.caption)
        lay.addLayout(form)
        lay.addWidget(self.map, 1)
        lay.addWidget(self.info)

        self.metric.currentTextChanged.connect(self._metric_changed)
        self.facet.currentIndexChanged.connect(self._facet_changed)
        self.map.hovered.connect(self.show_cell)
        self.map.clicked.connect(lambda iy, ix: self.open_cell(iy, ix))
        self.set_metric(self.plot.metric)
        self.resize(640, 620)

    # ------------------------------------------------------------------ what is shown
    @property
    def grid(self) -> PhaseGrid:
        return self.map.grid

    def set_metric(self, metric: str) -> None:
        """Show ``metric`` (the sweep's threshold applies to the sweep's own metric; others show the mean)."""
        own = self.sweep.plot is not None and metric == self.sweep.plot.metric
        self.plot = PlotSpec(x=self.plot.x, y=self.plot.y, metric=metric,
                             threshold=self.sweep.plot.threshold if own else None)
        grid = phase_grid(self.sweep, self.rows, self.plot)
        facet = min(self.facet.currentIndex(), len(grid.facets) - 1) if self.facet.count() else 0
        self.facet.blockSignals(True)
        self.facet.clear()
        self.facet.addItems([grid.facet_title(f) or "all runs" for f in range(len(grid.facets))])
        self.facet.setCurrentIndex(max(facet, 0))
        self.facet.setEnabled(len(grid.facets) > 1)
        self.facet.blockSignals(False)
        self.map.show_grid(grid, max(facet, 0))
        done = len(self.rows)
        title = self.sweep.meta.get("title") or self.folder.name
        self.caption.setText(f"<b>{title}</b><br>{grid.label}; {done} of {self.sweep.run_count} runs. Hover a "
                             "cell for its numbers; click it to open its run (the seed chosen above).")
        self.info.setText("")

    def _metric_changed(self, metric: str) -> None:
        if metric:
            self.set_metric(metric)

    def _facet_changed(self, index: int) -> None:
        if index >= 0:
            self.map.show_grid(self.grid, index)

    def cell_text(self, iy: int, ix: int) -> str:
        """The numbers of the cell (iy, ix) of the panel shown."""
        return self.grid.describe(self.map.facet, iy, ix)

    def show_cell(self, iy: int, ix: int) -> None:
        """The cell's numbers below the diagram and as the tooltip ((-1, -1): none)."""
        text = "" if iy < 0 else self.cell_text(iy, ix)
        self.info.setText(text)
        self.map.setToolTip(text)

    # ------------------------------------------------------------------ opening a run
    def cell_values(self, iy: int, ix: int) -> dict[str, Any]:
        """The grid values of the cell (iy, ix) of the panel shown (and its seed, when seeds are an axis)."""
        g = self.grid
        values = dict(g.facets[self.map.facet])
        values[g.plot.x] = g.xs[ix]
        values[g.plot.y] = g.ys[iy]
        return values

    def open_cell(self, iy: int, ix: int, seed: int | None = None) -> bool:
        """Open the run of cell (iy, ix) with ``seed`` (default: the seed chosen in the viewer) in the main
        window, at step 0 and paused; a run that cannot be built gives one line in the status bar."""
        values = self.cell_values(iy, ix)
        seed = values.pop("seed", seed if seed is not None else self.seed.currentData())
        values = {k: values[k] for k in self.sweep.keys}
        try:
            cfg = self.sweep.config(values, seed)
        except ConfigError as exc:
            self.window.show_error(f"this run cannot be opened: {exc}")
            return False
        index = next((r["run"] for r in self.rows if r["seed"] == seed and all(
            repr(r.get(k)) == repr(v) for k, v in values.items())), -1)
        where = ", ".join(f"{k} = {_text(v)}" for k, v in values.items())
        self.window.pause()
        self.window.apply_config(cfg, f"sweep run {where}, seed {seed}: ready to play")
        self.run_opened.emit(index)
        return True
