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
