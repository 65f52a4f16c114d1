"""The window at projector scale and in the dark: larger text reaches everything and cuts nothing; the dark
theme covers every part."""

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication


def _lightness(widget, role=QPalette.ColorRole.WindowText, group=QPalette.ColorGroup.Active) -> int:
    return widget.palette().color(group, role).lightness()


def test_larger_text_widens_the_controls_so_nothing_is_cut(qtbot, window):
    window.appearance.set_font_scale(1.5)
    body = window.controls.widget()
    qtbot.waitUntil(lambda: window.controls.width() >= body.minimumSizeHint().width(), timeout=3000)
    combo = window.controls.widgets["preset"]
    text = combo.currentText()
    assert combo.fontMetrics().horizontalAdvance(text[:24]) <= combo.width()  # 24 characters of the title fit


def test_the_heatmap_follows_the_text_size_and_the_theme(qtbot, window):
    heat = window.panels["heatmap"]
    size = heat.title_w.textItem.font().pointSizeF()
    ticks = heat.bar.axis.style["tickFont"].pointSizeF() if heat.bar.axis.style.get("tickFont") else None
    window.appearance.set_font_scale(1.5)
    assert abs(heat.title_w.textItem.font().pointSizeF() / size - 1.15) < 0.05  # capped: the titles must not meet
    if ticks is not None:
        assert abs(heat.bar.axis.style["tickFont"].pointSizeF() / ticks - 1.5) < 0.05
    window.appearance.set_font_scale(1.0)
    assert heat.title_w.textItem.font().pointSizeF() == size
    window.appearance.set_theme("dark")
    assert heat.glw.backgroundBrush().color().lightness() < 60
    assert heat.title_w.color.lightness() > 180
    window.appearance.set_theme("light")
    assert heat.glw.backgroundBrush().color().lightness() > 240 and heat.title_w.color.lightness() < 60


def test_the_dark_theme_reaches_the_controls_text_and_disabled_buttons(qtbot, window):
    window.appearance.set_theme("dark")
    QApplication.processEvents()
    desc = window.controls.description
    assert desc.styleSheet() == "" and _lightness(desc) > 180  # light text, no colour fixed for the light theme
    pal = window.palette()
    off = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText).lightness()
    on = pal.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText).lightness()
    button = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button).lightness()
    assert button + 40 < off < on  # a disabled button reads, dimmer than an enabled one
    assert pal.color(QPalette.ColorRole.Light).lightness() > pal.color(QPalette.ColorRole.Base).lightness() + 30


def test_when_the_window_grows_the_plots_take_the_space(qtbot, window):
    window.resize(1400, 900)
    for _ in range(5):
        QApplication.processEvents()
    start = window.width()
    side = window.controls_dock.width()
    loss = window.docks.dock_widgets["loss"].width()
    window.resize(start + 1000, 1400)
    qtbot.waitUntil(lambda: window.width() >= start + 900, timeout=3000)
    qtbot.waitUntil(lambda: abs(window.controls_dock.width() - side) <= 10, timeout=3000)  # the side keeps its width
    # three plot columns share the width the window gained
    assert window.docks.dock_widgets["loss"].width() >= loss + 250
    window.resize(1560, 940)


def test_neutral_ink_follows_the_theme(qtbot, window):
    """The theory's marks and the legend's samples of neutral line styles are black on white and light on dark,
    their dash kept."""
    import pyqtgraph as pg

    from ibviewer.gui.panels.ink import LIGHT
    from ibviewer.gui.panels.style import BLACK

    sv = window.panels["singular_values"]

    def ink(item):
        return pg.mkPen(item.opts["pen"]).color().getRgb()[:3]

    assert ink(sv.th_marks) == BLACK and ink(sv.target_sample) == BLACK
    style = pg.mkPen(sv.target_sample.opts["pen"]).style()
    window.appearance.set_theme("dark")
    assert ink(sv.th_marks) == LIGHT and ink(sv.target_sample) == LIGHT
    assert pg.mkPen(sv.target_sample.opts["pen"]).style() == style
    window.appearance.set_theme("light")
    assert ink(sv.th_marks) == BLACK and ink(sv.target_sample) == BLACK
