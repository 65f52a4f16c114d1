"""Rank-one measurements for matrix sensing: y_i = <a_i b_i^T, W> = a_i^T W b_i, applied without the dense operator.

``problem.operator = rank_one`` draws Gaussian a_i, b_i and keeps them as two m x d arrays ``left`` and ``right``
(2 m d numbers instead of the dense operator's m d^2).  Both are scaled by m^(-1/4), so that the measurement
matrices a_i b_i^T carry the dense operator's 1/sqrt(m) per entry: E <A_i, W>^2 = ||W||_F^2 / m for both, and
the sensing presets' step sizes carry over (docs/science.md).

Applied as matrix products: the measurements are the row sums of (left W) * right (one m x d x d product), and
the gradient of 0.5 ||A(W) - y||^2 is left^T diag(r) right (another), exactly the dense operator's A^T r reshaped.
The functions work on numpy arrays and torch tensors alike, on one product W or a stack of them (R, d, d).

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


def measure(left, right, P):
    """<a_i b_i^T, P> for every i: row sums of (left P) * right; P may be a stack (R, d, d) -> (R, m)."""
    lp = left @ P
    if isinstance(lp, np.ndarray):  # without the m x d temporary of the product: twice as fast
        return np.einsum("...ij,ij->...i", lp, right)
    return (lp * right).sum(-1)


def adjoint(left, right, r):
    """sum_i r_i a_i b_i^T = left^T diag(r) right; r may be a stack (R, m) -> (R, d, d)."""
    return left.T @ (r[..., None] * right)


def dense_operator(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The m x d^2 dense operator of the same measurements (row i = vec(a_i b_i^T), row-major); for checks on
    small sizes only."""
    m, d = left.shape
    return np.einsum("ij,ik->ijk", left, right).reshape(m, d * d)


def operator_bytes(m: int, d: int, itemsize: int = 8) -> int:
    """Bytes of the stored operator and the two m x d products a loss evaluation makes."""
    return 4 * m * d * itemsize


# ------------------------------------------------------------------------------------------ references
def _linear_operator(left: np.ndarray, right: np.ndarray):
    from scipy.sparse.linalg import LinearOperator

    m, d = left.shape
    return LinearOperator(
        (m, d * d), dtype=np.float64,
        matvec=lambda x: measure(left, right, np.reshape(x, (d, d))),
        rmatvec=lambda r: adjoint(left, right, np.ravel(r)).ravel(),
    )


def min_l2(left: np.ndarray, right: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin ||X||_F s.t. A(X) = y (least squares for an inconsistent system), by LSQR from zero: its iterates
    stay in the row space of A, so it converges to the minimum-norm solution."""
    from scipy.sparse.linalg import lsqr

    d = left.shape[1]
    x = lsqr(_linear_operator(left, right), y, atol=1e-14, btol=1e-14, iter_lim=20 * len(y))[0]
    return x.reshape(d, d)


def projector(left: np.ndarray, right: np.ndarray, y: np.ndarray):
    """Projection onto {X : A(X) = y}: X - A^T G^+ (A(X) - y) with the Gram matrix G = A A^T =
    (left left^T) * (right right^T), factored once (a pseudo-inverse through its eigendecomposition, so
    dependent measurements are handled)."""
    g = (left @ left.T) * (right @ right.T)
    evals, evecs = np.linalg.eigh(g)
    keep = evals > evals[-1] * len(y) * np.finfo(float).eps
    vk, inv = evecs[:, keep], 1.0 / evals[keep]

    def project(x):
        r = measure(left, right, x) - y
        return x - adjoint(left, right, vk @ (inv * (vk.T @ r)))

    return project
