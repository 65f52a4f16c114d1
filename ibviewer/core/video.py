"""The ffmpeg encoder process and the check of a finished video, for :class:`ibviewer.core.recording.FrameWriter`.

The encoder is ffmpeg (imageio-ffmpeg's bundled binary, or ``IMAGEIO_FFMPEG_EXE``) run as a process of our own
rather than through imageio-ffmpeg's generator, so that its exit status, its error output and its process are in
hand: a full disk makes ffmpeg fail, and that failure must be seen (a video that ffmpeg could not finish is
unplayable, yet it sits where the good one was).  The process runs in a session of its own, so Ctrl+C in the
terminal reaches only ibviewer, which then stops the encoder (kill, wait) and removes its file.

A finished video is read back before it replaces anything (:func:`verify_video`): its frame count and size as
the container says, and its first and last frames decoded.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path


class EncoderError(RuntimeError):
    """The encoder failed, or its output is not a whole video: one line saying why."""


def ffmpeg_exe() -> str:
    """The ffmpeg binary: ``IMAGEIO_FFMPEG_EXE`` if set, else imageio-ffmpeg's bundled one."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


#: VP9's constant quality (0 best .. 63) by x264 crf: about the same look
_VP9_CRF = {28: 42, 20: 32, 16: 26}
#: the GIF filter: one palette for the whole clip from the pixels that change (``stats_mode=diff``: the curves,
#: not the flat background), applied without error diffusion (``dither=none``).  Diffusion dithering sprinkles
#: noise over a dark background that differs from frame to frame, so every frame was stored whole (a dark GIF
#: 8x the size of the light one, see docs/benchmarks.md); flat colours compress frame to frame.
GIF_FILTER = "[0:v]split[a][b];[a]palettegen=stats_mode=diff:max_colors=128[p];[b][p]paletteuse=dither=none:diff_mode=rectangle"


def encoder_command(path: str | Path, kind: str, size: tuple[int, int], fps: float, preset: str, crf: int,
                    exe: str | None = None) -> list[str]:
    """The ffmpeg command that reads raw BGRA frames on stdin and writes ``path``: H.264 MP4 (yuv420p), a
    palette GIF, VP9 WebM with an alpha channel (yuva420p) or ProRes 4444 MOV with alpha (yuva444p10le)."""
    w, h = size
    rate = str(Fraction(fps).limit_denominator())
    cmd = [exe or ffmpeg_exe(), "-y", "-hide_banner", "-f", "rawvideo", "-vcodec",
           "rawvideo", "-s", f"{w}x{h}", "-pix_fmt", "bgra", "-r", rate, "-i", "-", "-an"]
    if kind == "mp4":
        cmd += ["-vcodec", "libx264", "-pix_fmt", "yuv420p", "-preset", preset, "-crf", str(crf),
                "-movflags", "+faststart", "-f", "mp4"]
    elif kind == "gif":
        cmd += ["-filter_complex", GIF_FILTER, "-loop", "0", "-f", "gif"]
    elif kind == "webm":
        cmd += ["-vcodec", "libvpx-vp9", "-pix_fmt", "yuva420p", "-b:v", "0", "-crf", str(_VP9_CRF.get(crf, 32)),
                "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-auto-alt-ref", "0", "-f", "webm"]
    elif kind == "mov":
        cmd += ["-vcodec", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", "-alpha_bits", "8",
                "-vendor", "apl0", "-f", "mov"]
    else:
        raise ValueError(f"no encoder for {kind!r}")
    return cmd + ["-v", "error", str(path)]


def _last_line(text: str) -> str:
    lines = [s.strip() for s in text.splitlines() if s.strip()]
    return lines[-1] if lines else ""


class EncoderProcess:
    """One ffmpeg process fed frames on its stdin.  ``write`` raises :class:`EncoderError` once ffmpeg has
    failed; ``finish`` waits for it and raises unless it exited 0; ``kill`` stops it at once (idempotent)."""

    def __init__(self, cmd: list[str]):
        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr,
                                         start_new_session=True)
        except OSError as exc:
            self._stderr.close()
            raise EncoderError(f"cannot start the encoder {cmd[0]!r}: {exc.strerror or exc}") from None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def error_text(self) -> str:
        """The last line ffmpeg wrote on stderr (its reason for failing), or ''."""
        try:
            self._stderr.seek(0)
            return _last_line(self._stderr.read().decode("utf-8", "replace"))
        except (OSError, ValueError):
            return ""

    def _failed(self, code: int | None) -> EncoderError:
        why = self.error_text()
        status = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        return EncoderError(f"the encoder failed (ffmpeg {status}{': ' + why if why else ''})")

    def write(self, data) -> None:
        try:
            self.proc.stdin.write(data)
        except (BrokenPipeError, OSError, ValueError):
            code = self.proc.wait()
            raise self._failed(code) from None

    def finish(self) -> None:
        """Close ffmpeg's input and wait for it to write the file; EncoderError unless it exited 0."""
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        code = self.proc.wait()
        try:
            if code != 0:
                raise self._failed(code)
        finally:
            self._stderr.close()

    def kill(self) -> None:
        """Stop ffmpeg now and reap it.  SIGKILL, not SIGTERM: its output is thrown away, and ffmpeg answers
        SIGTERM by finishing the file it writes, which took up to a second."""
        p = self.proc
        if p.poll() is None:
            try:
                p.kill()
            except ProcessLookupError:  # pragma: no cover - gone meanwhile
                pass
        p.wait()
        try:
            p.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            self._stderr.close()
        except OSError:  # pragma: no cover
            pass


