"""Runs side by side in the app, sessions, settings, the gallery hook, theory overlays and own data."""

import json
import zipfile

import numpy as np
import pytest

from ibviewer.core.compare import RunGroup
from ibviewer.core.config import DEFAULT_PRESET, build_config

from .conftest import TIMEOUT_MS, legend_text, settle

STEPS = 300


def base_cfg():
    cfg = build_config(preset=DEFAULT_PRESET)
    cfg.run.steps = STEPS
    return cfg


def ready(qtbot, win, n_runs=None):
    qtbot.waitUntil(lambda: win.worker_ready and win.last_snap is not None
                    and (n_runs is None or len(win.runs) == n_runs), timeout=TIMEOUT_MS)


def legend(panel) -> str:
    return legend_text(panel)


def all_done(win):
    return all(r.entry is not None and r.entry.status == "max_steps" for r in win.runs)


def single(qtbot, win):
    """One run of the default preset, STEPS steps, ready."""
    win.apply_config(base_cfg(), "test: one run")
    ready(qtbot, win, 1)
    win.set_speed(0)


def test_add_rename_hide_and_remove_runs(qtbot, window):
    single(qtbot, window)
    first = window.runs[0]
    run = window.add_run("model.depth", 2)
    assert run is not None and run.name == "depth 2"
    assert first.name == "depth 3"  # the first run is named by what tells it apart
    assert "2 runs restart together" in window.statusBar().currentMessage()
    ready(qtbot, window, 2)
    assert window.comparing and [r.cfg.model.depth for r in window.runs] == [3, 2]
    assert window.runs_list.list.count() == 2
    # a refused value: one line, nothing added
    assert window.add_run("model.init_scale", -1) is None
    assert "model.init_scale" in window.statusBar().currentMessage() and len(window.runs) == 2
    assert window.add_run("problem.d", 10) is None and "share the problem" in window.statusBar().currentMessage()
    window.step_n(50)
    qtbot.waitUntil(lambda: all(r.entry and r.entry.step == 50 for r in window.runs), timeout=TIMEOUT_MS)
    # every time panel overlays both runs, colour-coded, with a legend naming them
    loss = window.panels["loss"]
    assert loss.comparing
    curves = {rid: c for (rid, key), c in loss.run_items.items() if key == 0}
    assert set(curves) == {r.id for r in window.runs}
    assert {c.opts["pen"].color().getRgb()[:3] for c in curves.values()} == {r.colour for r in window.runs}
    assert all(len(c.getData()[0]) > 0 for c in curves.values())
    assert "depth 3" in legend(loss) and "depth 2" in legend(loss)
    sv = window.panels["singular_values"]
    assert any(k[0] == run.id for k in sv.run_items) and not sv.lead[0].isVisible()
    # rename
    window.controller.rename(run.id, "shallow")
    assert run.name == "shallow" and window.runs_list.item(run.id).text() == "shallow"
    window.redraw()
    assert "shallow" in legend(loss)
    # hide: its curves go, the legend drops it
    window.controller.set_visible(run.id, False)
    assert all(k[0] != run.id for k in loss.run_items) and "shallow" not in legend(loss)
    window.controller.set_visible(run.id, True)
    assert any(k[0] == run.id for k in loss.run_items)
    # select the other run: the controls follow it
    window.controller.select(run.id)
    assert window.cfg.model.depth == 2 and window.controls.widgets["model.depth"].value() == 2
    assert window.mirror is run.mirror
    # remove: the other run goes on where it was
    assert window.controller.remove_run(run.id)
    assert [r.name for r in window.runs] == ["depth 3"] and not window.comparing
    window.step_n(10)
    s = settle(qtbot, window, 60)
    assert s["step"] == 60 and window.docks.errors == []
    assert not window.controller.remove_run(window.runs[0].id)  # the last run stays
    assert "cannot be removed" in window.statusBar().currentMessage()


