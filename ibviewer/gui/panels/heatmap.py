"""The heatmap panel: the current end-to-end product W beside the ground truth W* on one colour scale."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

from ibviewer.gui.panels.base import Panel
from ibviewer.gui.panels.style import BLACK, FONT_PT, style_axis
from ibviewer.live.display import display_matrix
from ibviewer.live.draw import DrawContext
from ibviewer.live.series import nice_ceil

class HeatmapPanel(Panel):
    name = "heatmap"
    title = "W beside ground truth W*"
    tooltip = ("Entries of the current end-to-end product W (left) and of the ground truth W* (right; for\n"
               "Razin–Cohen the observed entries), one shared symmetric colour scale")

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setToolTip(self.tooltip)
        self.widget = self.glw
        self.cmap = pg.colormap.get("CET-D1")
        # one view holds both images side by side: the same scale for both, whatever the panel's shape
        self.vb = self.glw.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMouse=False)
        self.img_w = pg.ImageItem()
        self.img_t = pg.ImageItem()
        self.vb.addItem(self.img_w)
        self.vb.addItem(self.img_t)
        f = QFont()
        f.setPointSize(FONT_PT + 1)
        self.title_w = pg.TextItem("current W", color=BLACK, anchor=(0.5, 1.0))
        self.title_t = pg.TextItem("ground truth W*", color=BLACK, anchor=(0.5, 1.0))
        for t in (self.title_w, self.title_t):
            t.setFont(f)
            self.vb.addItem(t, ignoreBounds=True)
        #: each title in full and short ("ground truth W*", "W*"): the short one where the full one is wider than
        #: its image and half the gaps beside it (it ran into the other title or under the colour bar)
        self.titles = {self.title_w: ("current W", "W"), self.title_t: ("ground truth W*", "W*")}
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=self.cmap, interactive=False, width=14)
        self.bar.setImageItem([self.img_w, self.img_t])
        self.glw.addItem(self.bar, row=0, col=1)
        style_axis(self.bar.axis)
        self.level = 1.0
        self.has_target = False
        self.shape = (1, 1)
        #: the matrix's own shape (the images are placed over it, whatever their resolution); None: the image's
        self.extent: tuple[int, int] | None = None
        self.vb.sigResized.connect(self._fit_titles)

    # ------------------------------------------------------------------ looks (app settings)
    def set_dark(self, on: bool) -> None:
        """The images keep their colours; the background, the titles and the colour bar's axis follow."""
        bg, fg = ((30, 32, 36), (225, 225, 225)) if on else ("w", BLACK)
        self.glw.setBackground(bg)
        for t in (self.title_w, self.title_t):
            t.setColor(fg)
        self.bar.axis.setPen(pg.mkPen(fg))
        self.bar.axis.setTextPen(pg.mkPen(fg))

    def set_font_scale(self, scale: float) -> None:
        """The colour bar's ticks at ``scale`` times their size, the titles up to 1.15 times (they sit over images
        whose width the panel, not the text, decides: larger, the two titles ran into each other)."""
        f = QFont()
        f.setPointSizeF((FONT_PT + 1) * min(scale, 1.15))
        for t in (self.title_w, self.title_t):
            t.setFont(f)
        self._fit_titles()
        tick = QFont()
        tick.setPointSizeF(FONT_PT * scale)
        self.bar.axis.setStyle(tickFont=tick)
        self.bar.axis.setWidth(int(40 * max(1.0, scale)))

    def _place(self, shape) -> None:
        r, c = int(shape[0]), int(shape[1])
        self.shape = (r, c)
        gap = max(1.0, 0.15 * c)
        self.img_w.setRect(0, 0, c, r)
        self.img_t.setRect(c + gap, 0, c, r)
        top = -0.04 * r
        self.title_w.setPos(c / 2, top)
        self.title_t.setPos(c + gap + c / 2, top)
        self.vb.setRange(xRange=(0, 2 * c + gap), yRange=(-0.18 * r, r), padding=0.02)
        self._fit_titles()

    def _set_title(self, item: pg.TextItem, full: str, short: str) -> None:
        self.titles[item] = (full, short)
        self._fit_titles()

    def _fit_titles(self) -> None:
        """Each title in full where it fits over its image (with half the gap on each side), else short."""
        c = self.shape[1]
        span = self.vb.viewRange()[0][1] - self.vb.viewRange()[0][0]
        if not span > 0 or self.vb.width() <= 0 or self.vb.height() <= 0:
            return  # laid out at no size yet (hidden, or a dock being floated): nothing to fit
        room = (c + max(1.0, 0.15 * c)) * self.vb.width() / span  # pixels: the image and a gap's width
        for item, (full, short) in self.titles.items():
            metrics = QFontMetricsF(item.textItem.font())
            text = full if metrics.horizontalAdvance(full) <= room else short
            if item.textItem.toPlainText() != text:
                item.setText(text)

    def set_info(self, info):
        super().set_info(info)
        shape = tuple(info.get("shape", (1, 1)))
        if len(shape) != 2:
            shape = (1, max(shape) if shape else 1)
        self.extent = (int(shape[0]), int(shape[1]))
        t = info.get("target")
        self.has_target = t is not None and np.ndim(t) == 2
        self.img_w.clear()
        if self.has_target:
            t = np.asarray(t, float)
            self.level = float(np.nanmax(np.abs(t))) or 1.0
            self.img_t.setImage(display_matrix(t), autoLevels=False, levels=(-self.level, self.level))
            self._set_title(self.title_t, "ground truth W*", "W*")
        elif info.get("observed") is not None and len(info["observed"]) == 3:
            # no ground truth (Razin-Cohen): the observed entries, the others blank
            rows, cols, vals = (np.asarray(a) for a in info["observed"])
            m = np.full(shape, np.nan)
            m[rows, cols] = vals
            self.level = 1.0
            self.img_t.setImage(m, autoLevels=False, levels=(-self.level, self.level))
            self._set_title(self.title_t, "observed entries", "observed")
        else:
            self.level = 1.0
            self.img_t.clear()
            self._set_title(self.title_t, "(no ground truth)", "(none)")
        self._place(shape)
        self.bar.setLevels(low=-self.level, high=self.level)

    def update(self, ctx: DrawContext) -> None:
        run = ctx.selected_run() if ctx.comparing else None
        title = (f"W of {run.name}", run.name) if run is not None else ("current W", "W")
        if self.titles[self.title_w] != title:
            self._set_title(self.title_w, *title)
        p = ctx.product
        if p is None or np.ndim(p) != 2:
            return
        if not self.has_target:
            m = float(np.abs(p).max())
            if m > self.level:  # grow the symmetric scale in 1-2-5 steps
                self.level = nice_ceil(m)
                self.bar.setLevels(low=-self.level, high=self.level)
                if self.img_t.image is not None:
                    self.img_t.setLevels((-self.level, self.level))
        first = self.img_w.image is None
        # a large W arrives as a block-mean image from the worker, or whole from a run's snapshots: drawn alike
        self.img_w.setImage(display_matrix(p), autoLevels=False, levels=(-self.level, self.level))
        extent = self.extent if self.extent is not None else tuple(np.shape(p))
        if first or extent != self.shape:
            self._place(extent)  # an ImageItem's rect needs its image: place it once that is set
