"""Phase diagrams: the cells (mean over seeds, share of seeds below a threshold) against sums done by hand, the
Donoho–Tanner curve against its definition integrated numerically and the literature's value, and the drawing
made without Qt."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from ibviewer.core.phase import donoho_tanner, l1_statistical_dimension, phase_grid, write_phase
from ibviewer.core.sweep import PlotSpec, Sweep

ROOT = Path(__file__).resolve().parents[1]


def sweep_and_rows():
    sweep = Sweep(base={}, grid={"a": [1, 2], "b": [0.1, 0.2, 0.3], "c": ["x", "y"]}, seeds=[0, 1, 2],
                  plot=PlotSpec(x="b", y="a", metric="relative_error", threshold=0.5), meta={})
    rows = []
    for p in sweep.points():
        v = dict(p.values)
        err = None if (v["a"], v["b"], p.seed) == (2, 0.3, 1) else v["a"] * v["b"] + 0.1 * p.seed
        rows.append({**p.columns(), "run": p.index, "status": "failed" if err is None else "max_steps",
                     "relative_error": err})
    return sweep, rows


def test_cells_hold_the_share_of_seeds_below_the_threshold():
    sweep, rows = sweep_and_rows()
    grid = phase_grid(sweep, rows)
    assert grid.facets == [(("c", "x"),), (("c", "y"),)]
    assert grid.values.shape == (2, 2, 3)
    # a * b + 0.1 * seed < 0.5, over seeds 0, 1, 2; the failed run (a=2, b=0.3, seed 1) counts as not below
    expected = {(1, 0.1): 3, (1, 0.2): 3, (1, 0.3): 2, (2, 0.1): 3, (2, 0.2): 1, (2, 0.3): 0}
    for (a, b), below in expected.items():
        for f in range(2):
            assert grid.values[f, [1, 2].index(a), [0.1, 0.2, 0.3].index(b)] == pytest.approx(below / 3)
    text = grid.describe(0, 1, 2)
    assert "seed 1: - (failed)" in text and "0 of 3 seeds below 0.5" in text


def test_cells_hold_the_mean_over_seeds_with_a_value():
    sweep, rows = sweep_and_rows()
    grid = phase_grid(sweep, rows, PlotSpec(x="a", y="b", metric="relative_error"))
    # a=2, b=0.3: seeds 0 and 2 have values 0.6 and 0.8 (seed 1 failed)
    assert grid.values[0, 2, 1] == pytest.approx(0.7)
    assert grid.values[1, 0, 0] == pytest.approx(0.1 + 0.1)  # a=1, b=0.1: mean of 0.1, 0.2, 0.3


def test_seeds_can_be_an_axis():
    sweep, rows = sweep_and_rows()
    grid = phase_grid(sweep, rows, PlotSpec(x="b", y="seed", metric="relative_error"))
    assert grid.ys == [0, 1, 2] and len(grid.facets) == 4
    assert all(len(grid.rows(f, iy, ix)) == 1 for f in range(4) for iy in range(3) for ix in range(3))


def psi_by_integration(tau: float) -> float:
    """The statistical dimension of the l1 descent cone per coordinate, with the Gaussian tail integral done by
    quadrature: min over t of tau (1 + t^2) + (1 - tau) E[(|g| - t)_+^2]."""

    def f(t):
        tail = quad(lambda u: (u - t) ** 2 * 2 * norm.pdf(u), t, np.inf)[0]
        return tau * (1 + t * t) + (1 - tau) * tail

    return minimize_scalar(f, bounds=(0, 10), method="bounded", options={"xatol": 1e-10}).fun


@pytest.mark.parametrize("tau", [0.02, 0.1, 0.3, 0.6])
def test_the_l1_statistical_dimension_matches_its_definition(tau):
    assert l1_statistical_dimension(tau) == pytest.approx(psi_by_integration(tau), abs=1e-7)


def test_the_donoho_tanner_curve():
    delta = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
    rho = donoho_tanner(delta)
    # it inverts psi: m/n = psi(s/n) on the curve
    for d, r in zip(delta, rho):
        assert psi_by_integration(d * r) == pytest.approx(d, abs=1e-6)
    # increasing in delta, between 0 and 1, and Donoho & Tanner's value at delta = 1/2 (rho_W = 0.3848)
    assert np.all(np.diff(rho) > 0) and np.all((rho > 0) & (rho < 1))
    assert rho[2] == pytest.approx(0.3848, abs=2e-3)


def test_the_drawing_needs_no_qt(tmp_path):
    """In a fresh interpreter: the PNG and SVG are written and no Qt module (nor a matplotlib Qt backend) is
    loaded."""
    code = (
        "import sys\n"
        "from tests.test_phase import sweep_and_rows\n"
        "from ibviewer.core.phase import write_phase\n"
        "sweep, rows = sweep_and_rows()\n"
        f"write_phase({str(tmp_path)!r}, sweep, rows)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'pyqtgraph')) or 'backend_qt' in m]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert (tmp_path / "phase.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "phase.svg").read_text().count("<svg") == 1


def test_ratio_axes_get_the_curve(tmp_path):
    sweep = Sweep(base={}, grid={"m/n": [0.2, 0.5, 0.8], "s/m": [0.1, 0.4]}, seeds=[0],
                  plot=PlotSpec(x="m/n", y="s/m", metric="relative_error", threshold=0.01), meta={})
    rows = [{**p.columns(), "run": p.index, "status": "max_steps",
             "relative_error": 1e-3 if dict(p.values)["s/m"] < 0.3 else 1.0} for p in sweep.points()]
    paths = write_phase(tmp_path, sweep, rows)
    assert [p.name for p in paths] == ["phase.png", "phase.svg"]
    assert "Donoho" in (tmp_path / "phase.svg").read_text()
    assert not math.isnan(phase_grid(sweep, rows).values.sum())
