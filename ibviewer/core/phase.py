"""Phase diagrams of a sweep: a metric over two grid keys, one panel per value of the other grid keys, with the
literature's curve where one exists; drawn with matplotlib's Agg canvas (no Qt, no display), so a headless
machine makes them.

:func:`phase_grid` reduces the rows to cells (the mean of the metric over the seeds, or the share of seeds
whose metric is below a threshold); the app's sweep viewer draws the same cells.  The curve for basis pursuit
on the axes m/n (undersampling) and s/m (sparsity) is Donoho and Tanner's weak threshold for the cross-polytope,
computed as the statistical dimension of the l1 descent cone (Amelunxen, Lotz, McCoy, Tropp 2014, who show the
two coincide): recovery of most s-sparse x in R^n from m Gaussian measurements flips from failure to success at
m/n = psi(s/n), with psi(tau) = min over t >= 0 of tau (1 + t^2) + (1 - tau) 2 [(1 + t^2) Q(t) - t phi(t)].
"""

from __future__ import annotations

import io
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ibviewer.core.sweep import PlotSpec, Sweep

PHASE_PNG, PHASE_SVG = "phase.png", "phase.svg"


@dataclass
class PhaseGrid:
    """The cells of a phase diagram: ``values[f, iy, ix]`` for facet ``f`` (the other grid keys' values,
    ``facets[f]``), NaN where no run gave the metric; ``cells`` holds each cell's rows."""

    plot: PlotSpec
    xs: list[Any]
    ys: list[Any]
    facets: list[tuple[tuple[str, Any], ...]]
    values: np.ndarray
    cells: dict[tuple[int, int, int], list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """What a cell's colour says."""
        p = self.plot
        if p.threshold is None:
            return f"mean {p.metric} over the seeds"
        return f"share of seeds with {p.metric} < {p.threshold:g}"

    def facet_title(self, f: int) -> str:
        return ", ".join(f"{k} = {_text(v)}" for k, v in self.facets[f])

    def rows(self, f: int, iy: int, ix: int) -> list[dict[str, Any]]:
        return self.cells.get((f, iy, ix), [])

    def describe(self, f: int, iy: int, ix: int) -> str:
        """A cell's numbers in a few lines: where it is, its value, and each seed's metric and status."""
        p, rows = self.plot, self.rows(f, iy, ix)
        lines = [f"{p.x} = {_text(self.xs[ix])}, {p.y} = {_text(self.ys[iy])}"]
        if self.facets[f]:
            lines[0] += f" ({self.facet_title(f)})"
        v = self.values[f, iy, ix]
        lines.append(f"{self.label}: {'no value' if math.isnan(v) else f'{v:.4g}'}")
        metric = [r.get(p.metric) for r in rows]
        finite = [m for m in metric if m is not None]
        if p.threshold is not None:
            below = sum(m < p.threshold for m in finite)
            lines.append(f"{below} of {len(rows)} seeds below {p.threshold:g}")
        if finite:
            lines.append(f"{p.metric}: mean {np.mean(finite):.4g}, min {min(finite):.4g}, max {max(finite):.4g}")
        for r in rows:
            m = r.get(p.metric)
            lines.append(f"seed {r['seed']}: {'-' if m is None else f'{m:.4g}'} ({r['status']})")
        return "\n".join(lines)


def _text(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _key(v: Any) -> str:
    return repr(v)


def phase_grid(sweep: Sweep, rows: list[dict[str, Any]], plot: PlotSpec | None = None) -> PhaseGrid:
    """The cells of ``plot`` (default: the sweep's) from a sweep's rows."""
    plot = plot or sweep.plot
    if plot is None:
        raise ValueError("the sweep has no [plot] table; give --x, --y and --metric")
    axes = {**sweep.grid, "seed": sweep.seeds}
    for axis in (plot.x, plot.y):
        if axis not in axes:
            raise ValueError(f"{axis!r} is not a grid key of this sweep; grid keys are: {', '.join(sweep.grid)} "
                             "(and seed)")
    if plot.x == plot.y:
        raise ValueError("x and y must be two different grid keys")
    xs, ys = axes[plot.x], axes[plot.y]
    others = [k for k in sweep.grid if k not in (plot.x, plot.y)]
    facets = [tuple(zip(others, combo)) for combo in itertools.product(*(sweep.grid[k] for k in others))]
    # a panel's title names the keys tied to its grid values too ("model.depth = 3, model.init_scale = 0.1")
    facets = [facet + tuple((k, v) for k, v in sweep.tied_values(dict(facet)).items() if sweep.tied[k][0] in others)
              for facet in facets]
    others += [k for k, (by, _) in sweep.tied.items() if by in others]
    xi = {_key(v): i for i, v in enumerate(xs)}
    yi = {_key(v): i for i, v in enumerate(ys)}
    fi = {tuple(_key(v) for _, v in facet): i for i, facet in enumerate(facets)}
    cells: dict[tuple[int, int, int], list[dict[str, Any]]] = {}
    for r in rows:
        where = (fi.get(tuple(_key(r.get(k)) for k in others)), yi.get(_key(r.get(plot.y))), xi.get(_key(r.get(plot.x))))
        if None not in where:
            cells.setdefault(where, []).append(r)
    values = np.full((len(facets), len(ys), len(xs)), np.nan)
    for where, cell in cells.items():
        metric = [r.get(plot.metric) for r in cell]
        if plot.threshold is None:
            finite = [m for m in metric if m is not None]
            if finite:
                values[where] = float(np.mean(finite))
        else:  # a run without the metric (failed, diverged) did not get below the threshold
            values[where] = sum(m is not None and m < plot.threshold for m in metric) / len(cell)
    for cell in cells.values():
        cell.sort(key=lambda r: r["seed"])
    return PhaseGrid(plot, list(xs), list(ys), facets, values, cells)


# ------------------------------------------------------------------------------------------ the literature
def l1_statistical_dimension(tau: float) -> float:
    """psi(tau): the statistical dimension of the l1 descent cone at a (tau n)-sparse vector, divided by n."""
    from scipy.optimize import minimize_scalar
    from scipy.stats import norm

    if tau <= 0:
        return 0.0
    if tau >= 1:
        return 1.0

    def f(t: float) -> float:
        tail = 2 * ((1 + t * t) * norm.sf(t) - t * norm.pdf(t))
        return tau * (1 + t * t) + (1 - tau) * tail

    return float(minimize_scalar(f, bounds=(0.0, 40.0), method="bounded", options={"xatol": 1e-12}).fun)


def donoho_tanner(delta: np.ndarray) -> np.ndarray:
    """The weak phase transition rho(delta) of l1 recovery (basis pursuit) at undersampling delta = m/n: s/m
    below it is recovered for most signals, above it not."""
    from scipy.optimize import brentq

    out = []
    for d in np.asarray(delta, dtype=float):
        if not 0 < d < 1:
            out.append(np.nan if d <= 0 else 1.0)
            continue
        tau = brentq(lambda t: l1_statistical_dimension(t) - d, 1e-12, 1 - 1e-12, xtol=1e-12)
        out.append(tau / d)
    return np.array(out)


def literature_curve(plot: PlotSpec) -> tuple[str, str, str] | None:
    """(label, x key, y key) of the known curve on the axes of ``plot``, or None where there is none."""
    if {plot.x, plot.y} == {"m/n", "s/m"}:
        return ("Donoho–Tanner (basis pursuit)", "m/n", "s/m")
    return None


def curve_points(plot: PlotSpec, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The curve of :func:`literature_curve` as points (x, y) for delta in [lo, hi] (plot coordinates)."""
    if literature_curve(plot) is None:
        return None
    delta = np.linspace(max(lo, 1e-3), min(hi, 0.999), 80)
    rho = donoho_tanner(delta)
    return (delta, rho) if plot.x == "m/n" else (rho, delta)


# ------------------------------------------------------------------------------------------ drawing
def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _axis(values: list[Any]) -> tuple[np.ndarray, str, list[str] | None]:
    """Cell edges on one axis, its scale, and tick labels for a categorical axis (None for a numeric one)."""
    if not _numeric(values):
        return np.arange(len(values) + 1) - 0.5, "linear", [_text(v) for v in values]
    v = np.array(sorted(values), dtype=float)
    log = bool(v.min() > 0 and v.max() / v.min() >= 20)
    t = np.log10(v) if log else v
    if len(t) == 1:
        edges = np.array([t[0] - 0.5, t[0] + 0.5])
    else:
        mid = (t[1:] + t[:-1]) / 2
        edges = np.concatenate([[t[0] - (mid[0] - t[0])], mid, [t[-1] + (t[-1] - mid[-1])]])
    return (10 ** edges if log else edges), ("log" if log else "linear"), None


def draw(grid: PhaseGrid, title: str = ""):
    """The phase diagram as a matplotlib Figure on an Agg canvas (no pyplot, no GUI backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    nf = len(grid.facets)
    ncols = min(nf, 3)
    nrows = math.ceil(nf / ncols)
    fig = Figure(figsize=(3.6 * ncols + 1.2, 3.2 * nrows + 0.8), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    finite = grid.values[np.isfinite(grid.values)]
    if grid.plot.threshold is not None:
        norm = Normalize(0.0, 1.0)
    elif finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
        norm = LogNorm(finite.min(), finite.max())
    else:
        norm = Normalize(*(finite.min(), finite.max()) if finite.size else (0.0, 1.0))
    xedges, xscale, xlabels = _axis(grid.xs)
    yedges, yscale, ylabels = _axis(grid.ys)
    xorder = np.argsort(grid.xs) if xlabels is None else np.arange(len(grid.xs))
    yorder = np.argsort(grid.ys) if ylabels is None else np.arange(len(grid.ys))
    curve = literature_curve(grid.plot)
    mesh = None
    for f, ax in enumerate(axes):
        if f >= nf:
            ax.set_visible(False)
            continue
        data = np.ma.masked_invalid(grid.values[f][np.ix_(yorder, xorder)])
        mesh = ax.pcolormesh(xedges, yedges, data, cmap="viridis", norm=norm, shading="flat")
        ax.set_xscale(xscale)
        ax.set_yscale(yscale)
        for axis, values, labels in ((ax.xaxis, grid.xs, xlabels), (ax.yaxis, grid.ys, ylabels)):
            if labels is not None:
                axis.set_ticks(range(len(labels)), labels)
            elif len(values) <= 12 and curve is None:  # a tick on every value swept
                axis.set_ticks(sorted(values), [_text(v) for v in sorted(values)])
                axis.set_minor_locator(NullLocator())
        if curve is not None:
            pts = curve_points(grid.plot, float(np.min(xedges if grid.plot.x == "m/n" else yedges)),
                               float(np.max(xedges if grid.plot.x == "m/n" else yedges)))
            ax.plot(*pts, color="#e8590c", lw=2, label=curve[0])
            ax.set_xlim(xedges.min(), xedges.max())
            ax.set_ylim(yedges.min(), yedges.max())
            if f == 0:
                ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
        ax.set_xlabel(grid.plot.x)
        ax.set_ylabel(grid.plot.y)
        if grid.facets[f]:
            ax.set_title(grid.facet_title(f), fontsize=10)
    if mesh is not None:
        fig.colorbar(mesh, ax=axes[:nf].tolist(), label=grid.label, shrink=0.9)
    if title:
        fig.suptitle(title)
    return fig


def write_phase(folder: str | Path, sweep: Sweep, rows: list[dict[str, Any]], plot: PlotSpec | None = None
                ) -> list[Path]:
    """``phase.png`` and ``phase.svg`` in ``folder``, each written whole (atomically)."""
    from ibviewer.core.io import atomic_write_bytes

    grid = phase_grid(sweep, rows, plot)
    title = str(sweep.meta.get("title", "")) or f"{grid.plot.metric} ({len(rows)} runs)"
    fig = draw(grid, title)
    out = []
    for name, fmt in ((PHASE_PNG, "png"), (PHASE_SVG, "svg")):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=120, metadata={"Date": None} if fmt == "svg" else None)
        out.append(atomic_write_bytes(Path(folder) / name, buf.getvalue()))
    return out
