"""``ibviewer record`` under faults: a full disk (an encoder that fails, a file-size limit), a read-only
destination, Ctrl+C and SIGTERM (in-process and against the real command), a diverged run.  Each ends with one
line and the exit code of the rule in ``ibviewer/gui/record.py``, the previous output intact, no temporary file
and no encoder process left."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ibviewer.core import video
from ibviewer.gui.record import main as record_main

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--size", "64x48", "--fps", "10", "--seconds", "1", "--steps", "200", "-q"]


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def good_video(path: Path) -> bytes:
    assert record_main(["--out", str(path), *TINY]) == 0
    return path.read_bytes()


def no_process_mentions(text: str) -> bool:
    """No process on the machine (an orphaned ffmpeg included) has ``text`` on its command line."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    return False
            except OSError:
                continue
    return True


def test_an_encoder_failing_on_a_full_disk_is_one_line_exit_2_and_keeps_the_video(qapp, tmp_path, capsys,
                                                                                   fake_ffmpeg, encoders):
    out = tmp_path / "talk.mp4"
    before = good_video(out)
    fake_ffmpeg("full")
    assert record_main(["--out", str(out), *TINY]) == 2
    line = one_line(capsys)
    assert line.startswith("ibviewer record: error: cannot write") and str(out) in line
    assert "No space left on device" in line and "left as it was" in line
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["talk.mp4"]
    assert not encoders()


def test_a_video_that_does_not_read_back_never_replaces_the_old_one(qapp, tmp_path, capsys, fake_ffmpeg):
    out = tmp_path / "talk.gif"
    before = good_video(out)
    fake_ffmpeg("truncate")  # the encoder says it succeeded
    assert record_main(["--out", str(out), *TINY]) == 2
    assert "not the 10 written" in one_line(capsys)
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["talk.gif"]


def test_a_read_only_frames_folder_is_one_line_and_kept(qapp, tmp_path, capsys):
    folder = tmp_path / "frames"
    assert record_main(["--frames", str(folder), *TINY]) == 0
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    folder.chmod(0o555)
    try:
        assert record_main(["--frames", str(folder), *TINY]) == 2
        assert "read-only" in one_line(capsys)
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    finally:
        folder.chmod(0o755)
    assert [p.name for p in tmp_path.iterdir()] == ["frames"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_rendering_then_another_while_cleaning_up(qapp, tmp_path, capsys, monkeypatch, encoders,
                                                                 signum):
    out = tmp_path / "talk.mp4"
    before = good_video(out)
    real_write, real_kill = video.EncoderProcess.write, video.EncoderProcess.kill
    written = []

    def write(self, data):
        real_write(self, data)
        written.append(self.pid)
        if len(written) == 3:
            os.kill(os.getpid(), signum)  # the first signal, while frames are encoded

    def kill(self):
        os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl+C while the encoder is stopped and its file removed
        real_kill(self)

    monkeypatch.setattr(video.EncoderProcess, "write", write)
    monkeypatch.setattr(video.EncoderProcess, "kill", kill)
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    assert record_main(["--out", str(out), *TINY]) == 130
    assert "interrupted" in one_line(capsys)
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["talk.mp4"]
    assert written and not encoders()
    with pytest.raises(ProcessLookupError):
        os.kill(written[0], 0)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


def test_a_diverged_run_is_recorded_and_exits_1(qapp, tmp_path, capsys):
    out = tmp_path / "d.mp4"
    assert record_main(["--out", str(out), "--set", "optimizer.lr=1e6", *TINY[:-1]]) == 1
    assert "diverged" in capsys.readouterr().err
    assert out.stat().st_size > 0 and [p.name for p in tmp_path.iterdir()] == ["d.mp4"]


def _record_command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ibviewer", "record", "--out", str(out), "--size", "320x180", "--fps", "30",
            "--steps", "300", "-q", *extra]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_real_command_stopped_mid_recording_leaves_no_temporary_file_and_no_ffmpeg(tmp_path, signum):
    out = tmp_path / "talk.mp4"
    out.write_bytes(b"the previous talk")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen(_record_command(out, "--seconds", "600"), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".talk.mp4.*.part.mp4")):  # the encoder has started
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signum)
        time.sleep(0.05)
        proc.send_signal(signum)  # and again, while it cleans up
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and err.count("\n") == 1 and "interrupted" in err, err
    assert out.read_bytes() == b"the previous talk" and [p.name for p in tmp_path.iterdir()] == ["talk.mp4"]
    assert no_process_mentions(str(tmp_path))


def test_the_real_command_on_a_file_size_limit_is_one_line_exit_2(tmp_path):
    """A real write failure without root or a small filesystem: RLIMIT_FSIZE stops ffmpeg's writes at 4 KiB."""
    import resource

    out = tmp_path / "talk.mp4"
    out.write_bytes(b"the previous talk")

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run(_record_command(out, "--seconds", "2"), cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120, preexec_fn=limit, check=False)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert str(out) in r.stderr and "left as it was" in r.stderr
    assert out.read_bytes() == b"the previous talk" and [p.name for p in tmp_path.iterdir()] == ["talk.mp4"]
    assert no_process_mentions(str(tmp_path))