def test_runs_train_together_like_the_headless_run_group(qtbot, window):
    single(qtbot, window)
    window.add_run("model.depth", 2)
    window.controller.select(window.runs[0].id)
    window.add_run("model.init_scale", 1e-2)
    ready(qtbot, window, 3)
    configs = [(r.name, r.cfg.copy()) for r in window.runs]
    window.play()
    qtbot.waitUntil(lambda: all_done(window), timeout=TIMEOUT_MS)
    settle(qtbot, window)
    group = RunGroup(configs)
    assert len(group.batches) == 1  # depth 3 at two scales train as one stack
    group.run()
    for run, engine in zip(window.runs, group.engines):
        h = engine.history
        assert run.mirror.n == h.n and run.entry.step == STEPS
        for col in ("step", "time", "loss", "sv", "rel_error", "erank_entropy"):
            np.testing.assert_array_equal(run.mirror[col], h[col], err_msg=f"{run.name}: {col}")
    assert window.docks.errors == []


def two_runs(qtbot, win, key, value, steps):
    """The default preset's run and one that differs in ``key``, both trained ``steps`` steps, idle."""
    single(qtbot, win)
    win.add_run(key, value)
    ready(qtbot, win, 2)
    win.step_n(steps)
    qtbot.waitUntil(lambda: all(r.entry and r.entry.step == steps for r in win.runs), timeout=TIMEOUT_MS)
    settle(qtbot, win)


def test_session_round_trip_then_training_goes_on(qtbot, window, tmp_path):
    two_runs(qtbot, window, "optimizer.lr", 0.005, 120)
    window.controller.rename(window.runs[1].id, "slow")
    window.controller.set_visible(window.runs[1].id, False)
    window.set_x_mode("time")
    window.panels["singular_values"].set_theory(True)
    saved = {r.name: {k: r.mirror[k].copy() for k in ("step", "loss", "sv")} for r in window.runs}
    path = tmp_path / "talk.ibvs"
    with qtbot.waitSignal(window.session_saved, timeout=TIMEOUT_MS):
        assert window.save_session(path)
    assert [p.name for p in tmp_path.iterdir()] == ["talk.ibvs"]  # atomic: no temporary file left
    # change everything, then open the session
    window.apply_config(base_cfg(), "test: something else")
    window.set_x_mode("log_step")
    window.panels["singular_values"].set_theory(False)
    ready(qtbot, window, 1)
    with qtbot.waitSignal(window.session_opened, timeout=TIMEOUT_MS):
        assert window.open_session(path)
    qtbot.waitUntil(lambda: window.worker_ready and all(r.entry for r in window.runs) and len(window.runs) == 2,
                    timeout=TIMEOUT_MS)
    assert [r.name for r in window.runs] == ["η = 0.01", "slow"]
    assert [r.visible for r in window.runs] == [True, False]
    assert window.x_mode == "time" and window.panels["singular_values"].theory
    assert window.runs[1].cfg.optimizer.lr == 0.005
    for r in window.runs:
        assert r.entry.step == 120
        for k, v in saved[r.name].items():
            np.testing.assert_array_equal(r.mirror[k][: len(v)], v)
    assert str(path) in window.settings.recent[0]
    # training continues from there
    window.step_n(30)
    qtbot.waitUntil(lambda: all(r.entry.step == 150 for r in window.runs), timeout=TIMEOUT_MS)
    assert window.docks.errors == []
    window.set_x_mode("log_step")


def _zip(path, doc):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("session.json", json.dumps(doc))
    return path


