"""Import rules: only ibviewer.gui imports Qt, and the layers run cli → gui → live → core.

The rules are import-linter contracts in pyproject.toml that name packages; these tests run them, check that a
fresh import of every module outside ibviewer.gui loads no Qt, and check that the contracts catch a new module
that breaks them (so that they cannot silently stop covering the tree).
"""

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "pyqtgraph", "superqt", "shiboken6")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("import-linter is not installed: install the test extra (pip install '.[test]')")
    return subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=cwd, timeout=180)


def _modules_outside_gui() -> list[str]:
    import ibviewer

    names = []
    for m in pkgutil.walk_packages(ibviewer.__path__, "ibviewer."):
        if m.name == "ibviewer.__main__" or m.name.startswith("ibviewer.gui"):
            continue
        names.append(m.name)
    return names


def test_every_module_outside_the_gui_package_loads_no_qt():
    mods = _modules_outside_gui()
    assert {"ibviewer.cli", "ibviewer.core.engine", "ibviewer.live.worker"} <= set(mods)
    code = (
        "import sys, importlib\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "from ibviewer.core.config import build_config\nfrom ibviewer.core.engine import Engine\n"
        "Engine(build_config(preset='sensing_depth_low_rank')).step(5)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT!r} or m.startswith('ibviewer.gui')]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert r.returncode == 0, r.stderr


def test_the_import_contracts_are_kept():
    r = _lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


@pytest.mark.parametrize(("where", "source"), [
    ("ibviewer/core/new_module.py", "import PySide6.QtCore\n"),
    ("ibviewer/live/new_module.py", "from pyqtgraph import mkPen\n"),
    ("ibviewer/new_module.py", "import superqt\n"),
    ("ibviewer/core/new_module.py", "import ibviewer.live.worker\n"),
    ("ibviewer/live/new_module.py", "import ibviewer.gui.window\n"),
])
def test_a_new_module_that_breaks_the_rules_breaks_a_contract(tmp_path, where, source):
    """A copy of the tree with one new module: the contracts, unchanged, must catch it."""
    shutil.copytree(ROOT / "ibviewer", tmp_path / "ibviewer", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / where).write_text(source)
    r = _lint_imports(tmp_path)
    assert r.returncode != 0, r.stdout
    assert "BROKEN" in r.stdout
