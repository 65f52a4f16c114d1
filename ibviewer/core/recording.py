"""Video output without Qt: the frame schedule and a streaming, threaded, atomic writer.

Frames (BGRA or RGB bytes of a fixed size) are handed to :class:`FrameWriter`, which encodes them in a thread of
its own (the GUI thread renders the next frame meanwhile) through ffmpeg (H.264 yuv420p MP4, a palette GIF, VP9
WebM or ProRes 4444 MOV with an alpha channel; :mod:`ibviewer.core.video`) or writes numbered PNG files (RGBA
when ``alpha``).  Nothing is held in memory beyond a short queue.
The output is written under a temporary name in the destination folder, read back, and renamed when complete
and checked; a cancelled or failed export leaves the previous file as it was and nothing else behind.
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

FORMATS = ("mp4", "gif", "webm", "mov", "frames")
#: the outputs that keep an alpha channel (a transparent background to lay over slides)
ALPHA_FORMATS = ("webm", "mov", "frames")
#: named frame sizes (width, height)
SIZE_PRESETS = {"720p": (1280, 720), "1080p": (1920, 1080), "1440p": (2560, 1440), "4k": (3840, 2160)}
#: aspect ratios a size can be fitted to (width : height)
ASPECTS = {"16:9": (16, 9), "4:3": (4, 3), "1:1": (1, 1)}
MAX_SIZE = (7680, 4320)
#: the outputs that store colour at half resolution (4:2:0): thin coloured lines need to be drawn wider
CHROMA_420 = ("mp4", "webm")
#: the narrowest coloured line in those (pixels): see :attr:`ibviewer.gui.themes.Theme.min_colour_px`
MIN_COLOUR_PX = 3
#: x264 presets by quality name: fast enough to keep up with rendering (medium managed 26 frames/s on a 2-core CPU)
QUALITY = {"draft": ("ultrafast", 28), "normal": ("veryfast", 20), "high": ("veryfast", 16)}


class RecordingError(RuntimeError):
    """A recording that cannot be made: one line saying why."""


def parse_size(text: str) -> tuple[int, int]:
    """A frame size from ``WIDTHxHEIGHT`` (``1600x900``, ``1600×900``) or a preset name (720p, 1080p, 1440p,
    4k); RecordingError with one line naming what is allowed otherwise."""
    key = str(text).strip().lower()
    if key in SIZE_PRESETS:
        return SIZE_PRESETS[key]
    allowed = f"write WIDTHxHEIGHT (e.g. 1920x1080) or one of: {', '.join(SIZE_PRESETS)}"
    try:
        w, h = (int(v) for v in key.replace("×", "x").split("x"))
    except ValueError:
        raise RecordingError(f"size {text!r} is not allowed; {allowed}") from None
    if w < 16 or h < 16 or w > MAX_SIZE[0] or h > MAX_SIZE[1]:
        raise RecordingError(f"size {text!r} is not allowed; width and height must be 16 to "
                             f"{MAX_SIZE[0]} x {MAX_SIZE[1]}")
    return w, h


def fit_aspect(size: tuple[int, int], aspect: str | None) -> tuple[int, int]:
    """``size`` fitted to ``aspect`` (16:9, 4:3 or 1:1): the height is kept and the width set to
    height x aspect, rounded to an even number -- the height is what a projector's resolution and the fonts
    (sized for the frame height) depend on, so 1080p at 4:3 is 1440x1080 and at 1:1 1080x1080."""
    if aspect is None or aspect == "":
        return size
    if aspect not in ASPECTS:
        raise RecordingError(f"aspect {aspect!r} is not allowed; choose one of: {', '.join(ASPECTS)}")
    a, b = ASPECTS[aspect]
    h = size[1]
    return 2 * round(h * a / b / 2), h  # at most 4320 x 16/9 = 7680: within MAX_SIZE


#: the log schedule's lead-in: the share of frames shown before the first visible change (the initial state and
#: the plateau, briefly); the rest is spaced logarithmically from that change on
LEAD_IN = 0.1
#: a trace has visibly changed once it moved this share of its whole range (on a log scale for positive traces,
#: as the panels draw them): 2 % of a 1080-pixel-high panel is about 15 pixels
VISIBLE = 0.02


def frame_schedule(total_steps: int, frames: int, kind: str = "linear", start: int = 0,
                   first_change: int | None = None) -> np.ndarray:
    """The training step shown by each frame: ``frames`` steps from ``start`` to ``total_steps``, evenly spaced
    (``linear``) or logarithmically (``log``: the dynamics after a small initialization happen on a log time
    scale).  Independent of how fast training runs.  Consecutive frames may show the same step.

    ``first_change`` (log only): the first step where the history changes visibly
    (:func:`first_visible_step`).  A plain log spacing from step 1 gives the first decades, where nothing moves,
    as many frames as the last ones (40 % of a clip on steps 1-36 of a 10,000-step run); with ``first_change``
    a lead-in of :data:`LEAD_IN` of the frames shows the start and the plateau, and the rest is spaced
    logarithmically from ``first_change`` to the end."""
    if frames < 1:
        raise RecordingError(f"the recording needs at least 1 frame (got {frames})")
    if total_steps < start:
        raise RecordingError(f"the last step {total_steps} lies before the first {start}")
    if kind == "linear":
        s = np.linspace(start, total_steps, frames)
    elif kind == "log":
        lead = int(LEAD_IN * frames)
        if first_change is not None and start < first_change < total_steps and lead >= 1:
            head = np.geomspace(start + 1, first_change + 1, lead, endpoint=False) - 1
            tail = np.geomspace(first_change + 1, total_steps + 1, frames - lead) - 1
            s = np.concatenate([head, tail])
        else:
            s = np.geomspace(start + 1, total_steps + 1, frames) - 1
    else:
        raise RecordingError(f"schedule {kind!r} is not allowed; choose linear or log")
    return np.round(s).astype(np.int64)


def first_visible_step(steps: np.ndarray, cols: dict) -> int | None:
    """The first recorded step where the loss or the largest singular value has moved :data:`VISIBLE` of its
    whole range from its first value (log scale for positive values), or None (no such trace, or nothing
    moves).  The bulk of small singular values decays from the start and is not what a viewer watches."""
    steps = np.asarray(steps)
    n = len(steps)
    if n < 2:
        return None
    traces = []
    if "loss" in cols:
        traces.append(np.asarray(cols["loss"][:n], float))
    if "sv" in cols:
        sv = np.asarray(cols["sv"][:n], float).reshape(n, -1)
        traces.append(np.nanmax(sv, axis=1) if sv.shape[1] else sv[:, 0])
    first = None
    for x in traces:
        finite = np.isfinite(x)
        if not finite.all():  # a diverged run: the part before it
            x = x[: int(np.argmin(finite))]
            if len(x) < 2:
                continue
        if np.all(x > 0):
            x = np.log10(x)
        span = float(x.max() - x.min())
        if span <= 0:
            continue
        moved = np.flatnonzero(np.abs(x - x[0]) > VISIBLE * span)
        if len(moved):
            step = int(steps[moved[0]])
            first = step if first is None else min(first, step)
    return first


def output_kind(path: str | Path, frames_dir: bool = False) -> str:
    if frames_dir:
        return "frames"
    suffix = Path(path).suffix.lower()
    if suffix == ".mp4":
        return "mp4"
    if suffix in (".gif", ".webm", ".mov"):
        return suffix[1:]
    raise RecordingError(f"output {str(path)!r} has an unknown type; allowed: .mp4, .gif, .webm, .mov "
                         "(or a folder for PNG frames)")


def check_output(path: str | Path) -> Path:
    """The folder that will hold ``path`` must exist and be writable, and an existing ``path`` must not be
    read-only (a file or folder its owner protected is never replaced, even by a user allowed to)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise RecordingError(f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise RecordingError(f"cannot write {str(path)!r}: folder {str(parent)!r} is not writable")
    if path.exists() and (not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222):
        raise RecordingError(f"{str(path)!r} is read-only; it was left as it was")
    return path


class FrameWriter:
    """Streams frames of ``size`` = (width, height) to an MP4, a GIF or a folder of PNGs, in its own thread.

    ``write(buffer)`` takes BGRA bytes (or an (h, w, 4) uint8 array) and returns once the frame is queued;
    ``close()`` waits for the encoder, reads the result back (:func:`ibviewer.core.video.verify_video`) and only
    then moves it into place; ``cancel()`` stops the encoder and removes everything.  Any failure (the encoder's
    exit status, a write error, a video that does not read back, Ctrl+C) leaves the previous file or folder as
    it was, no temporary file and no encoder process, and raises :class:`RecordingError` naming the output.
    """

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float = 30, *, kind: str | None = None,
                 quality: str = "normal", queue_size: int = 8, alpha: bool = False):
        self.path = check_output(path)
        self.kind = kind or output_kind(path)
        if self.kind not in FORMATS:
            raise RecordingError(f"format {self.kind!r} is not allowed; choose one of: {', '.join(FORMATS)}")
        if alpha and self.kind not in ALPHA_FORMATS:
            raise RecordingError(f"a transparent background needs .webm, .mov or PNG frames, not {self.kind}")
        self.alpha = bool(alpha)
        if quality not in QUALITY:
            raise RecordingError(f"quality {quality!r} is not allowed; choose one of: {', '.join(QUALITY)}")
        w, h = size
        if w < 16 or h < 16 or w % 2 or h % 2:
            raise RecordingError(f"frame size {w}x{h} is not allowed; width and height must be even and >= 16")
        if not fps > 0:
            raise RecordingError(f"fps {fps} is not allowed; it must be > 0")
        if self.kind == "frames" and self.path.exists():
            from ibviewer.core.video import frames_folder_in_use

            if not self.path.is_dir():
                raise RecordingError(f"{str(self.path)!r} exists and is not a folder; it was left as it was")
            why = frames_folder_in_use(self.path)
            if why:
                raise RecordingError(f"folder {str(self.path)!r} {why}; it was left as it was")
        elif self.kind != "frames" and self.path.is_dir():
            raise RecordingError(f"{str(self.path)!r} is a folder; choose a file name")
        self.size = (int(w), int(h))
        self.fps = float(fps)
        self.quality = quality
        self.frames = 0
        self._error: BaseException | None = None
        self._cancelled = False
        self._encoder = None
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        parent = self.path.parent
        try:
            if self.kind == "frames":
                self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".part", dir=parent))
            else:
                fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=f".part.{self.kind}", dir=parent)
                os.close(fd)
                self._tmp = Path(tmp)
        except OSError as exc:
            raise RecordingError(f"cannot write {str(self.path)!r}: {exc.strerror or exc}") from None
        self._closed = False
        try:
            if self.kind != "frames":
                from ibviewer.core.video import EncoderError, EncoderProcess, encoder_command

                preset, crf = QUALITY[self.quality]
                try:
                    self._encoder = EncoderProcess(encoder_command(self._tmp, self.kind, self.size, self.fps,
                                                                   preset, crf))
                except EncoderError as exc:
                    raise RecordingError(self._failure(exc)) from None
            self._thread = threading.Thread(target=self._run, name="ibviewer-encoder", daemon=True)
            self._thread.start()
        except BaseException:  # Ctrl+C while starting: no encoder and no file left behind
            if self._encoder is not None:
                self._encoder.kill()
            self._remove_tmp()
            raise

    @property
    def encoder_pid(self) -> int | None:
        """The ffmpeg process's id (None for PNG frames)."""
        return None if self._encoder is None else self._encoder.pid

    def _failure(self, why) -> str:
        """One line: the output, what went wrong, and that nothing was replaced."""
        kept = "the previous one was left as it was" if self.path.exists() else "nothing was written"
        return f"cannot write {str(self.path)!r}: {why}; {kept}"

    # ------------------------------------------------------------------ encoder thread
    def _run(self) -> None:
        n = 0
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    break
                if self._error is not None or self._cancelled:
                    continue
                if self._encoder is not None:
                    self._encoder.write(item)
                else:
                    self._write_png(item, n)
                n += 1
            if self._encoder is not None and not self._cancelled:
                self._encoder.finish()
        except BaseException as exc:  # reported by close(); the thread must never die silently
            self._error = exc
            while True:  # drain so that write() never blocks on a dead encoder
                try:
                    if self._queue.get_nowait() is None:
                        break
                except queue.Empty:
                    break

    def _write_png(self, item: bytes, n: int) -> None:
        from PIL import Image

        w, h = self.size
        arr = np.frombuffer(item, dtype=np.uint8).reshape(h, w, 4)
        Image.fromarray(arr[:, :, [2, 1, 0, 3]] if self.alpha else arr[:, :, [2, 1, 0]]).save(self._tmp / f"frame_{n:06d}.png", compress_level=1)

    def _reason(self, exc: BaseException) -> str:
        if isinstance(exc, OSError):
            return exc.strerror or str(exc)
        return str(exc) or type(exc).__name__

    # ------------------------------------------------------------------ API
    def write(self, frame) -> None:
        if self._closed:
            raise RecordingError("the recording is already closed")
        if self._error is not None:
            error = self._error
            self.cancel()
            raise RecordingError(self._failure(self._reason(error)))
        w, h = self.size
        if isinstance(frame, np.ndarray):
            if frame.shape != (h, w, 4) or frame.dtype != np.uint8:
                raise RecordingError(f"frame of shape {frame.shape}; expected ({h}, {w}, 4) uint8 BGRA")
            frame = frame.tobytes()
        elif len(frame) != w * h * 4:
            raise RecordingError(f"frame of {len(frame)} bytes; expected {w * h * 4} ({w}x{h} BGRA)")
        else:
            frame = bytes(frame)
        self._queue.put(frame)
        self.frames += 1

    def close(self) -> Path:
        """Finish encoding, check the result and move it into place; returns its path.  RecordingError (the
        previous output intact, nothing left behind) when the encoder failed or the result does not read back."""
        if self._closed:
            return self.path
        self._closed = True
        try:
            self._queue.put(None)
            self._thread.join()
            if self._error is not None:
                raise RecordingError(self._failure(self._reason(self._error)))
            self._verify()
            self._commit()
        except BaseException:
            self._abort()
            raise
        return self.path

    def _verify(self) -> None:
        from ibviewer.core.video import EncoderError, verify_frames, verify_video

        try:
            if self.kind == "frames":
                verify_frames(self._tmp, self.frames, self.size)
            else:
                verify_video(self._tmp, self.kind, self.frames, self.size)
        except EncoderError as exc:
            raise RecordingError(self._failure(exc)) from None

    def _commit(self) -> None:
        """The checked output takes the place of ``path`` (an earlier folder of frames is swapped out whole)."""
        from ibviewer.core.interrupts import shielded
        from ibviewer.core.io import DIR_MODE, FILE_MODE

        try:
            with shielded():
                if self.kind == "frames":
                    os.chmod(self._tmp, DIR_MODE)
                    for f in self._tmp.iterdir():
                        os.chmod(f, FILE_MODE)
                    self._swap_folder()
                else:
                    os.chmod(self._tmp, FILE_MODE)
                    os.replace(self._tmp, self.path)
        except OSError as exc:
            raise RecordingError(self._failure(exc.strerror or exc)) from None

    def _swap_folder(self) -> None:
        old = None
        if self.path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".old", dir=self.path.parent))
            os.replace(self.path, old)  # onto the empty placeholder: atomic on POSIX
        try:
            os.replace(self._tmp, self.path)
        except BaseException:
            if old is not None:
                os.replace(old, self.path)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def cancel(self) -> None:
        """Stop and leave nothing behind (the encoder process stopped, the temporary output removed)."""
        if not self._closed:
            self._closed = True
        self._abort()

    def _abort(self) -> None:
        """Stop the encoder and its thread, and remove the temporary output; not interrupted by a second
        Ctrl+C or SIGTERM (see :func:`ibviewer.core.interrupts.shielded`)."""
        from ibviewer.core.interrupts import shielded

        with shielded():
            self._cancelled = True
            self._error = self._error or RecordingError("cancelled")
            if self._encoder is not None:
                self._encoder.kill()  # unblocks the thread if it waits on ffmpeg's input
            while self._thread.is_alive():
                try:
                    self._queue.put(None, timeout=0.05)
                except queue.Full:
                    continue
                self._thread.join(1.0)
            self._remove_tmp()

    def _remove_tmp(self) -> None:
        if self._tmp.is_dir():
            shutil.rmtree(self._tmp, ignore_errors=True)
        elif self._tmp.exists():
            self._tmp.unlink()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.cancel()
        return False
