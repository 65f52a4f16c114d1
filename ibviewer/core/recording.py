"""Video output without Qt: the frame schedule and a streaming, threaded, atomic writer.

Frames (BGRA or RGB bytes of a fixed size) are handed to :class:`FrameWriter`, which encodes them in a thread of
its own (the GUI thread renders the next frame meanwhile) through imageio-ffmpeg's bundled ffmpeg (H.264
yuv420p MP4, or a palette GIF) or writes numbered PNG files.  Nothing is held in memory beyond a short queue.
The output is written under a temporary name and renamed when complete; a cancelled or failed export leaves
nothing behind.
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

FORMATS = ("mp4", "gif", "frames")
#: x264 presets by quality name: fast enough to keep up with rendering (medium managed 26 frames/s on a 2-core CPU)
QUALITY = {"draft": ("ultrafast", 28), "normal": ("veryfast", 20), "high": ("veryfast", 16)}


class RecordingError(RuntimeError):
    """A recording that cannot be made: one line saying why."""


def frame_schedule(total_steps: int, frames: int, kind: str = "linear", start: int = 0) -> np.ndarray:
    """The training step shown by each frame: ``frames`` steps from ``start`` to ``total_steps``, evenly spaced
    (``linear``) or logarithmically (``log``: the dynamics after a small initialization happen on a log time
    scale).  Independent of how fast training runs.  Consecutive frames may show the same step."""
    if frames < 1:
        raise RecordingError(f"the recording needs at least 1 frame (got {frames})")
    if total_steps < start:
        raise RecordingError(f"the last step {total_steps} lies before the first {start}")
    if kind == "linear":
        s = np.linspace(start, total_steps, frames)
    elif kind == "log":
        s = np.geomspace(start + 1, total_steps + 1, frames) - 1
    else:
        raise RecordingError(f"schedule {kind!r} is not allowed; choose linear or log")
    return np.round(s).astype(np.int64)


def output_kind(path: str | Path, frames_dir: bool = False) -> str:
    if frames_dir:
        return "frames"
    suffix = Path(path).suffix.lower()
    if suffix == ".mp4":
        return "mp4"
    if suffix == ".gif":
        return "gif"
    raise RecordingError(f"output {str(path)!r} has an unknown type; allowed: .mp4, .gif (or a folder for PNG frames)")


def check_output(path: str | Path) -> Path:
    """The folder that will hold ``path`` must exist and be writable."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise RecordingError(f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise RecordingError(f"cannot write {str(path)!r}: folder {str(parent)!r} is not writable")
    return path


class FrameWriter:
    """Streams frames of ``size`` = (width, height) to an MP4, a GIF or a folder of PNGs, in its own thread.

    ``write(buffer)`` takes BGRA bytes (or an (h, w, 4) uint8 array) and returns once the frame is queued;
    ``close()`` waits for the encoder and moves the file into place; ``cancel()`` removes everything.
    """

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float = 30, *, kind: str | None = None,
                 quality: str = "normal", queue_size: int = 8):
        self.path = check_output(path)
        self.kind = kind or output_kind(path)
        if self.kind not in FORMATS:
            raise RecordingError(f"format {self.kind!r} is not allowed; choose one of: {', '.join(FORMATS)}")
        if quality not in QUALITY:
            raise RecordingError(f"quality {quality!r} is not allowed; choose one of: {', '.join(QUALITY)}")
        w, h = size
        if w < 16 or h < 16 or w % 2 or h % 2:
            raise RecordingError(f"frame size {w}x{h} is not allowed; width and height must be even and >= 16")
        if not fps > 0:
            raise RecordingError(f"fps {fps} is not allowed; it must be > 0")
        self.size = (int(w), int(h))
        self.fps = float(fps)
        self.quality = quality
        self.frames = 0
        self._error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        parent = self.path.parent
        if self.kind == "frames":
            self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".part", dir=parent))
        else:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=f".part.{self.kind}", dir=parent)
            os.close(fd)
            self._tmp = Path(tmp)
        self._thread = threading.Thread(target=self._run, name="ibviewer-encoder", daemon=True)
        self._thread.start()
        self._closed = False

    # ------------------------------------------------------------------ encoder thread
    def _encoder(self):
        import imageio_ffmpeg

        w, h = self.size
        preset, crf = QUALITY[self.quality]
        if self.kind == "mp4":
            out = ["-preset", preset, "-crf", str(crf), "-movflags", "+faststart"]
            gen = imageio_ffmpeg.write_frames(str(self._tmp), (w, h), pix_fmt_in="bgra", pix_fmt_out="yuv420p",
                                              fps=self.fps, codec="libx264", quality=None, macro_block_size=2,
                                              output_params=out, ffmpeg_log_level="error")
        else:
            out = ["-filter_complex", "[0:v]split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse",
                   "-loop", "0", "-f", "gif"]
            gen = imageio_ffmpeg.write_frames(str(self._tmp), (w, h), pix_fmt_in="bgra", pix_fmt_out=None,
                                              fps=self.fps, codec="gif", quality=None, macro_block_size=2,
                                              output_params=out, ffmpeg_log_level="error")
        gen.send(None)
        return gen

    def _run(self) -> None:
        gen = None
        try:
            if self.kind != "frames":
                gen = self._encoder()
            n = 0
            while True:
                item = self._queue.get()
                if item is None:
                    break
                if self._error is not None:
                    continue
                if gen is not None:
                    gen.send(item)
                else:
                    self._write_png(item, n)
                n += 1
            if gen is not None:
                gen.close()
        except BaseException as exc:  # reported by close(); the thread must never die silently
            self._error = exc
            if gen is not None:
                try:
                    gen.close()
                except BaseException:
                    pass
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
        Image.fromarray(arr[:, :, [2, 1, 0]]).save(self._tmp / f"frame_{n:06d}.png", compress_level=1)

    # ------------------------------------------------------------------ API
    def write(self, frame) -> None:
        if self._closed:
            raise RecordingError("the recording is already closed")
        if self._error is not None:
            self.cancel()
            raise RecordingError(f"the encoder failed: {self._error}")
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
        """Finish encoding and move the output into place; returns its path."""
        if self._closed:
            return self.path
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            self._remove_tmp()
            raise RecordingError(f"the encoder failed: {self._error}")
        from ibviewer.core.io import DIR_MODE, FILE_MODE

        if self.kind == "frames":
            os.chmod(self._tmp, DIR_MODE)
            for f in self._tmp.iterdir():
                os.chmod(f, FILE_MODE)
            if self.path.exists():
                shutil.rmtree(self.path) if self.path.is_dir() else self.path.unlink()
        else:
            os.chmod(self._tmp, FILE_MODE)
        os.replace(self._tmp, self.path)
        return self.path

    def cancel(self) -> None:
        """Stop and leave nothing behind."""
        if not self._closed:
            self._closed = True
            self._error = self._error or RecordingError("cancelled")
            self._queue.put(None)
            self._thread.join()
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
