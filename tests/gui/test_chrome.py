"""The window's chrome: menus, toolbar and the shortcuts dialog all come from one action table; Ctrl+S keeps
the session; the recording feature is given to the window when it is built."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QToolBar

from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.gui.actions import ACTIONS, MENUS, TOOLBAR
from ibviewer.gui.export_ui import Recording
from ibviewer.gui.settings import AppSettings
from ibviewer.gui.window import MainWindow

from .conftest import TIMEOUT_MS, fresh

NATIVE = QKeySequence.SequenceFormat.NativeText


def _keys(actions) -> list[str]:
    return [a.objectName().removeprefix("action_") for a in actions if a.objectName().startswith("action_")]


def test_the_action_table_is_consistent():
    keys = [s.key for s in ACTIONS]
    assert len(set(keys)) == len(keys)
    shortcuts = [QKeySequence(s.shortcut).toString() for s in ACTIONS if s.shortcut]
    assert len(set(shortcuts)) == len(shortcuts) and "" not in shortcuts  # each parses, none twice
    for s in ACTIONS:
        assert not s.menu or s.section in MENUS[s.menu], s.key
        assert not s.toolbar or s.toolbar in TOOLBAR, s.key


def test_menus_toolbar_and_shortcuts_dialog_are_built_from_the_table(qtbot, window):
    assert isinstance(window.recording, Recording)
    # every menu holds exactly the table's entries for it, in the table's order
    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    assert list(menus) == list(MENUS)
    for title, menu in menus.items():
        assert _keys(menu.actions()) == [s.key for s in ACTIONS if s.menu == title], title
    # the toolbar: the table's toolbar actions, section by section
    tb = window.findChild(QToolBar, "toolbar_run")
    want = [s.key for sec in TOOLBAR for s in ACTIONS if s.toolbar == sec]
    assert _keys(tb.actions()) == want and "record_live" in want and "play" in want
    # the x-axis entries follow the x axis however it is set
    for mode in ("time", "step", "log_step"):
        window.set_x_mode(mode)
        assert [a.objectName() for a in window.x_axis.group.actions() if a.isChecked()] == ["action_x_" + mode]
    window.actions["x_time"].trigger()
    assert window.x_mode == "time" and window.x_axis.combo.currentData() == "time"
    window.set_x_mode("log_step")
    # the dialog lists every action of the window that has a shortcut, the recording's ones included
    dlg = window.show_shortcuts()
    try:
        text = dlg.text()
        with_shortcut = [a for a in window.findChildren(QAction) if not a.shortcut().isEmpty()]
        assert len(with_shortcut) == len(text.splitlines())
        for a in with_shortcut:
            assert a.shortcut().toString(NATIVE) + "\t" in text, a.objectName()
        for key in ("Ctrl+E", "Ctrl+Shift+E", "Ctrl+Shift+R", "Ctrl+S", "Ctrl+O", "Space", "F11"):
            assert QKeySequence(key).toString(NATIVE) + "\t" in text, key
    finally:
        dlg.close()


def test_ctrl_s_saves_the_session_and_ctrl_shift_s_the_config(qtbot, window, tmp_path, monkeypatch):
    fresh(qtbot, window)
    window.step_n(5)
    chosen = {"path": ""}
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (chosen["path"], "")))
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5000)
    chosen["path"] = str(tmp_path / "lecture.ibvs")
    with qtbot.waitSignal(window.session_saved, timeout=TIMEOUT_MS):
        qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert [p.name for p in tmp_path.iterdir()] == ["lecture.ibvs"]
    chosen["path"] = str(tmp_path / "setting.toml")
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lecture.ibvs", "setting.toml"]
    assert build_config(config_file=tmp_path / "setting.toml").to_dict() == window.cfg.to_dict()


def test_a_window_built_without_recording_leaves_its_actions_out(qtbot):
    win = MainWindow(build_config(preset=DEFAULT_PRESET), speed=0, recording=None,
                     settings=AppSettings(persist=False))
    try:
        assert win.recording is None
        recording_keys = {s.key for s in ACTIONS if s.slot.startswith("recording.")}
        assert recording_keys == {"export_animation", "export_image", "export_history", "record_live"}
        assert not recording_keys & set(win.actions)
        in_menus = {k for a in win.menuBar().actions() for k in _keys(a.menu().actions())}
        assert in_menus == {s.key for s in ACTIONS if s.menu} - recording_keys
        dlg = win.show_shortcuts()
        assert QKeySequence("Ctrl+E").toString(NATIVE) + "\t" not in dlg.text()
        dlg.close()
        assert "timeline" not in win.view_state()
    finally:
        win.close()
