"""Still export and the app's export actions: PNG at any size with thick lines, SVG that parses and
holds the curves, history as CSV/NPZ, the animation dialog's export with cancel, "Record live"."""

import csv
import time
import xml.etree.ElementTree as ET

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QAction

from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.core.engine import Engine
from ibviewer.gui.export import check_svg, export_history, export_png, export_svg, grid_shape
from ibviewer.gui.export_ui import AnimationDialog, AnimationSettings, Recording
from ibviewer.gui.themes import caption_text, sci, symbols
from ibviewer.gui.timeline import RunSource
from ibviewer.core.recording import RecordingError

from .conftest import TIMEOUT_MS, settle


@pytest.fixture(scope="module")
def source():
    e = Engine(build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 1500)]))
    e.run()
    return RunSource.from_engine(e, DEFAULT_PRESET)


def curve_pixels(path, rgb=(31, 119, 180), tol=40) -> int:
    """Pixels close to the colour of the loss curve (the palette's first colour)."""
    a = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int((np.abs(a - np.array(rgb)).sum(axis=2) < tol).sum())


def test_png_of_a_panel_and_of_the_layout(qapp, tmp_path, source):
    one = export_png(source, tmp_path / "loss.png", panels=["loss"], size=(800, 500))
    with Image.open(one) as im:
        assert im.size == (800, 500)
    lay = export_png(source, tmp_path / "layout.png", size=(1280, 720), theme="dark")
    with Image.open(lay) as im:
        assert im.size == (1280, 720)
        a = np.asarray(im.convert("RGB"))
    assert a[5:40].mean() < 128  # dark theme: dark background
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layout.png", "loss.png"]


def test_lines_stay_thick_at_high_resolution(qapp, tmp_path, source):
    small = export_png(source, tmp_path / "s.png", panels=["loss"], size=(600, 400), scale=1)
    big = export_png(source, tmp_path / "b.png", panels=["loss"], size=(1800, 1200), scale=3)
    n_small, n_big = curve_pixels(small), curve_pixels(big)
    assert n_small > 300
    # 3x the size at scale 3: the curve is 3x longer and 3x thicker, ~9x the pixels (thin lines would give ~3x)
    assert n_big > 6 * n_small, (n_small, n_big)


def test_svg_parses_and_holds_the_curves(qapp, tmp_path, source):
    out = export_svg(source, tmp_path / "sv.svg", "singular_values")
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    strokes = {g.get("stroke") for g in root.iter() if g.get("stroke")}
    for c in ("#1f77b4", "#d62728", "#2ca02c"):  # sigma_1..3
        assert c in strokes
    shapes = [el.get("points") or el.get("d") or "" for el in root.iter() if el.tag.endswith(("polyline", "path"))]
    assert max(s.count(",") for s in shapes) > 100  # whole curves (one shape each), not stubs
    text = ET.tostring(root, encoding="unicode")
    assert "Singular values" in text
    export_svg(source, tmp_path / "heat.svg", "heatmap")  # a panel with images
    with pytest.raises(RecordingError, match="broken"):
        check_svg(b"<svg><g></svg>")
    with pytest.raises(RecordingError, match="lacks the curves"):
        check_svg(b'<svg xmlns="http://www.w3.org/2000/svg"><g stroke="#000000"><polyline points="0,0 1,1 2,2"/>'
                  b"</g></svg>", {"#1f77b4"})


def test_history_csv_and_npz(tmp_path, source):
    c = export_history(source, tmp_path / "h.csv")
    with open(c) as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:4] == ["step", "time", "wall", "loss"]
    assert len(rows) == source.n + 1
    assert float(rows[-1][3]) == pytest.approx(float(source.cols["loss"][source.n - 1]))
    z = np.load(export_history(source, tmp_path / "h.npz"))
    np.testing.assert_array_equal(z["sv"], source.cols["sv"][: source.n])
    with pytest.raises(RecordingError, match=r"\.csv or \.npz"):
        export_history(source, tmp_path / "h.txt")
    with pytest.raises(RecordingError, match="does not exist"):
        export_history(source, tmp_path / "no" / "h.csv")


