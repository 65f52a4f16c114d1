"""A quick look at a session file without loading it (the worker loads it): is it a session this ibviewer reads?

The core (:mod:`ibviewer.session`) is the reference; this only reads ``session.json`` from the zip, so that the
command line and the window can refuse a wrong file at once, in one line.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from ibviewer.session import FORMAT, LOADERS, SessionError


def peek_session(path: str | Path) -> dict[str, Any]:
    """The session's ``session.json`` (format checked); raises SessionError with a one-line reason."""
    path = Path(path)
    if not path.is_file():
        raise SessionError(f"session file {str(path)!r} does not exist")
    try:
        with zipfile.ZipFile(path) as z:
            try:
                doc = json.loads(z.read("session.json"))
            except KeyError:
                raise SessionError(f"{str(path)!r} is not an ibviewer session (no session.json inside)") from None
    except zipfile.BadZipFile:
        raise SessionError(f"{str(path)!r} is not an ibviewer session (not a zip archive)") from None
    except (OSError, ValueError) as exc:
        if isinstance(exc, SessionError):
            raise
        raise SessionError(f"{str(path)!r} cannot be read: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"{str(path)!r} is not an ibviewer session")
    version = doc.get("version")
    if version not in LOADERS:
        newest = max(LOADERS)
        newer = isinstance(version, int) and version > newest
        raise SessionError(f"{str(path)!r} is session format {version}; this ibviewer reads formats 1 to {newest}"
                           + (" (it was written by a newer ibviewer: update ibviewer)" if newer else ""))
    return doc
