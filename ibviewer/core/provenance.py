"""What made a result: the versions of ibviewer, numpy, torch, scipy and numba, the BLAS numpy calls and its
thread count, recorded in every summary.json so that a figure can be reproduced (another BLAS, or the same one
on more threads, may round the last bit differently: docs/science.md, "Determinism")."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from typing import Any


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def blas_libraries() -> list[dict[str, Any]]:
    """The BLAS/OpenMP libraries loaded now (threadpoolctl): their API, implementation, version and threads."""
    import numpy as np  # noqa: F401  (loads numpy's BLAS, so that threadpoolctl sees it)
    from threadpoolctl import threadpool_info

    keep = ("user_api", "internal_api", "version", "num_threads", "threading_layer", "architecture")
    return [{k: info[k] for k in keep if k in info} for info in threadpool_info()]


def versions() -> dict[str, Any]:
    """ibviewer (the code that ran, not whatever copy is installed), numpy, torch, scipy (the reference solutions)
    and numba (the compiled pm_power step) when installed (None otherwise), Python, the platform, the BLAS in use
    with its threads, and torch's threads when torch is loaded."""
    import numpy as np

    import ibviewer

    torch = sys.modules.get("torch")
    return {
        "ibviewer": ibviewer.__version__,
        "numpy": np.__version__,
        "torch": _version("torch"),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "scipy": _version("scipy"),
        "numba": _version("numba"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "blas": blas_libraries(),
    }
