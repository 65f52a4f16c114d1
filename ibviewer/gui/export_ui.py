"""Recording and export in the app: the timeline bar, "Export animation…", "Export image…", "Export history…"
and "Record live", in the File menu and the toolbar.

A window is built with its :class:`Recording` (``MainWindow(..., recording=Recording)``): it adds a bottom
toolbar with the timeline and a status label, and listens to the window's ``drawn`` signal; its actions (menu
entries, toolbar buttons, shortcuts) are declared in the window's action table (:mod:`ibviewer.gui.actions`),
bound to its slots.  Exports draw fresh panels of their own (:class:`~ibviewer.gui.export.ExportLayout`), never
the window's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressDialog,
    QPushButton,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ibviewer.core.recording import (
    ASPECTS,
    QUALITY,
    SIZE_PRESETS,
    FrameWriter,
    RecordingError,
    fit_aspect,
    output_kind,
)
from ibviewer.gui.export import (
    Cancelled,
    ExportLayout,
    animation_rows,
    animation_theme,
    available_panels,
    default_panels,
    export_history,
    export_png,
    export_svg,
    parse_size,
    render_animation,
)
from ibviewer.gui.themes import THEMES, plain_symbols
from ibviewer.gui.timeline import QtTimeline, RunSource, StateStore

SIZES = (*SIZE_PRESETS, "1080x1080")
FORMATS = (("MP4 video (H.264)", "mp4"), ("GIF animation", "gif"), ("WebM video (VP9, keeps transparency)", "webm"),
           ("MOV video (ProRes 4444, keeps transparency)", "mov"), ("PNG frames (a folder)", "frames"))
#: formats whose files keep an alpha channel
ALPHA_KINDS = ("webm", "mov", "frames")


# ====================================================================================================== sources
def window_source(window, timeline: QtTimeline | None = None) -> RunSource:
    """A copy of what the window recorded so far (the mirror keeps growing while an export runs)."""
    m = window.mirror
    cols = {k: np.array(v[: m.n]) for k, v in m.cols.items()}
    states = None
    if timeline is not None:
        states = StateStore(timeline.states.budget)
        states.steps = list(timeline.states.steps)
        states.items = list(timeline.states.items)
    snap = window.last_snap
    current = None if snap is None else snap.get("product")
    name = window.preset
    src = RunSource(cols, m.n, dict(window.info), window.cfg, states=states, name=name, current=current)
    shown = window.controller.runs.selected
    src.markers = shown.markers() if shown is not None else ()  # exports draw what the window draws
    src.annotations = tuple(window.annotations.items)
    return src


def window_sources(window, timeline: QtTimeline | None = None):
    """(the shown run's source, the compared runs as (source, name, colour) or None): what the window draws --
    every visible run, overlaid, when it compares several."""
    source = window_source(window, timeline)
    runs = [r for r in getattr(window, "runs", []) if r.visible] if getattr(window, "comparing", False) else []
    if len(runs) < 2:
        return source, None
    compare = []
    for r in runs:
        if r.id == window.selected_id:
            src = source
        else:
            m = r.mirror
            cols = {k: np.array(v[: m.n]) for k, v in m.cols.items()}
            src = RunSource(cols, m.n, window.controller.run_info(r), r.cfg, name=r.name, current=r.product)
        compare.append((src, r.name, r.colour))
    if all(src is not source for src, _, _ in compare):  # the selected run is hidden: show the first visible one
        source = compare[0][0]
    return source, compare


def window_panel_state(window) -> dict[str, dict]:
    """Each of the window's panels' saved choices (theory overlay, definition, layer): an export draws the same."""
    return {name: p.state() for name, p in window.panels.items()}


# ====================================================================================================== settings
@dataclass
class AnimationSettings:
    path: str = ""
    kind: str = "mp4"
    size: tuple[int, int] = (1920, 1080)
    fps: float = 30.0
    seconds: float = 10.0
    schedule: str = "log"
    panels: list[str] = field(default_factory=list)
    theme: str = "light"
    quality: str = "normal"
    caption: bool = True
    font_scale: float = 1.0
    x_mode: str = "log_step"
    transparent: bool = False

    @property
    def frames(self) -> int:
        return max(1, round(self.fps * self.seconds))


def run_animation_export(window, settings: AnimationSettings, *, timeline: QtTimeline | None = None,
                         progress=None) -> Path:
    """Render an animation of the window's history with ``settings``; ``progress(done, total)`` returning False
    cancels (nothing is left behind, :class:`Cancelled` is raised)."""
    source, compare = window_sources(window, timeline)
    if source.n == 0:
        raise RecordingError("nothing recorded yet: play or step the run first")
    w, h = settings.size
    theme = animation_theme(settings.theme, h, settings.kind, font_scale=settings.font_scale,
                            transparent=settings.transparent)
    layout = ExportLayout(source, settings.panels or None, (w, h), theme, x_mode=settings.x_mode,
                          caption=settings.caption, reveal="grow", panel_state=window_panel_state(window),
                          compare=compare)
    try:
        rows = animation_rows(layout, settings.frames, settings.schedule)
        with FrameWriter(settings.path, (w, h), settings.fps, kind=settings.kind, quality=settings.quality,
                         alpha=settings.transparent) as writer:
            render_animation(layout, rows, writer, progress=progress)  # closes the writer, or cancels it
    finally:
        layout.close_layout()
    return writer.path


# ====================================================================================================== dialogs
def _size_combo(default: str) -> QComboBox:
    c = QComboBox()
    c.setEditable(True)
    for s in SIZES:
        c.addItem(s)
    c.setCurrentText(default)
    c.setToolTip("Width x height in pixels or a preset: 720p, 1080p, 1440p, 4k (type any size, e.g. 1600x900)")
    return c


def _aspect_combo() -> QComboBox:
    c = QComboBox()
    c.addItem("as the size says", "")
    for a in ASPECTS:
        c.addItem(f"{a} (keep the height)", a)
    c.setToolTip("Fit the size to an aspect ratio: the height is kept, the width set (1080p at 4:3 is 1440x1080)")
    return c


def _theme_combo() -> QComboBox:
    c = QComboBox()
    for t in THEMES:
        c.addItem(t, t)
    return c


def _scale_spin(lo: float, hi: float, step: float, tip: str) -> QDoubleSpinBox:
    """Fonts and line widths x this factor (1 = the projector default)."""
    b = QDoubleSpinBox()
    b.setRange(lo, hi)
    b.setSingleStep(step)
    b.setValue(1.0)
    b.setToolTip(tip)
    return b


class PanelList(QListWidget):
    """Checkable panel names, in order."""

    def __init__(self, cfg, chosen: list[str] | None = None):
        super().__init__()
        from ibviewer.gui.panels import PANEL_CLASSES

        chosen = chosen if chosen is not None else default_panels(cfg)
        for name in available_panels(cfg):
            it = QListWidgetItem(f"{plain_symbols(PANEL_CLASSES[name].title)}  ({name})")
            it.setData(Qt.ItemDataRole.UserRole, name)
            it.setCheckState(Qt.CheckState.Checked if name in chosen else Qt.CheckState.Unchecked)
            self.addItem(it)
        self.setMaximumHeight(180)

    def chosen(self) -> list[str]:
        out = []
        for i in range(self.count()):
            it = self.item(i)
            if it.checkState() == Qt.CheckState.Checked:
                out.append(it.data(Qt.ItemDataRole.UserRole))
        return out


class PathField(QWidget):
    def __init__(self, text: str, pick):
        super().__init__()
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(text)
        self.edit.setObjectName("export_path")
        b = QPushButton("Browse…")
        b.clicked.connect(pick)
        h.addWidget(self.edit, 1)
        h.addWidget(b)

    def text(self) -> str:
        return self.edit.text().strip()


def _lay_out_dialog(dialog, form) -> QLabel:
    """The form, a red note line for errors and Export/Cancel buttons (calling ``dialog._accept``); the note."""
    note = QLabel("")
    note.setStyleSheet("color: #b00020;")
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
    buttons.accepted.connect(dialog._accept)
    buttons.rejected.connect(dialog.reject)
    v = QVBoxLayout(dialog)
    v.addLayout(form)
    v.addWidget(note)
    v.addWidget(buttons)
    return note


def _last_dir(window) -> str:
    """Where an export's file dialog starts: the window's last folder (app settings), else home."""
    settings = getattr(window, "settings", None)
    return settings.start_dir() if settings is not None else str(Path.home())


def _remember_dir(window, path: str) -> None:
    settings = getattr(window, "settings", None)
    if settings is not None:
        settings.remember_dir(path)
        settings.save()


class AnimationDialog(QDialog):
    """Size, fps, seconds, schedule, panels, theme, quality, caption, output."""

    def __init__(self, window, parent: QWidget | None = None):
        super().__init__(parent or window)
        self.setWindowTitle("Export animation")
        self.window_ = window
        cfg = window.cfg
        form = QFormLayout()
        self.format = QComboBox()
        for text, key in FORMATS:
            self.format.addItem(text, key)
        self.format.currentIndexChanged.connect(self._on_format)
        self.size = _size_combo("1080p")
        self.aspect = _aspect_combo()
        self.transparent = QCheckBox("transparent background (WebM, MOV or PNG frames: to lay over slides)")
        self.fps = QDoubleSpinBox()
        self.fps.setRange(1, 120)
        self.fps.setValue(30)
        self.fps.setDecimals(0)
        self.seconds = QDoubleSpinBox()
        self.seconds.setRange(0.5, 3600)
        self.seconds.setValue(10)
        self.seconds.setSuffix(" s")
        self.schedule = QComboBox()
        self.schedule.addItem("log in steps (plateaus, then jumps)", "log")
        self.schedule.addItem("linear in steps", "linear")
        self.x_axis = QComboBox()
        for text, key in (("log step", "log_step"), ("step", "step"), ("time η·k", "time"),
                          ("rescaled time η·k / ln(1/α)", "rescaled")):
            self.x_axis.addItem(text, key)
        i = self.x_axis.findData(getattr(window, "x_mode", "log_step"))
        self.x_axis.setCurrentIndex(max(i, 0))
        self.panels = PanelList(cfg, [n for n in default_panels(cfg)])
        self.theme = _theme_combo()
        self.font_scale = _scale_spin(0.5, 3.0, 0.1, "Fonts and lines relative to the projector default")
        self.quality = QComboBox()
        for q in QUALITY:
            self.quality.addItem(q, q)
        self.quality.setCurrentIndex(list(QUALITY).index("normal"))
        self.caption = QCheckBox("caption with the setting and a step counter")
        self.caption.setChecked(True)
        name = (window.preset or window.cfg.problem.kind) + ".mp4"
        self.path = PathField(str(Path(_last_dir(window)) / name), self._pick)
        for label, w in (("Format", self.format), ("Size", self.size), ("Aspect", self.aspect),
                         ("Frames per second", self.fps), ("Length", self.seconds), ("Schedule", self.schedule),
                         ("x axis", self.x_axis), ("Panels", self.panels), ("Theme", self.theme),
                         ("Font scale", self.font_scale), ("Quality", self.quality), ("", self.caption),
                         ("", self.transparent), ("Output", self.path)):
            form.addRow(label, w)
        self.note = _lay_out_dialog(self, form)
        self.result_settings: AnimationSettings | None = None

    def _on_format(self, _i: int) -> None:
        kind = self.format.currentData()
        p = Path(self.path.text())
        if kind == "frames":
            self.path.edit.setText(str(p.with_suffix("")) + "_frames")
        else:
            base = p.with_suffix("") if p.suffix else Path(str(p).removesuffix("_frames"))
            self.path.edit.setText(str(base) + "." + kind)

    def _pick(self) -> None:
        kind = self.format.currentData()
        if kind == "frames":
            path = QFileDialog.getExistingDirectory(self, "Folder for the PNG frames", _last_dir(self.window_))
            if path:
                path = str(Path(path) / "frames")
        else:
            flt = {"mp4": "MP4 video (*.mp4)", "gif": "GIF animation (*.gif)", "webm": "WebM video (*.webm)",
                   "mov": "MOV video (*.mov)"}[kind]
            path, _ = QFileDialog.getSaveFileName(self, "Export animation", self.path.text(), flt)
        if path:
            self.path.edit.setText(path)

    def settings(self) -> AnimationSettings:
        """The dialog's values, checked (RecordingError with a one-line message)."""
        kind = self.format.currentData()
        path = self.path.text()
        if not path:
            raise RecordingError("choose an output file")
        if kind != "frames" and output_kind(path) != kind:
            raise RecordingError(f"the output {path!r} must end in .{kind}")
        w, h = fit_aspect(parse_size(self.size.currentText()), self.aspect.currentData())
        if w % 2 or h % 2:
            raise RecordingError("width and height must be even")
        panels = self.panels.chosen()
        if not panels:
            raise RecordingError("choose at least one panel")
        transparent = self.transparent.isChecked()
        if transparent and kind not in ALPHA_KINDS:
            raise RecordingError("a transparent background needs WebM, MOV or PNG frames")
        return AnimationSettings(path=path, kind=kind, size=(w, h), fps=self.fps.value(), seconds=self.seconds.value(),
                                 schedule=self.schedule.currentData(), panels=panels, theme=self.theme.currentData(),
                                 quality=self.quality.currentData(), caption=self.caption.isChecked(),
                                 font_scale=self.font_scale.value(), x_mode=self.x_axis.currentData(),
                                 transparent=transparent)

    def _accept(self) -> None:
        try:
            self.result_settings = self.settings()
        except RecordingError as exc:
            self.note.setText(str(exc))
            return
        self.accept()


class ImageDialog(QDialog):
    """One panel or the layout, PNG or SVG, size, scale, theme, the step shown."""

    def __init__(self, window, step: int | None, parent: QWidget | None = None):
        super().__init__(parent or window)
        self.setWindowTitle("Export image")
        from ibviewer.gui.panels import PANEL_CLASSES

        form = QFormLayout()
        self.what = QComboBox()
        self.what.addItem("the layout (every panel below)", "")
        for name in available_panels(window.cfg):
            self.what.addItem(plain_symbols(PANEL_CLASSES[name].title), name)
        self.format = QComboBox()
        self.format.addItem("PNG image", "png")
        self.format.addItem("SVG (vector, one panel)", "svg")
        self.size = _size_combo("1080p")
        self.aspect = _aspect_combo()
        self.scale = _scale_spin(0.25, 8, 0.25, "Fonts and line widths x this (2 at twice the size: the same "
                                 "picture, sharper)")
        self.theme = _theme_combo()
        self.caption = QCheckBox("caption (layout only)")
        self.caption.setChecked(True)
        self.step = step
        self.at = QLabel("the latest step" if step is None else f"step {step:,} (the timeline's)")
        name = (window.preset or window.cfg.problem.kind) + ".png"
        self.path = PathField(str(Path(_last_dir(window)) / name), self._pick)
        self.format.currentIndexChanged.connect(self._on_format)
        for label, w in (("Export", self.what), ("Format", self.format), ("Size", self.size), ("Aspect", self.aspect),
                         ("Scale", self.scale), ("Theme", self.theme), ("", self.caption), ("Shows", self.at), ("Output", self.path)):
            form.addRow(label, w)
        self.note = _lay_out_dialog(self, form)
        self.values: dict[str, Any] | None = None

    def _on_format(self, _i: int) -> None:
        p = Path(self.path.text())
        self.path.edit.setText(str(p.with_suffix("." + self.format.currentData())))

    def _pick(self) -> None:
        fmt = self.format.currentData()
        path, _ = QFileDialog.getSaveFileName(self, "Export image", self.path.text(),
                                              "PNG image (*.png)" if fmt == "png" else "SVG (*.svg)")
        if path:
            self.path.edit.setText(path)

    def _accept(self) -> None:
        try:
            size = fit_aspect(parse_size(self.size.currentText()), self.aspect.currentData())
            panel = self.what.currentData()
            fmt = self.format.currentData()
            if fmt == "svg" and not panel:
                raise RecordingError("SVG exports one panel: choose a panel")
            path = self.path.text()
            if not path.lower().endswith("." + fmt):
                raise RecordingError(f"the output must end in .{fmt}")
        except RecordingError as exc:
            self.note.setText(str(exc))
            return
        self.values = {"path": path, "panel": panel, "format": fmt, "size": size, "scale": self.scale.value(),
                       "theme": self.theme.currentData(), "caption": self.caption.isChecked(), "step": self.step}
        self.accept()


# ====================================================================================================== live
class LiveRecorder(QObject):
    """Captures the window at a fixed rate into a video while the user plays, steps and changes parameters.

    Frames are taken by a timer; when a frame is late by whole intervals (a busy moment), the last picture is
    repeated so that the video keeps the pace of what happened.
    """

    stopped = Signal(str)  # a one-line message: written, or why not

    def __init__(self, window, path: str | Path, fps: float = 15.0, quality: str = "normal",
                 widget: QWidget | None = None):
        super().__init__(window)
        self.window = window
        self.widget = widget or window
        self.fps = float(fps)
        w, h = self.widget.width(), self.widget.height()
        self.size = (max(16, w - w % 2), max(16, h - h % 2))
        self.writer = FrameWriter(path, self.size, self.fps, quality=quality)
        self.image = QImage(self.size[0], self.size[1], QImage.Format.Format_ARGB32)
        self.frames = 0
        self.t0 = time.monotonic()
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(max(1, int(1000 / self.fps)))
        self.timer.timeout.connect(self.capture)
        self.active = True
        self.capture()
        self.timer.start()

    @Slot()
    def capture(self) -> None:
        if not self.active:
            return
        due = int((time.monotonic() - self.t0) * self.fps) + 1  # frames the video should hold by now
        try:
            if self.frames < due:
                self.image.fill(self.widget.palette().window().color())
                self.widget.render(self.image)
                buf = memoryview(self.image.constBits())[: self.image.sizeInBytes()]
                while self.frames < due:
                    self.writer.write(buf)
                    self.frames += 1
        except RecordingError as exc:
            self.active = False
            self.timer.stop()
            self.stopped.emit(f"live recording stopped: {exc}")

    def stop(self) -> Path | None:
        if not self.active:
            return None
        self.capture()
        self.active = False
        self.timer.stop()
        try:
            path = self.writer.close()
        except RecordingError as exc:
            self.stopped.emit(f"live recording failed: {exc}")
            return None
        self.stopped.emit(f"recorded {self.frames} frames ({self.frames / self.fps:.1f} s) to {path}")
        return path

    def cancel(self) -> None:
        self.active = False
        self.timer.stop()
        self.writer.cancel()


# ====================================================================================================== the feature
class Recording(QObject):
    """The timeline, exports and live recording of one window (``window.recording``); built by the window
    (``MainWindow(..., recording=Recording)``) before its actions, which bind to its slots."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.live: LiveRecorder | None = None
        self._export_progress: QProgressDialog | None = None
        self._closing = False
        self.timeline = QtTimeline(window)
        self.timeline_bar = QToolBar("Timeline")
        self.timeline_bar.setObjectName("toolbar_timeline")
        self.timeline_bar.setMovable(False)
        self.timeline_bar.addWidget(self.timeline)
        window.addToolBar(Qt.ToolBarArea.BottomToolBarArea, self.timeline_bar)
        self.rec_label = QLabel("")
        self.rec_label.setObjectName("recording_status")
        self.rec_label.setStyleSheet("color: #b00020; font-weight: bold;")
        window.statusBar().addPermanentWidget(self.rec_label)
        self._blink = QTimer(self)
        self._blink.setInterval(500)
        self._blink.timeout.connect(self._update_rec_label)
        window.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and event.type() == QEvent.Type.Close:
            self.shutdown()  # a live recording keeps what was captured; an export is cancelled
        return False

    @property
    def exporting(self) -> bool:
        """Whether an animation is being rendered (its progress dialog is up)."""
        return self._export_progress is not None

    @property
    def a_live(self) -> QAction:
        """The window's "Record live" action (declared in its action table), checked while recording."""
        return self.window.actions["record_live"]

    # ------------------------------------------------------------------ animation
    @Slot()
    def export_animation_dialog(self) -> None:
        if self.exporting:
            self.window.show_error("an export is already running: wait for it or cancel it")
            return
        if self.window.mirror.n == 0:
            self.window.show_error("nothing recorded yet: play or step the run first")
            return
        dlg = AnimationDialog(self.window)
        if dlg.exec() != QDialog.DialogCode.Accepted or dlg.result_settings is None:
            return
        _remember_dir(self.window, dlg.result_settings.path)
        self.export_animation(dlg.result_settings)

    def export_animation(self, settings: AnimationSettings, *, cancel_after: int | None = None,
                         on_progress=None) -> Path | None:
        """Render with a progress dialog (Cancel leaves nothing); returns the path, None if cancelled/failed.

        The dialog does not block the window: closing the window cancels the export (the temporary output and
        the encoder process are removed) and the window closes at once (a window-modal dialog made the window
        ignore its close button).  ``on_progress(done, total)`` is called after every frame (tests, benchmarks).
        """
        if self.exporting:
            self.window.show_error("an export is already running: wait for it or cancel it")
            return None
        if self._closing:
            return None
        prog = QProgressDialog("Rendering frames…", "Cancel", 0, settings.frames, self.window)
        prog.setObjectName("export_progress")
        prog.setWindowTitle("Export animation")
        prog.setWindowModality(Qt.WindowModality.NonModal)
        prog.setMinimumDuration(0)
        prog.setValue(0)
        self._export_progress = prog
        t0 = time.monotonic()

        def progress(done: int, total: int):
            # once the window closes (here, or in the events processed below), the dialog may be deleted
            if self._closing:
                return False
            if done % 3 == 0 or done == total:
                prog.setValue(min(done, total - 1) if done < total else total - 1)
                rate = done / max(time.monotonic() - t0, 1e-6)
                prog.setLabelText(f"Rendering frame {done:,} of {total:,} ({rate:.0f} frames/s)…")
                QApplication.processEvents()
            if on_progress is not None and not self._closing:
                on_progress(done, total)
            if self._closing:
                return False
            if cancel_after is not None and done >= cancel_after:
                prog.cancel()
            return not prog.wasCanceled()

        try:
            path = run_animation_export(self.window, settings, timeline=self.timeline, progress=progress)
        except Cancelled:
            if not self._closing:  # a closed window may already be deleted: nothing to tell
                self.window.show_info("export cancelled: nothing was written")
            return None
        except (RecordingError, OSError) as exc:
            if not self._closing:
                self.window.show_error(f"export failed: {exc}")
            return None
        finally:
            self._export_progress = None
            if shiboken6.isValid(prog):  # a closed window deletes its children
                prog.reset()
                prog.close()
                prog.deleteLater()
        self.window.show_info(f"wrote {path} ({settings.frames} frames, {settings.size[0]}x{settings.size[1]})")
        return path

    # ------------------------------------------------------------------ stills
    def shown_step(self) -> int | None:
        t = self.timeline
        if t.live or t.row < 0 or self.window.mirror.n == 0:
            return None
        return int(self.window.mirror["step"][min(t.row, self.window.mirror.n - 1)])

    @Slot()
    def export_image_dialog(self) -> None:
        if self.window.mirror.n == 0:
            self.window.show_error("nothing recorded yet: play or step the run first")
            return
        dlg = ImageDialog(self.window, self.shown_step())
        if dlg.exec() != QDialog.DialogCode.Accepted or dlg.values is None:
            return
        _remember_dir(self.window, dlg.values["path"])
        self.export_image(**dlg.values)

    def export_image(self, path: str, panel: str = "", format: str = "png", size=(1920, 1080), scale: float = 1.0,
                     theme: str = "light", caption: bool = True, step: int | None = None) -> Path | None:
        src, compare = window_sources(self.window, self.timeline)
        x_mode = getattr(self.window, "x_mode", "log_step")
        state = window_panel_state(self.window)
        if format == "svg":
            return self._report(lambda: export_svg(src, path, panel, size=size, theme=theme, x_mode=x_mode,
                                                   step=step, panel_state=state, compare=compare))
        return self._report(lambda: export_png(src, path, panels=[panel] if panel else None, size=size, scale=scale,
                                               theme=theme, step=step, x_mode=x_mode,
                                               caption=caption if not panel else False, panel_state=state,
                                               compare=compare))

    def _report(self, write) -> Path | None:
        """Run one export; its path, said in the status bar, or None with a one-line error."""
        try:
            out = write()
        except (RecordingError, OSError) as exc:
            self.window.show_error(f"export failed: {exc}")
            return None
        self.window.show_info(f"wrote {out}")
        return out

    @Slot()
    def export_history_dialog(self) -> None:
        if self.window.mirror.n == 0:
            self.window.show_error("nothing recorded yet: play or step the run first")
            return
        start = str(Path(_last_dir(self.window)) / ((self.window.preset or "history") + ".csv"))
        path, flt = QFileDialog.getSaveFileName(self.window, "Export history", start,
                                                "CSV, scalar columns (*.csv);;NPZ, every column (*.npz)")
        if not path:
            return
        if not Path(path).suffix:
            path += ".npz" if "npz" in flt.lower() else ".csv"
        _remember_dir(self.window, path)
        self.export_history(path)

    def export_history(self, path: str | Path) -> Path | None:
        return self._report(lambda: export_history(window_source(self.window), path))

    # ------------------------------------------------------------------ live
    @Slot()
    def toggle_live(self) -> None:
        if self.live is not None:
            self.stop_live()
            return
        start = str(Path(_last_dir(self.window)) / f"ibviewer_live_{time.strftime('%Y%m%d-%H%M%S')}.mp4")
        path, _ = QFileDialog.getSaveFileName(self.window, "Record live to", start, "MP4 video (*.mp4)")
        if not path:
            self.a_live.setChecked(False)
            return
        if not path.lower().endswith(".mp4"):
            path += ".mp4"
        _remember_dir(self.window, path)
        self.start_live(path)

    def start_live(self, path: str | Path, fps: float = 15.0, quality: str = "normal") -> LiveRecorder | None:
        try:
            self.live = LiveRecorder(self.window, path, fps=fps, quality=quality)
        except RecordingError as exc:
            self.window.show_error(f"cannot record: {exc}")
            self.a_live.setChecked(False)
            return None
        self.live.stopped.connect(self._on_live_stopped)
        self.a_live.setChecked(True)
        self.a_live.setText("Stop recording")
        self._blink.start()
        self._update_rec_label()
        return self.live

    def stop_live(self) -> Path | None:
        live, self.live = self.live, None
        self._blink.stop()
        self.rec_label.setText("")
        self.a_live.setChecked(False)
        self.a_live.setText("Record live")
        return live.stop() if live is not None else None

    @Slot(str)
    def _on_live_stopped(self, text: str) -> None:
        if "failed" in text or "stopped:" in text:
            self.window.show_error(text)
            if self.live is not None and not self.live.active:
                self.live = None
                self._blink.stop()
                self.rec_label.setText("")
                self.a_live.setChecked(False)
                self.a_live.setText("Record live")
        else:
            self.window.show_info(text)

    @Slot()
    def _update_rec_label(self) -> None:
        if self.live is None:
            self.rec_label.setText("")
            return
        secs = self.live.frames / self.live.fps
        dot = "●" if int(time.monotonic() * 2) % 2 == 0 else "○"
        self.rec_label.setText(f"{dot} REC {int(secs // 60):02d}:{int(secs % 60):02d}")

    def shutdown(self) -> None:
        """The window closes: an export in progress is cancelled (it stops at its next frame and leaves
        nothing), a live recording is finished (what was captured is kept)."""
        self._closing = True
        self.timeline.timer.stop()
        if self._export_progress is not None and shiboken6.isValid(self._export_progress):
            self._export_progress.cancel()
        if self.live is not None:
            self.stop_live()