def test_bad_session_files_say_why_and_the_runs_go_on(qtbot, window, tmp_path):
    single(qtbot, window)
    cases = {
        _zip(tmp_path / "newer.ibvs", {"format": "ibviewer-session", "version": 99, "runs": []}): "newer ibviewer",
        _zip(tmp_path / "older.ibvs", {"format": "ibviewer-session", "version": 0, "runs": []}): "format 0;",
        _zip(tmp_path / "other.ibvs", {"format": "something-else", "version": 1}): "not an ibviewer session",
    }
    junk = tmp_path / "junk.ibvs"
    junk.write_bytes(b"not a zip at all")
    cases[junk] = "not a zip archive"
    for path, why in cases.items():
        gen = window.gen
        window.statusBar().clearMessage()
        assert window.open_session(path)
        qtbot.waitUntil(lambda why=why: why in window.statusBar().currentMessage(), timeout=TIMEOUT_MS)
        msg = window.statusBar().currentMessage()
        assert "\n" not in msg and "Traceback" not in msg
        assert window.gen == gen  # the worker kept its runs: the window listens to them again
    assert not window.open_session(tmp_path / "missing.ibvs")
    assert "does not exist" in window.statusBar().currentMessage()
    window.step_n(5)
    assert settle(qtbot, window, 5)["step"] == 5


def test_gallery_opens_a_preset_with_all_its_runs(qtbot, window):
    dlg = window.files.open_gallery()
    dlg.select("hadamard_l1_bias")
    dlg.open_selected()
    qtbot.waitUntil(lambda: window.preset == "hadamard_l1_bias" and window.worker_ready
                    and len(window.runs) == 3 and all(r.entry for r in window.runs), timeout=TIMEOUT_MS)
    assert [r.name for r in window.runs] == ["depth 1", "depth 2", "depth 3"]
    assert window.actions["gallery"].shortcut().toString() == "Ctrl+G"
    window.step_n(200)
    qtbot.waitUntil(lambda: all(r.entry.step == 200 for r in window.runs), timeout=TIMEOUT_MS)
    settle(qtbot, window)
    # vector runs: every run's stems, its Q_alpha minimiser with the overlay on
    stems = window.panels["stems"]
    assert sum(1 for k in stems.run_items if k[1] == "stems") == 3
    stems.set_theory(True)
    coords = window.panels["coordinates"]
    coords.set_theory(True)
    # Q_alpha (Woodworth et al.) is the depth-2 run's reference
    q = {r.name: len(stems.run_items[(r.id, "q_alpha")].getData()[0]) for r in window.runs}
    assert q == {"depth 1": 0, "depth 2": 100, "depth 3": 0}
    assert len(coords.ref_marks["min_l1"].getData()[0]) > 0
    assert any(k[1] == "q_alpha" and len(m.getData()[0]) for k, m in coords.run_items.items())
    assert len(coords.rest.getData()[0]) > 0  # the selected run's other coordinates, grey
    stems.set_theory(False)
    coords.set_theory(False)
    assert window.docks.errors == []


def test_theory_overlays_draw_the_predicted_curves(qtbot, window):
    single(qtbot, window)
    window.step_n(STEPS)
    settle(qtbot, window, STEPS)
    sv = window.panels["singular_values"]
    sv.set_theory(True)
    drawn = [c for c in sv.th_curves if c.isVisible() and len(c.getData()[0])]
    assert len(drawn) == 3  # targets 12, 6, 3
    _x, y = drawn[0].getData()
    assert np.nanmax(y) == pytest.approx(np.log10(12.0), abs=1e-3)  # sigma_1 tends to its target
    hx, hy = sv.th_marks.getData()
    assert len(hx) == 3 and np.allclose(hy, np.log10([6.0, 3.0, 1.5]))
    assert "theory" in legend(sv) and "half-time" in legend(sv)
    norms = window.panels["norms"]
    norms.set_theory(True)
    assert norms.sum_curve.isVisible() and len(norms.sum_curve.getData()[0]) == window.mirror.n
    # with a second run: one predicted curve per run, in its colour
    window.add_run("model.depth", 2)
    ready(qtbot, window, 2)
    window.step_n(100)
    qtbot.waitUntil(lambda: all(r.entry and r.entry.step == 100 for r in window.runs), timeout=TIMEOUT_MS)
    window.redraw()
    for r in window.runs:
        c = sv.run_items[(r.id, "theory")]
        assert len(c.getData()[0]) > 0 and c.opts["pen"].color().getRgb()[:3] == r.colour
    assert not any(c.isVisible() for c in sv.th_curves)
    assert any(k[1] == 2 for k in norms.run_items)  # the Σσ^(2/N) series of each run
    sv.set_theory(False)
    norms.set_theory(False)
    assert not any(k[1] in ("theory", "half") for k in sv.run_items)
    assert window.docks.errors == []


