"""Exports: animations rendered from a run's history, stills (PNG of a panel or of the layout, SVG of a panel),
and the history itself (CSV, NPZ).

An :class:`ExportLayout` is a widget of its own, never shown on screen: the chosen panels (fresh instances, styled
by a :mod:`~ibviewer.gui.themes` theme) in a grid at the export size, under an optional caption with the run's
setting and a step counter.  It is not a grab of the window, so a 1920x1080 video looks the same whatever the
window's size.

Rendering follows the recipe of ``docs/architecture.md``: the panels draw :class:`~ibviewer.live.draw.DrawContext`
objects of decimated data (:class:`~ibviewer.live.series.Frame`), built here from the recorded
:class:`~ibviewer.gui.timeline.RunSource` s (no window is involved); their axis ranges are fitted once to the
whole run before the first frame (no range change, hence no tick regeneration, while frames are made), pending
LayoutRequest events are delivered before each frame, and every frame is rendered into one reused QImage whose
BGRA bytes go to the encoder thread (:class:`~ibviewer.core.recording.FrameWriter`) without a copy on this side.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QRegion
from PySide6.QtWidgets import QApplication, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ibviewer.core.geometry import geometry_applies
from ibviewer.core.preset_text import look_for_caption
from ibviewer.core.recording import (  # noqa: F401 - parse_size re-exported
    CHROMA_420,
    MIN_COLOUR_PX,
    FrameWriter,
    RecordingError,
    first_visible_step,
    frame_schedule,
    parse_size,
)
from ibviewer.gui.gc_policy import collect_cycles_between_events
from ibviewer.gui.panels import PANEL_CLASSES, HeatmapPanel, PlotPanel, panel_layout, setup_pyqtgraph
from ibviewer.gui.themes import (
    Theme,
    apply_theme,
    caption_text,
    caption_title,
    common_caption,
    get_theme,
    paint_background,
    style_title,
)
from ibviewer.gui.timeline import STATE_PANELS, Cursor, RunSource, cursor_x, is_time_panel
from ibviewer.live.draw import DrawContext, RunFrame
from ibviewer.live.series import BUCKETS, Frame, symbols

X_MODES = ("step", "log_step", "time")


def default_panels(cfg) -> list[str]:
    """The panels of a run's default layout (the window's columns, without the tabbed-behind ones)."""
    cols, _tabs = panel_layout(cfg.family, cfg.model.depth, cfg.parametrization, cfg.problem.kind,
                               geometry_applies(cfg))
    return [n for col in cols for n in col]


def available_panels(cfg) -> list[str]:
    cols, tabs = panel_layout(cfg.family, cfg.model.depth, cfg.parametrization, cfg.problem.kind,
                              geometry_applies(cfg))
    names = [n for col in cols for n in col] + [t for t, _ in tabs]
    return list(dict.fromkeys(names))


def check_panels(names: Sequence[str], cfg) -> list[str]:
    allowed = available_panels(cfg)
    bad = [n for n in names if n not in allowed]
    if bad:
        raise RecordingError(f"panel {bad[0]!r} is not available for this run; choose from: {', '.join(allowed)}")
    if not names:
        raise RecordingError(f"no panel chosen; choose from: {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def grid_shape(n: int, width: int, height: int, aspect: float = 1.45) -> tuple[int, int]:
    """(columns, rows) for ``n`` panels that makes the cells closest to ``aspect`` (width / height)."""
    best, best_err = (n, 1), math.inf
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        if (cols - 1) * rows >= n and cols > 1:
            continue
        cell = (width / cols) / (height / rows)
        err = abs(math.log(cell / aspect)) + 0.08 * (cols * rows - n)
        if err < best_err:
            best, best_err = (cols, rows), err
    return best


def even_size(w: int, h: int) -> tuple[int, int]:
    return w - (w % 2), h - (h % 2)


@dataclass(eq=False)
class CompareRun:
    """A compared run of an export: its name and colour, its recorded source, and (as of the shown step) its
    product and rows (a HistoryView)."""

    id: int
    name: str
    colour: tuple[int, int, int]
    source: RunSource
    visible: bool = True
    product: Any = None
    mirror: Any = None

    @property
    def cfg(self):
        return self.source.cfg

    def as_drawn(self, x_mode: str, buckets: int) -> RunFrame:
        """The run as the panels draw it."""
        return RunFrame(self.id, self.name, self.colour, Frame(self.mirror, x_mode, buckets), self.source.cfg,
                        self.source.info.get("refs", {}), self.product)


def deliver_layout() -> None:
    """Pending LayoutRequest events (or axis labels go missing in rendered frames)."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)


