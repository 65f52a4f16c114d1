"""A dark-theme GIF is about the size of the light one: one palette from the changing pixels, no error
diffusion (dithering noise on a dark background made every frame differ and be stored whole)."""

import numpy as np
from PIL import Image

from ibviewer.gui.record import main as record_main
from ibviewer.gui.themes import get_theme

ARGS = ["--size", "320x180", "--fps", "6", "--seconds", "2", "--steps", "800", "-q"]


def test_dark_gif_is_at_most_twice_the_light_one_and_its_background_is_flat(qapp, tmp_path):
    sizes = {}
    for theme in ("light", "dark"):
        out = tmp_path / f"{theme}.gif"
        assert record_main(["--out", str(out), "--theme", theme, *ARGS]) == 0
        sizes[theme] = out.stat().st_size
    assert sizes["dark"] <= 2 * sizes["light"], sizes
    bg = np.array(get_theme("dark").background)
    with Image.open(tmp_path / "dark.gif") as im:
        im.seek(im.n_frames - 1)
        rgb = np.asarray(im.convert("RGB")).astype(int)
    corner = rgb[:6, :6].reshape(-1, 3)  # background only: one colour, no dithering noise
    assert np.abs(corner - corner[0]).max() == 0
    assert np.abs(corner[0] - bg).max() <= 6
