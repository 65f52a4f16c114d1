"""The gallery lists every preset with its thumbnail, filters, and hands the chosen preset on."""

from ibviewer.core.config import preset_names
from ibviewer.gui.gallery import QtGallery, thumbnail, thumbnails_dir


def test_gallery_lists_every_preset_with_a_thumbnail(qtbot):
    g = QtGallery()
    qtbot.addWidget(g)
    assert g.names() == preset_names()
    for name in preset_names():
        assert (thumbnails_dir() / f"{name}.png").is_file(), f"no thumbnail for {name}"
        assert not thumbnail(name).isNull()


def test_filter_and_choose(qtbot):
    g = QtGallery()
    qtbot.addWidget(g)
    g.filter.setText("woodworth")
    shown = g.names()
    assert "hadamard_kernel_to_rich" in shown and "sensing_depth_low_rank" not in shown
    g.filter.setText("")
    g.select("razin_cohen_norms_diverge")
    assert "Razin" in g.details.text()
    with qtbot.waitSignal(g.chosen, timeout=2000) as blocker:
        g.open_selected()
    assert blocker.args == ["razin_cohen_norms_diverge"]


def test_missing_thumbnail_falls_back_to_a_placeholder(monkeypatch, tmp_path):
    import ibviewer.gui.gallery as gallery

    monkeypatch.setattr(gallery, "thumbnails_dir", lambda: tmp_path)
    pm = gallery.thumbnail("hadamard_l1_bias")
    assert not pm.isNull() and pm.width() == gallery.THUMB.width()
    assert pm.toImage().pixelColor(2, 2).name() == "#eef2f7"  # the placeholder, not a shipped thumbnail
