"""Memory a configuration needs, estimated before anything is allocated.

Without this a large ``problem.d`` or ``model.width`` ends deep inside numpy with an allocation error (tens of
GiB, or TiB) after the output folder is made.  :func:`check_memory` adds up the largest arrays a run allocates
-- the problem's data, the factors, their gradients and optimizer state -- and refuses a configuration that needs
more than the memory available now, with the size it would need and the key to lower.  The estimate counts only
the dominant arrays, so it is a lower bound: a refused config certainly does not fit.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ibviewer.core.config_fields import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from ibviewer.core.config import Config

#: bytes of one float64 entry
_F = 8
#: copies of the parameters alive while training: the factors, their gradients, two optimizer moments
_PARAM_COPIES = 4
#: bytes a factor costs beyond its entries, per copy: the array objects and the cached partial products of a
#: forward pass (a product of a million 1 x 1 factors is gigabytes of them)
_LAYER_OVERHEAD = 2048
#: bytes of a small numpy array object
_OBJECT = 112


def available_bytes() -> int:
    """Memory available to a new allocation now: ``MemAvailable`` of /proc/meminfo, else the free physical pages
    (os.sysconf), else no limit known (a very large number)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def format_bytes(n: float) -> str:
    """``n`` bytes as one reads it: 512 B, 3.2 MiB, 74 GiB, 728 TiB (sizes beyond a float read as 1e300)."""
    n = float(min(n, 10**300))
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


def _problem_arrays(cfg: "Config") -> list[tuple[float, str, str]]:
    """(bytes, what it is, the keys that size it) for the generated problem's largest arrays."""
    p = cfg.problem
    kind = p.kind
    if p.source:  # the file's own size decides; reading it is checked when it is read
        return []
    if kind == "matrix_sensing" and p.operator == "rank_one":
        from ibviewer.core.rank_one import operator_bytes

        return [(operator_bytes(p.measurements, p.d, _F), f"the {p.measurements} rank-one measurements a_i b_iᵀ "
                 f"of a {p.d} x {p.d} matrix (two {p.measurements} x {p.d} arrays and the products of a step)",
                 "problem.d or problem.measurements")]
    if kind == "matrix_sensing":
        return [(p.measurements * p.d * p.d * _F, f"the {p.measurements} x {p.d}² sensing matrices",
                 "problem.d or problem.measurements")]
    if kind in ("matrix_completion", "matrix_factorization"):
        return [(3 * p.d * p.d * _F, f"the {p.d} x {p.d} ground truth and its factors", "problem.d")]
    if kind == "tensor_completion":
        return [(4 * p.d**3 * _F, f"the {p.d} x {p.d} x {p.d} ground truth, observed values, mask and product",
                 "problem.d")]
    if kind == "sparse_recovery":
        return [(p.measurements * p.n * _F, f"the {p.measurements} x {p.n} measurement matrix",
                 "problem.n or problem.measurements")]
    if kind == "linear_regression":
        out = p.outputs or p.d
        return [((p.d + out) * p.samples * _F + out * p.d * _F, f"{p.samples} samples of dimension {p.d}",
                 "problem.d or problem.samples")]
    if kind == "logistic_separable":
        # drawn one sample at a time: each is an array object of its own until they are stacked
        return [(p.samples * (p.d * _F + 2 * _OBJECT), f"{p.samples} samples of dimension {p.d}",
                 "problem.d or problem.samples")]
    if kind in ("teacher_student", "digits"):
        d = 64 if kind == "digits" else p.d
        n = p.samples + p.test_samples
        return [(n * d * _F, f"{n} samples of dimension {d}", "problem.d, problem.samples or problem.test_samples")]
    return []


def _shape(cfg: "Config") -> tuple[int, int]:
    p = cfg.problem
    if p.kind == "sparse_recovery":
        return 1, p.n
    if p.kind == "linear_regression":
        return p.outputs or p.d, p.d
    if p.kind == "logistic_separable":
        return 1, p.d
    if p.kind == "razin_cohen":
        return 2, 2
    return p.d, p.d


def _param_arrays(cfg: "Config") -> list[tuple[float, str, str]]:
    """(bytes, what, keys) of the factors with their gradients and optimizer state."""
    m = cfg.model
    rows, cols = _shape(cfg)
    if cfg.family == "mlp":
        d = 64 if cfg.problem.kind == "digits" else cfg.problem.d
        widths = m.width if isinstance(m.width, list) else [m.width or d] * (m.depth - 1)
        dims = [d] + list(widths) + [10 if cfg.problem.kind == "digits" else 1]
        count = sum(a * b for a, b in zip(dims, dims[1:]))
        keys = "model.width or model.depth"
    elif cfg.family == "diagonal":
        count = 2 * m.depth * cols
        keys = "problem.n or model.depth"
    elif cfg.family == "tensor":
        # the factors, and the d² x R Khatri-Rao products of the forward pass and the gradients (three of them)
        d = cfg.problem.d
        size = _PARAM_COPIES * 3 * d * m.components * _F + 3 * d * d * m.components * _F
        return [(size, f"{_count(3 * d * m.components)} parameters in 3 factors and their d² x R Khatri-Rao "
                       "products", "model.components or problem.d")]
    else:
        width = m.width if isinstance(m.width, int) and m.width else max(rows, cols)
        count = width * (rows + cols) + max(m.depth - 2, 0) * width * width
        keys = "model.width, model.depth or problem.d"
    layers = m.depth * (2 if cfg.family == "diagonal" else 1)
    size = _PARAM_COPIES * (count * _F + layers * _LAYER_OVERHEAD)
    return [(size, f"{_count(count)} parameters in {layers} factors (with gradients and optimizer state)", keys)]


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"{float(min(n, 10**300)):.3g}"


def estimate_bytes(cfg: "Config") -> list[tuple[float, str, str]]:
    """The largest arrays a run of ``cfg`` allocates: (bytes, what it is, the keys that size it), largest first."""
    return sorted(_problem_arrays(cfg) + _param_arrays(cfg), key=lambda t: -t[0])


def check_memory(cfg: "Config", *, runs: int = 1, available: int | None = None) -> None:
    """Refuse (ConfigError, one line) a configuration whose arrays need more memory than is available: the size
    it would need, the largest array and the key to lower.  ``runs`` trained together share the problem."""
    parts = estimate_bytes(cfg)
    problem = sum(b for b, _, _ in _problem_arrays(cfg))
    total = problem + runs * (sum(b for b, _, _ in parts) - problem)
    free = available_bytes() if available is None else available
    if total > free:
        size, what, keys = parts[0]
        raise ConfigError(f"this configuration needs about {format_bytes(total)} of memory, more than the "
                          f"{format_bytes(free)} available ({what}: {format_bytes(size)}); lower {keys}")
