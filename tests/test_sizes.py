"""Size rules: no module under ``ibviewer/`` longer than 800 lines, no class longer than 500.

Small modules with one job and small classes that compose others (see ``docs/architecture.md``) stay readable
and testable; a module or class past the limit is the sign that a part should be extracted.  The check reads
every module with :mod:`ast` (a class's length runs from its first decorator to its last line, nested classes
included) and reports every offender at once.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ibviewer"
MAX_MODULE_LINES = 800
MAX_CLASS_LINES = 500


def size_offences(name: str, text: str, max_module: int = MAX_MODULE_LINES,
                  max_class: int = MAX_CLASS_LINES) -> list[str]:
    """One line per rule ``text`` (the module ``name``) breaks."""
    out = []
    n = len(text.splitlines())
    if n > max_module:
        out.append(f"{name}: module of {n} lines (at most {max_module})")
    for node in ast.walk(ast.parse(text, filename=name)):
        if isinstance(node, ast.ClassDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = node.end_lineno - first + 1
            if length > max_class:
                out.append(f"{name}:{node.lineno}: class {node.name} of {length} lines (at most {max_class})")
    return out


def test_no_module_or_class_under_ibviewer_is_too_long():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 20 and PACKAGE / "gui" / "window.py" in modules  # the walk sees the whole package
    offences = [o for path in modules
                for o in size_offences(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))]
    assert not offences, "too long (extract a part with one job):\n" + "\n".join(offences)


def test_the_check_reports_every_long_module_and_class():
    body = "\n".join(f"    x{i} = {i}" for i in range(5))
    text = f"@dataclass\nclass Long:\n{body}\n\n\nclass Short:\n    y = 1\n"  # Long: 7 lines with its decorator
    assert size_offences("m.py", text, max_module=100, max_class=7) == []
    offences = size_offences("m.py", text, max_module=10, max_class=6)
    assert offences == ["m.py: module of 11 lines (at most 10)", "m.py:2: class Long of 7 lines (at most 6)"]
    nested = "class Outer:\n    class Inner:\n" + "\n".join(f"        z{i} = {i}" for i in range(3)) + "\n"
    assert [o.split(": class ")[1].split()[0] for o in size_offences("n.py", nested, max_class=3)] == ["Outer",
                                                                                                      "Inner"]
