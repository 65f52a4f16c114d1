"""The repository stands alone: code and tests cite docs/ (science.md, architecture.md), never documents that are
not in it (SCIENCE.md, DESIGN.md), tracker issue numbers or "this machine"."""

from __future__ import annotations

import re
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
#: folders whose files must not cite outside documents (the presets' comments are read by users too)
SCANNED = ("ibviewer", "tests", "resources")
#: documents the citations point to
REQUIRED_DOCS = ("docs/science.md", "docs/architecture.md")

STALE = re.compile(r"\bSCIENCE\.md\b|\bDESIGN\.md\b|(?i:\bissues? #?\d+)|(?i:\bthis machine\b)")


def stale_mentions(text: str) -> list[str]:
    """The citations in ``text`` of documents, issues or machines a reader of the repository cannot see."""
    return [m.group(0) for m in STALE.finditer(text)]


def test_the_pattern_finds_stale_mentions_and_spares_docs_citations():
    assert stale_mentions("see SCIENCE.md and DESIGN.md (issue 12, Issue #3); on this machine") == [
        "SCIENCE.md", "DESIGN.md", "issue 12", "Issue #3", "this machine"]
    assert stale_mentions("see docs/science.md and docs/architecture.md; the issue of scale; a 2-core CPU") == []


def _files():
    this = Path(__file__).resolve()
    for top in SCANNED:
        for f in sorted((ROOT / top).rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and f.resolve() != this:
                try:
                    yield f, f.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    continue  # images, compiled files


def test_no_citation_of_documents_outside_the_repository():
    found = [f"{f.relative_to(ROOT)}:{text.count(chr(10), 0, text.find(m)) + 1}: {m}"
             for f, text in _files() for m in dict.fromkeys(stale_mentions(text))]
    missing = [d for d in REQUIRED_DOCS if not (ROOT / d).is_file()]
    assert not found and not missing, "\n".join(found + [f"missing: {d}" for d in missing])
