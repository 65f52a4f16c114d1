"""What the app says about what it shows: distinct legend samples, every target value drawn, the theory's
assumption named, the reference a preset is about drawn, the trivial predictor's level, subscripts, the look-for
line in the Controls, and the guide to the panels in the Help menu."""

import re

import numpy as np
import pytest

from ibviewer.core.config import build_config, preset_info, preset_names
from ibviewer.core.engine import Engine
from ibviewer.gui.panel_guide import guide_html
from ibviewer.gui.panels import PANEL_CLASSES, setup_pyqtgraph
from ibviewer.live.draw import DrawContext, history_mirror
from ibviewer.live.series import Frame, plain_symbols, symbols

#: AT6's target: ten singular values 10·2^-i
AT6_SV = [10.0 * 2.0 ** -i for i in range(10)]


@pytest.fixture(autouse=True)
def _pg(qapp):
    setup_pyqtgraph()


def legend_glyphs(panel) -> dict[str, str]:
    """Legend entry name (markup removed) -> its sample glyph."""
    html = panel.legend_label.text()
    out = {}
    for glyph, label in re.findall(r'font-weight:bold">([^<]*)</span>&nbsp;(.*?)</nobr>', html):
        out[re.sub(r"<[^>]+>", "", label).replace("&nbsp;", " ").replace("\u2011", "-")] = glyph
    return out


def spectrum_panel(kind="matrix_factorization", sv=AT6_SV, theory=True):
    panel = PANEL_CLASSES["singular_values"](x_mode="step")
    d = len(sv)
    panel.set_info({"shape": (d, d), "target_sv": list(sv), "refs": {}, "kind": kind,
                    "cfg": {"model": {"depth": 2, "init_scale": 1e-4}, "optimizer": {"lr": 0.02},
                            "run": {"steps": 4000}}})
    panel.restore({"theory": theory})
    return panel


def test_targets_and_theory_have_distinct_legend_samples():
    glyphs = legend_glyphs(spectrum_panel())
    assert "targets" in glyphs and "theory" in glyphs and glyphs["targets"] != glyphs["theory"]
    assert glyphs["half-time"] not in (glyphs["targets"], glyphs["theory"])
    keys = {name: style for style, name in spectrum_panel().extra_legend_keys()}  # compared runs
    assert keys["targets"] != keys["theory (run colour)"]


def test_every_target_value_has_its_curve_and_its_prediction():
    """AT6: ten target values; the theory predicts all ten, and two compared runs draw all ten each."""
    panel = spectrum_panel()
    steps = np.arange(0, 4001, 50.0)
    sv = np.full((len(steps), 10), 1e-4)
    mirror = history_mirror({"step": steps, "time": 0.02 * steps, "sv": sv})
    panel.update(DrawContext(Frame(mirror, "step"), None, "step"))
    drawn = [c for c in panel.th_curves if c.isVisible() and c.yData is not None and len(c.yData)]
    assert len(drawn) == 10
    _hx, hy = panel.th_marks.getData()
    np.testing.assert_allclose(10.0 ** np.asarray(hy), np.asarray(AT6_SV) / 2)
    assert "σ7…σ10" in legend_glyphs(panel)
    (_key, k, _style, label, _w), = panel.compare_series(2)
    assert k == 10 and label == "σ1–σ10"
    assert panel.compare_series(6)[0][1] == panel.COMPARE_SV  # many runs: the leading values only


def test_the_theory_of_sensing_and_completion_says_it_assumes_full_observation():
    assert "theory (full observation)" in legend_glyphs(spectrum_panel(kind="matrix_completion", sv=[4.0, 1.0]))
    assert "theory" in legend_glyphs(spectrum_panel(kind="matrix_factorization", sv=[4.0, 1.0]))
    assert not any("full" in k for k in legend_glyphs(spectrum_panel(kind="matrix_factorization", sv=[4.0, 1.0])))


def test_compared_diagonal_runs_draw_the_distance_to_min_l2():
    """AT2 is the move from min-ℓ2 to min-ℓ1; basis pursuit recovers x* exactly, so the ℓ1 curve is the ground
    truth's and its place goes to min-ℓ2."""
    truth = np.zeros(8)
    truth[[1, 5]] = [2.0, -1.0]
    panel = PANEL_CLASSES["errors"](x_mode="step")
    refs = {"min_l2": np.full(8, 0.3), "min_l1": truth + 1e-12, "q_alpha": truth * 0.9}
    panel.set_info({"shape": (8,), "target": truth, "refs": refs, "kind": "sparse_recovery"})
    series = panel.compare_series(6)
    cols = [s[0] for s in series]
    assert cols == ["rel_error", "dist_q_alpha", "dist_min_l2"]
    assert series[0][3] == "to ground truth x* = min-ℓ1"
    # a ground truth that basis pursuit misses keeps its own min-ℓ1 curve
    panel.set_info({"shape": (8,), "target": truth, "refs": dict(refs, min_l1=truth * 0.5), "kind": "sparse_recovery"})
    assert [s[0] for s in panel.compare_series(6)] == ["rel_error", "dist_min_l1", "dist_q_alpha"]


