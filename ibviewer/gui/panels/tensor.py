"""Tensor panels: the norms of a CP factorization's components over time and its effective tensor rank
(Razin, Maman & Cohen 2021; the quantities are those of :mod:`ibviewer.core.tensor`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt

from ibviewer.core.config import ProblemConfig
from ibviewer.core.tensor import RANK_FRACTION, target_weights, tensor_ranks
from ibviewer.gui.panels.base import TimePanel
from ibviewer.gui.panels.style import BLACK, COLOURED_SV, GREY, colour, dashed
from ibviewer.live.draw import DrawContext
from ibviewer.live.series import nan_joined


def _truth_weights(info: dict[str, Any]) -> np.ndarray | None:
    """The ground truth's component norms, from the shown run's problem settings (None without them)."""
    cfg = info.get("cfg") or {}
    problem = cfg.get("problem") if isinstance(cfg, dict) else None
    if not isinstance(problem, dict) or problem.get("kind") != "tensor_completion":
        return None
    try:
        return target_weights(ProblemConfig(**problem))
    except (ValueError, TypeError):  # a problem table this version cannot read: no targets drawn
        return None


class ComponentNormsPanel(TimePanel):
    name = "component_norms"
    title = "Component norms ‖a_r‖‖b_r‖‖c_r‖"
    tooltip = ("The norm of every component of the CP factorization T = Σ_r a_r ⊗ b_r ⊗ c_r over time: the\n"
               "product of its three factor norms (Razin, Maman & Cohen 2021), log scale.  From a small\n"
               "initialization the norms stay near α and then rise one at a time (a greedy walk through\n"
               "tensor ranks); from a large one many move at once.  Dashed: the ground truth's component\n"
               "norms.  The largest six are coloured (ranked at the end of the run), the rest grey.")
    y_log = True
    y_label = "component norm"
    #: components drawn per run when several runs are compared (the largest at each row)
    COMPARE_COMPONENTS = 3

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.lead = [self.add_curve(colour(i), None, width=2, z=2) for i in range(COLOURED_SV)]
        self.rest = self.add_curve(GREY, None, width=1, z=1)
        self.targets: list = []

    def set_info(self, info):
        super().set_info(info)
        for line in self.targets:
            self.plot.removeItem(line)
        self.targets = []
        w = _truth_weights(info)
        if w is None:
            return
        for v in np.sort(w)[::-1]:
            if v > 0:
                self.targets.append(self.add_hline(math.log10(v), BLACK))
        if self.legend_item is not None:
            self.legend_item.entries = []
            for i in range(min(COLOURED_SV, self.setting("model.components", COLOURED_SV))):
                self.legend_item.entries.append((self.lead[i], f"#{i + 1}"))
            if self.targets:
                self.legend_item.entries.append((self.targets[0], "ground truth"))
            if not self.comparing:
                self.legend_item._render()

    def on_comparing(self, on):
        for line in self.targets:
            line.setPen(dashed(BLACK))

    def draw(self, frame):
        y = frame.col("component_norms", log=True)
        if y is None or y.ndim != 2:
            return []
        x = frame.x
        # colours go to the components that end largest: the ones that were learned
        last = np.nan_to_num(y[-1], nan=-np.inf)
        order = np.argsort(-last, kind="stable")
        n = min(COLOURED_SV, y.shape[1])
        for i, c in enumerate(self.lead):
            c.setData(x, y[:, order[i]]) if i < n else c.setData([], [])
        if y.shape[1] > n:
            self.rest.setData(*nan_joined(x, y[:, order[n:]]))
        else:
            self.rest.setData([], [])
        return [y] + self._target_ys()

    def _target_ys(self) -> list[np.ndarray]:
        return [np.array([line.value() for line in self.targets])] if self.targets else []

    def compare_series(self, nruns):
        return [("component_norms", None, Qt.PenStyle.SolidLine, "component norms", 1)]

    def draw_compare_extra(self, runs, ctx: DrawContext):
        return [], self._target_ys()

    def extra_legend_keys(self):
        return [(Qt.PenStyle.DashLine, "ground truth")] if self.targets else []


class TensorRankPanel(TimePanel):
    name = "tensor_rank"
    title = "Effective tensor rank"
    tooltip = ("Two effective ranks of the CP factorization, from its component norms n_r = ‖a_r‖‖b_r‖‖c_r‖:\n"
               "the entropy effective rank exp(H(n/‖n‖₁)) (Roy & Vetterli, applied to the component norms),\n"
               f"and the count #{{r : n_r ≥ {RANK_FRACTION:g}·max n}}.  Both start near R (the components are\n"
               "alike at initialization); from a small initialization they fall to 1 and then rise one\n"
               "component at a time to the ground truth's values (dashed).")
    y_zero = True
    y_label = "rank"

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.erank = self.add_curve(colour(0), "entropy effective rank")
        self.count = self.add_curve(colour(1), f"components ≥ {RANK_FRACTION:g}·largest")
        self.t_erank = self.add_hline(-1.0, colour(0))
        self.t_count = self.add_hline(-1.0, colour(1))
        self.t_erank.hide()
        self.t_count.hide()

    def set_info(self, info):
        super().set_info(info)
        w = _truth_weights(info)
        if w is None:
            self.t_erank.hide()
            self.t_count.hide()
            return
        ranks = tensor_ranks(w)
        self.t_erank.setPos(ranks["entropy"])
        self.t_count.setPos(ranks["count"])
        self.t_erank.show()
        self.t_count.show()

    def _target_ys(self) -> list[np.ndarray]:
        if self.t_erank.isVisible():
            return [np.array([self.t_erank.value(), self.t_count.value()])]
        return []

    def on_comparing(self, on):
        self.t_erank.setPen(dashed(BLACK if on else colour(0)))
        self.t_count.setPen(dashed(GREY if on else colour(1)))

    def compare_series(self, nruns):
        return [("tensor_erank", None, Qt.PenStyle.SolidLine, "entropy effective rank", 2),
                ("tensor_rank", None, Qt.PenStyle.DashLine, f"components ≥ {RANK_FRACTION:g}·largest", 1)]

    def draw_compare_extra(self, runs, ctx: DrawContext):
        return [], self._target_ys()

    def draw(self, frame):
        y = frame.col("tensor_erank")
        if y is None:
            return []
        x = frame.x
        self.erank.setData(x, y)
        n = frame.col("tensor_rank")
        self.count.setData(x, n)
        return [y, n] + self._target_ys()
