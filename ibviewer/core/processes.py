"""A process's children, read from /proc (Linux): the encoders and workers a command or the app started."""

from __future__ import annotations

import os
from pathlib import Path


def child_processes(parent: int | None = None) -> list[tuple[int, str]]:
    """(pid, command line) of the live (not zombie) children of ``parent`` (default: this process); empty where
    there is no /proc."""
    parent = os.getpid() if parent is None else parent
    out = []
    proc = Path("/proc")
    if not proc.is_dir():
        return out
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == parent and fields[0] != "Z":
            out.append((int(entry.name), cmd))
    return out
