"""Panels of a linear classifier on separable data: the data with the current and max-margin separators,
‖w‖ against ln t, the angle to the max-margin direction, the normalized margin and t·L."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ibviewer.gui.panels.base import PlotPanel, SimpleTimePanel
from ibviewer.gui.panels.style import BLACK, colour
from ibviewer.live.draw import DrawContext
from ibviewer.live.series import RangeKeeper, finite_bounds

class ClassifierDataPanel(PlotPanel):
    name = "data"
    title = "Data and separators"
    tooltip = ("The training points (colour = label), the current separator wᵀx = 0 (solid) and the\n"
               "hard-margin SVM separator ŵᵀx = 0 (dashed) that GD approaches in direction")
    y_label = "x₂"
    x_label = "x₁"

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.pos = pg.ScatterPlotItem(size=10, pen=pg.mkPen(BLACK), brush=pg.mkBrush(colour(0)), symbol="o")
        self.neg = pg.ScatterPlotItem(size=10, pen=pg.mkPen(BLACK), brush=pg.mkBrush(colour(1)), symbol="s")
        self.plot.addItem(self.pos)
        self.plot.addItem(self.neg)
        self.current = self.add_curve(colour(2), "current wᵀx = 0", width=3)
        self.mm = self.add_curve(BLACK, "max margin ŵᵀx = 0", style=Qt.PenStyle.DashLine)
        self._keep.add(id(self.mm))
        self.vb.setAspectLocked(True)
        self.radius = 5.0
        self.last = None
        self.ok = False

    def set_info(self, info):
        super().set_info(info)
        X, y = info.get("X"), info.get("labels")
        self.last = None
        if X is None or X.shape[1] != 2:
            self.pos.setData([], [])
            self.neg.setData([], [])
            self.mm.setData([], [])
            self.current.setData([], [])
            self.show_empty("the data plot needs problem.d = 2")
            self.ok = False
            return
        self.ok = True
        self.show_empty("")
        self.pos.setData(X[y > 0, 0], X[y > 0, 1])
        self.neg.setData(X[y < 0, 0], X[y < 0, 1])
        self.radius = float(np.abs(X).max()) * 1.15
        r = self.radius
        self.vb.setRange(xRange=(-r, r), yRange=(-r, r), padding=0)
        mm = info.get("refs", {}).get("max_margin")
        if mm is not None:
            self.mm.setData(*self._line(np.asarray(mm, float).ravel()))

    def _line(self, w):
        nw = np.linalg.norm(w)
        if not nw > 0 or not np.all(np.isfinite(w)):
            return np.zeros(0), np.zeros(0)
        u = np.array([-w[1], w[0]]) / nw * self.radius * 1.5
        return np.array([-u[0], u[0]]), np.array([-u[1], u[1]])

    def update(self, ctx: DrawContext) -> None:
        if not self.ok:
            return
        runs = ctx.compared()
        self.set_comparing(runs is not None)
        if runs is not None:
            for run, _f in runs:
                c = self.run_curve(run, "separator", Qt.PenStyle.SolidLine, 3)
                p = run.product
                c.setData(*self._line(np.asarray(p, float).ravel())) if p is not None else c.setData([], [])
            self.drop_run_curves({r.id for r, _ in runs})
            self.compare_legend(runs, [(Qt.PenStyle.DashLine, "max margin ŵᵀx = 0")])
            return
        p = ctx.product
        if p is not None:
            self.current.setData(*self._line(np.asarray(p, float).ravel()))


class WNormPanel(PlotPanel):
    name = "w_norm"
    title = "‖w‖ against ln t"
    tooltip = ("‖w(t)‖ against ln t: on separable data it grows like ‖ŵ‖·ln t (Soudry et al. 2018);\n"
               "dashed: a line of slope ‖ŵ‖ (the max-margin solution's norm) through the latest point")
    y_label = "‖w‖"
    x_label = "ln t"

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.curve = self.add_curve(colour(0), "‖w(t)‖")
        self.ref = self.add_curve(BLACK, "slope ‖ŵ‖", width=1.5, style=Qt.PenStyle.DashLine)
        self.xkeep = RangeKeeper(log=False, include_zero=True)
        self.ykeep = RangeKeeper(log=False, include_zero=True)
        self.slope = None

    def set_info(self, info):
        super().set_info(info)
        mm = info.get("refs", {}).get("max_margin")
        self.slope = None if mm is None else float(np.linalg.norm(mm))
        if self.legend_item is not None and self.slope is not None:
            self.legend_item.removeItem(self.ref)
            self.legend_item.addItem(self.ref, f"slope ‖ŵ‖ = {self.slope:.3g}")

    def reset(self):
        self.xkeep.reset()
        self.ykeep.reset()

    @staticmethod
    def _series(mirror):
        if mirror is None or mirror.size == 0 or "w_norm" not in mirror:
            return None
        step = mirror["step"]
        w = mirror["w_norm"]
        ok = step >= 1
        if not ok.any():
            return None
        lt = np.log(step[ok])
        wn = w[ok]
        if len(lt) > 3000:  # thin evenly: the curve is smooth
            sel = np.linspace(0, len(lt) - 1, 2000).astype(int)
            lt, wn = lt[sel], wn[sel]
        return lt, wn

    def update(self, ctx: DrawContext) -> None:
        frame = ctx.frame
        runs = ctx.compared()
        self.set_comparing(runs is not None)
        if runs is not None:
            xs, ys = [], []
            for run, f in runs:
                got = self._series(f.mirror)
                c = self.run_curve(run, "w_norm")
                c.setData(*got) if got is not None else c.setData([], [])
                if got is not None:
                    xs.append(got[0])
                    ys.append(got[1])
            self.drop_run_curves({r.id for r, _ in runs})
            self.compare_legend(runs)
            if xs:
                self.apply_ranges(finite_bounds(*xs), finite_bounds(*ys))
            return
        got = self._series(frame.mirror if frame.n else None)
        if got is None:
            return
        lt, wn = got
        self.curve.setData(lt, wn)
        ys = [wn]
        if self.slope is not None and np.isfinite(wn[-1]):
            x0, x1 = 0.0, float(lt[-1])
            yl = wn[-1] + self.slope * (np.array([x0, x1]) - x1)
            self.ref.setData(np.array([x0, x1]), yl)
            ys.append(yl)
        self.apply_ranges(finite_bounds(lt), finite_bounds(*ys))


class AnglePanel(SimpleTimePanel):
    name = "angle"
    title = "Angle to max margin"
    tooltip = "Angle ∠(w, ŵ) in degrees between the current w and the max-margin direction (log scale)"
    y_log = True
    y_label = "angle (degrees)"
    legend = False
    series = (("angle_deg", "∠(w, ŵ)", 0, Qt.PenStyle.SolidLine),)


class MarginPanel(SimpleTimePanel):
    name = "margin"
    title = "Normalized margin"
    tooltip = "min_i y_i wᵀx_i / ‖w‖: tends to the hard-margin SVM's margin (dashed)"
    y_label = "margin"
    legend = False
    series = (("margin", "margin", 0, Qt.PenStyle.SolidLine),)

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.mm_line = self.add_hline(0.0, BLACK)
        self.mm_line.hide()

    def set_info(self, info):
        super().set_info(info)
        mm, X, y = info.get("refs", {}).get("max_margin"), info.get("X"), info.get("labels")
        if mm is None or X is None:
            self.mm_line.hide()
            return
        w = np.asarray(mm, float).ravel()
        self.mm_line.setPos(float(np.min(y * (X @ w)) / np.linalg.norm(w)))
        self.mm_line.show()

    def draw(self, frame):
        ys = super().draw(frame)
        if ys and self.mm_line.isVisible():
            ys.append(np.array([self.mm_line.value()]))
        return ys


class TLossPanel(SimpleTimePanel):
    name = "t_loss"
    title = "t · loss"
    tooltip = "t·L(w(t)): the loss decays like c/t on separable data, so t·L levels off"
    y_zero = True
    y_label = "t · L"
    legend = False
    series = (("t_loss", "t·L", 0, Qt.PenStyle.SolidLine),)