# ------------------------------------------------------------------------------------------ checking the result
def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise EncoderError(f"reading the video back took over {timeout:.0f} s") from None
    except OSError as exc:
        raise EncoderError(f"cannot run {cmd[0]!r} to read the video back: {exc.strerror or exc}") from None


def _probe(exe: str, path: Path, timeout: float) -> tuple[int, tuple[int, int]]:
    """(frames, (width, height)) of the video stream as the container holds it (packets copied, not decoded)."""
    r = _run([exe, "-hide_banner", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"], timeout)
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode != 0:
        raise EncoderError(f"the video does not read back ({_last_line(err) or f'ffmpeg exit status {r.returncode}'})")
    counts = re.findall(r"frame=\s*(\d+)", err)
    size = re.search(r"Video:.*?\b(\d{2,5})x(\d{2,5})\b", err)
    if not counts or size is None:
        raise EncoderError("the video does not read back (no video stream)")
    return int(counts[-1]), (int(size.group(1)), int(size.group(2)))


def _decode(exe: str, path: Path, size: tuple[int, int], timeout: float, *, last: bool) -> None:
    """Decode the first frame (or, ``last``, the final second's frames) to raw RGB; EncoderError if it fails."""
    w, h = size
    head = [exe, "-hide_banner", "-v", "error"] + (["-sseof", "-1"] if last else [])
    cmd = head + ["-i", str(path), "-map", "0:v:0"] + ([] if last else ["-frames:v", "1"]) + [
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    r = _run(cmd, timeout)
    n = len(r.stdout) // (w * h * 3)
    if r.returncode != 0 or n < 1 or len(r.stdout) % (w * h * 3):
        which = "last" if last else "first"
        why = _last_line(r.stderr.decode("utf-8", "replace")) or f"{len(r.stdout)} bytes decoded"
        raise EncoderError(f"the video's {which} frame does not decode ({why})")


def verify_video(path: str | Path, kind: str, frames: int, size: tuple[int, int], exe: str | None = None) -> None:
    """Check that ``path`` is a whole ``kind`` video of ``frames`` frames of ``size``, its first and last frames
    decodable; EncoderError with one line otherwise."""
    path = Path(path)
    exe = exe or ffmpeg_exe()
    if not path.is_file() or path.stat().st_size == 0:
        raise EncoderError("the encoder wrote an empty file")
    timeout = 60 + frames / 50
    n, got = _probe(exe, path, timeout)
    if got != tuple(size):
        raise EncoderError(f"the video is {got[0]}x{got[1]}, not {size[0]}x{size[1]}")
    if n != frames:
        raise EncoderError(f"the video holds {n} frames, not the {frames} written")
    _decode(exe, path, got, timeout, last=False)
    _decode(exe, path, got, timeout, last=True)


def verify_frames(folder: str | Path, frames: int, size: tuple[int, int]) -> None:
    """Check that ``folder`` holds ``frames`` PNG files of ``size``, the first and the last decodable."""
    from PIL import Image

    folder = Path(folder)
    names = sorted(p.name for p in folder.glob("frame_*.png"))
    if len(names) != frames:
        raise EncoderError(f"the folder holds {len(names)} frames, not the {frames} written")
    for name in {names[0], names[-1]} if names else ():
        try:
            with Image.open(folder / name) as img:
                img.load()
                got = img.size
        except (OSError, SyntaxError, ValueError) as exc:
            raise EncoderError(f"{name} does not decode ({exc})") from None
        if got != tuple(size):
            raise EncoderError(f"{name} is {got[0]}x{got[1]}, not {size[0]}x{size[1]}")


def frames_folder_in_use(path: Path) -> str | None:
    """Why an existing folder may not be replaced by PNG frames (None: it may): it is read-only (its mode has
    no write bit, or this user cannot write it), or it holds files other than frame_NNNNNN.png."""
    if not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222:
        return "is read-only"
    other = [p.name for p in path.iterdir() if not (p.name.startswith("frame_") and p.suffix == ".png")]
    if other:
        return f"holds other files ({other[0]!r})"
    return None