def test_text_for_slides():
    assert symbols("σ_i(W)") == "σ<sub>i</sub>(W)"
    assert symbols("‖W‖_*") == "‖W‖<sub>*</sub>"
    assert symbols("W_{j+1} & x_ℓ1") == "W<sub>j+1</sub> &amp; x<sub>ℓ1</sub>"
    assert sci(1e-3) == "10⁻³" and sci(0.01) == "0.01" and sci(2e-4) == "2·10⁻⁴"
    cfg = build_config(preset=DEFAULT_PRESET)
    assert caption_text(cfg) == "depth 3, α = 10⁻³, GD, η = 0.01"
    assert grid_shape(6, 1920, 1080) == (3, 2)
    assert grid_shape(1, 1920, 1080) == (1, 1)


# ---------------------------------------------------------------------------------------------------- in the app
def test_app_actions_exist(qtbot, window):
    rec = window.recording
    assert isinstance(rec, Recording)
    names = {a.objectName() for a in window.findChildren(QAction)}
    for key in ("action_export_animation", "action_export_image", "action_export_history", "action_record_live"):
        assert key in names
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "File")
    assert window.actions["export_animation"] in file_menu.actions() and rec.a_live in file_menu.actions()
    dlg = AnimationDialog(window)
    dlg.size.setCurrentText("640x360")
    dlg.path.edit.setText("/tmp/x.mp4")
    s = dlg.settings()
    assert s.size == (640, 360) and s.kind == "mp4" and s.panels
    dlg.format.setCurrentIndex(1)  # GIF: the path follows
    assert dlg.path.text().endswith(".gif")
    dlg.size.setCurrentText("641x360")
    with pytest.raises(RecordingError, match="even"):
        dlg.settings()
    dlg.close()


def _ensure_history(qtbot, window):
    if window.mirror.n < 30:
        window.play()
        qtbot.waitUntil(lambda: window.mirror.n >= 30, timeout=TIMEOUT_MS)
        window.pause()
        settle(qtbot, window)


def test_app_export_animation_and_cancel(qtbot, window, tmp_path):
    rec = window.recording
    _ensure_history(qtbot, window)
    s = AnimationSettings(path=str(tmp_path / "app.mp4"), size=(480, 270), fps=10, seconds=1.5,
                          panels=["loss", "heatmap"], theme="dark")
    out = rec.export_animation(s)
    assert out is not None and out.exists()
    gen = imageio_ffmpeg.read_frames(str(out))
    meta = next(gen)
    assert meta["size"] == (480, 270) and sum(1 for _ in gen) == 15
    s2 = AnimationSettings(path=str(tmp_path / "cancelled.mp4"), size=(480, 270), fps=10, seconds=5)
    assert rec.export_animation(s2, cancel_after=4) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.mp4"]
    assert "cancelled" in window.status.messages[-1]
    bad = AnimationSettings(path=str(tmp_path / "missing" / "x.mp4"), size=(480, 270), fps=10, seconds=1)
    assert rec.export_animation(bad) is None
    assert "does not exist" in window.status.messages[-1]


def test_app_stills_and_history(qtbot, window, tmp_path):
    rec = window.recording
    _ensure_history(qtbot, window)
    png = rec.export_image(str(tmp_path / "w.png"), panel="", size=(960, 540))
    assert png is not None and Image.open(png).size == (960, 540)
    svg = rec.export_image(str(tmp_path / "loss.svg"), panel="loss", format="svg", size=(600, 400))
    assert svg is not None and ET.parse(svg).getroot().tag.endswith("svg")
    assert rec.export_history(tmp_path / "h.npz") is not None
    assert rec.export_history(tmp_path / "h.csv") is not None
    assert np.load(tmp_path / "h.npz")["loss"].shape == (window.mirror.n,)


def test_record_live(qtbot, window, tmp_path):
    rec = window.recording
    live = rec.start_live(tmp_path / "live.mp4", fps=10)
    assert live is not None and rec.a_live.isChecked()
    window.play()
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: time.monotonic() - t0 > 1.2, timeout=TIMEOUT_MS)
    window.pause()
    assert "REC" in rec.rec_label.text()
    path = rec.stop_live()
    assert path is not None and not rec.a_live.isChecked()
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    n = sum(1 for _ in gen)
    w, h = meta["size"]
    assert (w, h) == live.size and w % 2 == 0 and h % 2 == 0
    # the video keeps wall-clock time: at least the 1.2 s waited at 10 frames/s (late ticks repeat a picture),
    # and the file holds every frame the recorder wrote
    assert n == live.frames and n >= 12
    assert "recorded" in window.status.messages[-1]
