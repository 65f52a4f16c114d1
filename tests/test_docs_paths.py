"""The documentation names only code that exists: every ``ibviewer/...`` or ``tests/...`` path and every
``ibviewer.xxx`` module (or module attribute) that a page of ``docs/`` mentions is in the tree.

Read as text, without importing anything (no Qt needed): a module is a ``.py`` file or a package folder, and a
trailing name after the module must be defined in it (``def``, ``class`` or an assignment).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
#: files that a page's worked example tells the reader to create (they must not exist in the tree)
EXAMPLE_FILES = {"ibviewer/gui/panels/wall_clock.py"}

PATH = re.compile(r"(?<![\w./-])((?:ibviewer|tests)/[\w./-]*[\w/])")
MODULE = re.compile(r"(?<![\w./-])(ibviewer(?:\.\w+)+)")


def module_file(parts: list[str]) -> Path | None:
    """The file of module ``parts`` (``["ibviewer", "core", "engine"]``), or None when there is none."""
    base = ROOT.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def defines(source: Path, name: str) -> bool:
    text = source.read_text(encoding="utf-8")
    return re.search(rf"^\s*(?:def|class)\s+{name}\b|^\s*{name}\s*[:=]|import[^\n]*\b{name}\b", text, re.M) is not None


def missing_names(text: str) -> list[str]:
    """The paths and modules named in ``text`` that the tree does not have."""
    missing = []
    for path in dict.fromkeys(PATH.findall(text)):
        path = path.rstrip(".")
        if path in EXAMPLE_FILES:
            continue
        if not (ROOT / path).exists():
            missing.append(path)
    for dotted in dict.fromkeys(MODULE.findall(text)):
        parts = dotted.rstrip(".").split(".")
        # the longest prefix that is a module; at most one name after it, defined in it
        for k in range(len(parts), 0, -1):
            source = module_file(parts[:k])
            if source is not None:
                break
        rest = parts[k:]
        if source is None or len(rest) > 1 or (rest and not defines(source, rest[0])):
            missing.append(dotted)
    return missing


def test_the_checker_finds_names_that_do_not_exist():
    text = ("see `ibviewer/core/engine.py`, `ibviewer/gui/panels/`, `tests/test_docs.py`, ibviewer.core.engine, "
            "ibviewer.gui.panels, ibviewer.core.engine.Engine and `ibviewer/live/policy.py`.\n"
            "but not `ibviewer/core/nothing.py`, tests/test_nothing.py, ibviewer.core.nothing or "
            "ibviewer.core.engine.NoSuchClass")
    assert missing_names(text) == ["ibviewer/core/nothing.py", "tests/test_nothing.py", "ibviewer.core.nothing",
                                   "ibviewer.core.engine.NoSuchClass"]


def test_example_files_are_not_in_the_tree():
    """A worked example's file is the reader's to create; were it in the tree, it would be code, not an example."""
    assert [f for f in EXAMPLE_FILES if (ROOT / f).exists()] == []


@pytest.mark.parametrize("page", DOCS, ids=[p.name for p in DOCS])
def test_every_path_and_module_named_in_the_docs_exists(page):
    assert missing_names(page.read_text(encoding="utf-8")) == []
