"""Animations: ``ibviewer record`` headless, MP4/GIF/PNG frames read back, cancel, bad input, sessions."""

import json
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.core.engine import Engine
from ibviewer.gui.export import Cancelled, ExportLayout, render_animation
from ibviewer.gui.record import main as record_main
from ibviewer.gui.timeline import RunSource
from ibviewer.core.recording import FrameWriter, RecordingError

ROOT = Path(__file__).resolve().parents[2]
#: short runs: the default preset's incremental learning happens within ~1000 steps
QUICK = ["--steps", "1200", "-q"]


def mp4_frames(path: Path) -> tuple[tuple[int, int], float, list[np.ndarray]]:
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in gen]
    return (w, h), meta["fps"], frames


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def engine():
    e = Engine(build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 1200), ("run.record_every", 5)]))
    e.run()
    return e


def test_mp4_has_fps_times_seconds_frames_at_the_size(qapp, tmp_path):
    out = tmp_path / "talk.mp4"
    rc = record_main(["--out", str(out), "--size", "480x270", "--fps", "12", "--seconds", "2", *QUICK])
    assert rc == 0
    (w, h), fps, frames = mp4_frames(out)
    assert (w, h) == (480, 270)
    assert fps == pytest.approx(12)
    assert len(frames) == 24
    # the animation moves: the first and the last frame differ, and no frame is blank
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1
    assert all(f.std() > 10 for f in frames)
    assert leftovers(tmp_path) == ["talk.mp4"]  # no temporary file left behind


def test_gif_and_png_frames(qapp, tmp_path):
    gif = tmp_path / "a.gif"
    assert record_main(["--out", str(gif), "--size", "320x180", "--fps", "10", "--seconds", "1.5",
                        "--panels", "loss,singular_values", "--theme", "dark", *QUICK]) == 0
    with Image.open(gif) as im:
        assert im.size == (320, 180)
        assert im.n_frames == 15
        assert im.info.get("duration") == pytest.approx(100, abs=10)
    folder = tmp_path / "frames"
    assert record_main(["--frames", str(folder), "--size", "256x144", "--fps", "8", "--seconds", "1",
                        "--schedule", "linear", *QUICK]) == 0
    pngs = sorted(folder.iterdir())
    assert [p.name for p in pngs] == [f"frame_{i:06d}.png" for i in range(8)]
    with Image.open(pngs[3]) as im:
        assert im.size == (256, 144)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "frames"]


def test_cancelled_export_leaves_nothing(qapp, tmp_path, engine):
    src = RunSource.from_engine(engine, "quick")
    layout = ExportLayout(src, ["loss", "heatmap"], (320, 180), "light")
    try:
        writer = FrameWriter(tmp_path / "cancel.mp4", (320, 180), 10)
        with pytest.raises(Cancelled):
            render_animation(layout, src.schedule_rows(40, "log"), writer, progress=lambda done, total: done < 5)
    finally:
        layout.close_layout()
    assert leftovers(tmp_path) == []


def test_bad_input_is_one_line_and_exit_2(qapp, tmp_path, capsys):
    cases = [
        (["--out", str(tmp_path / "missing" / "x.mp4")], "does not exist"),
        (["--out", str(tmp_path / "x.avi")], "unknown type"),
        (["--size", "100", "--out", str(tmp_path / "x.mp4")], "WIDTHxHEIGHT"),
        (["--size", "321x240", "--out", str(tmp_path / "x.mp4")], "even"),
        (["--out", str(tmp_path / "x.mp4"), "--schedule", "cubic"], "linear, log"),
        (["--out", str(tmp_path / "x.mp4"), "--theme", "pink"], "light, dark"),
        (["--out", str(tmp_path / "x.mp4"), "--panels", "loss,nope", *QUICK], "'nope' is not available"),
        (["--out", str(tmp_path / "x.mp4"), "--preset", "no_such_preset"], "no_such_preset"),
        (["--out", str(tmp_path / "x.mp4"), "--set", "model.depth=0"], "model.depth"),
        (["--session", str(tmp_path / "none.ibvs"), "--out", str(tmp_path / "x.mp4")], "does not exist"),
        ([], "--out"),
    ]
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    cases.append((["--out", str(blocker / "x.mp4")], "does not exist"))
    for argv, expect in cases:
        assert record_main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("ibviewer record: error:"), (argv, err)
        assert expect in err, (argv, err)
    assert leftovers(tmp_path) == ["file.txt"]


