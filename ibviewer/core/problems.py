"""Problem generation: every problem kind's data, made from a seed, and its loss with its closed-form gradient.

A :class:`Problem` holds numpy arrays (the reference copy of the data).  Its loss is written once, for numpy or
torch arrays alike (:class:`LossHead`), as a function of the end-to-end product ``P`` (a matrix for the
factorization families, a vector for diagonal models) returning the loss and ``dL/dP``.  Conventions follow
docs/science.md: sum losses for sensing, completion, factorization, sparse recovery and logistic regression; mean
losses for regression and the Razin-Cohen completion.
"""

from __future__ import annotations

import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ibviewer.core import ops, rank_one
from ibviewer.core.config import Config, ConfigError, ProblemConfig
from ibviewer.core.sparse_completion import SparseObserved
from ibviewer.core.hardware import l2_bytes
from ibviewer.core.metrics import target_spectrum
from ibviewer.core.sizing import check_memory


@dataclass
class Problem:
    kind: str
    family: str
    #: shape of the end-to-end product (rows, cols) or (n,) for vectors
    shape: tuple[int, ...]
    #: data the loss needs, by name (numpy arrays)
    data: dict[str, np.ndarray]
    #: number of data units that SGD samples from (measurements, entries, samples)
    n_data: int
    #: ground truth the relative error is measured against (the clean matrix / vector / teacher); None if none
    target: np.ndarray | None = None
    #: the matrix that is fitted when it differs from ``target`` (noisy factorization)
    observed: np.ndarray | None = None
    #: whether the loss is a mean over data units (else a sum)
    mean_loss: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    #: derived data that the engines of this problem share (computed once: a QR factor, ...)
    cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def target_singular_values(self) -> np.ndarray | None:
        if self.target is None or self.target.ndim != 2:
            return None
        return target_spectrum(self.target)  # shared with the event search (computed once per target)


def ignored_problem_keys(p: ProblemConfig) -> frozenset[str]:
    """Keys of ``problem`` that the generated problem does not read in this setting (the Problem controls hide
    them rather than show a value that plays no part): the spectrum target has as many singular values as
    ``problem.singular_values`` lists, else d, whatever ``problem.rank`` says."""
    if p.kind == "matrix_factorization" and p.target == "spectrum":
        return frozenset({"rank"})
    return frozenset()


def empty_singular_values_text(p: ProblemConfig) -> str:
    """What an empty ``problem.singular_values`` stands for in this setting (shown in the empty field)."""
    if p.kind == "tensor_completion":  # the component norms of T* (ibviewer.core.tensor.target_weights)
        return f"{p.rank} × {p.d ** 1.5 / p.rank ** 0.5:.3g}"
    if p.kind == "matrix_factorization":
        if p.target == "spectrum":
            return f"10·2⁻ⁱ, i = 0…{p.d - 1}"
        if p.target == "lowrank_noise":
            return f"10·2⁻ⁱ, i = 0…{p.rank - 1}"
    return "random"


# ---------------------------------------------------------------------------------------------- generators
def _ground_truth(p: ProblemConfig, rng: np.random.Generator) -> np.ndarray:
    """d x d ground truth of rank r, W* = U V^T rescaled to ||W*||_F = d (or U diag(s) V^T if given); with
    ``problem.symmetric`` positive semidefinite, V = U (the singular values are then the eigenvalues)."""
    d, r = p.d, p.rank
    if p.singular_values:
        s = np.asarray(p.singular_values, dtype=float)
        if len(s) > d:
            raise ConfigError(f"problem.singular_values has {len(s)} values; at most problem.d = {d} are allowed")
        u, _ = np.linalg.qr(rng.standard_normal((d, len(s))))
        v = u if p.symmetric else np.linalg.qr(rng.standard_normal((d, len(s))))[0]
        return _exactly_symmetric((u * s) @ v.T) if p.symmetric else (u * s) @ v.T
    u = rng.standard_normal((d, r))
    v = u if p.symmetric else rng.standard_normal((d, r))
    w = u @ v.T
    w = w * (d / np.linalg.norm(w))
    return _exactly_symmetric(w) if p.symmetric else w


def _exactly_symmetric(w: np.ndarray) -> np.ndarray:
    """U diag(s) U^T is symmetric only up to rounding; a symmetric problem's matrices are symmetric bit for bit."""
    return 0.5 * (w + w.T)


