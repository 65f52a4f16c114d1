"""A talk in the window: scenes open with their runs, panels and caption; next ends a scene before leaving it;
PageDown/PageUp always, Right/Left in presentation mode go from scene to scene."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from ibviewer.core.talk import TalkError, example_talk, load_talk
from ibviewer.gui.talk import TalkPlayer, check_panels
from tests.gui.conftest import TIMEOUT_MS, settle


@pytest.fixture
def player(qtbot, window, tmp_path):
    talk_file = tmp_path / "talk.toml"
    talk_file.write_text('''title = "Two scenes"
[[scene]]
preset = "sensing_incremental_rank"
panels = ["loss", "singular_values"]
steps = [40, 120]
caption = "Incremental learning"
notes = "Point at the plateaus."
annotations = [{ panel = "loss", step = 60, y = 50.0, text = "a plateau" }]

[[scene]]
preset = "hadamard_l1_bias"
steps = 200
caption = "Sparse from small alpha"
theory = true
''', encoding="utf-8")
    talk = load_talk(talk_file)
    check_panels(talk)
    window.presentation.enter(full_screen=False)
    p = TalkPlayer(window, talk)
    yield p
    p.stop()
    window.presentation.leave()
    window.annotations.clear()


def _ready(qtbot, window, preset):
    qtbot.waitUntil(lambda: window.preset == preset and window.worker_ready and window.last_snap is not None,
                    timeout=TIMEOUT_MS)


def _shown(window):
    return [n for n, d in window.docks.dock_widgets.items() if d.isVisible()]


def test_a_scene_opens_at_its_first_step_with_its_panels_and_caption(qtbot, window, player):
    assert player.open_scene(0)
    _ready(qtbot, window, "sensing_incremental_rank")
    snap = settle(qtbot, window, 40)  # trained silently to the scene's first step
    assert snap["step"] == 40 and window.cfg.run.steps == 120
    assert _shown(window) == ["loss", "singular_values"]
    assert window.presentation.caption.title.text() == "Incremental learning"
    assert [a.text for a in window.annotations.items] == ["a plateau"]
    assert "scene 1 of 2" in player.notes.where.text() and player.notes.text.text() == "Point at the plateaus."
    assert "Sparse from small alpha" in player.notes.next.text()


def test_next_ends_the_scene_first_then_opens_the_next_and_previous_goes_back(qtbot, window, player):
    player.open_scene(0)
    _ready(qtbot, window, "sensing_incremental_rank")
    settle(qtbot, window, 40)
    assert player.next() and player.index == 0  # not at its last step yet: taken there
    settle(qtbot, window, 120)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_PageDown)  # what a clicker sends
    QApplication.processEvents()
    assert player.index == 1
    _ready(qtbot, window, "hadamard_l1_bias")
    assert window.cfg.run.steps == 200 and len(window.runs) == 3  # the preset's comparison
    assert window.annotations.items == []  # the scene's own (none)
    qtbot.keyClick(window, Qt.Key.Key_Left)  # presentation mode: Left goes back a scene
    QApplication.processEvents()
    assert player.index == 0
    _ready(qtbot, window, "sensing_incremental_rank")


def test_outside_presentation_mode_right_steps_and_pagedown_still_goes_on(qtbot, window, player):
    player.open_scene(0)
    _ready(qtbot, window, "sensing_incremental_rank")
    settle(qtbot, window, 40)
    window.presentation.leave()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert settle(qtbot, window, 41)["step"] == 41 and player.index == 0
    assert player.next() and player.index == 0
    settle(qtbot, window, 120)
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    QApplication.processEvents()
    assert player.index == 1


def test_a_panel_the_experiment_lacks_is_refused_naming_the_scene(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text('[[scene]]\npreset = "hadamard_l1_bias"\npanels = ["heatmap"]\n', encoding="utf-8")
    with pytest.raises(TalkError, match=r"scene 1, key 'panels': 'heatmap' is not a panel .* coordinates"):
        check_panels(load_talk(p))
    check_panels(load_talk(example_talk()))  # the shipped talk names panels its experiments have


def test_a_scene_turns_its_panels_theory_overlays_on_and_the_next_without_it_turns_them_off(qtbot, window, player):
    assert player.open_scene(1)
    _ready(qtbot, window, "hadamard_l1_bias")
    qtbot.waitUntil(lambda: window.panels["coordinates"].theory, timeout=TIMEOUT_MS)
    with_box = [p for p in window.panels.values() if getattr(p, "theory_box", None) is not None]
    assert with_box and all(p.theory and p.theory_box.isChecked() for p in with_box)
    assert player.open_scene(0)
    _ready(qtbot, window, "sensing_incremental_rank")
    qtbot.waitUntil(lambda: not any(getattr(p, "theory", False) for p in window.panels.values()),
                    timeout=TIMEOUT_MS)

