"""The quantities of the theory, computed from a product matrix, a vector or the factors (numpy, float64)."""

from __future__ import annotations

import weakref

import numpy as np


def effective_ranks(s: np.ndarray) -> dict[str, float]:
    """Three effective ranks of a spectrum ``s`` (singular values, any order).

    entropy: exp(H(s/||s||_1)) (Roy & Vetterli); nuclear_over_operator: ||W||_*/||W||_op;
    stable: ||W||_F^2/||W||_op^2.  All are 0 for the zero matrix.
    """
    s = np.abs(np.asarray(s, dtype=float))
    total = s.sum()
    top = s.max() if s.size else 0.0
    if not total > 0:
        return {"entropy": 0.0, "nuclear_over_operator": 0.0, "stable": 0.0}
    p = s / total
    nz = p[p > 0]
    h = -(nz * np.log(nz)).sum()
    return {
        "entropy": float(np.exp(h)),
        "nuclear_over_operator": float(total / top),
        "stable": float(((s / top) ** 2).sum()),  # s^2 / top^2 underflows to 0 / 0 for s near 1e-300
    }


def finite_or_none(v) -> float | None:
    """``v`` as a float for JSON (``summary.json``), None where it is missing, NaN or infinite."""
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def numerical_rank(s: np.ndarray, tol: float) -> int:
    """Number of singular values above ``tol`` times the largest."""
    s = np.asarray(s, dtype=float)
    if s.size == 0 or not s.max() > 0:
        return 0
    return int((s > tol * s.max()).sum())


def matrix_norms(s: np.ndarray, depth: int) -> dict[str, float]:
    """||W||_F, ||W||_*, ||W||_op and sum sigma^{2/N} from the singular values."""
    s = np.asarray(s, dtype=float)
    return {
        "fro": float(np.sqrt((s * s).sum())),
        "nuclear": float(s.sum()),
        "operator": float(s.max()) if s.size else 0.0,
        "sum_sigma_2_over_n": float((s ** (2.0 / depth)).sum()),
    }


def balancedness(factors: list[np.ndarray]) -> list[np.ndarray]:
    """D_j = W_{j+1}^T W_{j+1} - W_j W_j^T for consecutive layers (or w_{j+1}^2 - w_j^2 for vectors)."""
    out = []
    for a, b in zip(factors[:-1], factors[1:]):
        if a.ndim == 1:
            out.append(b * b - a * a)
        else:
            out.append(b.T @ b - a @ a.T)
    return out


def relative_distance(x: np.ndarray, ref: np.ndarray) -> float:
    """||x - ref|| / ||ref|| (Frobenius / Euclidean); ||x|| if the reference is 0."""
    den = np.linalg.norm(ref)
    num = np.linalg.norm(np.asarray(x) - ref)
    return float(num / den) if den > 0 else float(num)


def angle_degrees(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if not (na > 0 and nb > 0):
        return 90.0
    c = float(np.clip(a.ravel() @ b.ravel() / (na * nb), -1.0, 1.0))
    return float(np.degrees(np.arccos(c)))


def normalized_margin(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """min_i y_i <w, x_i> / ||w||."""
    nw = np.linalg.norm(w)
    if not nw > 0:
        return 0.0
    return float((y * (x @ w)).min() / nw)


def half_times(series: np.ndarray, steps: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each column i, the first step at which series[:, i] reaches half of targets[i] (NaN if never)."""
    out = np.full(len(targets), np.nan)
    for i, t in enumerate(targets):
        hit = np.nonzero(series[:, i] >= 0.5 * t)[0]
        if hit.size:
            out[i] = steps[hit[0]]
    return out


#: id of a target array -> (a weak reference to it, its singular values): the worker looks for events twice a
#: second, and a 1,000 x 1,000 target's spectrum takes half a second
_SPECTRA: dict[int, tuple[weakref.ref, np.ndarray]] = {}


def target_spectrum(target: np.ndarray) -> np.ndarray:
    """The singular values of a ground-truth matrix, computed once per array object (targets are not changed in
    place; an array that is gone, or a new one at the same address, is computed again)."""
    hit = _SPECTRA.get(id(target))
    if hit is not None and hit[0]() is target:
        return hit[1]
    sv = np.linalg.svd(np.asarray(target, float), compute_uv=False)
    sv.setflags(write=False)  # shared by every caller: read only
    for key in [k for k, (ref, _) in _SPECTRA.items() if ref() is None]:
        del _SPECTRA[key]
    try:
        _SPECTRA[id(target)] = (weakref.ref(target), sv)
    except TypeError:  # not weakly referenceable (a view of a foreign buffer): not cached
        pass
    return sv
