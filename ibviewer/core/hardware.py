"""The CPU caches of the machine the engine runs on, read at run time.

The blocked and banded least-squares losses (:mod:`ibviewer.core.problems`) size their blocks to stay in a core's
L2 cache between two reads, and that cache is 1 MiB on some cores and 2 MiB or more on others
(docs/benchmarks.md): a size fixed for one machine is wrong on the next.  The sizes come from Linux's
``/sys/devices/system/cpu/cpu0/cache/index*/{level,type,size}``; where that is not readable (macOS, Windows, a
container hiding /sys) :data:`FALLBACK_L2_BYTES` stands in, and :func:`l2_cache` says which of the two it is.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

#: the L2 size assumed where the machine does not say (1 MiB: the smaller of the sizes current x86 cores have)
FALLBACK_L2_BYTES = 1 << 20
#: where Linux describes cpu0's caches
SYSFS_CACHE = Path("/sys/devices/system/cpu/cpu0/cache")

_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int | None:
    """``"2048K"`` -> 2097152, ``"480M"``, ``"4096"`` (bytes); None for anything else."""
    t = text.strip().upper()
    mult = _UNITS.get(t[-1:], 1) if t else 1
    digits = t[:-1] if t[-1:] in _UNITS else t
    return int(digits) * mult if digits.isdigit() else None


def cpu_caches(root: Path = SYSFS_CACHE) -> list[dict[str, Any]]:
    """cpu0's caches as ``{"level", "type", "bytes"}`` (type: Data, Instruction or Unified), by level; [] where
    the system does not describe them."""
    out = []
    try:
        entries = sorted(root.glob("index*"))
    except OSError:
        return []
    for entry in entries:
        try:
            level = int((entry / "level").read_text().strip())
            kind = (entry / "type").read_text().strip()
            size = parse_size((entry / "size").read_text())
        except (OSError, ValueError):
            continue
        if size:
            out.append({"level": level, "type": kind, "bytes": size})
    return sorted(out, key=lambda c: (c["level"], c["type"]))


def l2_cache(root: Path = SYSFS_CACHE) -> dict[str, Any]:
    """The L2 cache that holds data: ``{"bytes", "level", "type", "source"}`` with source ``sysfs``, or the
    fallback (``source: "fallback"``) where no level-2 data or unified cache is described."""
    for c in cpu_caches(root):
        if c["level"] == 2 and c["type"] in ("Unified", "Data"):
            return {**c, "source": "sysfs"}
    return {"level": 2, "type": "Unified", "bytes": FALLBACK_L2_BYTES, "source": "fallback"}


@functools.lru_cache(maxsize=1)
def l2_bytes() -> int:
    """Bytes of the L2 cache of the CPU running this process (read once per process; :data:`FALLBACK_L2_BYTES`
    where unknown)."""
    return int(l2_cache()["bytes"])


def describe_caches(root: Path = SYSFS_CACHE) -> str:
    """The caches in one line, e.g. ``L1 Data 48 KiB, L1 Instruction 64 KiB, L2 Unified 2 MiB, ...``."""
    from ibviewer.core.sizing import format_bytes

    caches = cpu_caches(root)
    if not caches:
        return f"not described by the system (L2 assumed {format_bytes(FALLBACK_L2_BYTES)})"
    return ", ".join(f"L{c['level']} {c['type']} {format_bytes(c['bytes'])}" for c in caches)
