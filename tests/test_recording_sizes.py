"""Frame sizes for any projector: WxH or a preset name, fitted to an aspect ratio (Qt-free)."""

import pytest

from ibviewer.core.recording import RecordingError, fit_aspect, output_kind, parse_size


@pytest.mark.parametrize("text, size", [("720p", (1280, 720)), ("1080p", (1920, 1080)), ("1440p", (2560, 1440)),
                                        ("4k", (3840, 2160)), ("4K", (3840, 2160)), ("1600x900", (1600, 900)),
                                        ("1600×900", (1600, 900))])
def test_sizes_and_presets(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("size, aspect, expect", [
    ((1920, 1080), "16:9", (1920, 1080)),
    ((1920, 1080), "4:3", (1440, 1080)),   # the height is kept, the width set
    ((1920, 1080), "1:1", (1080, 1080)),
    ((1280, 720), "4:3", (960, 720)),
    ((1000, 1001), "1:1", (1000, 1001)),   # the width is an even number (1001 is odd)
    ((640, 480), None, (640, 480)),
])
def test_aspect_keeps_the_height(size, aspect, expect):
    w, h = fit_aspect(size, aspect)
    assert (w, h) == expect
    assert w % 2 == 0


@pytest.mark.parametrize("text, expect", [("8k", "720p, 1080p, 1440p, 4k"), ("100", "WIDTHxHEIGHT"),
                                          ("10x10", "16 to 7680"), ("1920x", "WIDTHxHEIGHT")])
def test_bad_sizes_are_one_line(text, expect):
    with pytest.raises(RecordingError, match=expect) as info:
        parse_size(text)
    assert "\n" not in str(info.value)


def test_bad_aspect_names_the_allowed_ones():
    with pytest.raises(RecordingError, match="16:9, 4:3, 1:1"):
        fit_aspect((1920, 1080), "5:4")
    assert fit_aspect(parse_size("16x4320"), "16:9") == (7680, 4320)  # the tallest frame stays allowed


def test_alpha_formats_are_known_by_suffix():
    assert [output_kind(f"x.{k}") for k in ("mp4", "gif", "webm", "mov", "MOV")] == ["mp4", "gif", "webm", "mov",
                                                                                     "mov"]