def test_load_data_refuses_a_wrong_file_and_trains_on_a_good_one(qtbot, window, tmp_path):
    single(qtbot, window)
    gen = window.gen
    bad = tmp_path / "bad.npz"
    np.savez(bad, A=np.ones((5, 7)), y=np.ones(3))
    assert not window.files.load_data(bad, "sparse_recovery")
    msg = window.statusBar().currentMessage()
    assert "bad.npz" in msg and "\n" not in msg and window.gen == gen
    text = tmp_path / "words.csv"
    text.write_text("a,b\nc,d\n")
    assert not window.files.load_data(text, "matrix_factorization")
    assert window.gen == gen
    assert not window.files.load_data(tmp_path / "x.txt")
    assert "not a data file" in window.statusBar().currentMessage()
    good = tmp_path / "target.npy"
    rng = np.random.default_rng(0)
    np.save(good, rng.standard_normal((8, 2)) @ rng.standard_normal((2, 8)))
    assert window.files.load_data(good)  # a matrix: factorize it
    ready(qtbot, window, 1)
    assert window.cfg.problem.kind == "matrix_factorization" and window.cfg.problem.source.endswith("target.npy")
    assert window.info["shape"] == (8, 8)
    window.step_n(20)
    assert settle(qtbot, window, 20)["step"] == 20


def test_recent_files_and_settings_persist_in_a_new_window(qtbot, window, tmp_path, monkeypatch):
    from ibviewer.gui.settings import AppSettings
    from ibviewer.gui.window import MainWindow

    monkeypatch.setenv("IBVIEWER_CONFIG_DIR", str(tmp_path / "settings"))
    cfg_path = tmp_path / "run.toml"
    win = MainWindow(base_cfg(), speed=0)  # deleted on close: not handed to qtbot
    win.show()
    try:
        assert win.settings.recent == []
        assert win.files.save_config(cfg_path)
        win.appearance.set_font_scale(1.3)
        win.appearance.set_theme("dark")
        assert win.panels["loss"].plot_widget.backgroundBrush().color().getRgb()[:3] == (30, 32, 36)
        win.resize(1300, 800)
    finally:
        win.close()
    stored = AppSettings.load()
    assert stored.font_scale == 1.3 and stored.theme == "dark" and stored.recent == [str(cfg_path.resolve())]
    assert stored.last_dir == str(tmp_path.resolve()) and stored.layouts
    # one store: the geometry is in the same file, nothing beside it
    assert stored.geometry_bytes() and [p.name for p in (tmp_path / "settings").iterdir()] == ["settings.toml"]
    win2 = MainWindow(base_cfg(), speed=0)
    win2.show()
    try:
        assert win2.settings.font_scale == 1.3 and win2.actions["dark_theme"].isChecked()
        # the geometry came back from the settings file (the offscreen screen clamps it to its own small size)
        assert (win2.width(), win2.height()) != (1560, 940)
        win2.files.recent_menu.aboutToShow.emit()
        entries = [a.data() for a in win2.files.recent_menu.actions()]
        assert entries == [str(cfg_path.resolve())]
        assert win2.files.open_path(entries[0])
        qtbot.waitUntil(lambda: win2.worker_ready, timeout=TIMEOUT_MS)
    finally:
        win2.close()
    # a damaged settings file: defaults, a note, the file set aside
    AppSettings.path().write_text("theme = [unclosed")
    s = AppSettings.load()
    assert s.theme == "light" and "unreadable" in s.note
    assert AppSettings.path().with_suffix(".toml.bad").exists()


