"""Panels of a vector model (a diagonal linear network): every coordinate over time, and the current x as
stems beside the ground truth and the reference solutions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ibviewer.gui.panels.base import PlotPanel, TimePanel
from ibviewer.gui.panels.saddle_overlay import SaddleOverlay, lines_for
from ibviewer.gui.panels.style import BLACK, GREY, colour, dashed, marks
from ibviewer.live.draw import DrawContext
from ibviewer.live.series import RangeKeeper, finite_bounds, nan_joined

#: the reference solutions a diagonal network is compared with: (refs key, symbol, legend text)
VECTOR_REFS = (("q_alpha", "t", "Q_α minimiser"), ("min_l1", "x", "x_ℓ1"), ("min_l2", "s", "x_ℓ2"))


def last_finite_x(x: np.ndarray) -> float | None:
    """The largest finite x of a frame (where the reference marks stand), or None when it has none: the first
    row at step 0 is NaN on a log axis, and nanmax of it warned."""
    bounds = finite_bounds(np.asarray(x, float))
    return None if bounds is None else bounds[1]


class CoordinatesPanel(TimePanel):
    name = "coordinates"
    title = "Coordinates x_i(t)"
    tooltip = ("Every coordinate of x over time: the true support coloured (dashed: the true values x*_i),\n"
               "the other coordinates grey.  Small α: coordinates activate one after another.")
    y_label = "x_i"
    #: support coordinates drawn per run when runs are compared
    COMPARE_COORDS = 5

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.rest = self.add_curve(GREY, "off support", width=1, z=1)
        self._keep.add(id(self.rest))  # comparing: the selected run's other coordinates stay, grey
        self.lead: list[pg.PlotCurveItem] = []
        self.lines: list[pg.InfiniteLine] = []
        self.support = np.zeros(0, dtype=int)
        self.add_theory_toggle("references", "Where the shown coordinates of the reference solutions lie, at the\n"
                                             "right end: ▲ the Q_α minimiser (Woodworth et al. 2020: the limit of\n"
                                             "gradient flow from scale α), ✕ x_ℓ1 (basis pursuit), ■ x_ℓ2 (least norm);\n"
                                             "from a small α (x = u² − v² or w ⊙ w, depth 2): dashed, the α → 0 limit\n"
                                             "(Pesme & Flammarion 2023), dotted, the lasso path at λ = 1/(cτ)\n"
                                             "(Berthier 2025), τ the rescaled time (best on the rescaled axis)")
        self.saddle = SaddleOverlay(self.plot)
        self.saddle_keys: list = []  # the overlay's legend entries while shown
        self.ref_marks = {key: marks(sym, BLACK, filled=sym != "x") for key, sym, _ in VECTOR_REFS}
        for m in self.ref_marks.values():
            self.plot.addItem(m)
            m.hide()

    def set_info(self, info):
        super().set_info(info)
        for c in self.lead:
            self.plot.removeItem(c)
            if self.legend_item is not None:
                self.legend_item.removeItem(c)
        for line in self.lines:
            self.plot.removeItem(line)
        self.lead, self.lines = [], []
        self.saddle_keys: list = []
        sup = info.get("support")
        self.support = np.zeros(0, dtype=int) if sup is None else np.asarray(sup, dtype=int)
        self.saddle.clear()
        target = info.get("target")
        for k, i in enumerate(self.support[:10]):
            self.lead.append(self.add_curve(colour(k), f"x_{i}", z=2))
            if target is not None:
                c = BLACK if self.comparing else colour(k)
                line = pg.InfiniteLine(pos=float(target[i]), angle=0, movable=False, pen=dashed(c, 1))
                self.plot.addItem(line, ignoreBounds=True)
                self.lines.append(line)
        self._ref_legend()

    def _ref_legend(self) -> None:
        if self.legend_item is None:
            return
        old = [(m, "") for m in self.ref_marks.values()] + self.saddle_keys
        new, self.saddle_keys = [], []
        if self.theory:
            refs = self.info.get("refs", {})
            new = [(self.ref_marks[k], text) for k, _, text in VECTOR_REFS if k in refs]
            theory = self.info.get("sparse_theory")
            if theory:
                self.saddle_keys = SaddleOverlay.legend_keys(theory)
        self.legend_item.swap(old, new + self.saddle_keys, render=not self.comparing)

    def on_comparing(self, on):
        for k, line in enumerate(self.lines):
            line.setPen(dashed(BLACK if on else colour(k), 1))
        self.on_theory(self.theory)

    def on_theory(self, on):
        for m in self.ref_marks.values():
            m.setVisible(on)
            if not on:
                m.setData([], [])
        if not on:
            self.saddle.clear()
        self._cmp_legend = None
        self._ref_legend()

    def draw(self, frame):
        y = frame.col("state")
        if y is None or y.ndim != 2:
            return []
        x = frame.x
        mask = np.ones(y.shape[1], bool)
        shown = self.support[: len(self.lead)]
        mask[shown[shown < y.shape[1]]] = False
        mask[self.support[self.support < y.shape[1]]] = False
        for c, i in zip(self.lead, shown):
            c.setData(x, y[:, i])
        self.rest.setData(*nan_joined(x, y[:, mask]))
        lines = np.array([line.value() for line in self.lines])
        return [y, lines]

    def _refs_at(self, refs: dict[str, Any], shown: np.ndarray, x_end: float, keys=None) -> list[np.ndarray]:
        out = []
        for key, _sym, _text in VECTOR_REFS:
            m = self.ref_marks[key]
            r = refs.get(key)
            if r is None or (keys is not None and key not in keys):
                m.setData([], [])
                continue
            v = np.asarray(r, float).ravel()[shown[shown < np.size(r)]]
            m.setData(np.full(len(v), x_end), v, brush=None if key == "min_l1" else [pg.mkBrush(
                BLACK if self.comparing else colour(k)) for k in range(len(v))])
            out.append(v)
        return out

    def draw_theory(self, frame):
        shown = self.support[: len(self.lead)]
        x_end = last_finite_x(frame.x) if frame.n else None
        if not len(shown) or x_end is None:  # nothing drawn yet (step 0 has no place on a log axis)
            return []
        ys = self._refs_at(self.info.get("refs", {}), shown, x_end)
        return ys + self.saddle.draw_coordinates(lines_for(self, frame, shown), [colour(k) for k in range(len(shown))])

    def compare_series(self, nruns):
        k = self.COMPARE_COORDS if nruns <= 3 else 3
        return [("state", self.support[:k], Qt.PenStyle.SolidLine, "", 2)]

    def draw_compare_extra(self, runs, ctx: DrawContext):
        ys = [np.array([line.value() for line in self.lines])] if self.lines else []
        # the selected run's other coordinates, grey (a hidden selected run: none)
        frame = next((f for r, f in runs if r.id == ctx.selected_id), None)
        y = None if frame is None else frame.col("state")
        if y is not None and y.ndim == 2:
            mask = np.ones(y.shape[1], bool)
            mask[self.support[self.support < y.shape[1]]] = False
            self.rest.setData(*nan_joined(frame.x, y[:, mask]))
        else:
            self.rest.setData([], [])
        for key in [k for k in self.run_items if k[1] == "q_alpha"]:
            if not self.theory:
                self.plot.removeItem(self.run_items.pop(key))
        if self.theory:
            shown = self.support[: self.COMPARE_COORDS if len(runs) <= 3 else 3]
            x_end = max((x for _, f in runs if f.n and (x := last_finite_x(f.x)) is not None), default=0.0)
            # x_l1 and x_l2 do not depend on the run; Q_alpha does (alpha): one set of triangles per run
            ys += self._refs_at(self.info.get("refs", {}), shown, x_end, keys=("min_l1", "min_l2"))
            for run, _f in runs:
                r = run.refs.get("q_alpha")
                m = self.run_items.get((run.id, "q_alpha"))
                if m is None:
                    m = self.run_items[(run.id, "q_alpha")] = marks("t", run.colour, filled=True)
                    self.plot.addItem(m)
                if r is None:
                    m.setData([], [])
                    continue
                v = np.asarray(r, float).ravel()[shown[shown < np.size(r)]]
                m.setData(np.full(len(v), x_end), v)
                ys.append(v)
        # the limit and the lasso path are the same for every run on the rescaled axis (and only there)
        sel = next((f for r, f in runs if r.id == ctx.selected_id), runs[0][1] if runs else None)
        if self.theory and ctx.x_mode == "rescaled" and sel is not None:
            shown = self.support[: self.COMPARE_COORDS if len(runs) <= 3 else 3]
            ys += self.saddle.draw_coordinates(lines_for(self, sel, shown), [BLACK] * len(shown))
        else:
            self.saddle.clear()
        return [], ys

    def extra_legend_keys(self):
        keys = [(Qt.PenStyle.SolidLine, "support coordinates")]
        if self.lines:
            keys.append((Qt.PenStyle.DashLine, "x*"))
        if self.theory:
            keys += [(self.ref_marks["q_alpha"], "Q_α minimiser (run colour)"), (self.ref_marks["min_l1"], "x_ℓ1"),
                     (self.ref_marks["min_l2"], "x_ℓ2")]
            theory = self.info.get("sparse_theory")
            if theory and self.x_mode == "rescaled":
                keys += SaddleOverlay.legend_keys(theory)
        return keys


class StemsPanel(PlotPanel):
    name = "stems"
    title = "x now vs x* and x_ℓ1"
    tooltip = "Stems: the current x_i; circles: the ground truth x*; crosses: the min-ℓ1 (basis pursuit) solution"
    y_label = "value"
    x_label = "coordinate i"

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.stems = self.add_curve(colour(0), None, width=2)
        self.stems.setData(connect="pairs")
        self.heads = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(colour(0)))
        self.truth = pg.ScatterPlotItem(size=11, pen=pg.mkPen(colour(1), width=2), brush=None, symbol="o")
        self.l1 = pg.ScatterPlotItem(size=10, pen=pg.mkPen(colour(2), width=2), brush=None, symbol="x")
        self.l2 = marks("s", colour(4), size=8)
        self.q = marks("t", colour(3), size=9)
        for item in (self.heads, self.truth, self.l1, self.l2, self.q):
            self.plot.addItem(item)
        self.l2.hide()
        self.q.hide()
        if self.legend_item is not None:
            self.legend_item.addItem(self.heads, "current x")
            self.legend_item.addItem(self.truth, "x*")
            self.legend_item.addItem(self.l1, "x_ℓ1")
        self.add_theory_toggle("Q_α, x_ℓ2", "Also the Q_α minimiser ▲ (Woodworth et al. 2020: where gradient flow\n"
                                            "from scale α ends) and the least-norm solution x_ℓ2 □")
        self.xkeep = RangeKeeper(log=False)
        self.ykeep = RangeKeeper(log=False, include_zero=True)
        self.last = None
        self._xn = None

    def _x_range(self, n: int) -> None:
        """Coordinates 0..n-1 edge to edge (a 1-2-5 range would leave a third of the plot empty)."""
        if n != self._xn and not self.manual:
            self._xn = n
            self.vb.setXRange(-1.0, float(n), padding=0.01)

    def fit_view(self) -> None:
        super().fit_view()
        self._xn = None

    def set_info(self, info):
        super().set_info(info)
        self.xkeep.reset()
        self.ykeep.reset()
        self._xn = None
        t = info.get("target")
        n = int(info.get("shape", (0,))[0])
        idx = np.arange(n, dtype=float)
        self.idx = idx
        self.truth.setData(idx, t) if t is not None else self.truth.setData([], [])
        refs = info.get("refs", {})
        for item, key in ((self.l1, "min_l1"), (self.l2, "min_l2"), (self.q, "q_alpha")):
            r = refs.get(key)
            item.setData(idx, r) if r is not None else item.setData([], [])
        self.last = None
        self.on_theory(self.theory)

    def on_theory(self, on):
        self.l2.setVisible(on)
        self.q.setVisible(on and not self.comparing)
        if self.legend_item is not None:
            self.legend_item.entries = [e for e in self.legend_item.entries if e[0] not in (self.l2, self.q)]
            if on:
                self.legend_item.entries += [(self.q, "Q_α minimiser"), (self.l2, "x_ℓ2")]
            if not self.comparing:
                self.legend_item._render()
        self._cmp_legend = None

    def on_comparing(self, on):
        self.heads.setVisible(not on)
        self.truth.setPen(pg.mkPen(BLACK if on else colour(1), width=2))
        self.l1.setPen(pg.mkPen(GREY if on else colour(2), width=2))
        self.on_theory(self.theory)

    def reset(self):
        self.ykeep.reset()

    def update(self, ctx: DrawContext) -> None:
        runs = ctx.compared()
        self.set_comparing(runs is not None)
        t = self.info.get("target")
        refs = self.info.get("refs", {})
        r = refs.get("min_l1")
        extra = [refs.get("min_l2"), refs.get("q_alpha")] if self.theory else []
        if runs is not None:
            self._update_compare(runs, t, [r] + extra)
            return
        x = ctx.product
        if x is not None and np.ndim(x) == 1:
            self.last = np.asarray(x, float)
        if self.last is None:
            return
        idx = np.arange(len(self.last), dtype=float)
        sx = np.repeat(idx, 2)
        sy = np.zeros(2 * len(idx))
        sy[1::2] = self.last
        self.stems.setData(sx, sy, connect="pairs")
        self.heads.setData(idx, self.last)
        self._x_range(len(idx))
        self.apply_ranges(None, finite_bounds(self.last, t, r, *extra))

    def _update_compare(self, runs, t, refs) -> None:
        """Each run's current x as stems in its colour, side by side around every coordinate."""
        ys = []
        n = 0
        width = 0.7 / max(len(runs), 1)
        for j, (run, _f) in enumerate(runs):
            x = run.product
            stems = self.run_curve(run, "stems", Qt.PenStyle.SolidLine, 2)
            q = self.run_items.get((run.id, "q_alpha"))
            if q is None:
                q = self.run_items[(run.id, "q_alpha")] = marks("t", run.colour, size=8, filled=True)
                self.plot.addItem(q)
            if x is None or np.ndim(x) != 1:
                stems.setData([], [])
                q.setData([], [])
                continue
            x = np.asarray(x, float)
            n = max(n, len(x))
            idx = np.arange(len(x), dtype=float) + (j - (len(runs) - 1) / 2) * width
            sy = np.zeros(2 * len(idx))
            sy[1::2] = x
            stems.setData(np.repeat(idx, 2), sy, connect="pairs")
            ys.append(x)
            ra = run.refs.get("q_alpha")
            if self.theory and ra is not None:
                q.setData(idx, np.asarray(ra, float).ravel())
                ys.append(np.asarray(ra, float).ravel())
            else:
                q.setData([], [])
        self.drop_run_curves({r.id for r, _ in runs})
        keys = [(self.truth, "x*"), (self.l1, "x_ℓ1")]
        if self.theory:
            keys += [(self.q, "Q_α minimiser (run colour)"), (self.l2, "x_ℓ2")]
        self.compare_legend(runs, keys)
        if n:
            self._x_range(n)
            self.apply_ranges(None, finite_bounds(*ys, t, *refs))
