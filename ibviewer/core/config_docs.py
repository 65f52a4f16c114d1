"""Texts made from the key declarations (:mod:`ibviewer.core.config_fields`): the README's key table and the
key list of ``--help``, so that neither is a second copy that can drift from the code.

``python -m ibviewer.core.config_docs README.md`` rewrites the table between the README's markers; a test
fails while the README's table differs from :func:`config_table_markdown`.
"""

from __future__ import annotations

import functools
import sys
import textwrap
from pathlib import Path

from ibviewer.core.config_fields import format_number, field_default, field_domain, field_info, known_keys

TABLE_START = "<!-- config-keys:start (made by python -m ibviewer.core.config_docs README.md) -->"
TABLE_END = "<!-- config-keys:end -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _default(key: str) -> str:
    value = field_default(key)
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, list):
        return "`[]`" if not value else f"`{value}`"
    return f"`{format_number(value)}`" if isinstance(value, float) else f"`{value}`"


def config_table_markdown() -> str:
    """The Markdown table of every key: name, allowed values (with the unit), built-in default, meaning."""
    rows = ["| key | allowed | default | meaning |", "|---|---|---|---|"]
    for key in known_keys():
        rows.append(f"| `{key}` | {_cell(field_domain(key))} | {_default(key)} | {_cell(field_info(key).description or '')} |")
    return "\n".join(rows) + "\n"


def readme_table(text: str) -> str:
    """The table between the markers of a README's text ('' when the markers are missing)."""
    if TABLE_START not in text or TABLE_END not in text:
        return ""
    return text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip("\n") + "\n"


def with_table(text: str) -> str:
    """``text`` (a README) with the table between its markers replaced by the current one."""
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_START}\n{config_table_markdown()}{TABLE_END}{tail}"


@functools.cache
def keys_help(width: int = 100) -> str:
    """Every key with its help text and what it allows: the epilog of the commands that take ``--set`` (made
    once: the declarations do not change while ibviewer runs, and every parser of a command needs it)."""
    lines = ["config keys (--set KEY=VALUE, --compare KEY=V1,V2,...):"]
    for key in known_keys():
        meaning = " ".join((field_info(key).description or "").split()).rstrip(".")
        text = f"{meaning}.  Allowed: {field_domain(key)}."
        lines.append(f"  {key}")
        lines.extend(textwrap.wrap(text, width, initial_indent="      ", subsequent_indent="      "))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1:
        print("usage: python -m ibviewer.core.config_docs README.md", file=sys.stderr)
        return 2
    path = Path(argv[0])
    text = path.read_text(encoding="utf-8")
    if not readme_table(text):
        print(f"{path}: error: the markers of the key table are missing ({TABLE_START!r} ... {TABLE_END!r})",
              file=sys.stderr)
        return 2
    path.write_text(with_table(text), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
