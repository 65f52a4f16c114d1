"""The few array operations whose spelling differs between numpy and torch.

Everything else the models need (``@``, ``*``, ``.T``, ``.sum()``, ``.reshape``, integer indexing, in-place
arithmetic) is written once and runs on either library.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit as _np_expit


def _is_np(a) -> bool:
    return isinstance(a, np.ndarray)


def zeros_like(a):
    if _is_np(a):
        return np.zeros_like(a)
    import torch

    return torch.zeros_like(a)


def expit(z):
    if _is_np(z):
        return _np_expit(z)
    import torch

    return torch.sigmoid(z)


def softplus_neg(z):
    """log(1 + exp(-z)), stable for large |z|."""
    if _is_np(z):
        return np.logaddexp(0.0, -z)
    import torch

    return torch.nn.functional.softplus(-z)


def sqrt(a):
    if _is_np(a):
        return np.sqrt(a)
    import torch

    return torch.sqrt(a)


def to_numpy(a) -> np.ndarray:
    if _is_np(a):
        return a
    return a.detach().cpu().numpy()
