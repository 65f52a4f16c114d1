"""Fast paths for full-batch gradient descent on the CPU: the engine's own steps, in fewer and cheaper calls.

Between two recorded steps the engine needs of a step only its loss (for the stop conditions) and the update.
A fast path takes such a run of steps in one call, ``run(params, n, lr, wd, limit, tol)``: at every step it
computes the loss at the current parameters, stops *before* updating when the loss is not finite, exceeds
``limit`` or is at most ``tol`` (the engine's general loop then takes that step and stops the run with its
message), and otherwise takes the gradient step.  It returns the number of updates taken.

* :class:`ProductGD` -- ``W_N ... W_1`` on any loss: the layers are packed into one flat array for the update,
  the products and gradients are written into preallocated arrays.  Its arithmetic is the general loop's, so
  both give the same iterates, bit for bit.
* :class:`PMPowerGD` -- ``x = u^N - v^N`` on a least-squares loss (sparse recovery): a compiled kernel (numba)
  that reads the measurement matrix once per step instead of twice: for each coordinate j it forms
  ``g_j = <a_j, r>``, updates ``u_j, v_j`` and adds the new ``x_j a_j`` to the next residual while ``a_j`` is in
  the L1 cache.  It keeps the residual of the parameters it leaves, so that the record the engine takes there
  (``evaluate(params)``: the state, loss and gradients, or None for other parameters) and the next call start
  from it.  Without numba this fast path is off and the general loop runs.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse


def _stop(loss: float, limit: float, tol: float) -> bool:
    return not math.isfinite(loss) or loss > limit or (tol > 0 and loss <= tol)


class ProductGD:
    """Full-batch GD on ``W_N ... W_1`` for one run, or for a stack of ``runs`` runs trained together
    (:class:`ibviewer.core.compare.Batch`; every array then has a leading axis of runs)."""

    def __init__(self, model, head, dtype, runs: int | None = None):
        self.model, self.head = model, head
        self.runs = runs
        lead = () if runs is None else (runs,)
        shapes = model.shapes
        sizes = [r * c for r, c in shapes]
        offsets = np.cumsum([0] + sizes)
        self.flat = np.empty(lead + (offsets[-1],), dtype)
        self.gflat = np.empty(lead + (offsets[-1],), dtype)
        self.tmp = np.empty(lead + (offsets[-1],), dtype)
        self.W = [self.flat[..., a:b].reshape(lead + s) for a, b, s in zip(offsets[:-1], offsets[1:], shapes)]
        self.gW = [self.gflat[..., a:b].reshape(lead + s) for a, b, s in zip(offsets[:-1], offsets[1:], shapes)]
        cols = shapes[0][1]
        n = len(shapes)
        # rights[j] = W_{j-1} ... W_1 (rights[1] is W_1 itself); the product goes into `prod`
        self.rights = [None, self.W[0]] + [np.empty(lead + (shapes[j - 1][0], cols), dtype) for j in range(2, n)]
        self.prod = np.empty(lead + (shapes[-1][0], cols), dtype) if n > 1 else self.W[0]
        # lefts[j] = W_{j+1}^T ... W_N^T G; the last one (j = 0) is the gradient of W_1
        self.lefts = [self.gW[0]] + [np.empty(lead + (shapes[j][0], cols), dtype) for j in range(1, n - 1)]
        # a stack multiplies a right-transposed operand ~1.6x slower than a contiguous one: copy it first
        self.rightsT = None
        if runs is not None:
            self.rightsT = [None] + [np.empty(lead + (cols, shapes[j - 1][0]), dtype) for j in range(1, n)]

    def run(self, params, n: int, lr, wd: float, limit, tol) -> int:
        """Up to ``n`` steps; ``params`` (one run) are copied in and out; a stack (``params`` None) trains
        :attr:`W` in place, with ``lr`` one number or an array shaped like :attr:`flat`, and per-run arrays
        ``limit`` and ``tol`` (runs,)."""
        W, gW, rights, lefts, rightsT = self.W, self.gW, self.rights, self.lefts, self.rightsT
        stack = params is None
        depth = len(W)
        if not stack:
            for w, p in zip(W, params):
                np.copyto(w, p)
        # 2-D: np.dot reaches BLAS with a third less overhead than np.matmul (1.1 against 1.5 us for 30 x 30)
        mm = np.matmul if stack else np.dot
        finite_check = stack and not np.isfinite(limit).all()
        done = 0
        while done < n:
            for j in range(2, depth):
                mm(W[j - 1], rights[j - 1], out=rights[j])
            if depth > 1:
                mm(W[-1], rights[-1], out=self.prod)
            if stack:
                loss, G = self.head.batched(self.prod)
                # NaN compares false; limits are finite once the runs have their first record
                if not ((loss <= limit) & (loss > tol)).all() or (finite_check and not np.isfinite(loss).all()):
                    break
            else:
                loss, G = self.head(self.prod)
                if _stop(loss, limit, tol):
                    break
            if depth == 1:
                np.copyto(gW[0], G)
            left = G
            for j in range(depth - 1, 0, -1):
                if sparse.issparse(left):  # few observed entries (ibviewer.core.sparse_completion): CSR products
                    gW[j][...] = left @ rights[j].T
                    lefts[j - 1][...] = W[j].T @ left
                    left = lefts[j - 1]
                    continue
                if stack:
                    np.copyto(rightsT[j], rights[j].mT)
                    mm(left, rightsT[j], out=gW[j])
                else:
                    mm(left, rights[j].mT, out=gW[j])
                mm(W[j].mT, left, out=lefts[j - 1])
                left = lefts[j - 1]
            if wd:
                np.multiply(self.flat, wd, out=self.tmp)
                self.gflat += self.tmp
            self.gflat *= lr
            self.flat -= self.gflat
            done += 1
        if not stack:
            for w, p in zip(W, params):
                np.copyto(p, w)
        return done


# ---------------------------------------------------------------------------------------------- pm_power kernel
_PM_KERNEL = None


def _pm_kernel():
    """The compiled pm_power kernel (:mod:`ibviewer.core._pmkernel`), or None without numba or where it does not
    compile.  Compiled on first use (about 2 s) and cached on disk by numba; later processes load it."""
    global _PM_KERNEL
    if _PM_KERNEL is not None:
        return _PM_KERNEL or None
    try:
        from ibviewer.core._pmkernel import kernel
    except ImportError:  # pragma: no cover (numba is a dependency; this keeps the engine usable without it)
        _PM_KERNEL = False
        return None
    try:  # compile (or load) now, for float64: a machine where that fails trains on the general loop
        at, y = np.ones((4, 2)), np.ones(2)
        kernel(at, y, np.ones(4), np.ones(4), 2, 0.1, 0.0, 1, np.inf, 0.0, np.zeros(2), np.zeros(2), np.zeros(4), 0)
    except Exception:  # noqa: BLE001 - any compiler failure means: no fast path
        _PM_KERNEL = False
        return None
    _PM_KERNEL = kernel
    return kernel


class PMPowerGD:
    """Keeps the residual of the parameters it left (and their gradient once asked for): the next call, and the
    record the engine takes in between, start from it instead of reading A again."""

    def __init__(self, model, problem, dtype):
        self.depth = model.depth
        self.at = np.ascontiguousarray(problem.data["A"].T, dtype=dtype)
        self.y = np.ascontiguousarray(problem.data["y"], dtype=dtype)
        n, m = self.at.shape
        self.r, self.rn, self.g = np.empty(m), np.empty(m), np.empty(n)
        self._left = (np.empty(n, dtype), np.empty(n, dtype))  # the parameters the kernel left
        self._state = 0  # 0: nothing kept; 1: r of those parameters; 2: and g = A^T r

    def _kept(self, u, v) -> int:
        """What is kept for parameters (u, v): 0 unless they are the ones the kernel left (then 1 or 2)."""
        if self._state and np.array_equal(u, self._left[0]) and np.array_equal(v, self._left[1]):
            return self._state
        return 0

    def run(self, params, n: int, lr: float, wd: float, limit: float, tol: float) -> int:
        u, v = params
        # plain Python numbers of fixed types: one compiled signature per dtype
        done = int(_pm_kernel()(self.at, self.y, u, v, int(self.depth), float(lr), float(wd), int(n), float(limit),
                                float(tol), self.r, self.rn, self.g, self._kept(u, v)))
        np.copyto(self._left[0], u)
        np.copyto(self._left[1], v)
        self._state = 1
        return done

    def evaluate(self, params):
        """(x, loss, gradients) at the parameters the kernel left, from its residual (one read of A for the
        gradient, which the next step then reuses); None for other parameters."""
        u, v = params
        if not self._kept(u, v):
            return None
        if self._state < 2:
            np.dot(self.at, self.r, out=self.g)
            self._state = 2
        n = self.depth
        g = self.g.astype(u.dtype, copy=False)
        if n == 1:
            x, grads = u - v, [g.copy(), -g]
        else:
            un1, vn1 = u ** (n - 1), v ** (n - 1)
            x, grads = un1 * u - vn1 * v, [(n * un1) * g, (-n * vn1) * g]
        return x, 0.5 * float(self.r @ self.r), grads


def make_fast_path(engine):
    """The fast path for this engine's model and problem, or None (the general loop then takes every step)."""
    if engine.backend != "numpy" or engine.is_mlp:
        return None
    cfg, model, problem = engine.cfg, engine.model, engine.problem
    dtype = engine.np_dtype
    if cfg.parametrization == "product":
        return ProductGD(model, engine.head, dtype)
    if (cfg.parametrization == "pm_power" and not model.weight_norm and problem.kind == "sparse_recovery"
            and _pm_kernel() is not None):
        fast = PMPowerGD(model, problem, dtype)
        head = engine.head
        if head.blocks is None and head.bands is None and isinstance(head.d.get("A"), np.ndarray):
            # the general steps (at records) read the kernel's copy of A: one matrix in the L2 cache, not two
            head.d["A"] = fast.at.T
        return fast
    return None
