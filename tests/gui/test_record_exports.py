"""Exports for any room: presets and aspect ratios, a transparent background (WebM, MOV, PNG frames; the alpha
channel read back), one panel alone."""

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from ibviewer.core.recording import RecordingError
from ibviewer.gui.export_ui import AnimationDialog
from ibviewer.gui.record import main as record_main

QUICK = ["--steps", "300", "-q", "--fps", "4", "--seconds", "1"]


def rgba_of_video(path: Path, frame: int = -1) -> np.ndarray:
    """One frame of a video decoded to RGBA by ffmpeg (libvpx for VP9: the native decoder drops alpha)."""
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    dec = ["-c:v", "libvpx-vp9"] if path.suffix == ".webm" else []
    png = path.with_suffix(".check.png")
    select = ["-vf", f"select=eq(n\\,{frame})"] if frame >= 0 else ["-sseof", "-0.3"]
    head, vf = (select, []) if frame < 0 else ([], select)
    subprocess.run([exe, "-v", "error", "-y", *head, *dec, "-i", str(path), *vf, "-frames:v", "1",
                    "-pix_fmt", "rgba", str(png)], check=True, timeout=60)
    with Image.open(png) as im:
        assert im.mode == "RGBA"
        out = np.asarray(im).copy()
    png.unlink()
    return out


def check_alpha(rgba: np.ndarray) -> None:
    """The background is transparent, and coloured curves are opaque."""
    a = rgba[..., 3].astype(int)
    assert a[2, 2] <= 4 and a[-3, -3] <= 4  # corners: background
    assert (a <= 4).mean() > 0.3  # most of the frame lets the slide through
    rgb = rgba[..., :3].astype(int)
    coloured = (rgb.max(-1) - rgb.min(-1) > 90) & (a >= 250)
    assert coloured.sum() > 50  # the singular values' coloured curves, opaque


@pytest.mark.parametrize("suffix", [".webm", ".mov"])
def test_transparent_video_keeps_an_alpha_channel(qapp, tmp_path, suffix):
    out = tmp_path / f"overlay{suffix}"
    assert record_main(["--out", str(out), "--size", "320x180", "--transparent", *QUICK]) == 0
    check_alpha(rgba_of_video(out))
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_transparent_png_frames_have_alpha(qapp, tmp_path):
    folder = tmp_path / "frames"
    assert record_main(["--frames", str(folder), "--size", "320x180", "--transparent", *QUICK]) == 0
    with Image.open(folder / "frame_000003.png") as im:
        assert im.mode == "RGBA" and im.size == (320, 180)
        check_alpha(np.asarray(im))


def test_opaque_png_frames_stay_rgb(qapp, tmp_path):
    folder = tmp_path / "frames"
    assert record_main(["--frames", str(folder), "--size", "160x90", *QUICK]) == 0
    with Image.open(folder / "frame_000000.png") as im:
        assert im.mode == "RGB"


def test_presets_and_aspect_set_the_frame_size(qapp, tmp_path):
    folder = tmp_path / "frames"
    assert record_main(["--frames", str(folder), "--size", "720p", "--aspect", "1:1", "--fps", "1",
                        "--seconds", "1", "--steps", "200", "-q"]) == 0
    with Image.open(folder / "frame_000000.png") as im:
        assert im.size == (720, 720)


@pytest.mark.parametrize("argv, expect", [
    (["--size", "8k"], "720p, 1080p, 1440p, 4k"),
    (["--aspect", "5:4"], "16:9, 4:3, 1:1"),
    (["--transparent"], "--transparent needs"),
])
def test_bad_size_aspect_transparent_are_one_line_exit_2(qapp, tmp_path, capsys, argv, expect):
    assert record_main(["--out", str(tmp_path / "x.mp4"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expect in err
    assert list(tmp_path.iterdir()) == []


def test_the_export_dialog_offers_presets_aspect_and_transparency(qtbot, window, tmp_path):
    dlg = AnimationDialog(window)
    dlg.size.setCurrentText("1080p")
    dlg.aspect.setCurrentIndex(dlg.aspect.findData("4:3"))
    dlg.path.edit.setText(str(tmp_path / "x.mp4"))
    s = dlg.settings()
    assert s.size == (1440, 1080) and not s.transparent
    dlg.transparent.setChecked(True)
    with pytest.raises(RecordingError, match="WebM, MOV or PNG"):
        dlg.settings()
    dlg.format.setCurrentIndex(dlg.format.findData("webm"))
    assert dlg.path.text().endswith(".webm")
    s = dlg.settings()
    assert s.kind == "webm" and s.transparent
    dlg.size.setCurrentText("huge")
    with pytest.raises(RecordingError, match="720p"):
        dlg.settings()
    dlg.close()


def spans_the_frame(rgb: np.ndarray, background) -> bool:
    """Something is drawn in each quarter of the frame (one panel fills it; a grid would too, so callers also
    check that there is only one panel's title)."""
    h, w = rgb.shape[:2]
    drawn = np.abs(rgb[..., :3].astype(int) - np.array(background)).max(-1) > 40
    quarters = [drawn[: h // 2, : w // 2], drawn[: h // 2, w // 2:], drawn[h // 2:, : w // 2], drawn[h // 2:, w // 2:]]
    return all(q.mean() > 0.002 for q in quarters)


def test_record_one_panel_alone_at_a_square_size(qapp, tmp_path):
    folder = tmp_path / "frames"
    assert record_main(["--frames", str(folder), "--panels", "singular_values", "--size", "720p", "--aspect", "1:1",
                        "--fps", "2", "--seconds", "1", "--steps", "400", "-q", "--no-caption"]) == 0
    with Image.open(folder / "frame_000001.png") as im:
        assert im.size == (720, 720)
        assert spans_the_frame(np.asarray(im), (255, 255, 255))


def test_the_app_exports_one_panel_alone(qtbot, window, tmp_path):
    from ibviewer.gui.export import ExportLayout
    from ibviewer.gui.export_ui import AnimationSettings, window_sources
    from ibviewer.gui.themes import get_theme

    from .conftest import TIMEOUT_MS, settle

    if window.mirror.n < 30:
        window.play()
        qtbot.waitUntil(lambda: window.mirror.n >= 30, timeout=TIMEOUT_MS)
        window.pause()
        settle(qtbot, window)
    rec = window.recording
    png = rec.export_image(str(tmp_path / "loss.png"), panel="loss", size=(1080, 1080))
    assert png is not None
    with Image.open(png) as im:
        assert im.size == (1080, 1080)
        assert spans_the_frame(np.asarray(im.convert("RGB")), (255, 255, 255))
    out = rec.export_animation(AnimationSettings(path=str(tmp_path / "loss.mp4"), size=(360, 640), fps=4,
                                                 seconds=1, panels=["loss"]))
    assert out is not None
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(out))
    assert next(gen)["size"] == (360, 640) and sum(1 for _ in gen) == 4
    # the layout of one panel holds that panel only
    source, _ = window_sources(window, None)
    lay = ExportLayout(source, ["loss"], (640, 360), get_theme("light"))
    try:
        assert list(lay.panels) == ["loss"]
    finally:
        lay.close_layout()
