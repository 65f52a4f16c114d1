"""The top singular values of a large product, by subspace iteration warm-started from the previous record.

A full spectrum of a 1,000 x 1,000 product takes about half a second on one core: at one record every 25 steps it
halved the training rate (docs/benchmarks.md, "Large problems").  The panels and the theory need the leading values
(the learned ones, a few more, and the level of the rest), so above :data:`FULL_SVD_MAX` the metrics take the top
:data:`TOP_K` values only (docs/science.md, "Metrics at large sizes").

The first record takes one full SVD, which gives the top right singular subspace exactly.  Between two records
the product moves little, so that subspace is a very good start for the next: a round of subspace iteration
(two products with a block of :data:`TOP_K` + :data:`OVERSAMPLE` columns and a small SVD) then refines it, until
the top values agree to :data:`RTOL` of the largest from one round to the next or :data:`MAX_ROUNDS` rounds are
done.  Values that stand apart (the learned ones) come out to rounding; the bulk below them, with no gap to
converge on, within a percent or two, from below (docs/science.md gives the measured errors).
"""

from __future__ import annotations

import numpy as np

#: how many singular values are computed above FULL_SVD_MAX (the spectrum panel focuses on the first r + 2)
TOP_K = 64
#: extra columns of the iterated block: the top K converge at the rate (sigma_{K+P} / sigma_K)^(2 q)
OVERSAMPLE = 16
#: the full SVD is kept while the smaller side is at most this: up to here it costs about as much as the rounds
FULL_SVD_MAX = 4 * (TOP_K + OVERSAMPLE)
#: stop when no top value moves by more than this, relative to the largest, between two rounds
RTOL = 1e-9
MAX_ROUNDS = 6


def uses_top_spectrum(shape: tuple[int, ...]) -> bool:
    """Whether a product of this shape gets its top values only (its smaller side is above FULL_SVD_MAX)."""
    return len(shape) == 2 and min(shape) > FULL_SVD_MAX


class TopSpectrum:
    """Tracks the top ``k`` singular values of a sequence of matrices of one shape (one run's records)."""

    def __init__(self, shape: tuple[int, int], k: int = TOP_K):
        self.shape = shape
        self.k = min(k, min(shape))
        self.block = min(self.k + OVERSAMPLE, min(shape))
        self.basis: np.ndarray | None = None  # orthonormal columns spanning the last right singular subspace
        self.rounds = 0  # rounds taken at the last call (a figure for benchmarks)

    def reset(self) -> None:
        self.basis = None

    def __call__(self, w: np.ndarray) -> np.ndarray:
        """The top ``k`` singular values of ``w``, descending."""
        w = np.asarray(w)
        if self.basis is None or not np.all(np.isfinite(self.basis)):
            _, s, vt = np.linalg.svd(w, full_matrices=False)  # the first record: exact, and the subspace to track
            self.basis = vt[: self.block].T.copy()
            self.rounds = 0
            return s[: self.k]
        v = self.basis
        prev = None
        s = np.zeros(self.k)
        for r in range(1, MAX_ROUNDS + 1):
            q = np.linalg.qr(w @ v)[0]  # left subspace
            b = q.T @ w  # block x n: its singular values approximate the top ones of w
            _, sb, vt = np.linalg.svd(b, full_matrices=False)
            v = vt.T  # the refined right subspace, ordered by singular value
            s = sb[: self.k]
            self.rounds = r
            if prev is not None and np.max(np.abs(s - prev)) <= RTOL * max(float(s[0]), np.finfo(float).tiny):
                break
            prev = s
        if np.all(np.isfinite(v)):
            self.basis = v
        return s


def thin_product_spectrum(factors: list[np.ndarray], k: int) -> np.ndarray | None:
    """The top ``k`` singular values of ``W_N ... W_1`` from its factors, exactly, when an inner width w is
    below ``k`` (the product's rank is at most w): ``W_N = Q R`` and the singular values of ``R W_{N-1} ... W_1``
    (w x d), then zeros.  O(d·w²) instead of rounds of products with a d x d matrix.  None when no inner width is
    below ``k``."""
    if len(factors) < 2 or min(w.shape[0] for w in factors[:-1]) >= k:
        return None
    _, r = np.linalg.qr(factors[-1])
    m = r
    for w in factors[-2::-1]:
        m = m @ w
    s = np.linalg.svd(m, compute_uv=False)
    out = np.zeros(k)
    out[: min(k, s.size)] = s[:k]
    return out