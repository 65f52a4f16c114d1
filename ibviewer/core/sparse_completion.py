"""Full-batch completion loss with a sparse gradient, for few observed entries of a large matrix.

The dense path forms ``(P - M) * mask`` (two d x d arrays kept besides P) and multiplies that d x d gradient into
the factors at BLAS speed: 2·d²·w multiply-adds for width w.  With Ω observed entries the gradient has only Ω
non-zeros; as a CSR matrix it goes into the factors in 2·Ω·w multiply-adds, at the lower speed of a sparse
product.  On one core (docs/benchmarks.md, "Sparse completion") the sparse gradient won at 3 % observed (1.7x at
d = 1,000 full width, 2.9x at width 20) and at 1 % (2.2x; 4.4x at d = 2,000 width 20), and lost at 10 % at full
width (0.88x), so the engine takes it when at most :data:`SPARSE_FRACTION` of the entries are observed, for
product models of depth >= 2 on numpy (their first gradient product turns it dense; a depth-1 model's
gradient is the matrix itself).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

#: the largest observed fraction of the entries for which the gradient is kept sparse
SPARSE_FRACTION = 0.03
#: the models whose gradient takes a CSR dL/dP: the products, and U Uᵀ, whose (G + Gᵀ) U is two CSR products
#: (1.29x at d = 1,000 width 20 and 1.09x at full width from 2 % observed, one core, float32)
SPARSE_MODELS = ("product", "symmetric")


def takes_sparse_gradient(kind: str, shape: tuple[int, ...], observed: int, depth: int, parametrization: str,
                          numpy_backend: bool) -> bool:
    """Whether full-batch completion of this run takes the sparse gradient."""
    return (kind == "matrix_completion" and numpy_backend and depth >= 2 and parametrization in SPARSE_MODELS
            and len(shape) == 2 and observed <= SPARSE_FRACTION * shape[0] * shape[1])


class SparseObserved:
    """The observed entries in CSR order: the residual at them gives the loss and the CSR gradient."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]):
        order = np.lexsort((cols, rows))  # row-major: the CSR order
        r, c = np.asarray(rows)[order], np.asarray(cols)[order]
        self.shape = (int(shape[0]), int(shape[1]))
        self.flat = r * self.shape[1] + c
        self.values = np.asarray(values)[order]
        self.indices = c.astype(np.int32)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=self.shape[0]))]).astype(np.int32)

    def __call__(self, P: np.ndarray) -> tuple[float, sparse.csr_array]:
        """0.5 Σ_Ω (P_ij − M_ij)² and its gradient in P, a CSR matrix with the residuals at Ω."""
        res = P.reshape(-1)[self.flat] - self.values
        G = sparse.csr_array((res, self.indices, self.indptr), shape=self.shape)
        return 0.5 * float(res @ res), G


def is_sparse(G) -> bool:
    return sparse.issparse(G)
