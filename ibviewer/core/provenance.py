"""What made a result: the versions of ibviewer, numpy and torch and the BLAS numpy calls, recorded in every
summary.json so that a figure can be reproduced (another BLAS may round the last bit differently)."""

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
    """ibviewer, numpy, torch (when installed; None otherwise), Python, the platform and the BLAS in use."""
    import numpy as np

    return {
        "ibviewer": _version("ibviewer"),
        "numpy": np.__version__,
        "torch": _version("torch"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "blas": blas_libraries(),
    }
