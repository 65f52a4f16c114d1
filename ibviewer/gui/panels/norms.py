"""Norm panels: norms of the product and of every layer, balancedness of the factors, and the distances to the
ground truth and to the reference solutions."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ibviewer.core.mirror import records_bregman, records_bregman_l1
from ibviewer.gui.panels.base import TimePanel
from ibviewer.gui.panels.style import BLACK, STYLES, colour, pen
from ibviewer.gui.panels.window_band import BAND_TIP, ShowsRankWindow, WindowBand

class NormsPanel(TimePanel):
    name = "norms"
    title = "Norms"
    tooltip = ("Norms of the end-to-end product (‖·‖_F = √Σσ², ‖·‖_* = Σσ, ‖·‖_op = σ_1; vectors: ‖x‖₁, ‖x‖₂)\n"
               "and the Frobenius norm of every layer/factor ‖W_j‖_F (thin lines), log scale")
    y_log = True
    y_label = "norm"
    MATRIX = (("norm_fro", "‖W‖_F"), ("norm_nuclear", "‖W‖_*"), ("norm_op", "‖W‖_op"), ("abs_w00", "|W₀₀|"))
    VECTOR = (("l1", "‖x‖₁"), ("l2", "‖x‖₂"))

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.curves: dict[str, pg.PlotCurveItem] = {}
        self.layers: list[pg.PlotCurveItem] = []
        self.add_theory_toggle("Σσ^(2/N)", "Σ_i σ_i^{2/N} of the product over time (dotted): the Schatten-2/N\n"
                                             "quasi-norm that deep factorizations implicitly keep small\n"
                                             "(Arora, Cohen, Hu, Luo 2019); N = the run's depth")
        self.sum_curve = pg.PlotCurveItem(pen=pen(BLACK, 1, Qt.PenStyle.DotLine), connect="finite",
                                          skipFiniteCheck=True, antialias=False)
        self.sum_curve.setZValue(3)
        self.sum_curve.hide()
        self.plot.addItem(self.sum_curve)

    def set_info(self, info):
        super().set_info(info)
        for c in list(self.curves.values()) + self.layers:
            self.plot.removeItem(c)
            if self.legend_item is not None:
                self.legend_item.removeItem(c)
        self.curves = {}
        self.layers = []
        matrix = len(info.get("shape", ())) == 2
        names = self.MATRIX if matrix else self.VECTOR
        for i, (col, label) in enumerate(names):
            if col == "abs_w00" and info.get("kind") != "razin_cohen":
                continue
            self.curves[col] = self.add_curve(colour(i), label, z=2)
        depth = int(self.setting("model.depth", 1))
        for j in range(depth):
            self.layers.append(self.add_curve(colour(4 + j), f"‖W_{j + 1}‖_F" if matrix else f"‖w_{j + 1}‖",
                                              width=1, z=1))
        self.matrix = matrix
        if self.theory_box is not None:
            self.theory_box.setVisible(matrix)
        self._theory_entry()

    def _theory_entry(self) -> None:
        if self.legend_item is None:
            return
        self.legend_item.entries = [e for e in self.legend_item.entries if e[0] is not self.sum_curve]
        if self.theory and getattr(self, "matrix", False):
            self.legend_item.entries.append((self.sum_curve, "Σσ^(2/N)"))
        if not self.comparing:
            self.legend_item._render()

    def on_comparing(self, on):
        self.sum_curve.setVisible(self.theory and not on)
        self._theory_entry()

    def on_theory(self, on):
        self.sum_curve.setVisible(on and not self.comparing)
        self._cmp_legend = None
        self._theory_entry()

    def compare_series(self, nruns):
        if getattr(self, "matrix", True):
            out = [("norm_nuclear", None, Qt.PenStyle.SolidLine, "‖W‖_*", 2),
                   ("norm_fro", None, Qt.PenStyle.DashLine, "‖W‖_F", 1)]
            if self.info.get("kind") == "razin_cohen":
                out.append(("abs_w00", None, Qt.PenStyle.DashDotLine, "|W₀₀|", 1))
            if self.theory:
                out.append(("sum_sigma_2_over_n", None, Qt.PenStyle.DotLine, "Σσ^(2/N)", 1))
            return out
        return [("l1", None, Qt.PenStyle.SolidLine, "‖x‖₁", 2), ("l2", None, Qt.PenStyle.DashLine, "‖x‖₂", 1)]

    def draw_theory(self, frame):
        y = frame.col("sum_sigma_2_over_n", log=True)
        if y is None:
            return []
        self.sum_curve.setVisible(True)
        self.sum_curve.setData(frame.x, y)
        return [y]

    def draw(self, frame):
        x = frame.x
        out = []
        for col, curve in self.curves.items():
            y = frame.col(col, log=True)
            if y is not None:
                curve.setData(x, y)
                out.append(y)
        ln = frame.col("layer_norms", log=True)
        if ln is not None:
            for j, curve in enumerate(self.layers):
                if j < ln.shape[1]:
                    curve.setData(x, ln[:, j])
            out.append(ln)
        return out


class BalancednessPanel(TimePanel):
    name = "balancedness"
    title = "Balancedness"
    tooltip = ("‖D_j‖_F with D_j = W_{j+1}ᵀW_{j+1} − W_j W_jᵀ (solid), conserved by gradient flow, and its drift\n"
               "‖D_j(t) − D_j(0)‖_F (dashed), which grows in proportion to the step size η under GD; log scale")
    y_log = True
    y_label = "‖D_j‖_F"

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.bal: list[pg.PlotCurveItem] = []
        self.drift: list[pg.PlotCurveItem] = []

    def set_info(self, info):
        super().set_info(info)
        for c in self.bal + self.drift:
            self.plot.removeItem(c)
            if self.legend_item is not None:
                self.legend_item.removeItem(c)
        depth = int(self.setting("model.depth", 1))
        self.bal = [self.add_curve(colour(j), f"‖D_{j + 1}‖") for j in range(depth - 1)]
        self.drift = [self.add_curve(colour(j), f"drift D_{j + 1}", style=Qt.PenStyle.DashLine)
                      for j in range(depth - 1)]

    def unavailable_text(self):
        return "balancedness needs depth ≥ 2"

    def compare_series(self, nruns):
        return [("balancedness", None, Qt.PenStyle.SolidLine, "‖D_j‖", 2),
                ("balance_drift", None, Qt.PenStyle.DashLine, "drift ‖D_j(t) − D_j(0)‖", 1)]

    def draw(self, frame):
        x = frame.x
        out = []
        for col, curves in (("balancedness", self.bal), ("balance_drift", self.drift)):
            y = frame.col(col, log=True)
            if y is None:
                continue
            for j, c in enumerate(curves):
                if j < y.shape[1]:
                    c.setData(x, y[:, j])
            out.append(y)
        return out


ERRORS = (
    ("rel_error", "to ground truth W*"),
    ("dist_min_l2", "to min-ℓ2"),
    ("dist_min_l1", "to min-ℓ1"),
    ("dist_q_alpha", "to Q_α minimiser"),
    ("dist_min_nuclear", "to min nuclear norm"),
    ("dist_min_trace_psd", "to min trace (PSD)"),
    ("dist_max_margin", "to max-margin direction"),
    ("dist_best_rank_r", "to best rank-r approximation W_r"),
)


#: the Bregman divergence of Q_α from its minimiser to the iterate (absolute, not relative)
BREGMAN_LABEL = "Bregman D_Qα(x_Qα, x) (absolute)"
#: ... and of the potential of the run's depth from basis pursuit's solution
BREGMAN_L1_LABEL = "Bregman D_Q(x_ℓ1, x) (absolute)"


class ErrorsPanel(ShowsRankWindow, TimePanel):
    name = "errors"
    title = "Errors and distances"
    tooltip = ("Relative error ‖W − W*‖_F/‖W*‖_F to the ground truth and relative distance ‖W − W_ref‖/‖W_ref‖\n"
               "to each reference solution: min-ℓ2 (least norm), min-ℓ1 (basis pursuit), Q_α (Woodworth et al.),\n"
               "min nuclear norm, min trace over the PSD matrices (W = U Uᵀ), max-margin direction; for\n"
               "x = u^N − v^N from u = v = α also the Bregman divergences of the mirror potential from Q_α's\n"
               "minimiser (N = 2; falls to 0) and from x_ℓ1; log scale")
    y_log = True
    y_label = "relative distance"

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.curves: dict[str, pg.PlotCurveItem] = {}
        self.add_theory_toggle("window", BAND_TIP)
        self.band = WindowBand(self.plot)

    def set_info(self, info):
        super().set_info(info)
        if self.theory_box is not None:
            self.theory_box.setVisible("best_rank_r" in info.get("refs", {}))
        for c in self.curves.values():
            self.plot.removeItem(c)
            if self.legend_item is not None:
                self.legend_item.removeItem(c)
        self.curves = {}
        vector = len(info.get("shape", ())) == 1
        refs = info.get("refs", {})
        for i, (col, label) in enumerate(ERRORS):
            present = (col == "rel_error" and info.get("target") is not None) or (
                col.startswith("dist_") and col[5:] in refs)
            if present:
                if vector:
                    label = label.replace("W*", "x*")
                elif len(info.get("shape", ())) == 3:  # tensor completion's T*
                    label = label.replace("W*", "T*")
                # the ground truth's curve wide and underneath: a reference that equals it stays visible
                wide = col == "rel_error"
                self.curves[col] = self.add_curve(colour(i), label, width=3 if wide else 2, z=0 if wide else 1)
        if "q_alpha" in refs and records_bregman(info.get("cfg") or {}):
            # the mirror flow's Lyapunov function (docs/science.md, "Mirror geometry"): falls to 0 at the limit
            self.curves["bregman_q_alpha"] = self.add_curve(colour(len(ERRORS)), BREGMAN_LABEL, width=2, z=1)
        if "min_l1" in refs and records_bregman_l1(info.get("cfg") or {}):
            self.curves["bregman_l1"] = self.add_curve(colour(len(ERRORS) + 1), BREGMAN_L1_LABEL, width=2, z=1)

    def unavailable_text(self):
        return "no ground truth or reference solution for this problem"

    def compare_series(self, nruns):
        vector = len(self.info.get("shape", ())) == 1
        refs = self.info.get("refs", {})
        out = []
        # a reference that is the ground truth (basis pursuit recovers a sparse x* exactly) is the same curve:
        # it is named in the ground truth's label and leaves its place to one that tells the runs apart (the
        # move from min-ℓ2 to min-ℓ1 needs both drawn)
        same = self.references_equal_to_truth()
        labels = dict(ERRORS)
        if self.info.get("target") is not None:
            also = "".join(f" = {labels['dist_' + r][3:]}" for r in same)
            truth = "x*" if vector else "T*" if len(self.info.get("shape", ())) == 3 else "W*"
            out.append(("rel_error", "to ground truth " + truth + also))
        # the references that tell the runs apart: sparse (ℓ1, Q_α) for vectors, low rank for matrices
        order = ("dist_min_l1", "dist_q_alpha", "dist_min_l2") if vector else (
            "dist_min_trace_psd", "dist_min_nuclear", "dist_min_l2")
        out += [(c, labels[c]) for c in order if c[5:] in refs and c[5:] not in same]
        out += [(c, lab) for c, lab in ERRORS if c.startswith("dist_") and c[5:] in refs and c not in order]
        # three series a run at most: with several runs, more is clutter
        return [(c, None, STYLES[i], lab, 2 if i == 0 else 1) for i, (c, lab) in enumerate(out[:3])]

    def references_equal_to_truth(self, rtol: float = 1e-6) -> list[str]:
        """The reference solutions (names as in ``info["refs"]``) equal to the ground truth within ``rtol``."""
        target = self.info.get("target")
        if target is None:
            return []
        target = np.asarray(target, float)
        scale = max(float(np.linalg.norm(target)), 1e-300)
        out = []
        for name, ref in self.info.get("refs", {}).items():
            ref = np.asarray(ref, float)
            if name != "max_margin" and ref.shape == target.shape and np.linalg.norm(ref - target) <= rtol * scale:
                out.append(name)
        return out

    def draw(self, frame):
        x = frame.x
        out = []
        for col, c in self.curves.items():
            y = frame.col(col, log=True)
            if y is not None:
                c.setData(x, y)
                out.append(y)
        return out