class ExportLayout(QWidget):
    """The chosen panels of a run, themed and laid out at ``size``, rendered off screen one step at a time.

    ``reveal``: ``"grow"`` draws the time plots up to the shown step (the curves grow, axes fixed to the whole
    run); ``"cursor"`` draws them whole with a cursor line at the shown step.
    """

    def __init__(self, source: RunSource, panels: Sequence[str] | None = None, size: tuple[int, int] = (1920, 1080),
                 theme: Theme | str = "light", *, x_mode: str = "log_step", caption: bool = True,
                 reveal: str = "grow", title: str | None = None, panel_state: dict[str, dict] | None = None,
                 buckets: int = BUCKETS, compare: Sequence[tuple[RunSource, str, tuple[int, int, int]]] | None = None):
        """``compare``: several runs to overlay, each (source, name, colour), ``source`` among them (the selected
        run: the heatmap's W and the caption's setting are its).  Rows passed to :meth:`show_row` are rows of
        :attr:`clock`, the run that trained longest."""
        super().__init__()
        setup_pyqtgraph()
        collect_cycles_between_events()  # building panels with the automatic collector can hang (gc_policy)
        self.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        # never mapped, yet "visible": it must not keep the app running once its last real window closed
        self.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        if isinstance(theme, str):
            theme = get_theme(theme)
        self.theme = theme
        self.source = source
        self.x_mode = x_mode
        self.reveal = reveal
        self.buckets = buckets
        self.names = check_panels(list(panels) if panels else default_panels(source.cfg), source.cfg)
        self.runs: list[CompareRun] = []
        self.selected_id = 0
        self.clock = source
        if compare and len(compare) > 1:
            self.runs = [CompareRun(i, name, tuple(colour), src) for i, (src, name, colour) in enumerate(compare)]
            self.selected_id = next((r.id for r in self.runs if r.source is source), 0)
            self.clock = max((r.source for r in self.runs), key=lambda s: (s.last_step, s is source))
        self.run_frames: tuple[RunFrame, ...] = ()
        self.panels: dict[str, Any] = {}
        self.cursors: dict[str, Cursor] = {}
        self.row = -1
        self._image: QImage | None = None
        self._primed = False
        self._full_drawn = False
        self._bg: QImage | None = None
        self._bg_key = None
        #: (view, rectangle in the frame, rectangle in the view) of the plots redrawn every frame
        self.dynamic_regions: list = []
        self._step_pos = QPoint(0, 0)

        paint_background(self, theme)
        outer = QVBoxLayout(self)
        m = max(4, theme.px(10))
        outer.setContentsMargins(m, m // 2, m, m // 2)
        outer.setSpacing(m // 2)
        self.caption = None
        if caption:
            self.caption = self._build_caption(title)
            outer.addWidget(self.caption)
        grid_box = QWidget()
        paint_background(grid_box, theme)
        grid = QGridLayout(grid_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(theme.px(18))
        grid.setVerticalSpacing(theme.px(10))
        outer.addWidget(grid_box, 1)
        self.resize(*size)
        cols, rows = grid_shape(len(self.names), size[0], size[1])
        self.titles: dict[str, QLabel] = {}
        for i, name in enumerate(self.names):
            panel = PANEL_CLASSES[name](x_mode=x_mode)
            panel.set_info(source.info)
            panel.restore((panel_state or {}).get(name) or {})
            apply_theme(panel, theme)
            self.panels[name] = panel
            cell = QWidget()
            paint_background(cell, theme)
            v = QVBoxLayout(cell)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(0)
            t = QLabel()
            style_title(t, panel.title, theme)
            t.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.titles[name] = t
            v.addWidget(t)
            v.addWidget(panel.widget, 1)
            grid.addWidget(cell, i // cols, i % cols)
            if reveal == "cursor" and is_time_panel(panel):
                c = Cursor(panel, colour=theme.accent, width=theme.width(1.5))
                self.cursors[name] = c
        for c in range(cols):
            grid.setColumnStretch(c, 1)
        for r in range(rows):
            grid.setRowStretch(r, 1)
        self.set_size(size)

    # ------------------------------------------------------------------ building
    def _build_caption(self, title: str | None) -> QWidget:
        th = self.theme
        box = QWidget()
        box.setAutoFillBackground(True)
        box.setStyleSheet(f"background: rgb{th.caption_bg}; border-radius: {th.px(6)}px;")
        h = QHBoxLayout(box)
        pad = th.px(12)
        h.setContentsMargins(pad, th.px(6), pad, th.px(6))
        cfg = self.source.cfg
        self.lbl_title = QLabel()
        self.lbl_title.setTextFormat(Qt.TextFormat.RichText)
        big, small = th.px(th.caption_px), th.px(th.caption_px * 0.8)
        text = title if title is not None else caption_title(cfg, self.source.name)
        setting = caption_text(cfg)
        if self.runs:  # what the runs share (what tells them apart is in every panel's legend)
            setting = common_caption([r.cfg for r in self.runs])
        self.lbl_title.setText(
            f'<span style="font-size:{big}px; font-weight:bold; color:{th.css_fg}">{_esc(text)}</span>'
            f'<span style="font-size:{big}px; color:{th.css_fg}"> &nbsp;·&nbsp; </span>'
            f'<span style="font-size:{small + 2}px; color:{th.css_fg}">{_esc(setting)}</span>'
            + (f'<br><span style="font-size:{small}px; color:{th.css_fg}">{symbols(_esc(look))}</span>'
               if (look := look_for_caption(cfg.meta) if title is None else "") else ""))
        self.lbl_title.setWordWrap(True)  # the look-for line may be longer than the frame is wide
        self.lbl_title.setStyleSheet("background: transparent;")
        self.lbl_step = QLabel()
        self.lbl_step.setTextFormat(Qt.TextFormat.PlainText)
        self.lbl_step.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        f = self.lbl_step.font()
        f.setPixelSize(th.px(th.counter_px))
        f.setBold(True)
        f.setStyleHint(f.StyleHint.Monospace)
        self.lbl_step.setFont(f)
        self.lbl_step.setStyleSheet(f"color: rgb{th.accent}; background: transparent;")
        total = max(int(self.clock.last_step), int(getattr(cfg.run, "steps", 0) or 0))
        digits = len(f"{total:,}")
        # a fixed width: the counter changing never re-lays out the frame
        self.lbl_step.setFixedWidth(int(th.px(th.counter_px) * (0.62 * (digits + 6) + 0.5)))
        self.lbl_step.setText(f"step {total:,}")
        self.lbl_step.setFixedHeight(self.lbl_step.sizeHint().height())
        h.addWidget(self.lbl_title, 1)
        h.addWidget(self.lbl_step)
        return box

    def set_size(self, size: tuple[int, int]) -> None:
        self.size_px = (int(size[0]), int(size[1]))
        self.setFixedSize(QSize(*self.size_px))
        self._image = None
        self.ensure_laid_out()

    def ensure_laid_out(self) -> None:
        if not self.isVisible():
            self.show()  # WA_DontShowOnScreen: polished and laid out, never mapped
        deliver_layout()
        QApplication.processEvents()
        deliver_layout()

    # ------------------------------------------------------------------ drawing
    def _set_runs(self, step: int, *, full: bool = False) -> None:
        """Every compared run as of ``step`` (its last row at or before it): product, rows, frame."""
        frames = []
        for r in self.runs:
            src = r.source
            row = src.index_of_step(step)
            r.product = src.product_at(row)
            r.mirror = src.view(src.n if full else row + 1)
            frames.append(r.as_drawn(self.x_mode, self.buckets))
        self.run_frames = tuple(frames)

    def context(self, frame: Frame, snap: dict[str, Any] | None) -> DrawContext:
        """What the panels draw: the shown run's ``frame`` and ``snap``; when comparing, every run as last set
        by :meth:`_set_runs`."""
        return DrawContext(frame, snap, self.x_mode, self.run_frames, self.selected_id, comparing=bool(self.runs),
                           ready=True, markers=self.source.markers, annotations=self.source.annotations)

    def prime(self) -> None:
        """Fit every axis to the whole run once (ranges then stay put while frames are made)."""
        src = self.source
        if src.n == 0:
            return
        full = Frame(src.view(src.n), self.x_mode, self.buckets)
        steps = {int(src.steps[-1]), int(self.clock.last_step)}
        for r in self.runs or [None]:
            s = src if r is None else r.source
            st = s.cols.get("state")
            if st is not None and st.ndim >= 2 and s.n:
                flat = st[: s.n].reshape(s.n, -1)
                try:
                    with np.errstate(invalid="ignore"), warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        extremes = [int(np.nanargmax(np.nanmax(flat, axis=1))), int(np.nanargmin(np.nanmin(flat, axis=1)))]
                    steps.update(int(s.steps[i]) for i in extremes)
                except ValueError:  # no finite state at all (a run that diverged at once)
                    pass
        for step in sorted(steps):
            row = src.index_of_step(step)
            snap = {"product": src.product_at(row), "step": step}
            if self.runs:
                self._set_runs(step, full=True)
            ctx = self.context(full, snap)
            for p in self.panels.values():
                p.update(ctx)
        for p in self.panels.values():  # curves made by the first draw get the theme too
            apply_theme(p, self.theme)
        if self.x_mode == "log_step":
            self._tight_log_x(Frame(self.clock.view(self.clock.n), self.x_mode, self.buckets))
        stems = self.panels.get("stems")
        if stems is not None and len(getattr(stems, "idx", ())):
            # coordinates 0..n-1 edge to edge (the window's 1-2-5 range leaves a third of the plot empty)
            n = float(len(stems.idx))
            stems.xkeep.range = (-1.0, n)
            stems.vb.setXRange(-1.0, n, padding=0.01)
        self._primed = True

    def _tight_log_x(self, frame: Frame) -> None:
        """Log step axes end at the run's last step, not at the next whole decade (a 1,500-step run would
        leave 40 % of every plot empty); set once, so no range changes while frames are made."""
        x = frame.x
        f = x[np.isfinite(x)] if len(x) else x
        if len(f) < 2:
            return
        lo, hi = float(f.min()), float(f.max())
        if not hi > lo:
            return
        for p in self.panels.values():
            if isinstance(p, PlotPanel) and is_time_panel(p) and p.x_mode == "log_step":
                p.xkeep.range = (lo, hi)
                p.vb.setXRange(lo, hi, padding=0.02)

    def show_row(self, row: int) -> None:
        """Draw every panel as of history row ``row`` of :attr:`clock` (the shown run's, unless comparing)."""
        src, clock = self.source, self.clock
        if not self._primed:
            self.prime()
        if clock.n == 0 or src.n == 0:
            return
        row = min(max(int(row), 0), clock.n - 1)
        self.row = row
        step = int(clock.steps[row])
        srow = row if src is clock else src.index_of_step(step)
        snap = {"product": src.product_at(srow), "step": step}
        if self.reveal == "grow":
            if self.runs:
                self._set_runs(step)
            ctx = self.context(Frame(src.view(srow + 1), self.x_mode, self.buckets), snap)
            for p in self.panels.values():
                p.update(ctx)
        else:
            if not self._full_drawn:  # the time plots whole, once; then only the cursor moves
                if self.runs:
                    self._set_runs(clock.last_step, full=True)
                ctx = self.context(Frame(src.view(src.n), self.x_mode, self.buckets), snap)
                for name, p in self.panels.items():
                    if name not in STATE_PANELS:
                        p.update(ctx)
                self._full_drawn = True
            if self.runs:
                self._set_runs(step)
            ctx = self.context(Frame(src.view(srow + 1), self.x_mode, self.buckets), snap)
            for name, p in self.panels.items():
                if name in STATE_PANELS:
                    p.update(ctx)
            for name, c in self.cursors.items():
                c.set(cursor_x(self.panels[name], clock, row, self.x_mode))
        if self.caption is not None:
            self.lbl_step.setText(f"step {step:,}")

    def show_step(self, step: int) -> None:
        self.show_row(self.clock.index_of_step(step))

    def image(self) -> QImage:
        """The reused frame buffer (ARGB32: BGRA bytes on little-endian machines)."""
        if self._image is None or (self._image.width(), self._image.height()) != self.size_px:
            self._image = QImage(self.size_px[0], self.size_px[1], QImage.Format.Format_ARGB32)
        return self._image

    def render_frame(self, fast: bool = True) -> QImage:
        """Render the layout as it is into the reused image and return it.

        ``fast``: only what changes between frames is painted -- the inside of every plot (curves, lines,
        images), the heatmap and the step counter -- over a cached picture of the rest (axes, labels, legends,
        titles, caption), which is remade whenever an axis range, a legend or the layout changed.  The result
        is the same picture as a full render (tested) at about two thirds of the cost."""
        deliver_layout()
        for p in self.panels.values():
            _prepare(p)
        img = self.image()
        if not fast:
            img.fill(pg.mkColor(self.theme.background))
            self.render(img)
            return img
        key = self._static_key()
        if key != self._bg_key or self._bg is None:
            self._make_background()
            self._bg_key = key
        painter = QPainter(img)
        try:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
            painter.drawImage(0, 0, self._bg)
            clear = self.theme.is_transparent  # the cached picture's plot insides must not show through
            for view, dst, src in self.dynamic_regions:
                if clear:
                    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
                    painter.fillRect(dst, Qt.GlobalColor.transparent)
                painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
                view.render(painter, dst, src, Qt.AspectRatioMode.IgnoreAspectRatio)
            if self.caption is not None:
                self.lbl_step.render(painter, self._step_pos, QRegion(), QWidget.RenderFlag.DrawChildren)
        finally:
            painter.end()
        return img

    def _static_key(self) -> tuple:
        """Everything outside the plots' insides that a frame could change."""
        out = [self.size_px]
        for p in self.panels.values():
            vb = getattr(p, "vb", None)
            if vb is not None:
                (x0, x1), (y0, y1) = vb.viewRange()
                out.append((x0, x1, y0, y1))
            leg = getattr(p, "legend_label", None)
            if leg is not None:
                out.append((leg.isHidden(), leg.text()))
            bar = getattr(p, "bar", None)
            if bar is not None:
                out.append(tuple(bar.levels()))
        return tuple(out)

    def _make_background(self) -> None:
        """A full render without the step counter, and where each frame's dynamic parts go."""
        text = self.lbl_step.text() if self.caption is not None else ""
        if self.caption is not None:
            self.lbl_step.setText("")
        bg = QImage(self.size_px[0], self.size_px[1], QImage.Format.Format_ARGB32)
        bg.fill(pg.mkColor(self.theme.background))
        self.render(bg)
        if self.caption is not None:
            self.lbl_step.setText(text)
            self._step_pos = self.lbl_step.mapTo(self, QPoint(0, 0))
        self._bg = bg
        self.dynamic_regions = []
        for p in self.panels.values():
            if isinstance(p, PlotPanel):
                view = p.plot_widget
                src = view.mapFromScene(p.vb.sceneBoundingRect()).boundingRect()
            elif isinstance(p, HeatmapPanel):
                view = p.glw
                src = view.rect()
            else:  # pragma: no cover - every panel is one of the two
                continue
            origin = view.mapTo(self, QPoint(0, 0))
            self.dynamic_regions.append((view, QRectF(src.translated(origin)), src))

    def frame_bytes(self) -> memoryview:
        """The last rendered frame's BGRA bytes (a view of the reused image: consume before the next frame)."""
        img = self._image
        return memoryview(img.constBits())[: img.sizeInBytes()]

    def close_layout(self) -> None:
        """Hide and delete the layout now (its panels, images and cached picture)."""
        self._bg = None
        self._image = None
        self.dynamic_regions = []
        self.hide()
        self.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _esc(text: str) -> str:
    import html

    return html.escape(text, quote=False)


def _prepare(panel) -> None:
    w = getattr(panel, "plot_widget", None) or getattr(panel, "glw", None)
    if w is not None:
        w.scene().prepareForPaint()


def panel_state(panel) -> dict:
    """A panel's saved choices (:meth:`~ibviewer.gui.panels.Panel.state`), as an export is handed them."""
    return panel.state()


# ====================================================================================================== animation
class Cancelled(Exception):
    pass


def animation_theme(name: str, height: int, kind: str, *, font_scale: float = 1.0,
                    transparent: bool = False) -> Theme:
    """The theme of an animation ``height`` pixels high written as ``kind``: fonts and lines sized for the
    frame height, a transparent background if asked, and coloured lines at least
    :data:`~ibviewer.core.recording.MIN_COLOUR_PX` wide where the video halves colour resolution (MP4, WebM)."""
    theme = get_theme(name).scaled(font_scale * max(0.4, height / 1080))
    if transparent:
        theme = theme.transparent()
    if kind in CHROMA_420:
        theme = replace(theme, min_colour_px=MIN_COLOUR_PX)
    return theme


def animation_rows(layout: ExportLayout, frames: int, kind: str, total_steps: int | None = None,
                   start: int = 0) -> np.ndarray:
    """The history row of :attr:`ExportLayout.clock` shown by each frame: the steps of
    :func:`~ibviewer.core.recording.frame_schedule`, the log schedule starting where the history first changes
    visibly (:func:`~ibviewer.core.recording.first_visible_step`), then the row recorded at or before each."""
    clock = layout.clock
    total = clock.last_step if total_steps is None else int(total_steps)
    first = first_visible_step(clock.steps, clock.cols) if kind == "log" else None
    steps = frame_schedule(total, frames, kind, start=min(int(start), total), first_change=first)
    if clock.n == 0:
        return np.zeros(frames, dtype=np.int64)
    return np.clip(np.searchsorted(clock.steps, steps, side="right") - 1, 0, clock.n - 1)


def render_animation(layout: ExportLayout, rows: Sequence[int], writer: FrameWriter, *,
                     progress: Callable[[int, int], bool | None] | None = None) -> int:
    """Render ``rows`` (one history row per frame) through ``layout`` into ``writer``; returns the frame count.

    ``progress(done, total)`` is called after every frame; returning False cancels (the writer is cancelled:
    nothing is left behind) and raises :class:`Cancelled`.  Any error cancels the writer too.
    """
    total = len(rows)
    last = None
    try:
        layout.prime()
        for i, row in enumerate(rows):
            row = int(row)
            if row != last:  # a repeated row (more frames than recorded rows): the same picture again
                layout.show_row(row)
                layout.render_frame()
                last = row
            writer.write(layout.frame_bytes())
            if progress is not None and progress(i + 1, total) is False:
                raise Cancelled()
    except BaseException:
        writer.cancel()
        raise
    writer.close()
    return total


# ====================================================================================================== stills
def render_widget_png(widget: QWidget, path: str | Path, size: tuple[int, int] | None = None) -> Path:
    """Render ``widget`` (laid out at ``size`` if given) to a PNG file, atomically."""
    from ibviewer.core.io import atomic_write_bytes

    if size is not None:
        widget.setFixedSize(QSize(*size))
    deliver_layout()
    QApplication.processEvents()
    deliver_layout()
    w, h = widget.width(), widget.height()
    img = QImage(w, h, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.white)
    widget.render(img)
    return atomic_write_bytes(path, qimage_png_bytes(img))


def qimage_png_bytes(img: QImage) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    ba = QByteArray()
    buf = QBuffer(ba)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not img.save(buf, "PNG"):
        raise RecordingError("could not encode the PNG image")
    buf.close()
    return bytes(ba.data())


def export_png(source: RunSource, path: str | Path, *, panels: Sequence[str] | None = None,
               size: tuple[int, int] = (1920, 1080), scale: float = 1.0, theme: str = "light", step: int | None = None,
               x_mode: str = "log_step", caption: bool | None = None, panel_state: dict | None = None,
               compare=None) -> Path:
    """A PNG of one panel (``panels=[name]``) or of the layout, at ``size`` pixels; ``scale`` multiplies fonts
    and line widths (an image at twice the size with ``scale=2`` looks like the smaller one, sharper)."""
    _check_target(path, ".png")
    if not scale > 0:
        raise RecordingError(f"scale {scale} is not allowed; it must be > 0")
    single = panels is not None and len(panels) == 1
    lay = ExportLayout(source, panels, size, get_theme(theme).scaled(scale), x_mode=x_mode,
                       caption=(not single) if caption is None else caption, reveal="cursor" if step is not None else "grow",
                       panel_state=panel_state, compare=compare)
    try:
        lay.show_row(lay.clock.n - 1 if step is None else lay.clock.index_of_step(step))
        img = lay.render_frame()
        return write_output(path, qimage_png_bytes(img))
    finally:
        lay.close_layout()


def export_svg(source: RunSource, path: str | Path, panel: str, *, size: tuple[int, int] = (900, 600),
               theme: str = "light", x_mode: str = "log_step", step: int | None = None,
               panel_state: dict | None = None, compare=None) -> Path:
    """An SVG of one panel (title, legend, axes, curves as vector polylines), written atomically.

    pyqtgraph's SVGExporter fails on the paths Qt 6 writes (``ValueError`` in its coordinate fix-up) and has
    dropped items before, so the panel is painted onto Qt's own QSvgGenerator instead, with real pen widths
    (no shifted copies), and the result is checked before it is written: it must parse as XML and hold a
    stroked polyline or path in the colour of every curve the panel draws.
    """
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    from ibviewer.gui.themes import vector_pens

    _check_target(path, ".svg")
    lay = ExportLayout(source, [panel], size, theme, x_mode=x_mode, caption=False,
                       reveal="cursor" if step is not None else "grow", panel_state=panel_state, compare=compare)
    try:
        lay.show_row(lay.clock.n - 1 if step is None else lay.clock.index_of_step(step))
        p = lay.panels[panel]
        vector_pens(p)
        lay.render_frame()  # lays out and settles everything once
        ba = QByteArray()
        buf = QBuffer(ba)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        gen = QSvgGenerator()
        gen.setOutputDevice(buf)
        gen.setSize(QSize(*size))
        gen.setViewBox(QRect(0, 0, *size))
        gen.setTitle(f"ibviewer: {p.title}")
        gen.setDescription(f"{source.name or source.cfg.problem.kind}, step {int(lay.clock.steps[lay.row]):,}")
        painter = QPainter(gen)
        try:
            lay.render(painter, QPoint(0, 0))
        finally:
            painter.end()
        buf.close()
        data = bytes(ba.data())
        check_svg(data, curve_colours(p))
        return write_output(path, data)
    finally:
        lay.close_layout()


def curve_colours(panel) -> set[str]:
    """Colours (#rrggbb) of the panel's visible curves that hold at least two finite points."""
    out: set[str] = set()
    if not isinstance(panel, PlotPanel):
        return out
    for it in panel.plot.items:
        if isinstance(it, pg.PlotCurveItem) and it.isVisible() and it.yData is not None:
            y = np.asarray(it.yData, dtype=float)
            if np.count_nonzero(np.isfinite(y)) >= 2:
                out.add(pg.mkPen(it.opts["pen"]).color().name())
    return out


def check_svg(data: bytes, colours: set[str] = frozenset()) -> None:
    """Refuse an SVG that does not parse, or lacks a stroked polyline/path in the colour of each drawn curve."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise RecordingError(f"the SVG is broken ({exc}); nothing was written") from None
    if not root.tag.endswith("svg"):
        raise RecordingError("the SVG holds no <svg> document; nothing was written")
    stroked: set[str] = set()

    def walk(el, stroke):
        stroke = el.get("stroke", stroke)
        tag = el.tag.rsplit("}", 1)[-1]
        if tag in ("polyline", "path") and stroke and stroke != "none":
            pts = el.get("points") or el.get("d") or ""
            if len(pts) > 8:
                stroked.add(stroke.lower())
        for ch in el:
            walk(ch, stroke)

    walk(root, None)
    missing = sorted(c for c in colours if c.lower() not in stroked)
    if missing:
        raise RecordingError(f"the SVG lacks the curves drawn in {', '.join(missing)}; nothing was written")


def export_history(source: RunSource, path: str | Path) -> Path:
    """The run's history as CSV (scalar columns) or NPZ (every column), by the file's suffix; atomic."""
    from ibviewer.core.io import write_history_csv, write_npz

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npz"):
        raise RecordingError(f"history file {str(path)!r} must end in .csv or .npz")
    _check_target(path, suffix)
    hist = {k: np.array(v[: source.n]) for k, v in source.cols.items()}
    if not hist:
        raise RecordingError("the history is empty: nothing to export")
    try:
        return write_history_csv(path, hist) if suffix == ".csv" else write_npz(path, hist)
    except OSError as exc:
        raise RecordingError(_not_written(path, exc)) from None


def _not_written(path: Path, exc: OSError) -> str:
    kept = "the previous file was left as it was" if Path(path).exists() else "nothing was written"
    return f"cannot write {str(path)!r}: {exc.strerror or exc}; {kept}"


def write_output(path: str | Path, data: bytes) -> Path:
    """Write an export's bytes atomically (whole or absent); a failure (a full disk, a folder that cannot be
    written) is a RecordingError naming the file, with the previous file left as it was."""
    from ibviewer.core.io import atomic_write_bytes

    try:
        return atomic_write_bytes(path, data)
    except OSError as exc:
        raise RecordingError(_not_written(Path(path), exc)) from None


def _check_target(path: str | Path, suffix: str) -> Path:
    from ibviewer.core.recording import check_output

    path = Path(path)
    if path.suffix.lower() != suffix:
        raise RecordingError(f"{str(path)!r} must end in {suffix}")
    return check_output(path)