def _symmetrize_rows(a: np.ndarray) -> None:
    """Each matrix of the stack ``a`` (m, d, d) replaced by its symmetric part, in place, a block of rows at a time
    (the temporaries stay near the L2 cache's size instead of two more copies of the dense operator)."""
    block = max(1, BLOCK_BYTES // max(1, a[0].nbytes))
    for i in range(0, a.shape[0], block):
        part = a[i : i + block]
        part[...] = 0.5 * (part + part.transpose(0, 2, 1))


def _symmetric_noise(noise: float, d: int, rng: np.random.Generator) -> np.ndarray:
    """A symmetric d x d Gaussian matrix whose entries off the diagonal have standard deviation ``noise``."""
    e = rng.standard_normal((d, d))
    return noise * (e + e.T) / np.sqrt(2.0)


#: what reading a damaged data file can raise (numpy's readers, the zip and zlib layers of an .npz)
READ_ERRORS = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def check_source_file(path: str) -> Path:
    """``path`` as a data file that can be opened: it exists and is a regular file; ConfigError otherwise."""
    f = Path(path)
    if f.is_dir():
        raise ConfigError(f"problem.source = {path!r} is a folder; give a .npy, .npz or .csv file")
    if not f.exists():
        raise ConfigError(f"problem.source = {path!r} does not exist")
    if not f.is_file():
        raise ConfigError(f"problem.source = {path!r} is not a regular file (a device or a pipe); give a .npy, "
                          ".npz or .csv file")
    return f


def _read_error(path: str, exc: BaseException) -> ConfigError:
    text = str(exc).splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, EOFError) or not text:
        text = "the file is empty or cut short"
    return ConfigError(f"problem.source = {path!r} cannot be read: {text}")


#: the largest data entry a loss can square and sum without overflowing float64 (about sqrt(1.8e308) / 1e4)
HUGE_DATA = 1e150


def _check_values(path: str, name: str, a: np.ndarray, *, allow_nan: bool = False) -> None:
    """Refuse an array that is not real numbers, or holds NaN/Inf (NaN allowed where it marks unobserved)."""
    what = f"problem.source = {path!r}" + (f": array {name!r}" if name else "")
    if np.iscomplexobj(a):
        raise ConfigError(f"{what} holds complex numbers; real numbers are required")
    if a.dtype == bool:
        return
    if not np.issubdtype(a.dtype, np.number):
        raise ConfigError(f"{what} must hold numbers, not {a.dtype}")
    if np.issubdtype(a.dtype, np.floating):
        bad = np.isinf(a) if allow_nan else ~np.isfinite(a)
        if bad.any():
            raise ConfigError(f"{what} holds {'Inf' if allow_nan else 'NaN or Inf'}; finite numbers are required"
                              + (" (NaN marks unobserved entries)" if allow_nan else ""))
        largest = float(np.nanmax(np.abs(a))) if a.size and not np.isnan(a).all() else 0.0
        if largest > HUGE_DATA:
            raise ConfigError(f"{what} holds entries up to {largest:.3g}; their squares overflow floating point "
                              f"(|x| must be <= {HUGE_DATA:g}): rescale the data")


def load_matrix(path: str, *, allow_nan: bool = False) -> np.ndarray:
    """A 2-D float matrix from .npy, .npz (its array M, or its only array) or .csv; ConfigError on anything
    else."""
    f = check_source_file(path)
    try:
        if f.suffix == ".npy":
            a = np.load(f, allow_pickle=False)
        elif f.suffix == ".npz":
            with np.load(f, allow_pickle=False) as z:
                if not z.files:
                    raise ConfigError(f"problem.source = {path!r} holds no array")
                if "M" not in z.files and len(z.files) > 1:
                    raise ConfigError(f"problem.source = {path!r} holds {', '.join(z.files)} but no M; name the "
                                      "matrix M")
                a = z["M" if "M" in z.files else z.files[0]]
        elif f.suffix == ".csv":
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # an empty file is an error, not a warning
                a = np.loadtxt(f, delimiter=",", ndmin=2)
        else:
            raise ConfigError(f"problem.source = {path!r} has an unknown type; allowed: .npy, .npz, .csv")
    except (*READ_ERRORS, UserWarning) as exc:
        raise _read_error(path, exc) from None
    if a.ndim != 2 or a.size == 0:
        raise ConfigError(f"problem.source = {path!r} holds an array of shape {a.shape}; a 2-D matrix is required")
    _check_values(path, "", a, allow_nan=allow_nan)
    return a.astype(float)