def test_frames_folder_with_other_files_is_refused(qapp, tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    assert record_main(["--frames", str(folder), "--seconds", "1", *QUICK]) == 2
    assert "holds other files" in capsys.readouterr().err
    assert (folder / "notes.txt").read_text() == "keep me"


def test_session_is_rendered(qapp, tmp_path, engine):
    from ibviewer.core.session import save_session

    path = save_session(tmp_path / "s.ibvs", [("quick", engine)])
    out = tmp_path / "s.mp4"
    assert record_main(["--session", str(path), "--out", str(out), "--size", "320x240", "--fps", "5",
                        "--seconds", "1", "-q"]) == 0
    size, _fps, frames = mp4_frames(out)
    assert size == (320, 240) and len(frames) == 5


def test_cli_dispatch_runs_offscreen_without_display(tmp_path):
    """``ibviewer record`` through the real entry point, with no DISPLAY and no QT_QPA_PLATFORM set."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = tmp_path / "cli.mp4"
    r = subprocess.run([sys.executable, "-m", "ibviewer", "record", "--out", str(out), "--size", "320x180",
                        "--fps", "5", "--seconds", "1", "--steps", "300"], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert "wrote MP4" in r.stdout
    assert len(mp4_frames(out)[2]) == 5
    r = subprocess.run([sys.executable, "-m", "ibviewer", "record", "--fps", "0", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert r.returncode == 2 and r.stderr.count("\n") == 1


def test_writer_refuses_an_unwritable_target(tmp_path):
    with pytest.raises(RecordingError, match="does not exist"):
        FrameWriter(tmp_path / "no" / "x.mp4", (64, 64), 10)


def test_bench_record_prints_json_lines(qapp, capsys):
    from ibviewer.gui.record import bench_main

    assert bench_main(["--frames", "12,24", "--size", "320x180", "--steps", "200"]) == 0
    lines = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    assert [d["frames"] for d in lines] == [12, 24]
    for d in lines:
        assert d["frames_per_s"] > 0 and d["peak_rss_mb"] > 0


# ------------------------------------------------------------------------------------------- compared runs
def colour_pixels(img: np.ndarray, rgb, tol: int = 6) -> int:
    return int((np.abs(img[..., :3].astype(int) - np.array(rgb)).max(axis=-1) <= tol).sum())


def test_a_preset_that_compares_runs_is_recorded_with_all_of_them(qapp, tmp_path, capsys):
    from ibviewer.live.runs import RUN_COLOURS

    out = tmp_path / "frames"
    rc = record_main(["--preset", "hadamard_l1_bias", "--frames", str(out), "--size", "960x540", "--fps", "2",
                      "--seconds", "1", "--steps", "3000"])
    assert rc == 0
    assert "3 runs" in capsys.readouterr().out
    last = np.asarray(Image.open(sorted(out.iterdir())[-1]).convert("RGB"))
    for rgb in RUN_COLOURS[:3]:  # every run drawn in its colour
        assert colour_pixels(last, rgb) > 200, rgb
    # --single: the preset's own run only (its curves take the panels' own colours, not the run colours)
    single = tmp_path / "single"
    assert record_main(["--preset", "hadamard_l1_bias", "--single", "--frames", str(single), "--size", "960x540",
                        "--fps", "2", "--seconds", "1", "--steps", "3000", "-q"]) == 0
    one = np.asarray(Image.open(sorted(single.iterdir())[-1]).convert("RGB"))
    assert colour_pixels(one, RUN_COLOURS[2]) < colour_pixels(last, RUN_COLOURS[2]) / 4


def test_compare_layout_has_a_legend_per_run_and_follows_the_longest_run(qapp):
    import re

    from ibviewer.core.compare import RunGroup, expand, parse_compare
    from ibviewer.live.runs import RUN_COLOURS

    base = build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 400), ("run.record_every", 5)])
    runs = expand(base, parse_compare(["optimizer.lr=0.01,0.5"]))  # the second diverges early
    group = RunGroup(runs)
    group.run()
    assert group.engines[1].status == "diverged" and group.engines[0].step_count == 400
    sources = [RunSource.from_engine(e, n) for (n, _), e in zip(runs, group.engines)]
    compare = [(s, f"run {i}", RUN_COLOURS[i]) for i, s in enumerate(sources)]
    lay = ExportLayout(sources[1], ["loss", "singular_values"], (800, 450), "light", compare=compare)
    try:
        assert lay.clock is sources[0]  # frames follow the run that trained longest
        lay.show_row(lay.clock.n - 1)
        text = re.sub("<[^>]+>", "", lay.panels["loss"].legend_label.text()).replace("&nbsp;", " ")
        assert "run 0" in text and "run 1" in text
        assert lay.lbl_step.text() == "step 400"
        img = lay.render_frame()
        assert img.width() == 800
    finally:
        lay.close_layout()


def test_a_session_with_several_runs_is_recorded_with_all_of_them(qapp, tmp_path, capsys):
    from ibviewer.live.runs import RUN_COLOURS
    from ibviewer.core.session import save_session

    runs = []
    for lr in (0.01, 0.005):
        e = Engine(build_config(preset=DEFAULT_PRESET, overrides=[("run.steps", 600), ("optimizer.lr", lr)]))
        e.run()
        runs.append((f"lr {lr}", e))
    path = save_session(tmp_path / "two.ibvs", runs)
    both, one = tmp_path / "both", tmp_path / "one"
    common = ["--size", "960x540", "--fps", "2", "--seconds", "1", "--panels", "loss,errors"]
    assert record_main(["--session", str(path), "--frames", str(both), *common]) == 0
    assert "2 runs" in capsys.readouterr().out
    assert record_main(["--session", str(path), "--run", "lr 0.005", "--single", "--frames", str(one), *common]) == 0
    assert "runs" not in capsys.readouterr().out
    last = np.asarray(Image.open(sorted(both.iterdir())[-1]).convert("RGB"))
    assert colour_pixels(last, RUN_COLOURS[0]) > 200 and colour_pixels(last, RUN_COLOURS[1]) > 200
    assert record_main(["--session", str(path), "--run", "nope", "--frames", str(tmp_path / "x"), *common]) == 2
    assert "--run 'nope' is not in the session" in capsys.readouterr().err


def test_theory_overlays_reach_recordings_and_exports(qapp, tmp_path, engine):
    from ibviewer.gui.export import panel_state

    source = RunSource.from_engine(engine, "quick")
    lay = ExportLayout(source, ["singular_values", "norms"], (800, 450), "light",
                       panel_state={"singular_values": {"theory": True}, "norms": {"theory": True}})
    try:
        lay.show_row(source.n - 1)
        sv = lay.panels["singular_values"]
        assert sv.theory and any(len(c.getData()[0]) for c in sv.th_curves)
        assert lay.panels["norms"].sum_curve.isVisible()
        assert panel_state(sv) == {"theory": True}  # what the app hands an export from its window
    finally:
        lay.close_layout()
    out = tmp_path / "th"
    assert record_main(["--frames", str(out), "--size", "480x270", "--fps", "1", "--seconds", "2", "--theory",
                        *QUICK]) == 0
    assert len(list(out.iterdir())) == 2


def test_a_recording_draws_the_runs_events_from_their_step_on_and_says_what_to_look_for(qapp):
    """Headless recording: the event markers found from the run's history (σ₁, σ₂ learned ...) are drawn on the
    time panels of the frames past their step, not before; the caption's second line is the preset's look-for."""
    from ibviewer.core.config import build_config
    from ibviewer.core.engine import Engine
    from ibviewer.core.events import events
    from ibviewer.gui.export import ExportLayout
    from ibviewer.gui.timeline import RunSource

    cfg = build_config(preset="sensing_incremental_rank")
    cfg.run.steps = 600
    e = Engine(cfg)
    e.run()
    src = RunSource.from_engine(e, "sensing_incremental_rank")
    expected = events(e.history.as_dict(), e.cfg, e.status, e.step_count, e.problem.target)
    assert list(src.markers) == expected and any(m["label"] == "σ₂ learned" for m in expected)
    layout = ExportLayout(src, ["loss", "singular_values"], (960, 540), "light")
    try:
        layout.prime()
        learned = next(m for m in expected if m["label"] == "σ₂ learned")
        row_before = src.index_of_step(learned["step"] - 1)
        layout.show_row(row_before)
        assert "σ₂" not in " ".join(layout.panels["loss"].markers.labels())
        layout.show_row(src.n - 1)
        assert "σ₂" in " ".join(layout.panels["loss"].markers.labels())
        assert "Look for:" in layout.lbl_title.text()
    finally:
        layout.close()


def test_an_export_layout_collects_cycles_between_events_not_inside_qt_calls(qapp):
    """``ibviewer record`` builds panels without a window: the automatic collector must be off there too (a
    collection while a panel's item was added to its view hung the command)."""
    import gc

    from ibviewer.core.config import build_config
    from ibviewer.core.engine import Engine
    from ibviewer.gui import gc_policy
    from ibviewer.gui.export import ExportLayout
    from ibviewer.gui.timeline import RunSource

    e = Engine(build_config())
    e.step(5)
    layout = ExportLayout(RunSource.from_engine(e), ["loss"], (320, 180), "light")
    try:
        assert not gc.isenabled() and gc_policy._COLLECTOR is not None
    finally:
        layout.close()
