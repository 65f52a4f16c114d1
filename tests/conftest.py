import os

# GUI tests run offscreen; set before anything imports Qt
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sys

import pytest

from ibviewer.core.processes import child_processes

#: a stand-in for ffmpeg that fails the way a full disk makes ffmpeg fail, or worse; other calls (reading a
#: video back) go to the real ffmpeg
FAKE_FFMPEG = '''#!{python}
import os, subprocess, sys, time
REAL, MODE = {real!r}, {mode!r}
args = sys.argv[1:]
if not ("-i" in args and args[args.index("-i") + 1] == "-"):  # not the encoder: read back with the real one
    sys.exit(subprocess.call([REAL] + args))
out = args[-1]
if MODE == "full":  # the disk fills after a little output: ffmpeg's message and exit status
    with open(out, "wb") as fh:
        fh.write(b"\\0" * 100)
    sys.stdin.buffer.read(5000)
    sys.stderr.write("[out#0] Error writing trailer: No space left on device\\n")
    sys.exit(1)
if MODE == "truncate":  # exits 0, but the file is cut short: the failure nobody notices
    code = subprocess.call([REAL] + args)
    os.truncate(out, os.path.getsize(out) // 2)
    sys.exit(code)
if MODE == "stall":  # takes its input and does not finish: only a kill ends it (or a minute)
    while sys.stdin.buffer.read(65536):
        pass
    time.sleep(60)
'''


@pytest.fixture
def fake_ffmpeg(tmp_path_factory, monkeypatch):
    """``fake_ffmpeg(mode)``: make the recording's encoder a stand-in that fails (``full``: exit 1 with
    "No space left on device"; ``truncate``: exit 0 with half a file; ``stall``: never ends); returns its path
    (also usable as ``IMAGEIO_FFMPEG_EXE`` for a child process)."""
    import imageio_ffmpeg

    from ibviewer.core import video

    real = imageio_ffmpeg.get_ffmpeg_exe()
    folder = tmp_path_factory.mktemp("fake-ffmpeg")

    def make(mode: str) -> str:
        path = folder / f"ffmpeg-{mode}"
        path.write_text(FAKE_FFMPEG.format(python=sys.executable, real=real, mode=mode))
        path.chmod(0o755)
        monkeypatch.setattr(video, "ffmpeg_exe", lambda: str(path))
        return str(path)

    return make


@pytest.fixture
def encoders():
    """``encoders()``: this process's live ffmpeg children, real or fake (pid, command line); the worker and
    multiprocessing's resource tracker, also children in GUI tests, are left out."""
    return lambda: [(pid, cmd) for pid, cmd in child_processes() if "ffmpeg" in cmd]
