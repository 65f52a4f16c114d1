"""Rank-one measurements for matrix sensing: y_i = <a_i b_i^T, W> = a_i^T W b_i, applied without the dense operator.

``problem.operator = rank_one`` draws Gaussian a_i, b_i and keeps them as two m x d arrays ``left`` and ``right``
(2 m d numbers instead of the dense operator's m d^2).  Both are scaled by m^(-1/4), so that the measurement
matrices a_i b_i^T carry the dense operator's 1/sqrt(m) per entry: E <A_i, W>^2 = ||W||_F^2 / m for both, and
the sensing presets' step sizes carry over (docs/science.md).

Applied as matrix products: the measurements are the row sums of (left W) * right (one m x d x d product), and
the gradient of 0.5 ||A(W) - y||^2 is left^T diag(r) right (another), exactly the dense operator's A^T r reshaped.
The functions work on numpy arrays and torch tensors alike, on one product W or a stack of them (R, d, d).

With ``problem.symmetric`` the measurement matrices are symmetric, (a_i b_i^T + b_i a_i^T)/2, the setting of the
symmetric model W = U U^T: a measurement reads the symmetric part of W, (W + W^T)/2, and the adjoint is the
symmetric part of the plain one.  On a symmetric W they agree with the plain measurements, so the scaling is the
same (E <A_i, W>^2 = ||W||_F^2 / m).

The references do not form the dense operator either: the min-Frobenius interpolant by LSQR on a
:class:`scipy.sparse.linalg.LinearOperator`, and the projection that the min-nuclear-norm ADMM needs through the
m x m Gram matrix (left left^T) * (right right^T), which is formed only up to :data:`NUCLEAR_MAX_MEASUREMENTS`.
"""

from __future__ import annotations

import numpy as np

#: the min-nuclear-norm reference of rank-one sensing is computed up to this many measurements (its m x m Gram
#: matrix: 32 MB in float64); the size limit of every matrix kind applies too (ibviewer.core.references)
NUCLEAR_MAX_MEASUREMENTS = 2000
#: the min-l2 reference (LSQR, each iteration two m x d x d products) is computed up to m d^2 = this many
#: multiply-adds per product (d = 200 with m = 25,000; d = 1,000 with m = 2,000): a few seconds to a minute
MIN_L2_MAX_WORK = 10**9


def draw(w: np.ndarray, m: int, noise: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The data of m rank-one measurements of ``w`` (d x d): ``left``, ``right`` (m x d) and ``y`` (m)."""
    d = w.shape[0]
    scale = m ** -0.25
    left = rng.standard_normal((m, d)) * scale
    right = rng.standard_normal((m, d)) * scale
    y = measure(left, right, w) + noise * rng.standard_normal(m)
    return {"left": left, "right": right, "y": y}


def symmetric_part(P):
    """(P + P^T) / 2, for one matrix or a stack (R, d, d)."""
    return 0.5 * (P + (P.T if P.ndim == 2 else P.mT))


def measure(left, right, P, symmetric: bool = False):
    """<a_i b_i^T, P> for every i: row sums of (left P) * right; P may be a stack (R, d, d) -> (R, m).
    ``symmetric``: <(a_i b_i^T + b_i a_i^T) / 2, P>, the same of P's symmetric part."""
    lp = left @ (symmetric_part(P) if symmetric else P)
    if isinstance(lp, np.ndarray):  # without the m x d temporary of the product: twice as fast
        return np.einsum("...ij,ij->...i", lp, right)
    return (lp * right).sum(-1)


def adjoint(left, right, r, symmetric: bool = False):
    """sum_i r_i a_i b_i^T = left^T diag(r) right; r may be a stack (R, m) -> (R, d, d).  ``symmetric``: the sum
    of r_i (a_i b_i^T + b_i a_i^T) / 2, the symmetric part of the same."""
    g = left.T @ (r[..., None] * right)
    return symmetric_part(g) if symmetric else g


def dense_operator(left: np.ndarray, right: np.ndarray, symmetric: bool = False) -> np.ndarray:
    """The m x d^2 dense operator of the same measurements (row i = vec(a_i b_i^T), or of the symmetric
    measurement matrices; row-major); for checks on small sizes only."""
    m, d = left.shape
    rows = np.einsum("ij,ik->ijk", left, right)
    if symmetric:
        rows = 0.5 * (rows + rows.transpose(0, 2, 1))
    return rows.reshape(m, d * d)


def operator_bytes(m: int, d: int, itemsize: int = 8) -> int:
    """Bytes of the stored operator and the two m x d products a loss evaluation makes."""
    return 4 * m * d * itemsize


# ------------------------------------------------------------------------------------------ references
def _linear_operator(left: np.ndarray, right: np.ndarray, symmetric: bool = False):
    from scipy.sparse.linalg import LinearOperator

    m, d = left.shape
    return LinearOperator(
        (m, d * d), dtype=np.float64,
        matvec=lambda x: measure(left, right, np.reshape(x, (d, d)), symmetric),
        rmatvec=lambda r: adjoint(left, right, np.ravel(r), symmetric).ravel(),
    )


def min_l2(left: np.ndarray, right: np.ndarray, y: np.ndarray, symmetric: bool = False) -> np.ndarray:
    """argmin ||X||_F s.t. A(X) = y (least squares for an inconsistent system), by LSQR from zero: its iterates
    stay in the row space of A, so it converges to the minimum-norm solution."""
    from scipy.sparse.linalg import lsqr

    d = left.shape[1]
    x = lsqr(_linear_operator(left, right, symmetric), y, atol=1e-14, btol=1e-14, iter_lim=20 * len(y))[0]
    return x.reshape(d, d)


def gram(left: np.ndarray, right: np.ndarray, symmetric: bool = False) -> np.ndarray:
    """A A^T, m x m, without A: <a_i b_i^T, a_j b_j^T> = (a_i . a_j)(b_i . b_j); for the symmetric measurements
    the mean of that and (a_i . b_j)(b_i . a_j)."""
    g = (left @ left.T) * (right @ right.T)
    if symmetric:
        g = 0.5 * (g + (left @ right.T) * (right @ left.T))
    return g


def projector(left: np.ndarray, right: np.ndarray, y: np.ndarray, symmetric: bool = False):
    """Projection onto {X : A(X) = y}: X - A^T G^+ (A(X) - y) with the Gram matrix G = A A^T (:func:`gram`),
    factored once (a pseudo-inverse through its eigendecomposition, so dependent measurements are handled)."""
    evals, evecs = np.linalg.eigh(gram(left, right, symmetric))
    keep = evals > evals[-1] * len(y) * np.finfo(float).eps
    vk, inv = evecs[:, keep], 1.0 / evals[keep]

    def project(x):
        r = measure(left, right, x, symmetric) - y
        return x - adjoint(left, right, vk @ (inv * (vk.T @ r)), symmetric)

    return project
