"""The Qt-free part of recording: frame schedules and the streaming, atomic writer."""

import numpy as np
import pytest

from ibviewer.core.recording import FrameWriter, RecordingError, frame_schedule


def frames(n, w=64, h=48):
    for i in range(n):
        a = np.zeros((h, w, 4), np.uint8)
        a[:, : (i * 7) % w, 1] = 255  # a growing green bar
        a[..., 3] = 255
        yield a


def test_schedules():
    lin = frame_schedule(1000, 11)
    np.testing.assert_array_equal(lin, np.arange(0, 1001, 100))
    log = frame_schedule(10**5, 6, "log")
    assert log[0] == 0 and log[-1] == 10**5 and np.all(np.diff(log) >= 0)
    assert log[2] < 100  # most frames early: plateaus and jumps on a log scale
    with pytest.raises(RecordingError, match="linear or log"):
        frame_schedule(10, 3, "cubic")


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_video_has_fps_times_seconds_frames_at_the_size(tmp_path, suffix):
    import imageio.v3 as iio

    out = tmp_path / f"v{suffix}"
    with FrameWriter(out, (64, 48), fps=10) as w:
        for f in frames(20):
            w.write(f)
    assert out.is_file() and not list(tmp_path.glob(".*part*"))
    if suffix == ".mp4":
        import imageio_ffmpeg

        reader = imageio_ffmpeg.read_frames(str(out))
        meta = next(reader)
        n = sum(1 for _ in reader)
        assert meta["size"] == (64, 48) and n == 20 and meta["fps"] == 10
    else:
        img = iio.imread(out, index=None)
        assert img.shape[:3] == (20, 48, 64)


def test_png_frames_folder(tmp_path):
    import imageio.v3 as iio

    out = tmp_path / "frames"
    with FrameWriter(out, (64, 48), kind="frames") as w:
        for f in frames(5):
            w.write(f)
    files = sorted(out.glob("frame_*.png"))
    assert len(files) == 5
    img = iio.imread(files[3])
    assert img.shape == (48, 64, 3) and img[0, 0, 1] == 255  # BGRA in, RGB out: the bar is green


def test_cancel_leaves_nothing(tmp_path):
    for name, kind in (("c.mp4", None), ("c.gif", None), ("cf", "frames")):
        w = FrameWriter(tmp_path / name, (64, 48), kind=kind)
        for f in frames(3):
            w.write(f)
        w.cancel()
    assert list(tmp_path.iterdir()) == []


def test_exception_inside_with_block_cancels(tmp_path):
    with pytest.raises(KeyError):
        with FrameWriter(tmp_path / "x.mp4", (64, 48)) as w:
            w.write(next(frames(1)))
            raise KeyError("boom")
    assert list(tmp_path.iterdir()) == []


def test_clear_errors(tmp_path):
    with pytest.raises(RecordingError, match="does not exist"):
        FrameWriter(tmp_path / "no" / "x.mp4", (64, 48))
    with pytest.raises(RecordingError, match="unknown type"):
        FrameWriter(tmp_path / "x.avi", (64, 48))
    with pytest.raises(RecordingError, match="even"):
        FrameWriter(tmp_path / "x.mp4", (65, 48))
    w = FrameWriter(tmp_path / "x.mp4", (64, 48))
    with pytest.raises(RecordingError, match="expected"):
        w.write(np.zeros((10, 10, 4), np.uint8))
    w.cancel()


def test_outputs_get_ordinary_permissions(tmp_path):
    import os
    import stat

    from ibviewer.core.io import FILE_MODE, write_json

    with FrameWriter(tmp_path / "p.mp4", (64, 48)) as w:
        w.write(next(frames(1)))
    write_json(tmp_path / "s.json", {"a": 1})
    for f in ("p.mp4", "s.json"):
        assert stat.S_IMODE(os.stat(tmp_path / f).st_mode) == FILE_MODE


# ------------------------------------------------------------------------------------------ faults: whole or absent
def _good(path, kind=None, n=4):
    with FrameWriter(path, (64, 48), fps=10, kind=kind) as w:
        for f in frames(n):
            w.write(f)
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir())}
    return path.read_bytes()


def _write_all(w, n=20):
    for f in frames(n):
        w.write(f)


def _gone(pid) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
@pytest.mark.parametrize("mode, words", [("full", "No space left on device"), ("truncate", "not the 20 written")])
def test_an_encoder_failure_keeps_the_previous_video(tmp_path, fake_ffmpeg, encoders, suffix, mode, words):
    out = tmp_path / f"v{suffix}"
    before = _good(out)
    fake_ffmpeg(mode)
    w = FrameWriter(out, (64, 48), fps=10)
    pid = w.encoder_pid
    with pytest.raises(RecordingError) as err:
        _write_all(w)
        w.close()
    line = str(err.value)
    assert "\n" not in line and str(out) in line and words in line, line
    assert "previous one was left as it was" in line
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [out.name]
    assert _gone(pid) and not encoders()


def test_a_failed_first_video_leaves_nothing(tmp_path, fake_ffmpeg):
    fake_ffmpeg("full")
    w = FrameWriter(tmp_path / "v.mp4", (64, 48), fps=10)
    with pytest.raises(RecordingError, match="nothing was written"):
        _write_all(w)
        w.close()
    assert list(tmp_path.iterdir()) == []


