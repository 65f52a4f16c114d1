"""The mirror geometry of a diagonal network with 2 or 3 unknowns and one measurement: the iterate's path over
the level sets of the run's mirror potential, the solution set, and x_ℓ1, x_ℓ2 and the potential's minimiser
on the solution set (the implicit-bias prediction), all computed Qt-free in :mod:`ibviewer.core.geometry`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from ibviewer.core.geometry import (
    Potential,
    SolutionView,
    hyperplane_from_min_l2,
    level_lines,
    level_values,
    minimiser_on_hyperplane,
    potential_for,
)
from ibviewer.gui.panels.base import PlotPanel
from ibviewer.gui.panels.ink import LIGHT
from ibviewer.gui.panels.style import BLACK, FONT_PT, GREY, LegendSample, colour, dashed, marks, pen
from ibviewer.live.draw import DrawContext
from ibviewer.live.series import finite_bounds, symbols

#: history rows drawn per path at most (a longer history is thinned evenly, its last row kept)
PATH_POINTS = 4000
#: the level sets' grid is this many times the shown range across (panning or zooming out stays covered)
LEVEL_MARGIN = 0.5
#: lattice points across the level sets' grid (about one per 3 pixels of a full-screen panel)
LEVEL_GRID = 301


def _thin(rows: np.ndarray) -> np.ndarray:
    if len(rows) <= PATH_POINTS:
        return rows
    idx = np.unique(np.append(np.linspace(0, len(rows) - 1, PATH_POINTS).astype(int), len(rows) - 1))
    return rows[idx]


class GeometryPanel(PlotPanel):
    name = "geometry"
    title = "Mirror geometry: path and level sets"
    tooltip = ("Gradient flow on a diagonal network is a mirror flow of a potential φ (Q_α for x = u² − v², Woodworth\n"
               "et al. 2020; the depth-N potential for u^N − v^N; for x = w^N ≥ 0 one whose small-α limit is the\n"
               "non-negative ℓ1 solution): it ends at argmin φ on the solution set.  Shown for\n"
               "2 or 3 unknowns and one measurement: the iterate's path x(t), the level sets of φ (the one through the\n"
               "minimiser dashed: it touches the solution line there), the solution line Ax = y, ✕ x_ℓ1, ■ x_ℓ2 and\n"
               "▼ argmin φ on Ax = y (computed, not trained).  3 unknowns: coordinates in the solution plane (origin\n"
               "x_ℓ2, s along x_ℓ1 − x_ℓ2), φ restricted to it and the path projected onto it (x = 0 projects to x_ℓ2).\n"
               "Comparing runs: one path per run in its colour; the level sets are the selected run's potential.")
    legend = True

    def __init__(self, x_mode: str = "step"):
        super().__init__(x_mode)
        self.vb.setAspectLocked(True)
        self.levels = pg.PlotCurveItem(pen=pen(GREY, 1), connect="finite", skipFiniteCheck=True, antialias=True)
        self.levels.setZValue(0)
        self.key_level = pg.PlotCurveItem(pen=dashed(GREY, 1.5), connect="finite", skipFiniteCheck=True,
                                          antialias=True)
        self.key_level.setZValue(1)
        self.line = pg.PlotCurveItem(pen=pen(BLACK, 2), antialias=True)
        self.line.setZValue(2)
        self.path = self.add_curve(colour(0), None, width=2, z=4)
        self.now = pg.ScatterPlotItem(size=9, pen=None, brush=pg.mkBrush(colour(0)))
        self.now.setZValue(7)
        self.start = marks("o", BLACK, size=7)
        self.l1 = marks("x", BLACK, size=13)
        self.l2 = marks("s", BLACK, size=10)
        self.q = marks("t", colour(3), size=13, filled=True)
        #: the legend's neutral ▼ when comparing (each run's is in its colour); it holds no points
        self.q_key = marks("t", BLACK, size=13, filled=True)
        for item in (self.levels, self.key_level, self.line, self.now, self.start, self.l1, self.l2, self.q,
                     self.q_key):
            self.plot.addItem(item)
        self.texts = {key: pg.TextItem("", anchor=(0, 1)) for key in ("min_l1", "min_l2", "q")}
        for t in self.texts.values():
            t.setZValue(8)
            self.plot.addItem(t, ignoreBounds=True)
        self.add_theory_toggle("level sets", "The level sets of the run's mirror potential φ (the selected run's when\n"
                                             "comparing); off: the path and the points only")
        self.set_theory(True)
        self.view: SolutionView | None = None
        self._minimisers: dict[tuple, np.ndarray | None] = {}
        self._level_key: tuple | None = None
        self._legend_key: tuple | None = None

    # ------------------------------------------------------------------ problem
    def set_info(self, info: dict[str, Any]) -> None:
        super().set_info(info)
        refs = info.get("refs", {})
        self.view, self._minimisers, self._level_key, self._legend_key = None, {}, None, None
        hp = None if refs.get("min_l2") is None else hyperplane_from_min_l2(refs["min_l2"])
        if hp is not None and len(hp[0]) in (2, 3):
            self.view = SolutionView(*hp, towards=refs.get("min_l1"))
            # in the axis's text colour (the dark theme's light ink), which a label set after the theme keeps
            style = dict(self._label_style, color=self.plot.getAxis("left").textPen().color().name())
            for side, text in zip(("bottom", "left"), self.view.axis_labels):
                self.plot.setLabel(side, symbols(text), **style)
        for item in (self.levels, self.key_level, self.line, self.path, self.now, self.start, self.l1, self.l2, self.q):
            item.setData([], [])
        for t in self.texts.values():
            t.setHtml("")

    def reset(self) -> None:
        self.xkeep.reset()
        self.ykeep.reset()

    def on_theory(self, on: bool) -> None:
        self.levels.setVisible(on)
        self.key_level.setVisible(on)
        self._legend_key = None

    def minimiser(self, pot: Potential | None) -> np.ndarray | None:
        """argmin φ on the solution set, per potential (computed once)."""
        if pot is None or self.view is None:
            return None
        key = (pot.kind, pot.alpha, pot.depth)
        if key not in self._minimisers:
            self._minimisers[key] = minimiser_on_hyperplane(pot, self.view.a, self.view.y)
        return self._minimisers[key]

    # ------------------------------------------------------------------ drawing
    def _runs(self, ctx: DrawContext, runs) -> list[tuple[Any, Any, Any, np.ndarray]]:
        """(run or None, colour, config, its x up to the shown step, as rows) of every path to draw."""
        out = []
        items = [(None, colour(0), self.info.get("cfg"), ctx.frame.mirror, ctx.product)] if runs is None else [
            (r, r.colour, r.cfg, r.mirror, r.product) for r, _f in runs]
        for run, c, cfg, mirror, product in items:
            x = np.zeros((0, self.view.n))
            if mirror is not None and mirror.size and "state" in mirror:
                x = np.asarray(mirror["state"], float)
                if x.ndim != 2 or x.shape[1] != self.view.n:
                    x = np.zeros((0, self.view.n))
                elif ctx.shown_step is not None:
                    x = x[np.asarray(mirror["step"], float) <= ctx.shown_step]
            now = None if product is None or np.size(product) != self.view.n else np.asarray(product, float).ravel()
            if now is not None and ctx.shown_step is None:
                # a product that is one of the rows (a scrubbed timeline gives each compared run its x as of the
                # shown step) ends the path there; else it is the latest x, past the last recorded row
                same = np.flatnonzero(np.all(x == now, axis=1))
                x = x[: same[-1] + 1] if len(same) else np.vstack([x, now[None]])
            rows = _thin(x[np.all(np.isfinite(x), axis=1)])
            out.append((run, c, cfg, rows))
        return out

    def update(self, ctx: DrawContext) -> None:
        runs = ctx.compared()
        self.set_comparing(runs is not None)
        if self.view is None:
            self.show_empty("drawn for 2 or 3 unknowns and one measurement")
            return
        v = self.view
        refs = self.info.get("refs", {})
        paths = self._runs(ctx, runs)
        shown = next((p for p in paths if p[0] is not None and p[0].id == ctx.selected_id), paths[0] if paths else None)
        pot, reason = potential_for(shown[2] if shown is not None else self.info.get("cfg"))
        pts = [v.to_view(np.zeros(v.n))]
        for key, item in (("min_l1", self.l1), ("min_l2", self.l2)):
            r = refs.get(key)
            if r is None:
                item.setData([], [])
                continue
            p = v.to_view(np.asarray(r, float).ravel())
            item.setData(p[:, 0], p[:, 1])
            pts.append(p)
        # the start of the selected run's flow, where ∇φ = 0 (x = 0, or α^N·1 for x = w^N)
        start = v.to_view(pot.centre(v.n) if pot is not None else np.zeros(v.n))
        self.start.setData(start[:, 0], start[:, 1])
        for run, c, cfg, rows in paths:
            run_pot = pot if run is None else potential_for(cfg)[0]
            xq = self.minimiser(run_pot)
            path_xy = v.to_view(rows) if len(rows) else np.zeros((0, 2))
            q_xy = None if xq is None else v.to_view(xq)
            if run is None:
                self.path.setData(path_xy[:, 0], path_xy[:, 1])
                self.now.setData(*(([path_xy[-1, 0]], [path_xy[-1, 1]]) if len(path_xy) else ([], [])))
                self.q.setData(*((q_xy[:, 0], q_xy[:, 1]) if q_xy is not None else ([], [])))
            else:
                self.run_curve(run, "path", Qt.PenStyle.SolidLine, 2).setData(path_xy[:, 0], path_xy[:, 1])
                dot = self._run_marks(run, "now", "o", 9, True)
                dot.setData(*(([path_xy[-1, 0]], [path_xy[-1, 1]]) if len(path_xy) else ([], [])))
                tri = self._run_marks(run, "q", "t", 13, True)
                tri.setData(*((q_xy[:, 0], q_xy[:, 1]) if q_xy is not None else ([], [])))
            pts += [path_xy] + ([q_xy] if q_xy is not None else [])
        for item in (self.now, self.q):
            item.setVisible(runs is None)
        if runs is not None:
            self.drop_run_curves({r.id for r, _ in runs})
        allp = np.vstack(pts)
        xb, yb = finite_bounds(allp[:, 0]), finite_bounds(allp[:, 1])
        xb, yb = self._square(xb, yb)
        self.apply_ranges(xb, yb)
        box = self._box()
        seg = v.solution_line(box)
        self.line.setData(*((seg[:, 0], seg[:, 1]) if seg is not None else ([], [])))
        xq = self.minimiser(pot)
        self._draw_levels(pot, xq, refs, box)
        self._label(refs, xq, pot)
        self._legend(runs, pot, reason, xq)
        self.show_empty("" if any(len(p[3]) for p in paths) else
                        "press Space to play" if ctx.ready else "waiting for the training worker…")
        self.ink.follow()

    def _run_marks(self, run, key: str, symbol: str, size: int, filled: bool) -> pg.ScatterPlotItem:
        m = self.run_items.get((run.id, key))
        if m is None or getattr(m, "_run_colour", None) != run.colour:
            if m is not None:
                self.plot.removeItem(m)
            m = marks(symbol, run.colour, size=size, filled=filled)
            m._run_colour = run.colour
            self.plot.addItem(m)
            self.run_items[(run.id, key)] = m
        return m

    @staticmethod
    def _square(xb, yb):
        """Bounds widened to a common span (equal units on both axes keep circles round, tangents tangent)."""
        if xb is None or yb is None:
            return xb, yb
        span = max(xb[1] - xb[0], yb[1] - yb[0], 1e-12) * 1.1
        cx, cy = (xb[0] + xb[1]) / 2, (yb[0] + yb[1]) / 2
        return (cx - span / 2, cx + span / 2), (cy - span / 2, cy + span / 2)

    def _box(self) -> tuple[float, float, float, float]:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        dx, dy = (x1 - x0) * LEVEL_MARGIN, (y1 - y0) * LEVEL_MARGIN
        return x0 - dx, x1 + dx, y0 - dy, y1 + dy

    def _draw_levels(self, pot: Potential | None, xq, refs, box) -> None:
        if not self.theory or pot is None or xq is None:
            self.levels.setData([], [])
            self.key_level.setData([], [])
            self._level_key = None
            return
        (x0, x1), (y0, y1) = self.vb.viewRange()
        if self._level_key is not None:
            k_pot, k_box = self._level_key
            bx0, bx1, by0, by1 = k_box
            inside = bx0 <= x0 and x1 <= bx1 and by0 <= y0 and y1 <= by1
            if k_pot == pot and inside and (bx1 - bx0) <= 4 * (1 + 2 * LEVEL_MARGIN) * (x1 - x0):
                return
        v = self.view
        far = None
        for key in ("min_l1", "min_l2"):
            r = refs.get(key)
            if r is not None and (far is None or np.linalg.norm(r - xq) > np.linalg.norm(far - xq)):
                far = np.asarray(r, float).ravel()
        vals, key_val = level_values(pot, v, xq, reach=far)
        lines = level_lines(pot, v, box, vals, grid=LEVEL_GRID)
        rest = [(xs, ys) for c, xs, ys in lines if key_val is None or not np.isclose(c, key_val, rtol=1e-9)]
        key = [(xs, ys) for c, xs, ys in lines if key_val is not None and np.isclose(c, key_val, rtol=1e-9)]
        join = (lambda parts: (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
                if parts else ([], []))
        self.levels.setData(*join(rest))
        self.key_level.setData(*join(key))
        self._level_key = (pot, box)

    def _ink(self):
        return LIGHT if self.plot_widget.backgroundBrush().color().lightness() < 128 else BLACK

    def _label(self, refs, xq, pot) -> None:
        v = self.view
        _, (y0, y1) = self.vb.viewRange()
        gap = 0.02 * (y1 - y0)
        names = {"min_l1": "x_ℓ1", "min_l2": "x_ℓ2", "q": f"argmin {pot.label}" if pot is not None else ""}
        f = QFont()
        f.setPointSizeF(getattr(self.legend_label, "_legend_pt", FONT_PT))
        f.setBold(True)
        for key, t in self.texts.items():
            r = xq if key == "q" and not self.comparing else refs.get(key) if key != "q" else None
            if r is None:
                t.setHtml("")
                continue
            p = v.to_view(np.asarray(r, float).ravel())[0]
            t.setFont(f)
            c = pg.mkColor(colour(3) if key == "q" else self._ink()).name()
            t.setHtml(f'<span style="color:{c}; font-weight:bold">{symbols(names[key])}</span>')
            # the minimiser labelled below its point, x_ℓ1 and x_ℓ2 above theirs, each on its side of the other
            if key == "q":
                t.setAnchor((0.5, 0))
                t.setPos(p[0], p[1] - gap)
            else:
                other = refs.get("min_l2" if key == "min_l1" else "min_l1")
                ox = p[0] if other is None else v.to_view(np.asarray(other, float).ravel())[0, 0]
                left = p[0] < ox or (p[0] == ox and key == "min_l1")
                t.setAnchor((1, 1) if left else (0, 1))
                t.setPos(p[0], p[1] + gap)

    def _legend(self, runs, pot, reason, xq) -> None:
        name = pot.label if pot is not None else "φ"
        keys: list[tuple[Any, str]] = [(self.line, "solution set Ax = y" if not self.view.planar else "")]
        keys = [k for k in keys if k[1]]
        if self.theory and pot is not None and xq is not None:
            keys.append((LegendSample(pen(GREY, 1)), f"level sets of {name}" + (" (selected run)" if runs else "")))
        keys += [(self.l1, "x_ℓ1"), (self.l2, "x_ℓ2")]
        keys.append((self.q_key if runs else self.q, f"argmin {name} on Ax = y" + (" (run colour)" if runs else "")))
        if pot is None and reason:
            keys.append((LegendSample(pen(GREY, 1)), reason))
        if runs is not None:
            self.compare_legend(runs, keys)
            return
        sig = tuple(t for _, t in keys)
        if sig == self._legend_key or self.legend_item is None:
            return
        self._legend_key = sig
        self.legend_item.entries = [(self.path, "path of x(t)")] + keys
        self.legend_item._render()

    def fit_view(self) -> None:
        super().fit_view()
        self._level_key = None
