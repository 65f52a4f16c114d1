"""Spectrum panels: the singular values of the end-to-end product over time (with the predicted gradient-flow
trajectories of :mod:`ibviewer.core.theory`) and its effective rank."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel

from ibviewer.core import metrics as M
from ibviewer.core.theory import (SpectrumPrediction, flow_speed, initial_singular_values, spectrum_targets,
                                  time_to_x)
from ibviewer.gui.panels.base import TimePanel, cfg_get
from ibviewer.gui.panels.style import BLACK, COLOURED_SV, GREY, LegendSample, colour, dashed, pen
from ibviewer.gui.panels.window_band import BAND_TIP, ShowsRankWindow, WindowBand
from ibviewer.live.draw import DrawContext
from ibviewer.live.ranges import EXTRA_SV, spectrum_bounds, target_rank
from ibviewer.live.series import nan_joined


class SingularValuesPanel(TimePanel):
    name = "singular_values"
    title = "Singular values σ_i(W)"
    tooltip = ("Every singular value σ_i of the end-to-end product W = W_N⋯W_1 over time (log scale);\n"
               "dashed: the ground truth's singular values.  From small initialization they are learned one\n"
               "after another, largest first.  The range holds σ_1…σ_{r+2} (r: the ground truth's rank); the\n"
               "tail, in grey, is clipped at the bottom.")
    y_log = True
    y_label = "σ_i(W)"
    #: singular values drawn per run when many runs are compared
    COMPARE_SV = 3
    #: when at most three runs are compared, every value of the ground truth is drawn (and one more), up to this
    COMPARE_ALL_SV = 12
    #: predicted trajectories drawn (one per value of the ground truth, up to this many)
    THEORY_SV = 16
    #: the theory's line style: the targets are dashed, so the two never share a legend sample
    THEORY_STYLE = Qt.PenStyle.DashDotLine

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        # the three leading values thick, the next ones thin (a thick curve costs three thin paths)
        self.lead = [self.add_curve(colour(i), None, width=2 if i < 3 else 1, z=2) for i in range(COLOURED_SV)]
        self.rest = self.add_curve(GREY, None, width=1, z=1)
        self.targets: list[pg.InfiniteLine] = []
        self.target_sample = LegendSample(dashed(BLACK))
        self.add_theory_toggle("theory", "Predicted σ_i(t) of gradient flow, dash-dotted (dσ/dt = N σ^{2−2/N}(s − σ):\n"
                                         "Saxe et al. 2014 for depth 2, Arora et al. 2019 for depth N; exact for\n"
                                         "an initialization aligned with the target), and ◆ the half-times at\n"
                                         "which σ_i reaches s_i/2.  σ_i(0): the run's initial singular values.\n"
                                         "Dashed horizontal lines: the targets s_i.  For sensing and completion the\n"
                                         "prediction is that of factorizing W* with every entry observed: the runs\n"
                                         "see only the measurements, and the legend says so.")
        self.spectrum = SpectrumPrediction()
        self.th_curves: list[pg.PlotCurveItem] = []
        self.th_marks = pg.ScatterPlotItem(size=11, symbol="d", pen=pg.mkPen(BLACK, width=1))
        self.th_marks.setZValue(5)
        self.plot.addItem(self.th_marks)
        self.th_sample = LegendSample(pen(BLACK, 1, self.THEORY_STYLE))
        self.half_sample = pg.ScatterPlotItem(symbol="d", pen=pg.mkPen(BLACK), brush=pg.mkBrush(BLACK))
        #: the leading values drawn in colour (σ_1…σ_{r+2} with a ground truth of rank r); the rest is the grey tail
        self.coloured = COLOURED_SV

    def set_info(self, info):
        r = target_rank(info.get("target_sv"))
        self.coloured = COLOURED_SV if r is None else max(1, min(COLOURED_SV, r + EXTRA_SV))
        super().set_info(info)
        for line in self.targets:
            self.plot.removeItem(line)
        self.targets = []
        self._legend()
        sv = info.get("target_sv")
        if self.theory_box is not None:
            ok = sv is not None
            self.theory_box.setEnabled(ok)
            self.theory_box.setToolTip(self.theory_box.toolTip() if ok else "no ground truth: nothing to predict")
        if sv is None:
            return
        sv = np.asarray(sv, float)
        keep = sv > 1e-8 * max(sv.max(), 1e-300)
        for i, s in enumerate(sv):
            if keep[i]:
                c = BLACK if self.comparing else colour(i) if i < COLOURED_SV else GREY
                line = pg.InfiniteLine(pos=math.log10(s), angle=0, movable=False, pen=dashed(c))
                self.plot.addItem(line, ignoreBounds=True)
                self.targets.append(line)

    def _legend(self) -> None:
        info = self.info
        shape = info.get("shape", ())
        k = min(shape) if len(shape) == 2 else COLOURED_SV + 1
        k = int(info.get("sv_count", k))  # a large product's rows hold its top values only
        of = f" (top {k} of {min(shape):,})" if len(shape) == 2 and k < min(shape) else ""
        if self.legend_item is None:
            return
        self.legend_item.entries = []  # only the curves this product has
        n = self.coloured
        for i, c in enumerate(self.lead[: min(k, n)]):
            self.legend_item.entries.append((c, f"σ{i + 1}"))
        if k > n:
            self.legend_item.entries.append((self.rest, (f"σ{n + 1}…σ{k}" if k > n + 1 else f"σ{k}") + of))
        if info.get("target_sv") is not None:
            self.legend_item.entries.append((self.target_sample, "targets"))
        if self.theory:
            n = len(self._targets(self.THEORY_SV + 1))
            more = f" (σ1–σ{self.THEORY_SV})" if n > self.THEORY_SV else ""
            self.legend_item.entries.append((self.th_sample, self.theory_label() + more))
            self.legend_item.entries.append((self.half_sample, "half-time"))
        if not self.comparing:
            self.legend_item._render()

    def theory_label(self) -> str:
        """The theory's legend name: the prediction assumes every entry of W* observed (factorization), which
        sensing and completion do not."""
        kind = self.info.get("kind")
        return "theory" if kind in (None, "matrix_factorization") else "theory (full observation)"

    def on_comparing(self, on):
        for i, line in enumerate(self.targets):
            line.setPen(dashed(BLACK if on else colour(i) if i < COLOURED_SV else GREY))
        if not on:
            self._legend()
        self.on_theory(self.theory)

    def on_theory(self, on):
        for c in self.th_curves:
            c.setVisible(on and not self.comparing)
        self.th_marks.setVisible(on and not self.comparing)
        if not on:
            self.th_marks.setData([], [])
        self._cmp_legend = None
        self._legend()

    # ------------------------------------------------------------------ drawing
    def draw(self, frame):
        y = frame.col("sv", log=True)
        if y is None:
            return []
        x = frame.x
        k = y.shape[1]
        n = self.coloured
        for i, c in enumerate(self.lead):
            if i < min(k, n):
                c.setData(x, y[:, i])
            else:
                c.setData([], [])
        if k > n:
            self.rest.setData(*nan_joined(x, y[:, n:]))
        else:
            self.rest.setData([], [])
        # the range: the informative values and the targets; the tail is clipped at the bottom
        bounds = spectrum_bounds(y, self.info.get("target_sv"))
        return [np.asarray(bounds)] if bounds is not None else [np.zeros(0)]

    def _targets(self, k: int) -> np.ndarray:
        return spectrum_targets(self.info.get("target_sv"), k)

    def _prediction(self, mirror, cfg: Any, k: int):
        """(x, log10 σ predicted (rows: times), half-time x, log10 s/2) of one run (its rows and its config, a
        Config or its dict form), or None."""
        targets = self._targets(k)
        if not len(targets) or mirror is None or mirror.size == 0:
            return None
        depth = int(cfg_get(cfg, "model.depth", 1))
        lr, alpha = float(cfg_get(cfg, "optimizer.lr", 0.01)), float(cfg_get(cfg, "model.init_scale", 1e-3))
        s0 = initial_singular_values(mirror.get("sv"), mirror.get("step"), len(targets), alpha)
        tc, sc = mirror.get("time"), mirror.get("step")
        now = float(tc[-1]) if tc is not None and len(tc) and np.isfinite(tc[-1]) else 0.0
        steps = int(cfg_get(cfg, "run.steps", 0) or 0)
        t_end = max(lr * steps, now) if steps else max(2 * now, 1000 * lr)
        speed = flow_speed(str(cfg_get(cfg, "model.parametrization", "")))  # U Uᵀ: the depth-2 law, twice as fast
        t, pred, halves = self.spectrum.get(targets, s0, depth, lr, t_end * speed)
        t, halves = t / speed, halves / speed
        x = time_to_x(t, tc, sc, lr, self.x_mode, alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            ly = np.log10(pred)
        ok = np.isfinite(halves)
        hx = time_to_x(halves[ok], tc, sc, lr, self.x_mode, alpha)
        hy = np.log10(targets[ok] / 2)
        return x, ly, hx, hy

    def draw_theory(self, frame):
        # every value of the ground truth (σ7… grey, as their curves): none is left without its prediction
        k = len(self._targets(self.THEORY_SV))
        got = self._prediction(frame.mirror, self.info.get("cfg"), k)
        if got is None:
            return []
        x, ly, hx, hy = got
        while len(self.th_curves) < ly.shape[1]:
            i = len(self.th_curves)
            c = pg.PlotCurveItem(pen=pen(colour(i) if i < COLOURED_SV else GREY, 1, self.THEORY_STYLE),
                                 connect="finite", skipFiniteCheck=True, antialias=False)
            c.setZValue(4)
            self.plot.addItem(c)
            self.th_curves.append(c)
        for i, c in enumerate(self.th_curves):
            c.setVisible(True)
            c.setData(x, ly[:, i]) if i < ly.shape[1] else c.setData([], [])
        self.th_marks.setVisible(True)
        brushes = [pg.mkBrush(colour(i) if i < COLOURED_SV else GREY) for i in range(len(hx))]
        self.th_marks.setData(hx, hy, brush=brushes)
        return [ly]

    def compare_series(self, nruns):
        targets = self._targets(self.COMPARE_ALL_SV)
        # the learned values and one more (a shallow run fills it), fewer when many runs share the plot
        k = max(self.COMPARE_SV, len(targets) + 1) if nruns <= 3 else self.COMPARE_SV
        k = min(k, self.COMPARE_ALL_SV)
        shape = self.info.get("shape", ())
        if len(shape) == 2:
            k = min(k, min(shape))  # the legend names only values the product has
        return [("sv", k, Qt.PenStyle.SolidLine, f"σ1–σ{k}", 2)]

    def draw_compare_extra(self, runs, ctx: DrawContext):
        ys = [np.asarray([line.value() for line in self.targets])] if self.targets else []
        if not self.theory:
            for key in [k for k in self.run_items if k[1] in ("theory", "half")]:
                self.plot.removeItem(self.run_items.pop(key))
            return [], ys
        k = min(self.COMPARE_SV, len(self._targets(COLOURED_SV)))
        for run, _frame in runs:
            got = self._prediction(run.mirror, run.cfg, k)
            c = self.run_curve(run, "theory", self.THEORY_STYLE, 1)
            m = self.run_items.get((run.id, "half"))
            if m is None:
                m = pg.ScatterPlotItem(size=11, symbol="d", pen=pg.mkPen(BLACK, width=1), brush=pg.mkBrush(run.colour))
                m.setZValue(5)
                self.plot.addItem(m)
                self.run_items[(run.id, "half")] = m
            if got is None:
                c.setData([], [])
                m.setData([], [])
                continue
            x, ly, hx, hy = got
            c.setData(*nan_joined(x, ly))
            m.setData(hx, hy)
            ys.append(ly)
        return [], ys

    def extra_legend_keys(self):
        keys = [(Qt.PenStyle.DashLine, "targets")] if self.targets else []
        if self.theory:
            keys += [(self.THEORY_STYLE, self.theory_label() + " (run colour)"), (self.half_sample, "half-time")]
        return keys


ERANK_FORMS = {
    "entropy": ("erank_entropy", "exp(H(σ/‖σ‖₁)) (Roy & Vetterli)"),
    "nuclear_over_operator": ("erank_nuclear_over_operator", "‖W‖_* / ‖W‖_op"),
    "stable": ("erank_stable", "‖W‖_F² / ‖W‖_op² (stable rank)"),
}


class EffectiveRankPanel(ShowsRankWindow, TimePanel):
    name = "effective_rank"
    title = "Effective rank"
    tooltip = ("Effective rank of the product (definition selectable) and the numerical rank\n"
               "#{σ_i > rank_tol·σ_1}; dashed: the ground truth's values")
    y_zero = True
    y_label = "rank"

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.form = "entropy"
        self.erank = self.add_curve(colour(0), "effective rank")
        self.nrank = self.add_curve(colour(1), "numerical rank")
        self.t_erank = self.add_hline(-1.0, colour(0))
        self.t_nrank = self.add_hline(-1.0, colour(1))
        self.t_erank.hide()
        self.t_nrank.hide()
        row = self.header
        row.addWidget(QLabel("definition:"))
        self.combo = QComboBox()
        self.combo.setObjectName("erank_form")
        for key, (_, text) in ERANK_FORMS.items():
            self.combo.addItem(text, key)
        self.combo.setToolTip("which effective rank to draw")
        self.combo.currentIndexChanged.connect(self._on_form)
        row.addWidget(self.combo, 1)
        self.add_theory_toggle("window", BAND_TIP)
        self.band = WindowBand(self.plot)

    def _on_form(self, _index: int) -> None:
        self.form = self.combo.currentData()
        self._update_targets()
        self.ykeep.reset()
        self.request_redraw()

    def state(self) -> dict[str, Any]:
        return {**super().state(), "form": self.form}

    def restore(self, state: dict[str, Any]) -> None:
        super().restore(state)
        form = state.get("form", state.get("combo"))  # "combo": what exports were handed before
        i = self.combo.findData(form) if form in ERANK_FORMS else -1
        if i >= 0:
            self.combo.setCurrentIndex(i)  # redraws

    def set_info(self, info):
        super().set_info(info)
        if self.theory_box is not None:
            self.theory_box.setVisible("best_rank_r" in info.get("refs", {}))
        self._update_targets()

    def _update_targets(self) -> None:
        sv = self.info.get("target_sv")
        if sv is None:
            self.t_erank.hide()
            self.t_nrank.hide()
            return
        sv = np.asarray(sv, float)
        er = M.effective_ranks(sv)[self.form]
        tol = self.setting("run.rank_tol", 1e-3)
        self.t_erank.setPos(er)
        self.t_erank.show()
        self.t_nrank.setPos(M.numerical_rank(sv, tol))
        self.t_nrank.show()

    def compare_series(self, nruns):
        return [(ERANK_FORMS[self.form][0], None, Qt.PenStyle.SolidLine, "effective rank", 2),
                ("numerical_rank", None, Qt.PenStyle.DashLine, "numerical rank", 1)]

    def on_comparing(self, on):
        self.t_erank.setPen(dashed(BLACK if on else colour(0)))
        self.t_nrank.setPen(dashed(GREY if on else colour(1)))

    def draw_compare_extra(self, runs, ctx: DrawContext):
        if self.t_erank.isVisible():
            return [], [np.array([self.t_erank.value(), self.t_nrank.value()])]
        return [], []

    def draw(self, frame):
        col = ERANK_FORMS[self.form][0]
        y = frame.col(col)
        if y is None:
            return []
        x = frame.x
        self.erank.setData(x, y)
        nr = frame.col("numerical_rank")
        self.nrank.setData(x, nr)
        out = [y, nr]
        if self.t_erank.isVisible():
            out.append(np.array([self.t_erank.value(), self.t_nrank.value()]))
        return out