def test_cancel_stops_an_encoder_that_never_ends(tmp_path, fake_ffmpeg, encoders):
    fake_ffmpeg("stall")
    w = FrameWriter(tmp_path / "v.mp4", (64, 48), fps=10)
    pid = w.encoder_pid
    _write_all(w, 3)
    w.cancel()
    assert _gone(pid) and not encoders() and list(tmp_path.iterdir()) == []


def test_a_full_disk_while_writing_png_frames_keeps_the_previous_folder(tmp_path, monkeypatch):
    import errno
    import os

    from PIL import Image

    out = tmp_path / "frames"
    before = _good(out, kind="frames", n=3)
    saved = []
    real_save = Image.Image.save

    def save(self, fp, *a, **k):
        if len(saved) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        saved.append(fp)
        return real_save(self, fp, *a, **k)

    monkeypatch.setattr(Image.Image, "save", save)
    w = FrameWriter(out, (64, 48), kind="frames")
    with pytest.raises(RecordingError, match="No space left on device") as err:
        _write_all(w, 6)
        w.close()
    assert "previous one was left as it was" in str(err.value)
    assert {p.name: p.read_bytes() for p in sorted(out.iterdir())} == before
    assert [p.name for p in tmp_path.iterdir()] == ["frames"]


def test_a_new_frames_folder_replaces_the_old_one_whole(tmp_path):
    out = tmp_path / "frames"
    _good(out, kind="frames", n=5)
    _good(out, kind="frames", n=2)  # fewer frames: none of the old ones may remain
    assert sorted(p.name for p in out.iterdir()) == ["frame_000000.png", "frame_000001.png"]
    assert [p.name for p in tmp_path.iterdir()] == ["frames"]


def test_a_read_only_destination_is_refused_and_kept(tmp_path):
    folder = tmp_path / "frames"
    before = _good(folder, kind="frames", n=2)
    video = tmp_path / "v.mp4"
    old = _good(video)
    folder.chmod(0o555)
    video.chmod(0o444)
    try:
        with pytest.raises(RecordingError, match="read-only"):
            FrameWriter(folder, (64, 48), kind="frames")
        with pytest.raises(RecordingError, match="read-only"):
            FrameWriter(video, (64, 48))
        assert {p.name: p.read_bytes() for p in sorted(folder.iterdir())} == before and video.read_bytes() == old
        assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "v.mp4"]
    finally:
        folder.chmod(0o755)
        video.chmod(0o644)


def test_ctrl_c_while_the_video_is_finished_leaves_nothing_and_a_second_one_is_ignored(tmp_path, monkeypatch,
                                                                                     encoders):
    import os
    import signal

    from ibviewer.core import interrupts, video

    out = tmp_path / "v.mp4"
    before = _good(out)
    real_verify, real_kill = video.verify_video, video.EncoderProcess.kill

    def verify_then_interrupt(*a, **k):
        os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl+C, while the result is read back
        return real_verify(*a, **k)

    def kill_twice_interrupted(self):
        os.kill(os.getpid(), signal.SIGTERM)  # a second signal while the clean-up runs
        real_kill(self)

    monkeypatch.setattr(video, "verify_video", verify_then_interrupt)
    monkeypatch.setattr(video.EncoderProcess, "kill", kill_twice_interrupted)
    with interrupts.interrupt_once():
        w = FrameWriter(out, (64, 48), fps=10)
        with pytest.raises(KeyboardInterrupt):
            _write_all(w)
            w.close()
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["v.mp4"]
    assert not encoders()


def test_the_log_schedule_spends_little_of_a_clip_before_the_first_visible_change():
    """The default preset over 10,000 steps: a plain log spacing spent 40 % of the frames on steps 1-36, where
    nothing moves; started at the history's first visible change it spends at most 15 % before it."""
    from ibviewer.core.config import DEFAULT_PRESET, build_config
    from ibviewer.core.engine import Engine
    from ibviewer.core.recording import first_visible_step

    e = Engine(build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 10_000)]))
    e.run()
    h = e.history
    cols = {k: h[k][: h.n] for k in ("step", "loss", "sv")}
    first = first_visible_step(cols["step"], cols)
    # independent check: the largest singular value and the loss are still within 2 % of their log range there
    row = int(np.searchsorted(cols["step"], first)) - 1
    for x in (np.log10(cols["loss"]), np.log10(cols["sv"].max(axis=1))):
        assert abs(x[row] - x[0]) <= 0.02 * (x.max() - x.min())
    assert 10 <= first <= 500
    old = frame_schedule(10_000, 300, "log")
    new = frame_schedule(10_000, 300, "log", first_change=first)
    assert (old < first).mean() > 0.3  # the problem as it was
    assert (new < first).mean() <= 0.15
    assert new[0] == 0 and new[-1] == 10_000 and np.all(np.diff(new) >= 0)
    tail = new[new >= first]
    ratios = (tail[1:] + 1) / (tail[:-1] + 1)
    assert ratios.max() / ratios.min() < 1.5  # still a log spacing after the change


def test_first_visible_step_of_flat_or_tiny_histories():
    from ibviewer.core.recording import first_visible_step

    steps = np.arange(5)
    assert first_visible_step(steps, {"loss": np.ones(5)}) is None  # nothing moves
    assert first_visible_step(steps[:1], {"loss": np.ones(1)}) is None
    assert first_visible_step(steps, {"loss": np.array([1.0, 1.0, 0.5, 0.1, np.inf])}) == 2  # diverged at the end
    # without first_change the log schedule is the plain one
    np.testing.assert_array_equal(frame_schedule(1000, 5, "log"), frame_schedule(1000, 5, "log", first_change=None))
