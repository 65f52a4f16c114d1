"""The compiled pm_power step of :mod:`ibviewer.core.fastpath` (numba; imported only when a run needs it).

Module-level functions, so that numba's on-disk cache finds them again in the next process (a kernel made inside
a function is compiled anew every time).
"""

from __future__ import annotations

import numba
import numpy as np


def _jit(**options):
    """numba.njit, cached on disk where numba finds a writable folder (else compiled in every process)."""

    def deco(fn):
        try:
            return numba.njit(cache=True, **options)(fn)
        except RuntimeError:  # no writable cache folder
            return numba.njit(**options)(fn)

    return deco


@_jit(inline="always")
def pw(a, k):
    """a ** k for a small integer k, by multiplication."""
    p = 1.0
    for _ in range(k):
        p *= a
    return p


@_jit(inline="always")
def update(u, v, j, g, c, lr, wd, depth):
    """One GD update of coordinate j of x = u^N - v^N given g_j = dL/dx_j; returns the new x_j."""
    uj, vj = u[j], v[j]
    du = c * pw(uj, depth - 1) * g + wd * uj
    dv = -c * pw(vj, depth - 1) * g + wd * vj
    uj -= lr * du
    vj -= lr * dv
    u[j], v[j] = uj, vj
    return pw(uj, depth) - pw(vj, depth)


@_jit(fastmath=True, boundscheck=False, nogil=True)
def kernel(at, y, u, v, depth, lr, wd, nsteps, limit, tol, r, rn, g, state):  # pragma: no cover
    """``r`` (in, out): the residual A x - y; valid on entry when ``state`` >= 1, and ``g`` = A^T r too when
    ``state`` = 2 (then the first step skips its dot products).  On return ``r`` holds the residual of the
    final parameters."""
    n, m = at.shape
    if state < 1:
        for i in range(m):
            r[i] = -y[i]
        for j in range(n):
            xj = pw(u[j], depth) - pw(v[j], depth)
            a = at[j]
            for i in range(m):
                r[i] += xj * a[i]
    c = float(depth)
    n4 = n - n % 4
    done = 0
    swapped = False
    cur, nxt = r, rn
    while True:
        s = 0.0
        for i in range(m):
            s += cur[i] * cur[i]
        loss = 0.5 * s
        if not np.isfinite(loss) or loss > limit or (tol > 0 and loss <= tol) or done >= nsteps:
            break
        have_g = done == 0 and state == 2
        for i in range(m):
            nxt[i] = -y[i]
        # four coordinates at a time: their four dot products share the loads of r, their four updates of
        # the next residual share the loads and stores of rn
        for j in range(0, n4, 4):
            a0, a1, a2, a3 = at[j], at[j + 1], at[j + 2], at[j + 3]
            if have_g:
                g0, g1, g2, g3 = g[j], g[j + 1], g[j + 2], g[j + 3]
            else:
                g0 = g1 = g2 = g3 = 0.0
                for i in range(m):
                    ri = cur[i]
                    g0 += a0[i] * ri
                    g1 += a1[i] * ri
                    g2 += a2[i] * ri
                    g3 += a3[i] * ri
            x0 = update(u, v, j, g0, c, lr, wd, depth)
            x1 = update(u, v, j + 1, g1, c, lr, wd, depth)
            x2 = update(u, v, j + 2, g2, c, lr, wd, depth)
            x3 = update(u, v, j + 3, g3, c, lr, wd, depth)
            for i in range(m):
                nxt[i] += x0 * a0[i] + x1 * a1[i] + x2 * a2[i] + x3 * a3[i]
        for j in range(n4, n):
            a0 = at[j]
            if have_g:
                g0 = g[j]
            else:
                g0 = 0.0
                for i in range(m):
                    g0 += a0[i] * cur[i]
            x0 = update(u, v, j, g0, c, lr, wd, depth)
            for i in range(m):
                nxt[i] += x0 * a0[i]
        cur, nxt = nxt, cur
        swapped = not swapped
        done += 1
    if swapped:
        for i in range(m):
            r[i] = cur[i]
    return done
