"""The sweep viewer (File ▸ Open sweep): a sweep's phase diagram in the app.  Hovering a cell shows its numbers
(the cell's value, and each seed's metric and status); clicking it opens that run in the main window, with its
configuration and the seed chosen in the viewer, at step 0 and paused, ready to play.

The cells are those of the headless diagram (:func:`ibviewer.core.phase.phase_grid`), drawn here with a painter
so that hovering and clicking map straight to a cell; the folder is read by the Qt-free
:mod:`ibviewer.core.sweep_results`.
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRect, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
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
from ibviewer.core.phase import PhaseGrid, curve_points, literature_curve, phase_grid
from ibviewer.core.sweep import METRICS, PlotSpec, Sweep
from ibviewer.core.sweep_results import read_rows, read_spec

#: room for the axes' labels around the cells (pixels)
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP, MARGIN_RIGHT = 70, 46, 10, 70
#: the colour bar's width, right of the cells
BAR_WIDTH = 14


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
            self._draw_curve(p)
            self._draw_bar(p, fm)
            p.setPen(QPen(text))
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

    def _position(self, values: list[Any], v: np.ndarray) -> np.ndarray | None:
        """Where the values ``v`` of a numeric axis fall among its cells (cell i spans [i, i + 1])."""
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in values):
            return None
        order = np.argsort(values)
        if list(order) != list(range(len(values))) or len(values) < 2:
            return None  # only an axis swept in increasing order maps onto its cells
        return np.interp(v, np.asarray(values, float), np.arange(len(values))) + 0.5

    def _draw_curve(self, p: QPainter) -> None:
        """The literature's curve (basis pursuit's phase transition on m/n and s/m), as in phase.png."""
        g = self.grid
        if literature_curve(g.plot) is None:
            return
        xs, ys = np.asarray(g.xs, float), np.asarray(g.ys, float)
        pts = curve_points(g.plot, float(min(xs.min(), ys.min())), float(max(xs.max(), ys.max())))
        cx, cy = self._position(g.xs, pts[0]), self._position(g.ys, pts[1])
        if cx is None or cy is None:
            return
        inside = (pts[0] >= xs.min()) & (pts[0] <= xs.max()) & (pts[1] >= ys.min()) & (pts[1] <= ys.max())
        area = self._area()
        px = area.left() + cx * area.width() / len(g.xs)
        py = area.bottom() + 1 - cy * area.height() / len(g.ys)
        pen = QPen(QColor("#e8590c"))
        pen.setWidth(3)
        p.setPen(pen)
        poly = QPolygonF([QPointF(a, b) for a, b, ok in zip(px, py, inside) if ok])
        p.drawPolyline(poly)

    def _draw_bar(self, p: QPainter, fm) -> None:
        """The colour bar: the colour of the lowest and highest values, and the values."""
        area = self._area()
        bar = QRect(area.right() + 12, area.top(), BAR_WIDTH, area.height())
        for i in range(bar.height()):
            p.fillRect(QRect(bar.left(), bar.bottom() - i, bar.width(), 1),
                       self.cmap.map(i / max(bar.height() - 1, 1), mode="qcolor"))
        lo, hi = self._limits()
        p.setPen(QPen(self.palette().windowText().color()))
        p.drawText(QRect(bar.right() + 3, bar.top(), MARGIN_RIGHT, fm.height()), 0, f"{hi:.3g}")
        p.drawText(QRect(bar.right() + 3, bar.bottom() - fm.height(), MARGIN_RIGHT, fm.height()), 0, f"{lo:.3g}")

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
        self.main_window = window
        self.folder = Path(folder)
        self.sweep = read_spec(self.folder)  # OSError (one line) when it is not a sweep's folder
        self.rows = read_rows(self.folder)
        if not self.rows:
            raise OSError(f"{str(self.folder)!r} holds no finished run yet")
        self.plot = default_plot(self.sweep, self.rows)
        self.setObjectName("sweep_viewer")
        self.setWindowTitle(f"Sweep: {self.folder.name}")

        self.phase_map = PhaseMap(self)
        self.metric_box = QComboBox(objectName="sweep_metric")
        present = [m for m in METRICS if any(r.get(m) is not None for r in self.rows)]
        present += sorted({k for r in self.rows for k, v in r.items() if k.startswith("dist_") and v is not None})
        if self.plot.metric not in present:
            present.insert(0, self.plot.metric)
        self.metric_box.addItems(present)
        self.metric_box.setCurrentText(self.plot.metric)
        self.facet_box = QComboBox(objectName="sweep_facet")
        self.seed_box = QComboBox(objectName="sweep_seed")
        for s in self.sweep.seeds:
            self.seed_box.addItem(str(s), s)
        self.info_label = QLabel(objectName="sweep_info")
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info_label.setMinimumHeight(120)
        self.info_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.caption_label = QLabel(objectName="sweep_caption")
        self.caption_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("metric", self.metric_box)
        form.addRow("panel", self.facet_box)
        form.addRow("seed to open", self.seed_box)
        lay = QVBoxLayout(self)
        lay.addWidget(self.caption_label)
        lay.addLayout(form)
        lay.addWidget(self.phase_map, 1)
        lay.addWidget(self.info_label)

        self.metric_box.currentTextChanged.connect(self._metric_changed)
        self.facet_box.currentIndexChanged.connect(self._facet_changed)
        self.phase_map.hovered.connect(self.show_cell)
        self.phase_map.clicked.connect(lambda iy, ix: self.open_cell(iy, ix))
        self.set_metric(self.plot.metric)
        self.resize(640, 620)

    # ------------------------------------------------------------------ what is shown
    @property
    def grid(self) -> PhaseGrid:
        return self.phase_map.grid

    def set_metric(self, metric: str) -> None:
        """Show ``metric`` (the sweep's threshold applies to the sweep's own metric; others show the mean)."""
        own = self.sweep.plot is not None and metric == self.sweep.plot.metric
        self.plot = PlotSpec(x=self.plot.x, y=self.plot.y, metric=metric,
                             threshold=self.sweep.plot.threshold if own else None)
        grid = phase_grid(self.sweep, self.rows, self.plot)
        facet = min(self.facet_box.currentIndex(), len(grid.facets) - 1) if self.facet_box.count() else 0
        self.facet_box.blockSignals(True)
        self.facet_box.clear()
        self.facet_box.addItems([grid.facet_title(f) or "all runs" for f in range(len(grid.facets))])
        self.facet_box.setCurrentIndex(max(facet, 0))
        self.facet_box.setEnabled(len(grid.facets) > 1)
        self.facet_box.blockSignals(False)
        self.phase_map.show_grid(grid, max(facet, 0))
        done = len(self.rows)
        title = self.sweep.meta.get("title") or self.folder.name
        curve = literature_curve(grid.plot)
        line = f"; the line: {curve[0]}" if curve else ""
        self.caption_label.setText(f"<b>{escape(str(title))}</b><br>{escape(grid.label)}{escape(line)}; {done} of "
                                   f"{self.sweep.run_count} runs. Hover a cell for its numbers; click it to open "
                                   "its run (the seed chosen above).")
        self.info_label.setText("")

    def _metric_changed(self, metric: str) -> None:
        if metric:
            self.set_metric(metric)

    def _facet_changed(self, index: int) -> None:
        if index >= 0:
            self.phase_map.show_grid(self.grid, index)

    def cell_text(self, iy: int, ix: int) -> str:
        """The numbers of the cell (iy, ix) of the panel shown."""
        return self.grid.describe(self.phase_map.facet, iy, ix)

    def show_cell(self, iy: int, ix: int) -> None:
        """The cell's numbers below the diagram and as the tooltip ((-1, -1): none)."""
        text = "" if iy < 0 else self.cell_text(iy, ix)
        self.info_label.setText(text)
        self.phase_map.setToolTip(text)

    # ------------------------------------------------------------------ opening a run
    def cell_values(self, iy: int, ix: int) -> dict[str, Any]:
        """The grid values of the cell (iy, ix) of the panel shown (and its seed, when seeds are an axis)."""
        g = self.grid
        values = dict(g.facets[self.phase_map.facet])
        values[g.plot.x] = g.xs[ix]
        values[g.plot.y] = g.ys[iy]
        return values

    def open_cell(self, iy: int, ix: int, seed: int | None = None) -> bool:
        """Open the run of cell (iy, ix) with ``seed`` (default: the seed chosen in the viewer) in the main
        window, at step 0 and paused; a run that cannot be built gives one line in the status bar."""
        values = self.cell_values(iy, ix)
        seed = values.pop("seed", seed if seed is not None else self.seed_box.currentData())
        values = {k: values[k] for k in self.sweep.keys}
        try:
            cfg = self.sweep.config(values, seed)
        except ConfigError as exc:
            self.main_window.show_error(f"this run cannot be opened: {exc}")
            return False
        index = next((r["run"] for r in self.rows if r["seed"] == seed and all(
            repr(r.get(k)) == repr(v) for k, v in values.items())), -1)
        where = ", ".join(f"{k} = {_text(v)}" for k, v in values.items())
        self.main_window.pause()
        self.main_window.apply_config(cfg, f"sweep run {where}, seed {seed}: ready to play")
        self.run_opened.emit(index)
        return True
