"""Where a run's arrays live: numpy on the CPU, or torch tensors (CPU or CUDA), and the thread limits.

The engine's models and optimizers are written once for numpy arrays and torch tensors alike
(:mod:`ibviewer.core.ops`); this module decides which of the two a run uses and converts arrays to it.
"""

from __future__ import annotations

import numpy as np

from ibviewer.core.config import Config, ConfigError


def limit_threads() -> None:
    """One BLAS thread and one torch thread: on a machine with two cores, two threads stall at random
    (``docs/architecture.md``).  Also what makes a run's numbers the same in the app's worker (one thread) and on
    the command line: a BLAS that splits a product over two threads may round it differently
    (docs/science.md, "Determinism").  Applied at every engine's start (it costs a fraction of a millisecond),
    not once per process: a caller's ``threadpool_limits`` context that ended since would have undone it."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` where torch sees a CUDA device, else ``cpu``; other names stay."""
    if device == "auto":
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:  # pragma: no cover
            return "cpu"
    return device


class Backend:
    """The array library (``name``: numpy or torch), device and float type of one run."""

    def __init__(self, cfg: Config):
        self.device = resolve_device(cfg.run.device)
        name = cfg.run.backend
        if name == "auto":
            name = "numpy" if self.device == "cpu" else "torch"
        if name == "numpy" and self.device != "cpu":
            raise ConfigError(f"run.backend = 'numpy' runs on the CPU only; run.device = {self.device!r} needs "
                              "run.backend = torch or auto")
        self.name = name
        self.np_dtype = np.float64 if cfg.run.dtype == "float64" else np.float32
        self.torch = None
        if name == "torch":
            import torch

            torch.set_num_threads(1)
            if self.device == "cuda" and not torch.cuda.is_available():
                raise ConfigError("run.device = 'cuda' but torch sees no CUDA device; use run.device = cpu or auto")
            self.torch = torch
            self.torch_dtype = torch.float64 if cfg.run.dtype == "float64" else torch.float32

    def array(self, a):
        """``a`` as an array of this backend (float arrays in the run's float type)."""
        a = np.asarray(a)
        if a.dtype.kind == "f":
            a = a.astype(self.np_dtype)
        if self.torch is None:
            return a
        t = self.torch.from_numpy(np.ascontiguousarray(a))
        if t.is_floating_point():
            t = t.to(self.torch_dtype)
        return t.to(self.device)

    def index(self, idx: np.ndarray):
        """An index array for this backend (minibatch rows)."""
        if self.torch is None:
            return idx
        return self.torch.from_numpy(idx).to(self.device)