def test_the_loss_panel_draws_the_trivial_predictor_s_test_loss():
    panel = PANEL_CLASSES["loss"](x_mode="step")
    panel.set_info({"shape": (1,), "refs": {}, "kind": "teacher_student", "trivial_test_loss": 0.26})
    line = panel.trivial_line
    assert line.isVisible() and line.value() == pytest.approx(np.log10(0.26))
    assert "test loss of the trivial predictor" in legend_glyphs(panel)
    steps = np.arange(0, 100, 10.0)
    mirror = history_mirror({"step": steps, "loss": 10.0 ** (-steps / 10), "test_loss": np.full(10, 0.09)})
    panel.update(DrawContext(Frame(mirror, "step"), None, "step"))
    lo, hi = panel.vb.viewRange()[1]
    assert lo <= np.log10(0.26) <= hi  # in view
    panel.set_info({"shape": (3, 3), "refs": {}, "kind": "matrix_sensing"})  # no test set: no line
    assert not panel.trivial_line.isVisible()
    assert "trivial" not in panel.legend_label.text()


@pytest.mark.parametrize("text, rich, plain", [
    ("x_ℓ1", "x<sub>ℓ1</sub>", "xℓ₁"),
    ("Q_α, x_ℓ2", "Q<sub>α</sub>, x<sub>ℓ2</sub>", "Qα, xℓ₂"),
    ("W_1 (input)", "W<sub>1</sub> (input)", "W₁ (input)"),
    ("lazy: init_scale 4", "lazy: init_scale 4", "lazy: init_scale 4"),
    ("min_l1 and rank_tol", "min_l1 and rank_tol", "min_l1 and rank_tol"),
    ("‖W‖_op of W_{j+1}", "‖W‖<sub>op</sub> of W<sub>j+1</sub>", "‖W‖ₒₚ of Wⱼ₊₁"),
    ("W_{j+1}ᵀW_{j+1}", "W<sub>j+1</sub>ᵀW<sub>j+1</sub>", "Wⱼ₊₁ᵀWⱼ₊₁"),
])
def test_subscripts_are_typeset_and_names_with_underscores_are_not(text, rich, plain):
    assert symbols(text) == rich
    assert plain_symbols(text) == plain


def test_check_boxes_and_layer_choices_have_no_literal_underscores():
    stems = PANEL_CLASSES["stems"](x_mode="step")
    assert "_" not in stems.theory_box.text() and "Qα" in stems.theory_box.text()
    layers = PANEL_CLASSES["layer_sv"](x_mode="step")
    layers.set_info({"shape": (1,), "refs": {}, "cfg": {"model": {"depth": 3}}})
    texts = [layers.combo.itemText(i) for i in range(layers.combo.count())]
    assert texts == ["W₁ (input)", "W₂", "W₃ (output)"]


def test_the_guide_describes_every_registered_panel():
    html = guide_html()
    for name, cls in PANEL_CLASSES.items():
        assert f"<b>{symbols(cls.title)}</b> <tt>({name})</tt>" in html
    assert "σ<sub>i</sub>" in html and "x_ℓ1" not in html


def test_help_opens_the_guide_and_the_controls_say_what_to_look_for(qtbot, window):
    from PySide6.QtWidgets import QDialog, QTextBrowser

    menu = {a.text(): a.menu() for a in window.menuBar().actions()}["&Help"]
    assert window.actions["panel_guide"] in menu.actions() and window.actions["shortcuts"] in menu.actions()
    window.actions["panel_guide"].trigger()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(QDialog, "panel_guide")), timeout=5000)
    dlg = window.findChildren(QDialog, "panel_guide")[0]
    assert "Singular values" in dlg.findChild(QTextBrowser).toPlainText()
    dlg.close()
    name = "sensing_incremental_rank"
    window.controls.set_config(build_config(preset=name), preset=name)
    text = window.controls.description.text()
    assert "Look for:" in text and "σ<sub>1</sub>" in text
    assert "341" in text  # the numbers it reaches


def test_every_preset_title_and_description_reads_without_ascii_math():
    for name in preset_names():
        meta = preset_info(name)
        for key in ("title", "description", "look_for"):
            assert not re.search(r"\^T\b|\|\|| alpha\b|min-l[12]\b", meta.get(key, "")), (name, key)


def test_at6_problem_controls_show_its_ten_values_not_rank_2_or_random(qtbot, window):
    """AT6's spectrum target has d = 10 values 10·2^-i whatever problem.rank says: the rank is hidden and the empty
    singular values field says what it stands for; a low-rank target shows its rank again."""
    name = "factorization_sequential_learning"
    cfg = build_config(preset=name)
    window.controls.set_config(cfg, preset=name)
    rank = window.controls.widgets["problem.rank"]
    sv = window.controls.widgets["problem.singular_values"]
    assert rank.isHidden() and sv.text() == "" and sv.placeholderText() == "10·2⁻ⁱ, i = 0…9"
    np.testing.assert_allclose(np.linalg.svd(Engine(cfg).problem.target, compute_uv=False), AT6_SV, rtol=1e-9)
    noisy = build_config(preset="factorization_early_stopping")
    window.controls.set_config(noisy, preset="factorization_early_stopping")
    assert not rank.isHidden() and sv.text() == "10, 5"
