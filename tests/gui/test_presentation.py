"""Presentation mode: P hides everything but the plots and scales the text; 1–9 show one panel, 0 the layout;
Escape brings the working window back as it was."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QToolBar

from ibviewer.gui.presentation import PRESENT_SCALE, caption_for


def _press(qtbot, window, key) -> None:
    window.activateWindow()
    qtbot.keyClick(window, key)
    QApplication.processEvents()


def _visible_panels(window) -> list[str]:
    return [name for name, dock in window.docks.dock_widgets.items() if dock.isVisible()]


def test_p_shows_the_plots_alone_with_large_text_and_escape_brings_everything_back(qtbot, window):
    before_panels = _visible_panels(window)
    bars = [b for b in window.findChildren(QToolBar) if b.isVisible()]
    scale = window.appearance.settings.font_scale
    window.presentation.enter(full_screen=False)  # offscreen: no window manager to go full screen with
    p = window.presentation
    assert p.active and window.actions["present"].isChecked()
    assert not window.controls_dock.isVisible() and not window.runs_dock.isVisible()
    assert not window.menuBar().isVisible() and not window.statusBar().isVisible()
    assert [b for b in window.findChildren(QToolBar) if b.isVisible()] == [p.caption_bar]
    assert window.appearance.settings.font_scale == PRESENT_SCALE
    title = window.cfg.meta["title"]
    assert title in p.caption.title.text() and p.caption.text.text()
    assert _visible_panels(window) == before_panels
    # one panel alone, by its number in the layout; 0: the layout again
    _press(qtbot, window, Qt.Key.Key_2)
    assert _visible_panels(window) == [p.panel_names()[1]]
    _press(qtbot, window, Qt.Key.Key_0)
    assert _visible_panels(window) == before_panels
    assert p.show_panel("loss") and _visible_panels(window) == ["loss"]
    assert not p.show_panel(99) and not p.show_panel("no_such_panel")
    _press(qtbot, window, Qt.Key.Key_Escape)
    assert not p.active and not window.actions["present"].isChecked()
    assert window.controls_dock.isVisible() and window.runs_dock.isVisible()
    assert window.menuBar().isVisible() and window.statusBar().isVisible()
    assert set(bars) <= {b for b in window.findChildren(QToolBar) if b.isVisible()}
    assert not p.caption_bar.isVisible()
    assert window.appearance.settings.font_scale == scale
    assert _visible_panels(window) == before_panels


def test_the_digits_choose_panels_only_in_presentation_mode(qtbot, window):
    before = _visible_panels(window)
    _press(qtbot, window, Qt.Key.Key_1)
    assert _visible_panels(window) == before
    _press(qtbot, window, Qt.Key.Key_P)
    assert window.presentation.active
    window.presentation.leave()


def test_a_custom_configuration_is_captioned_with_the_window_title():
    assert caption_for(None, "ibviewer — depth 2") == ("ibviewer — depth 2", "")
    meta = {"title": "Incremental learning", "experiment": "AT7", "description": "d", "look_for": "σ₁ first"}
    assert caption_for(meta, "x") == ("AT7: Incremental learning", "σ₁ first")
    assert caption_for({"title": "T", "description": "d"}, "x") == ("T", "d")


def test_present_names_a_panel_of_the_experiment_or_is_refused_in_one_line(capsys):
    from ibviewer.gui.app import main

    assert main(["--present", "no_such_panel", "--quit-after", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--present 'no_such_panel'" in err and "loss" in err
