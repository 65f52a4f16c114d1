"""Thin coloured lines keep their colour in MP4: 4:2:0 chroma halves colour resolution, so a 1-pixel dotted
line turns grey; exports to MP4 and WebM draw coloured lines at least MIN_COLOUR_PX wide."""

import imageio_ffmpeg
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from ibviewer.core.recording import MIN_COLOUR_PX, FrameWriter
from ibviewer.gui.export import animation_theme

W, H = 320, 180
COLOURS = [(214, 39, 40), (44, 160, 44), (31, 119, 180)]


def dotted_lines(width: int) -> QImage:
    img = QImage(W, H, QImage.Format.Format_ARGB32)
    img.fill(QColor(255, 255, 255))
    p = QPainter(img)
    for i, c in enumerate(COLOURS):
        pen = QPen(QColor(*c))
        pen.setWidthF(width)
        pen.setStyle(Qt.PenStyle.DotLine)
        pen.setCosmetic(True)
        p.setPen(pen)
        y = 30 + 55 * i + 0.5 * i  # several phases against the 2x2 chroma blocks
        p.drawLine(QPointF(10, y), QPointF(W - 10, y + 9 * i))
    p.end()
    return img


def saturation(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(float)
    return (rgb.max(-1) - rgb.min(-1)) / 255


def kept_saturation(tmp_path, width: int) -> float:
    """Mean saturation of the line pixels after an MP4 round trip, relative to before."""
    img = dotted_lines(width)
    before = np.frombuffer(img.constBits(), np.uint8).reshape(H, W, 4)[..., [2, 1, 0]].copy()
    out = tmp_path / f"lines_{width}.mp4"
    with FrameWriter(out, (W, H), 5, quality="high") as writer:
        for _ in range(2):
            writer.write(memoryview(img.constBits())[: img.sizeInBytes()])
    gen = imageio_ffmpeg.read_frames(str(out))
    next(gen)
    after = np.frombuffer(next(gen), np.uint8).reshape(H, W, 3)
    gen.close()
    line = saturation(before) > 0.4
    return float(saturation(after)[line].mean() / saturation(before)[line].mean())


def test_thin_dotted_lines_turn_grey_and_wide_ones_keep_their_colour(qapp, tmp_path):
    thin = kept_saturation(tmp_path, 1)
    wide = kept_saturation(tmp_path, MIN_COLOUR_PX)
    assert thin < 0.4  # the problem: a 1-pixel dotted line is mostly grey after 4:2:0
    assert wide > 0.65 and wide > 2 * thin


@pytest.mark.parametrize("kind, floor", [("mp4", MIN_COLOUR_PX), ("webm", MIN_COLOUR_PX), ("gif", 0), ("mov", 0),
                                         ("frames", 0)])
def test_animation_themes_widen_coloured_lines_only_for_4_2_0_videos(qapp, kind, floor):
    theme = animation_theme("light", 1080, kind)
    assert theme.min_colour_px == floor
    assert theme.colour_width(1, (31, 119, 180)) == max(1, floor)
    assert theme.colour_width(1, (150, 150, 150)) == 1  # grey context lines stay thin
