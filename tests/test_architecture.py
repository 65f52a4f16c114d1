"""The core (everything outside ibviewer.gui) imports no Qt: checked by import-linter and by a fresh import."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ["ibviewer.config", "ibviewer.engine", "ibviewer.problems", "ibviewer.models", "ibviewer.optim",
        "ibviewer.metrics", "ibviewer.references", "ibviewer.history", "ibviewer.ops", "ibviewer.cli",
        "ibviewer.bench", "ibviewer.io", "ibviewer.resources", "ibviewer.nonlinear"]


def test_core_modules_load_no_qt():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE)
        + "from ibviewer.config import build_config\nfrom ibviewer.engine import Engine\n"
        "Engine(build_config(preset='sensing_depth_low_rank')).step(5)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'superqt', 'shiboken6')"
        " or m.startswith('ibviewer.gui')]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr


def test_import_linter_contract():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("import-linter is not installed: install the test extra (pip install '.[test]')")
    r = subprocess.run([exe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "KEPT" in r.stdout
