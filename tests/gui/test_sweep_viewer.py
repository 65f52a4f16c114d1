"""The sweep viewer (File ▸ Open sweep): hovering a cell shows its numbers, clicking it opens that run in the
main window with its configuration and the chosen seed, paused at step 0."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from ibviewer.core.config import build_config
from ibviewer.core.sweep import parse_sweep
from ibviewer.core.sweep_results import read_rows
from ibviewer.core.sweep_run import run_sweep
from tests.gui.conftest import TIMEOUT_MS, settle

SWEEP = {
    "preset": "sensing_depth_low_rank",
    "seeds": 2,
    "steps": 60,
    "problem": {"d": 6, "measurements": 30},
    "grid": {"model.depth": [1, 2], "model.init_scale": [1e-3, 1e-2, 1e-1]},
    "plot": {"x": "model.init_scale", "y": "model.depth", "metric": "relative_error"},
}


def hover(widget, pos) -> None:
    """The mouse moves over ``pos`` of ``widget`` (sent to it: offscreen, another window may be under the
    cursor)."""
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "out"
    run_sweep(parse_sweep(SWEEP), out, workers=0)
    return out


def test_open_sweep_is_in_the_file_menu(window):
    assert "open_sweep" in window.actions
    assert window.actions["open_sweep"] in window.file_menu.actions()


def test_a_folder_that_is_no_sweep_is_one_line(window, tmp_path):
    assert window.files.open_sweep(tmp_path) is None
    assert "not a sweep's folder" in window.status.messages[-1]


def test_hover_shows_a_cells_numbers(qtbot, window, sweep_dir, request):
    viewer = window.files.open_sweep(sweep_dir)
    request.addfinalizer(viewer.close)  # the viewer deletes itself on close
    qtbot.waitExposed(viewer)
    rows = read_rows(sweep_dir)
    # the cell init_scale = 1e-2 (x index 1), depth 2 (y index 1)
    hover(viewer.phase_map, viewer.phase_map.cell_center(1, 1))
    qtbot.waitUntil(lambda: "model.init_scale = 0.01" in viewer.info_label.text(), timeout=TIMEOUT_MS)
    cell = [r for r in rows if r["model.depth"] == 2 and r["model.init_scale"] == 1e-2]
    mean = sum(r["relative_error"] for r in cell) / len(cell)
    text = viewer.info_label.text()
    assert "model.depth = 2" in text and f"{mean:.4g}" in text
    for r in cell:
        assert f"seed {r['seed']}: {r['relative_error']:.4g}" in text


def test_clicking_a_cell_opens_its_run_with_its_seed(qtbot, window, sweep_dir, request):
    viewer = window.files.open_sweep(sweep_dir)
    request.addfinalizer(viewer.close)  # the viewer deletes itself on close
    qtbot.waitExposed(viewer)
    viewer.seed_box.setCurrentIndex(1)  # seed 1
    opened = []
    viewer.run_opened.connect(opened.append)
    # the cell init_scale = 1e-1 (x index 2), depth 1 (y index 0)
    qtbot.mouseClick(viewer.phase_map, Qt.MouseButton.LeftButton, pos=viewer.phase_map.cell_center(0, 2))
    expected = build_config(preset="sensing_depth_low_rank", overrides=[
        ("problem.d", 6), ("problem.measurements", 30), ("run.steps", 60), ("model.depth", 1),
        ("model.init_scale", 0.1), ("problem.seed", 1), ("run.seed", 1)]).to_dict()
    expected.pop("meta")
    qtbot.waitUntil(lambda: {k: v for k, v in window.cfg.to_dict().items() if k != "meta"} == expected,
                    timeout=TIMEOUT_MS)
    snap = settle(qtbot, window, 0)
    assert len(window.runs) == 1 and not window.playing and snap["step"] == 0
    row = next(r for r in read_rows(sweep_dir) if (r["model.depth"], r["model.init_scale"], r["seed"]) == (1, 0.1, 1))
    assert opened == [row["run"]]
