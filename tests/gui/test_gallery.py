"""The gallery lists every preset with its thumbnail, filters, and hands the chosen preset on."""

from ibviewer.core.config import preset_info, preset_names
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


def test_details_follow_the_filter(qtbot):
    """The details describe a shown experiment: the first one left by the filter, or nothing at all."""
    g = QtGallery()
    qtbot.addWidget(g)
    g.select("razin_cohen_norms_diverge")
    assert "Razin" in g.shown_details()
    g.filter.setText("woodworth")  # hides Razin & Cohen's preset
    first = g.names()[0]
    assert "razin_cohen_norms_diverge" not in g.names()
    assert preset_info(first)["title"] in g.shown_details() and "Razin" not in g.shown_details()
    g.filter.setText("no preset has these words qqq")
    assert g.names() == [] and g.shown_details().strip() == ""
    with qtbot.assertNotEmitted(g.chosen):
        g.open_selected()


def test_details_say_what_to_look_for(qtbot):
    g = QtGallery()
    qtbot.addWidget(g)
    g.select("sensing_incremental_rank")
    shown = g.shown_details()
    assert "Look for: σ1, σ2 and σ3 reach half their targets" in shown  # subscripts typeset, not σ_1
    assert "steps 100, 131 and 341" in preset_info("sensing_incremental_rank")["look_for"]
    assert "steps 100, 131 and 341" in shown


def test_enter_opens_the_selected_experiment_once(qtbot):
    from PySide6.QtCore import Qt

    g = QtGallery()
    qtbot.addWidget(g)
    g.show()
    qtbot.waitExposed(g)
    g.select("hadamard_l1_bias")
    g.list.setFocus()
    got = []
    g.chosen.connect(got.append)
    qtbot.keyClick(g.list, Qt.Key.Key_Return)
    assert got == ["hadamard_l1_bias"] and not g.isVisible()
