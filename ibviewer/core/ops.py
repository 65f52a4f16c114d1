"""The few array operations whose spelling differs between numpy and torch.

Everything else the models need (``@``, ``*``, ``.T``, ``.sum()``, ``.reshape``, integer indexing, in-place
arithmetic) is written once and runs on either library.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit as _np_expit


def _is_np(a) -> bool:
    return isinstance(a, (np.ndarray, np.generic, float, int))


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


def relu(z):
    if _is_np(z):
        return np.maximum(z, 0.0)
    return z.clamp_min(0.0)


def step(z):
    """Heaviside step (the derivative of relu) as a float array."""
    return (z > 0) * 1.0


def tanh(z):
    if _is_np(z):
        return np.tanh(z)
    return z.tanh()


def exp(z):
    if _is_np(z):
        return np.exp(z)
    return z.exp()


def row_norms(v):
    if _is_np(v):
        return np.sqrt((v * v).sum(axis=1))
    return v.norm(dim=1)


def logsumexp_rows(z):
    if _is_np(z):
        m = z.max(axis=1)
        return m + np.log(np.exp(z - m[:, None]).sum(axis=1))
    return z.logsumexp(dim=1)


def argmax_rows(z):
    if _is_np(z):
        return z.argmax(axis=1)
    return z.argmax(dim=1)


def arange_like(ref, n):
    if _is_np(ref):
        return np.arange(n)
    import torch

    return torch.arange(n, device=ref.device)