def test_command_line_runs_and_session(tmp_path):
    from ibviewer.core.engine import Engine
    from ibviewer.gui.app import UsageError, parse
    from ibviewer.core.session import SessionError, save_session

    args, _cfg, preset = parse(["--preset", "hadamard_l1_bias"])
    assert preset == "hadamard_l1_bias" and [n for n, _ in args.runs] == ["depth=1", "depth=2", "depth=3"]
    args, _cfg, _ = parse(["--preset", "hadamard_l1_bias", "--single"])
    assert args.runs is None
    args, _cfg, _ = parse(["--compare", "model.depth=1,2", "--compare", "optimizer.lr=0.01,0.005"])
    assert len(args.runs) == 4
    bad = tmp_path / "bad.ibvs"
    bad.write_text("nope")
    with pytest.raises(SessionError, match="not a zip archive"):
        parse(["--session", str(bad)])
    good = tmp_path / "good.ibvs"
    e = Engine(base_cfg())
    e.step(40)
    save_session(good, [("only", e)], {"x_mode": "time"})
    args, _cfg, _ = parse(["--session", str(good)])
    assert args.session == str(good)
    with pytest.raises(UsageError):
        parse(["--session", str(good), "--set", "model.depth=2"])


def test_a_window_opens_on_a_session(qtbot, tmp_path):
    from ibviewer.core.engine import Engine
    from ibviewer.gui.window import MainWindow
    from ibviewer.core.session import save_session

    cfg2 = base_cfg()
    cfg2.model.depth = 2
    engines = [Engine(base_cfg()), Engine(cfg2)]
    for e in engines:
        e.step(60)
    path = tmp_path / "two.ibvs"
    save_session(path, [("deep", engines[0]), ("shallow", engines[1])], {"x_mode": "time", "selected_index": 1})
    win = MainWindow(build_config(preset=DEFAULT_PRESET), session=str(path), speed=0)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.worker_ready and len(win.runs) == 2 and all(r.entry for r in win.runs),
                        timeout=TIMEOUT_MS)
        assert [r.name for r in win.runs] == ["deep", "shallow"] and win.x_mode == "time"
        assert win.cfg.model.depth == 2  # the saved selection
        for r, e in zip(win.runs, engines):
            assert r.entry.step == 60
            assert r.mirror.n == e.history.n  # (and a provisional row of step 60, not recorded)
            np.testing.assert_array_equal(r.mirror.cols["loss"][: r.mirror.n], e.history["loss"])
    finally:
        win.close()


def test_exports_of_compared_runs_show_every_visible_run(qtbot, window, tmp_path):
    from PIL import Image

    from ibviewer.gui.export_ui import AnimationSettings

    two_runs(qtbot, window, "model.depth", 2, 200)
    rec = window.recording
    png = rec.export_image(str(tmp_path / "both.png"), panel="loss", size=(800, 500))
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)

    def count(rgb):
        return int((np.abs(img - np.array(rgb)).max(axis=-1) <= 6).sum())

    assert all(count(r.colour) > 100 for r in window.runs)
    svg = rec.export_image(str(tmp_path / "both.svg"), panel="singular_values", format="svg", size=(600, 400))
    assert svg is not None, window.status.messages[-1]
    text = svg.read_text()
    assert all("#%02x%02x%02x" % r.colour in text.lower() for r in window.runs)
    # a hidden run is left out, as in the window
    window.controller.set_visible(window.runs[1].id, False)
    png = rec.export_image(str(tmp_path / "one.png"), panel="loss", size=(800, 500))
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert count(window.runs[1].colour) < 20
    out = rec.export_animation(AnimationSettings(path=str(tmp_path / "a.gif"), kind="gif", size=(320, 180), fps=4,
                                                 seconds=1, panels=["loss"]))
    assert out is not None and out.exists()
