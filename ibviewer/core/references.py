"""Reference solutions the iterates are compared with: min-l2 / min-Frobenius, min-l1 (basis pursuit),
the Woodworth et al. Q_alpha minimiser, minimum nuclear norm, minimum trace over the positive semidefinite
matrices (the symmetric model's), the max-margin direction and the best rank-r approximation of a noisy low-rank
matrix that is factorized.

Each is computed once per problem (and per alpha for Q_alpha) and cached.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog, minimize

from ibviewer.core import rank_one
from ibviewer.core.rank_window import BEST_RANK_MAX_D, best_rank_approximation, numerical_rank
from ibviewer.core.problems import Problem


# ------------------------------------------------------------------------------------------ vectors
def min_l2(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin ||x||_2 s.t. A x = y (least squares for an inconsistent system)."""
    return np.linalg.lstsq(a, y, rcond=None)[0]


def min_l1(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Basis pursuit argmin ||x||_1 s.t. A x = y, as a linear program solved by HiGHS."""
    m, n = a.shape
    res = linprog(
        c=np.ones(2 * n), A_eq=np.hstack([a, -a]), b_eq=y, bounds=(0, None), method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if res.status != 0:
        raise RuntimeError(f"basis pursuit failed: {res.message}")
    return res.x[:n] - res.x[n:]


def min_l1_nonnegative(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin ||x||_1 s.t. A x = y, x >= 0 (the limit of x = w ⊙ ⋯ ⊙ w from a small positive start, which
    stays positive), as a linear program solved by HiGHS; RuntimeError when no x >= 0 solves A x = y."""
    res = linprog(
        c=np.ones(a.shape[1]), A_eq=a, b_eq=y, bounds=(0, None), method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if res.status != 0:
        raise RuntimeError(f"non-negative basis pursuit failed: {res.message}")
    return res.x


def q_alpha_value(x: np.ndarray, alpha: float) -> float:
    """Q_alpha(x) = alpha^2 sum q(x_i / alpha^2), q(z) = 2 - sqrt(4 + z^2) + z asinh(z / 2)."""
    z = np.asarray(x) / alpha**2
    return float(alpha**2 * (2 - np.sqrt(4 + z * z) + z * np.arcsinh(z / 2)).sum())


def q_alpha_minimizer(a: np.ndarray, y: np.ndarray, alpha: float, tol: float = 1e-13) -> np.ndarray:
    """argmin Q_alpha(x) s.t. A x = y (Woodworth et al. 2020), by Newton's method on the dual.

    Stationarity gives x = 2 alpha^2 sinh(A^T lam); the dual objective
    phi(lam) = 2 alpha^2 sum cosh(A^T lam) - y^T lam is smooth and strictly convex.
    """
    m, _ = a.shape
    c = 2 * alpha**2
    lam = np.linalg.lstsq(a.T, np.arcsinh(min_l2(a, y) / c), rcond=None)[0]

    def phi(l):
        return c * np.cosh(a.T @ l).sum() - y @ l

    def grad(l):
        return c * a @ np.sinh(a.T @ l) - y

    for _ in range(200):
        s = a.T @ lam
        resid = c * a @ np.sinh(s) - y  # gradient of phi
        rnorm = np.linalg.norm(resid)
        if rnorm <= tol * max(1.0, np.linalg.norm(y)):
            break
        hess = (a * (c * np.cosh(s))) @ a.T
        step = np.linalg.solve(hess + 1e-300 * np.eye(m), resid)
        t, f0 = 1.0, phi(lam)
        slope = resid @ step
        if slope > 1e-10 * max(1.0, abs(f0)):
            # Armijo on phi while its decrease is above phi's rounding
            while t > 1e-12 and phi(lam - t * step) > f0 - 0.25 * t * slope:
                t *= 0.5
        else:
            # near the optimum the decrease of phi drowns in rounding (the Armijo test then stalls with the
            # gradient at ~1e-8): damp on the gradient norm instead, where Newton converges quadratically
            while t > 1e-12 and np.linalg.norm(grad(lam - t * step)) >= rnorm:
                t *= 0.5
        lam = lam - t * step
    return c * np.sinh(a.T @ lam)


# ------------------------------------------------------------------------------------------ matrices
def min_nuclear_norm(
    project, shape: tuple[int, int], iters: int = 20000, rho: float = 1.0, tol: float = 1e-9
) -> np.ndarray:
    """argmin ||X||_* s.t. X in an affine set, by ADMM (singular value thresholding + projection).

    ``project(Z)`` is the Euclidean projection onto the affine set {X : A(X) = y}.
    Iterates X = SVT(Z - U, 1/rho); Z = project(X + U); U += X - Z.
    """

    def threshold(w):
        uu, s, vt = np.linalg.svd(w, full_matrices=False)
        return (uu * np.maximum(s - 1.0 / rho, 0.0)) @ vt

    return _admm(threshold, project, project(np.zeros(shape)), iters, rho, tol)


def min_trace_psd(
    project, d: int, iters: int = 20000, rho: float = 1.0, tol: float = 1e-9
) -> np.ndarray:
    """argmin tr(X) s.t. X positive semidefinite and X in an affine set, by ADMM: the minimum nuclear norm among
    the positive semidefinite solutions, the limit that Gunasekar et al. (2017) conjecture for W = U U^T from a
    small start.

    ``project(Z)`` is the Euclidean projection onto {X : A(X) = y}.  With X in the affine set, Z in the cone and
    X = Z: X = project(Z - U); Z = the cone's projection of the symmetric part of X + U - I / rho (the
    proximal map of tr + the cone's indicator); U += X - Z.  Returns Z (positive semidefinite).
    """
    shift = np.eye(d) / rho

    def cone(w):
        evals, evecs = np.linalg.eigh(0.5 * (w + w.T) - shift)
        return (evecs * np.maximum(evals, 0.0)) @ evecs.T

    return _admm(project, cone, np.zeros((d, d)), iters, rho, tol)


def _admm(x_step, z_step, z: np.ndarray, iters: int, rho: float, tol: float) -> np.ndarray:
    """The scaled ADMM both references run: X = x_step(Z - U); Z = z_step(X + U); U += X - Z, from ``z`` and
    U = 0, until the primal and dual residuals ||X - Z|| and rho ||Z - Z_old|| are below ``tol`` relative to
    max(1, ||Z||).  Returns Z."""
    u = np.zeros_like(z)
    for _ in range(iters):
        x = x_step(z - u)
        z_old = z
        z = z_step(x + u)
        u += x - z
        primal = np.linalg.norm(x - z)
        dual = rho * np.linalg.norm(z - z_old)
        scale = max(1.0, np.linalg.norm(z))
        if primal < tol * scale and dual < tol * scale:
            break
    return z


def affine_projector(problem: Problem):
    """Projection onto {X : A(X) = y} for sensing, completion and factorization problems."""
    kind, d = problem.kind, problem.data
    if kind == "matrix_sensing" and "left" in d:
        return rank_one.projector(d["left"], d["right"], d["y"], _symmetric_measurements(problem))
    if kind == "matrix_sensing":
        a, y = d["A"], d["y"]
        pinv = np.linalg.pinv(a)
        shape = problem.shape

        def project(x):
            v = x.ravel()
            return (v - pinv @ (a @ v - y)).reshape(shape)

        return project
    if kind in ("matrix_completion", "razin_cohen"):
        rows, cols, vals = d["rows"], d["cols"], d["values"]

        def project(x):
            x = x.copy()
            x[rows, cols] = vals
            return x

        return project
    if kind == "matrix_factorization":
        m = d["M"]
        return lambda x: m.copy()
    raise ValueError(f"no affine constraint set for {kind}")


def max_margin(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The hard-margin SVM solution w_hat = argmin ||w||^2 s.t. y_i <w, x_i> >= 1 (no bias)."""
    yx = y[:, None] * x
    w0 = np.linalg.lstsq(yx, np.ones(len(y)), rcond=None)[0]
    # feasible start: scale up the least-squares direction
    res = minimize(
        lambda w: 0.5 * w @ w, w0, jac=lambda w: w, method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda w: yx @ w - 1.0, "jac": lambda w: yx}],
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    w = res.x
    # polish on the active set: solve the KKT system exactly
    active = np.nonzero(np.abs(yx @ w - 1.0) < 1e-6)[0]
    if active.size:
        s = yx[active]
        lam = np.linalg.lstsq(s @ s.T, np.ones(active.size), rcond=None)[0]
        w_exact = s.T @ lam
        if np.all(yx @ w_exact >= 1 - 1e-9):
            w = w_exact
    return w


# ------------------------------------------------------------------------------------------ per problem
#: the min-nuclear-norm reference is computed up to this matrix size: its ADMM takes up to 20,000 SVDs of the
#: d x d iterate (minutes at d = 100, hours at d = 1,000)
NUCLEAR_MAX_D = 100


def min_l2_skip_reason(kind: str, d: int, m: int, operator: str = "dense") -> str | None:
    """Why the min-l2 reference of this problem is not computed (one line for the summary's notes), or None."""
    if kind == "matrix_sensing" and operator == "rank_one" and m * d * d > rank_one.MIN_L2_MAX_WORK:
        return (f"the min-l2 reference is skipped for rank-one sensing above problem.measurements x problem.d² = "
                f"{rank_one.MIN_L2_MAX_WORK:.0e} (each LSQR iteration applies the operator twice)")
    return None


def nuclear_skip_reason(kind: str, d: int, m: int, operator: str = "dense") -> str | None:
    """Why the min-nuclear-norm reference of this problem is not computed (one line for the summary's notes),
    or None when it is."""
    if kind not in ("matrix_sensing", "matrix_completion"):
        return None
    if d > NUCLEAR_MAX_D:
        return (f"the min-nuclear-norm reference is skipped above problem.d = {NUCLEAR_MAX_D} (its ADMM takes up "
                "to 20,000 SVDs of a d x d matrix); min-l2 is computed")
    if kind == "matrix_sensing" and operator == "rank_one" and (m > rank_one.NUCLEAR_MAX_MEASUREMENTS
                                                                 or min_l2_skip_reason(kind, d, m, operator)):
        return (f"the min-nuclear-norm reference is skipped for rank-one sensing above problem.measurements = "
                f"{rank_one.NUCLEAR_MAX_MEASUREMENTS} (its projection solves with the m x m Gram matrix); "
                "min-l2 is computed")
    return None


def _symmetric_measurements(problem: Problem) -> bool:
    return bool(problem.info.get("symmetric_measurements"))


_CACHE: dict[tuple, dict[str, np.ndarray]] = {}


def problem_key(problem: Problem) -> tuple:
    """What identifies a problem's data (its kind, shape, each array's sums, the kind of its measurements): the key
    of the caches of what is solved once per problem (the references here, the sparse theory's limit)."""
    digest = tuple(
        (name, arr.shape, float(np.asarray(arr, float).sum()), float((np.asarray(arr, float) ** 2).sum()))
        for name, arr in sorted(problem.data.items())
    )
    return (problem.kind, problem.shape, digest, _symmetric_measurements(problem))


def references(problem: Problem, *, alpha: float | None = None, parametrization: str = "", depth: int = 0,
               init: str = "constant") -> dict[str, np.ndarray]:
    """The reference solutions that ``problem`` has, in the shape of its product; cached per problem.

    q_alpha is included for the pm_power model of depth 2 (its exact limit) at the given alpha.  For
    x = w ⊙ ⋯ ⊙ w from a positive start (``hadamard``, ``init`` neither gaussian nor zeros) min_l1 is the
    non-negative basis pursuit solution, the only sparse point such a run can reach (absent when no x >= 0 solves
    the measurements).
    """
    key = problem_key(problem)
    refs = _CACHE.get(key)
    if refs is None:
        try:
            refs = _solve(problem)
        except (RuntimeError, ValueError, ArithmeticError, np.linalg.LinAlgError):
            # data a solver refuses (linprog, an SVD that does not converge): the run trains without references
            refs = {}
        _CACHE[key] = refs
    out = dict(refs)
    if problem.kind == "sparse_recovery" and parametrization == "pm_power" and depth == 2 and alpha:
        qkey = key + ("q_alpha", float(alpha))
        q = _CACHE.get(qkey)
        if q is None:
            try:
                q = {"q_alpha": q_alpha_minimizer(problem.data["A"], problem.data["y"], float(alpha))}
            except (RuntimeError, ValueError, ArithmeticError, np.linalg.LinAlgError):
                q = {}
            _CACHE[qkey] = q
        out.update(q)
    if (problem.kind == "sparse_recovery" and parametrization == "hadamard" and init not in ("gaussian", "zeros")
            and "min_l1" in out):
        # x = w^N from w = α·1 stays positive: its sparse limit is the non-negative ℓ1 solution, or none
        nkey = key + ("min_l1_nonnegative",)
        nonneg = _CACHE.get(nkey)
        if nonneg is None:
            try:
                nonneg = {"min_l1": min_l1_nonnegative(problem.data["A"], problem.data["y"])}
            except (RuntimeError, ValueError, ArithmeticError, np.linalg.LinAlgError):
                nonneg = {}
            _CACHE[nkey] = nonneg
        out.pop("min_l1")
        out.update(nonneg)
    if parametrization == "symmetric" and problem.kind in ("matrix_sensing", "matrix_completion"):
        # W = U U^T stays positive semidefinite: its low-rank limit is the least trace in that cone
        pkey = key + ("min_trace_psd",)
        psd = _CACHE.get(pkey)
        if psd is None:
            psd = {}
            if "min_nuclear" in refs:  # computed where the unconstrained one is (the same ADMM's size limits)
                try:
                    psd = {"min_trace_psd": min_trace_psd(affine_projector(problem), problem.shape[0])}
                except (RuntimeError, ValueError, ArithmeticError, np.linalg.LinAlgError):
                    psd = {}
            _CACHE[pkey] = psd
        out.update(psd)
    return out


def _solve(problem: Problem) -> dict[str, np.ndarray]:
    """The reference solutions of ``problem`` (computed; :func:`references` caches them)."""
    refs: dict[str, np.ndarray] = {}
    kind, d = problem.kind, problem.data
    if kind == "sparse_recovery":
        refs["min_l2"] = min_l2(d["A"], d["y"])
        refs["min_l1"] = min_l1(d["A"], d["y"])
    elif kind == "matrix_sensing" and "left" in d:  # rank-one measurements: no dense operator is formed
        sym = _symmetric_measurements(problem)
        if not min_l2_skip_reason(kind, problem.shape[0], problem.n_data, "rank_one"):
            refs["min_l2"] = rank_one.min_l2(d["left"], d["right"], d["y"], sym)
        if not nuclear_skip_reason(kind, problem.shape[0], problem.n_data, "rank_one"):
            refs["min_nuclear"] = min_nuclear_norm(rank_one.projector(d["left"], d["right"], d["y"], sym),
                                                   problem.shape)
    elif kind in ("matrix_sensing", "matrix_completion", "razin_cohen"):
        project = affine_projector(problem)
        refs["min_l2"] = project(np.zeros(problem.shape))  # min-Frobenius interpolant
        # Razin-Cohen: ||[[x, 1], [1, 0]]||_* = sqrt(x^2 + 4) is minimal at x = 0, while GD sends x to infinity
        if not nuclear_skip_reason(kind, problem.shape[0], problem.n_data):
            refs["min_nuclear"] = min_nuclear_norm(project, problem.shape)
    elif kind == "linear_regression":
        refs["min_l2"] = d["Y"] @ np.linalg.pinv(d["X"])
    elif kind == "logistic_separable":
        refs["max_margin"] = max_margin(d["X"], d["labels"])[None, :]
    elif kind == "matrix_factorization" and problem.observed is not None and problem.target is not None:
        # a noisy low-rank target: the best rank-r approximation of the fitted matrix, r the clean one's rank
        # (the iterate passes close to it before it fits the noise: ibviewer/core/rank_window.py)
        r = numerical_rank(problem.target)
        if 0 < r < min(problem.shape) and max(problem.shape) <= BEST_RANK_MAX_D:
            refs["best_rank_r"] = best_rank_approximation(problem.observed, r)
    return refs