#: what a problem file must hold, per kind (arrays of an .npz, by name; * = optional)
FILE_LAYOUT = {
    "matrix_factorization": "a matrix (.npy, .csv, or .npz: M)",
    "matrix_completion": "a matrix with NaN at the unobserved entries (.npy, .csv), or an .npz with M and mask",
    "matrix_sensing": "an .npz with A (m x d*d or m x d x d), y (m) and optionally W (the ground truth)",
    "sparse_recovery": "an .npz with A (m x n), y (m) and optionally x (the ground truth)",
    "linear_regression": "an .npz with X (d x n inputs as columns), Y (outputs x n) and optionally W (the teacher)",
    "logistic_separable": "an .npz with X (n x d, one sample per row) and labels (n values of +1 or -1)",
}


def _load_arrays(path: str, kind: str) -> dict[str, np.ndarray]:
    f = Path(path)
    layout = FILE_LAYOUT.get(kind)
    if layout is None:
        raise ConfigError(f"problem.source is not used by problem.kind = {kind!r}; kinds that read files: "
                          f"{', '.join(FILE_LAYOUT)}")
    f = check_source_file(path)
    if f.suffix == ".npz":
        try:
            with np.load(f, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except READ_ERRORS as exc:
            raise _read_error(path, exc) from None
    elif f.suffix in (".npy", ".csv"):
        arrays = {"M": load_matrix(path, allow_nan=kind == "matrix_completion")}
    else:
        raise ConfigError(f"problem.source = {path!r} has an unknown type; allowed: .npy, .npz, .csv")
    for k, v in arrays.items():
        if not np.issubdtype(v.dtype, np.number) and v.dtype != bool:
            raise ConfigError(f"problem.source = {path!r}: array {k!r} is not numeric; {kind} needs {layout}")
        _check_values(path, k, v, allow_nan=kind == "matrix_completion" and k == "M")
    return arrays


def _need(arrays, names, path, kind) -> list[np.ndarray]:
    missing = [n for n in names if n not in arrays]
    if missing:
        raise ConfigError(f"problem.source = {path!r} lacks {', '.join(missing)}; {kind} needs {FILE_LAYOUT[kind]}")
    empty = [n for n in names if arrays[n].size == 0]
    if empty:
        raise ConfigError(f"problem.source = {path!r}: {', '.join(empty)} is empty; {kind} needs {FILE_LAYOUT[kind]}")
    return [np.asarray(arrays[n], dtype=float) if arrays[n].dtype != bool else arrays[n] for n in names]


def _shape_error(path, kind, what) -> ConfigError:
    return ConfigError(f"problem.source = {path!r}: {what}; {kind} needs {FILE_LAYOUT[kind]}")


def problem_from_file(cfg: Config) -> Problem:
    """A problem whose data comes from ``problem.source`` (see :data:`FILE_LAYOUT`)."""
    p = cfg.problem
    kind, path, family = p.kind, p.source, cfg.family
    arrays = _load_arrays(path, kind)
    if kind == "matrix_factorization":
        if "M" not in arrays and len(arrays) == 1:  # an .npz of one unnamed matrix (np.savez(path, m))
            arrays = {"M": next(iter(arrays.values()))}
        (m,) = _need(arrays, ["M"], path, kind)  # of several arrays, M (never another one silently)
        if m.ndim != 2:
            raise _shape_error(path, kind, f"M has shape {m.shape}, not a matrix")
        return Problem(kind, family, m.shape, {"M": m}, m.size, target=m)
    if kind == "matrix_completion":
        (m,) = _need(arrays, ["M"], path, kind)
        if m.ndim != 2:
            raise _shape_error(path, kind, f"M has shape {m.shape}, not a matrix")
        mask = np.asarray(arrays["mask"], bool) if "mask" in arrays else np.isfinite(m)
        if mask.shape != m.shape:
            raise _shape_error(path, kind, f"mask has shape {mask.shape} but M has {m.shape}")
        if not mask.any() or not np.all(np.isfinite(m[mask])):
            raise _shape_error(path, kind, "no observed entries, or an observed entry is not finite")
        rows, cols = np.nonzero(mask)
        return Problem(kind, family, m.shape, {"rows": rows, "cols": cols, "values": m[rows, cols]}, len(rows))
    if kind == "matrix_sensing":
        a, y = _need(arrays, ["A", "y"], path, kind)
        if a.ndim == 3:
            a = a.reshape(a.shape[0], -1)
        d = int(round(np.sqrt(a.shape[1]))) if a.ndim == 2 else 0
        if a.ndim != 2 or d * d != a.shape[1] or y.shape != (a.shape[0],):
            raise _shape_error(path, kind, f"A has shape {a.shape} and y {y.shape}")
        w = arrays.get("W")
        if w is not None and np.shape(w) != (d, d):
            raise _shape_error(path, kind, f"W has shape {np.shape(w)}, not ({d}, {d})")
        return Problem(kind, family, (d, d), {"A": a, "y": y}, len(y), target=None if w is None else np.asarray(w, float))
    if kind == "sparse_recovery":
        a, y = _need(arrays, ["A", "y"], path, kind)
        if a.ndim != 2 or y.shape != (a.shape[0],):
            raise _shape_error(path, kind, f"A has shape {a.shape} and y {y.shape}")
        x = arrays.get("x")
        if x is not None and np.shape(x) != (a.shape[1],):
            raise _shape_error(path, kind, f"x has shape {np.shape(x)}, not ({a.shape[1]},)")
        info = {} if x is None else {"support": np.nonzero(np.asarray(x))[0]}
        return Problem(kind, family, (a.shape[1],), {"A": a, "y": y}, len(y),
                       target=None if x is None else np.asarray(x, float), info=info)
    if kind == "linear_regression":
        x, y = _need(arrays, ["X", "Y"], path, kind)
        if y.ndim == 1:
            y = y[None, :]
        if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
            raise _shape_error(path, kind, f"X has shape {x.shape} and Y {y.shape} (samples are columns)")
        w = arrays.get("W")
        if w is not None and np.shape(w) != (y.shape[0], x.shape[0]):
            raise _shape_error(path, kind, f"W has shape {np.shape(w)}, not {(y.shape[0], x.shape[0])}")
        return Problem(kind, family, (y.shape[0], x.shape[0]), {"X": x, "Y": y}, x.shape[1],
                       target=None if w is None else np.asarray(w, float), mean_loss=True)
    if kind == "logistic_separable":
        x, lab = _need(arrays, ["X", "labels"], path, kind)
        if x.ndim != 2 or lab.shape != (x.shape[0],) or not np.all(np.isin(lab, (-1.0, 1.0))):
            raise _shape_error(path, kind, f"X has shape {x.shape}, labels {lab.shape} (labels must be +1 or -1)")
        return Problem(kind, family, (1, x.shape[1]), {"X": x, "labels": lab}, len(lab))
    raise AssertionError(kind)  # pragma: no cover


def make_problem(cfg: Config) -> Problem:
    """Generate the problem of ``cfg`` from ``problem.seed`` (deterministic), or read it from problem.source."""
    p = cfg.problem
    rng = np.random.default_rng(p.seed)
    kind = p.kind
    family = cfg.family
    if p.source:
        return problem_from_file(cfg)
    check_memory(cfg)  # before numpy allocates: one line with the size and the key to lower

    if kind == "matrix_sensing":
        w = _ground_truth(p, rng)
        d, m = w.shape[0], p.measurements
        if p.operator == "rank_one":
            # a symmetric problem's measurements are symmetric: on its W* the same numbers (ibviewer.core.rank_one)
            return Problem(kind, family, (d, d), rank_one.draw(w, m, p.noise, rng), m, target=w,
                           info={"operator": "rank_one", "symmetric_measurements": bool(p.symmetric)})
        a = rng.standard_normal((m, d * d)) / np.sqrt(m)
        if p.symmetric:  # (A_i + A_i^T)/2: <A_i, W> of a symmetric W is unchanged, so is the scaling
            _symmetrize_rows(a.reshape(m, d, d))
        y = a @ w.ravel() + p.noise * rng.standard_normal(m)
        return Problem(kind, family, (d, d), {"A": a, "y": y}, m, target=w)

    if kind == "matrix_completion":
        w = _ground_truth(p, rng)
        d, m = w.shape[0], p.measurements
        flat = np.sort(rng.choice(d * d, size=m, replace=False))
        rows, cols = np.divmod(flat, d)
        vals = w[rows, cols] + p.noise * rng.standard_normal(m)
        return Problem(kind, family, (d, d), {"rows": rows, "cols": cols, "values": vals}, m, target=w)

    if kind == "matrix_factorization":
        if p.target == "file":
            m_clean = load_matrix(p.source)
        elif p.target == "spectrum":
            d = p.d
            q, _ = np.linalg.qr(rng.standard_normal((d, d)))
            s = np.asarray(p.singular_values, float) if p.singular_values else 10.0 * 2.0 ** -np.arange(d)
            k = min(len(s), d)
            m_clean = (q[:, :k] * s[:k]) @ q[:, :k].T
        else:  # lowrank_noise: U diag(s) V^T with orthonormal U, V
            d, r = p.d, p.rank
            s = np.asarray(p.singular_values, float) if p.singular_values else 10.0 * 2.0 ** -np.arange(r)
            u, _ = np.linalg.qr(rng.standard_normal((d, len(s))))
            v = u if p.symmetric else np.linalg.qr(rng.standard_normal((d, len(s))))[0]
            m_clean = (u * s) @ v.T
        if p.symmetric:  # (the spectrum target Q diag(s) Q^T is symmetric positive semidefinite already)
            m_clean = _exactly_symmetric(m_clean)
            m_obs = m_clean + _symmetric_noise(p.noise, m_clean.shape[0], rng)
        else:
            m_obs = m_clean + p.noise * rng.standard_normal(m_clean.shape)
        return Problem(
            kind, family, m_clean.shape, {"M": m_obs}, m_obs.size, target=m_clean,
            observed=m_obs if p.noise > 0 else None,
        )

    if kind == "razin_cohen":
        rows, cols = np.array([0, 1, 1]), np.array([1, 0, 1])
        vals = np.array([1.0, 1.0, 0.0])
        return Problem(kind, family, (2, 2), {"rows": rows, "cols": cols, "values": vals}, 3, mean_loss=True)

    if kind == "sparse_recovery":
        n, m, s = p.n, p.measurements, p.sparsity
        x = np.zeros(n)
        support = rng.choice(n, size=s, replace=False)
        x[support] = rng.standard_normal(s)
        a = rng.standard_normal((m, n)) / np.sqrt(m)
        y = a @ x + p.noise * rng.standard_normal(m)
        return Problem(kind, family, (n,), {"A": a, "y": y}, m, target=x, info={"support": np.sort(support)})

    if kind == "linear_regression":
        d, n = p.d, p.samples
        out = p.outputs or d
        x = rng.standard_normal((d, n))
        if p.inputs == "whitened":
            # X X^T / n = I: rotate the Gaussian inputs to whiteness (needs n >= d)
            if n < d:
                raise ConfigError(f"problem.inputs = 'whitened' needs problem.samples >= problem.d ({n} < {d})")
            cov = x @ x.T / n
            evals, evecs = np.linalg.eigh(cov)
            x = evecs @ np.diag(evals**-0.5) @ evecs.T @ x
        teacher = rng.standard_normal((out, d))
        y = teacher @ x + p.noise * rng.standard_normal((out, n))
        return Problem(kind, family, (out, d), {"X": x, "Y": y}, n, target=teacher, mean_loss=True)

    if kind == "logistic_separable":
        return _logistic(p, rng, family)

    if kind == "tensor_completion":
        from ibviewer.core.tensor import make_tensor_problem

        return make_tensor_problem(p, rng, family)

    if kind in ("teacher_student", "digits"):
        from ibviewer.core.nonlinear import make_digits, make_teacher_student

        return (make_teacher_student if kind == "teacher_student" else make_digits)(p, rng, family)

    raise ConfigError(f"problem.kind = {kind!r} is not allowed")  # pragma: no cover (validated before)


def _logistic(p: ProblemConfig, rng: np.random.Generator, family: str) -> Problem:
    """Separable data: in 2-D the AT9 example (4 support points + random points beyond the margin)."""
    d, n = p.d, p.samples
    if d == 2:
        support = np.array([[0.5, 1.5], [1.5, 0.5], [-0.5, -1.5], [-1.5, -0.5]])
        labels = [1.0, 1.0, -1.0, -1.0]
        pts, lab = list(support), list(labels)
        # the max-margin direction is (1, 1)/sqrt(2) with margin sqrt(2); extra points lie strictly beyond it
        u = np.array([1.0, 1.0]) / np.sqrt(2)
        while len(pts) < max(n, 4):
            q = rng.uniform(-4, 4, size=2)
            proj = q @ u
            if abs(proj) > np.sqrt(2) * 1.3:
                pts.append(q)
                lab.append(float(np.sign(proj)))
        x = np.array(pts)
        y = np.array(lab)
    else:
        w_true = rng.standard_normal(d)
        w_true /= np.linalg.norm(w_true)
        x_list, y_list = [], []
        while len(x_list) < n:
            q = rng.standard_normal(d)
            if abs(q @ w_true) > 0.1:
                x_list.append(q)
                y_list.append(np.sign(q @ w_true))
        x, y = np.array(x_list), np.array(y_list)
    return Problem("logistic_separable", family, (1, d), {"X": x, "labels": y}, len(y))


# ---------------------------------------------------------------------------------------------- losses
#: size of a row block of a large measurement matrix (bytes): half of the running CPU's L2 cache, read at run time
#: (1 MiB on a core with 2 MiB; ibviewer.core.hardware states the fallback where the system does not say)
BLOCK_BYTES = l2_bytes() // 2
#: a measurement matrix is replaced by its triangular QR factor when that stores at most this share of its entries
QR_SHARE = 0.8
#: ... and when A is at most this large (the factorization costs a few seconds at 64 MB)
QR_MAX_BYTES = 64 << 20


def _blocked_residual_grad(blocks, x):
    """(sum of squared residuals, A^T (A x - y)) reading each block of A once from memory."""
    loss = 0.0
    g = None
    for a, y in blocks:
        r = a @ x - y
        loss += float(r @ r)
        if g is None:
            g = r @ a
        else:
            g += r @ a
    return loss, g


class _TriangularLeastSquares:
    """The least-squares loss of A, y through the triangular factor of A = QR.

    With z = Q^T y and c0 = ||y - Q z||^2: ||A x - y||^2 = ||R x - z||^2 + c0 and A^T (A x - y) = R^T (R x - z),
    exactly (Q has orthonormal columns).  R is upper trapezoidal, so it stores ~k n - k^2/2 numbers against A's
    m n (k = min(m, n)): 600 x 900 sensing reads 2.9 MB a step instead of 4.3 MB.

    R is kept as row bands of its upper part, each small enough to stay in the L2 cache between its two reads.
    Successive calls walk the bands in alternating order, so a call starts on the bands the previous one left
    in the cache; each band's share is kept apart and summed in a fixed order, so the result does not depend on
    the order (it is the same, bit for bit, whatever was called before).
    """

    #: a band of R: 3/16 of the L2 cache (384 KiB of 2 MiB, where it was tuned), leaving room for x, the output
    #: and the next band
    BAND_BYTES = l2_bytes() * 3 // 16

    @classmethod
    def build(cls, A: np.ndarray, y: np.ndarray):
        """The factorized loss, or None where it does not pay."""
        m, n = A.shape
        k = min(m, n)
        if A.nbytes > QR_MAX_BYTES or (k * n - k * (k - 1) / 2) > QR_SHARE * m * n:
            return None
        return cls(A, y)

    def __init__(self, A: np.ndarray, y: np.ndarray):
        m, n = A.shape
        k = min(m, n)
        q, r = np.linalg.qr(A)
        z = q.T @ y
        self.c0 = float(np.sum((y - q @ z) ** 2))
        self.bands = []
        i0 = 0
        while i0 < k:
            i1 = min(k, i0 + max(1, self.BAND_BYTES // (8 * (n - i0))))
            self.bands.append((i0, np.ascontiguousarray(r[i0:i1, i0:]), z[i0:i1].copy()))
            i0 = i1
        self._out = [np.empty(n - i0, dtype=A.dtype) for i0, _, _ in self.bands]
        self._sq = [0.0] * len(self.bands)
        self._reverse = False

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """(||A x - y||^2, A^T (A x - y))."""
        nb = len(self.bands)
        order = range(nb - 1, -1, -1) if self._reverse else range(nb)
        self._reverse = not self._reverse
        for b in order:
            i0, rb, zb = self.bands[b]
            res = rb @ x[i0:]
            res -= zb
            self._sq[b] = float(res @ res)
            np.dot(res, rb, out=self._out[b])
        g = np.zeros_like(x)
        for (i0, _, _), part in zip(self.bands, self._out):
            g[i0:] += part
        return self.c0 + sum(self._sq), g


class LossHead:
    """Loss of the product ``P`` and its gradient dL/dP, on numpy or torch arrays (``data`` of that kind).

    ``idx`` selects a minibatch of data units; the batch loss is rescaled so that its gradient is an unbiased
    estimate of the full gradient.
    """

    def __init__(self, problem: Problem, data: dict[str, Any], sparse_gradient: bool = False):
        self.kind = problem.kind
        self.n = problem.n_data
        self.d = data
        self.M = self.mask = None
        #: full-batch completion with few observed entries: a CSR gradient (ibviewer.core.sparse_completion)
        self.sparse = None
        if sparse_gradient:
            self.sparse = SparseObserved(data["rows"], data["cols"], data["values"], problem.shape)
        #: tensor completion's loss (ibviewer.core.tensor), to which this head hands every call
        self.tensor = None
        if self.kind == "tensor_completion":
            from ibviewer.core.tensor import TensorCompletionLoss

            self.tensor = TensorCompletionLoss(problem, data)
        if self.kind == "matrix_factorization":
            self.M = data["M"]
        #: symmetric rank-one measurements (a_i b_i^T + b_i a_i^T) / 2 (ibviewer.core.rank_one)
        self.sym = bool(problem.info.get("symmetric_measurements"))
        self.blocks = self.bands = None
        A = data.get("A")
        if isinstance(A, np.ndarray) and A.nbytes > 2 * BLOCK_BYTES:
            # A matrix larger than the L2 cache is read from memory at a third of the cache's speed.  The full-batch
            # loss reads the (smaller) triangular factor of A instead where that pays, else A in row blocks that
            # fit in the cache: A @ x and r @ A then read each block from memory once.
            key = ("triangular_least_squares", A.dtype.str)  # once per problem: its runs share the factor
            if key not in problem.cache:
                problem.cache[key] = _TriangularLeastSquares.build(A, data["y"])
            self.bands = problem.cache[key]
            nb = -(-A.nbytes // BLOCK_BYTES)
            bs = -(-A.shape[0] // nb)
            self.blocks = [(A[i : i + bs], data["y"][i : i + bs]) for i in range(0, A.shape[0], bs)]
        if "rows" in data and isinstance(data["values"], np.ndarray) and self.sparse is None:
            # full-batch completion as dense arrays: (P - M) * mask costs two calls instead of a gather and a scatter
            self.M = np.zeros(problem.shape, dtype=data["values"].dtype)
            self.mask = np.zeros(problem.shape, dtype=data["values"].dtype)
            self.M[data["rows"], data["cols"]] = data["values"]
            self.mask[data["rows"], data["cols"]] = 1.0
        if "rows" in data:
            self.flat = data["rows"] * problem.shape[1] + data["cols"]  # row-major flat indices of Omega

    def __call__(self, P, idx=None, eps=None):
        """(loss, dL/dP) at ``P``; ``idx`` a minibatch or None; ``eps`` (or None) shifts every target ``t`` to
        ``t + eps`` (label noise, ``ibviewer.core.labelnoise``: shaped like all the targets, of the data's array
        kind).  The shortcuts for clean full batches (the triangular factor, cache blocks, the dense mask, the
        sparse gradient) hold the clean targets, so a shifted loss takes the plain path."""
        if self.tensor is not None:
            return self.tensor(P, idx)
        d = self.d
        kind = self.kind
        scale = 1.0 if idx is None else self.n / len(idx)
        clean = eps is None and idx is None
        # the shift of the batch's targets, for the kinds with one target per data unit
        e = None if eps is None or kind in ("matrix_factorization", "linear_regression") else (
            eps if idx is None else eps[idx])
        if kind in ("matrix_sensing", "sparse_recovery"):
            if "left" in d:  # rank-one measurements (ibviewer.core.rank_one)
                L, Rt, y = (d["left"], d["right"], d["y"]) if idx is None else (d["left"][idx], d["right"][idx],
                                                                                d["y"][idx])
                r = rank_one.measure(L, Rt, P, self.sym) - (y if e is None else y + e)
                G = rank_one.adjoint(L, Rt, r * scale if scale != 1.0 else r, self.sym)
                return 0.5 * scale * float(r @ r), G
            if self.bands is not None and clean:
                sq, g = self.bands(P.reshape(-1))
                return 0.5 * sq, g.reshape(P.shape)
            if self.blocks is not None and clean:
                sq, g = _blocked_residual_grad(self.blocks, P.reshape(-1))
                return 0.5 * sq, g.reshape(P.shape)
            A, y = (d["A"], d["y"]) if idx is None else (d["A"][idx], d["y"][idx])
            r = A @ P.reshape(-1) - (y if e is None else y + e)
            G = (r @ A).reshape(P.shape)  # r @ A re-reads A while it is still in cache
            return 0.5 * scale * float(r @ r), G * scale if scale != 1.0 else G
        if kind in ("matrix_completion", "razin_cohen"):
            if clean and self.sparse is not None:
                return self.sparse(P)
            if clean and self.mask is not None:
                return self._masked(P, lambda G: float(np.vdot(G, G)))
            flat = self.flat if idx is None else self.flat[idx]
            vals = d["values"] if idx is None else d["values"][idx]
            r = P.reshape(-1)[flat] - (vals if e is None else vals + e)
            G = ops.zeros_like(P)
            Gf = G.reshape(-1)
            if kind == "razin_cohen":  # mean over the observed entries: (1/|Omega|) sum r^2
                c = scale / self.n
                Gf[flat] = (2.0 * c) * r
                return c * float(r @ r), G
            Gf[flat] = r * scale if scale != 1.0 else r
            return 0.5 * scale * float(r @ r), G
        if kind == "matrix_factorization":
            r = P - self.M if eps is None else P - self.M - eps
            return 0.5 * float((r * r).sum()), r
        if kind == "linear_regression":
            X, Y = (d["X"], d["Y"]) if idx is None else (d["X"][:, idx], d["Y"][:, idx])
            if eps is not None:
                Y = Y + (eps if idx is None else eps[:, idx])
            nb = X.shape[1]
            R = P @ X - Y
            return float((R * R).sum()) / (2 * nb), (R @ X.T) / nb
        if kind == "logistic_separable":
            if eps is not None:
                raise ValueError("label noise is not defined for problem.kind = 'logistic_separable'")
            X, y = (d["X"], d["labels"]) if idx is None else (d["X"][idx], d["labels"][idx])
            z = y * (X @ P[0])
            loss = scale * float(ops.softplus_neg(z).sum())
            coef = -y * ops.expit(-z) * scale
            return loss, (coef @ X)[None, :]
        raise ValueError(kind)  # pragma: no cover

    def _masked(self, P, sum_sq):
        """Full-batch completion loss and gradient from dense arrays: G = (P - M) * mask; ``sum_sq(G)`` sums the
        squares (of one product, or per run of a stack)."""
        G = P - self.M
        G *= self.mask
        sq = sum_sq(G)
        if self.kind == "razin_cohen":  # mean over the observed entries: (1/|Omega|) sum r^2
            G *= 2.0 / self.n
            return sq / self.n, G
        return 0.5 * sq, G

    def batched(self, P):
        """Full-batch loss of a stack of R runs (products stacked along axis 0): (losses (R,), dL/dP)."""
        if self.tensor is not None:
            return self.tensor.batched(P)
        d, kind = self.d, self.kind
        R = P.shape[0]
        if kind == "matrix_sensing":
            if "left" in d:
                r = rank_one.measure(d["left"], d["right"], P, self.sym) - d["y"]
                return 0.5 * (r * r).sum(-1), rank_one.adjoint(d["left"], d["right"], r, self.sym)
            A = d["A"]
            r = P.reshape(R, -1) @ A.T - d["y"]
            return 0.5 * (r * r).sum(-1), (r @ A).reshape(P.shape)
        if kind in ("matrix_completion", "razin_cohen"):
            if self.mask is not None:
                return self._masked(P, lambda G: np.einsum("rij,rij->r", G, G))
            r = P.reshape(R, -1)[:, self.flat] - d["values"]
            G = ops.zeros_like(P)
            c = 2.0 / self.n if kind == "razin_cohen" else 1.0
            G.reshape(R, -1)[:, self.flat] = c * r
            return (c / 2) * (r * r).sum(-1), G
        if kind == "matrix_factorization":
            r = P - self.M
            return 0.5 * (r * r).sum((-2, -1)), r
        if kind == "sparse_recovery":
            A = d["A"]
            r = P @ A.T - d["y"]
            return 0.5 * (r * r).sum(-1), r @ A
        if kind == "linear_regression":
            X = d["X"]
            n = X.shape[1]
            Rm = P @ X - d["Y"]
            return (Rm * Rm).sum((-2, -1)) / (2 * n), (Rm @ X.T) / n
        if kind == "logistic_separable":
            X, y = d["X"], d["labels"]
            z = y * (P[:, 0, :] @ X.T)
            coef = -y * ops.expit(-z)
            return ops.softplus_neg(z).sum(-1), (coef @ X)[:, None, :]
        raise ValueError(kind)  # pragma: no cover
