"""Parametrizations of the end-to-end product and their closed-form gradients.

* :class:`ProductModel` -- deep matrix factorization / deep linear network ``P = W_N ... W_1``
  (factorization, linear-network and classifier families).
* :class:`SymmetricModel` -- the positive semidefinite ``P = U U^T`` (Gunasekar et al. 2017; Li, Ma, Zhang 2018).
* :class:`PMPowerModel` -- diagonal network ``x = u^N - v^N`` (Woodworth et al.).
* :class:`HadamardModel` -- ``x = w_1 * ... * w_N`` (Chou, Maly, Rauhut).
* :class:`LinearVectorModel` -- plain ``x`` (the depth-1 baseline: least squares from 0).

Parameters are lists of arrays (numpy, or torch on the torch backend); ``grads(params, G)`` maps the gradient
``G = dL/dP`` of the loss with respect to the product to the gradient of every parameter.  Initializations are
drawn with numpy from the run's seed so both backends start from the same point.
"""

from __future__ import annotations

import numpy as np

from ibviewer.core import ops
from ibviewer.core.config import Config, ConfigError
from ibviewer.core.problems import Problem


class ProductModel:
    family = "product"

    def __init__(self, cfg: Config, problem: Problem):
        rows, cols = problem.shape
        self.depth = n = cfg.model.depth
        width = cfg.model.width or max(rows, cols)
        if n == 1:
            self.shapes = [(rows, cols)]
        else:
            self.shapes = [(width, cols)] + [(width, width)] * (n - 2) + [(rows, width)]
        self.width = width
        self.cfg = cfg

    def init(self, rng: np.random.Generator) -> list[np.ndarray]:
        m = self.cfg.model
        n, alpha = self.depth, m.init_scale
        layer_scale = alpha ** (1.0 / n)
        if m.init == "zeros":
            return [np.zeros(s) for s in self.shapes]
        if m.init == "gaussian":
            std = m.init_std if m.init_std > 0 else layer_scale / np.sqrt(self.width)
            return [std * rng.standard_normal(s) for s in self.shapes]
        if m.init == "identity":
            return [layer_scale * np.eye(*s) for s in self.shapes]
        if m.init == "orthogonal":
            out = []
            for r, c in self.shapes:
                q, _ = np.linalg.qr(rng.standard_normal((max(r, c), min(r, c))))
                out.append(layer_scale * (q if r >= c else q.T))
            return out
        if m.init == "balanced":
            # Arora et al. 2018: draw the product, split its singular values evenly over the layers.
            rows, cols = self.shapes[-1][0], self.shapes[0][1]
            std = m.init_std if m.init_std > 0 else alpha / np.sqrt(self.width)
            prod = std * rng.standard_normal((rows, cols))
            u, s, vt = np.linalg.svd(prod, full_matrices=False)
            k = min(len(s), *(min(sh) for sh in self.shapes))
            root = s[:k] ** (1.0 / n)
            bases = [vt[:k].T]  # U_1 = V
            for _ in range(n - 1):
                q, _ = np.linalg.qr(rng.standard_normal((self.width, k)))
                bases.append(q)
            bases.append(u[:, :k])
            return [(bases[j + 1] * root) @ bases[j].T for j in range(n)]
        raise ConfigError(f"model.init = {m.init!r} is not allowed for product models")

    @staticmethod
    def forward_and_cache(params):
        """The product and the right partial products R_j = W_{j-1} ... W_1 (None for j = 1)."""
        rights = [None]
        p = params[0]
        for w in params[1:]:
            rights.append(p)
            p = w @ p
        return p, rights

    @staticmethod
    def grads(params, G, rights):
        """dL/dW_j = (W_N ... W_{j+1})^T G (W_{j-1} ... W_1)^T (also for stacks of runs: arrays (R, a, b))."""
        n = len(params)
        out = [None] * n
        left_g = G  # (W_N ... W_{j+1})^T G, built from the top
        # 2-D: .T is a BLAS flag; stacks: numpy multiplies contiguous operands about 1.7x faster
        t = (lambda a: a.T) if G.ndim == 2 else (lambda a: np.ascontiguousarray(a.mT) if isinstance(a, np.ndarray) else a.mT)
        for j in range(n - 1, -1, -1):
            r = rights[j]
            out[j] = left_g if r is None else left_g @ t(r)
            if j > 0:
                left_g = t(params[j]) @ left_g
        return out


class SymmetricModel:
    """P = U U^T with U of d x k (k = ``model.width``, 0: d), for symmetric problems (``problem.symmetric``).

    The gradient is dL/dU = (G + G^T) U: U enters the product twice, so, against the depth-2 product W_2 W_1 from a
    balanced start, the product's gradient flow runs twice as fast (each eigenvalue follows
    d sigma/dt = 4 sigma (s - sigma) in factorization, docs/science.md).  The initialization matches the
    depth-2 product's: entries of standard deviation sqrt(alpha / k), so E U U^T = alpha I.
    """

    family = "product"

    def __init__(self, cfg: Config, problem: Problem):
        d = problem.shape[0]
        self.depth = 2
        self.width = cfg.model.width or d
        self.shapes = [(d, self.width)]
        self.cfg = cfg

    def init(self, rng: np.random.Generator) -> list[np.ndarray]:
        m = self.cfg.model
        root = np.sqrt(m.init_scale)
        shape = self.shapes[0]
        if m.init == "gaussian":
            std = m.init_std if m.init_std > 0 else root / np.sqrt(self.width)
            return [std * rng.standard_normal(shape)]
        if m.init == "identity":
            return [root * np.eye(*shape)]
        if m.init == "orthogonal":
            q, _ = np.linalg.qr(rng.standard_normal((max(shape), min(shape))))
            return [root * (q if shape[0] >= shape[1] else q.T)]
        raise ConfigError(f"model.init = {m.init!r} is not allowed with model.parametrization = 'symmetric'")

    @staticmethod
    def forward_and_cache(params):
        (u,) = params
        return u @ (u.T if u.ndim == 2 else u.mT), None

    #: up to this width k the gradient is G U + G^T U (two thin products, 4 d^2 k flops) rather than (G + G^T) U:
    #: forming G + G^T reads G transposed, a pass over d^2 entries that costs more than the second product when k
    #: is small (at d = 2,000, k = 16 on one core: 17.7 ms against 3.5 ms); wider, the one product wins
    #: (docs/benchmarks.md)
    THIN = 32

    @classmethod
    def grads(cls, params, G, cache):
        """dL/dU = (G + G^T) U (also for stacks of runs: arrays (R, d, k); G may be a CSR matrix)."""
        (u,) = params
        gt = G.T if G.ndim == 2 else G.mT
        if u.shape[-1] <= cls.THIN:
            return [G @ u + gt @ u]
        return [(G + gt) @ u]


class PMPowerModel:
    """x = u^N - v^N; with ``model.weight_norm`` each factor is u = g_u * w_u / ||w_u|| (Chou, Rauhut, Ward),
    trained in (w_u, g_u, w_v, g_v)."""

    family = "diagonal"

    def __init__(self, cfg: Config, problem: Problem):
        self.depth = cfg.model.depth
        self.n = problem.shape[0]
        self.cfg = cfg
        self.weight_norm = cfg.model.weight_norm

    def init(self, rng):
        m = self.cfg.model
        a = m.init_scale
        if m.init == "gaussian":
            u, v = a * np.abs(rng.standard_normal(self.n)), a * np.abs(rng.standard_normal(self.n))
        elif m.init == "zeros":
            u, v = np.zeros(self.n), np.zeros(self.n)
        else:
            u, v = np.full(self.n, a), np.full(self.n, a)
        if not self.weight_norm:
            return [u, v]
        out = []
        for f in (u, v):
            g = np.linalg.norm(f)
            out += [f / g if g > 0 else np.ones(self.n) / np.sqrt(self.n), np.array([g])]
        return out

    def factors(self, params):
        """(u, v, normalization cache)."""
        if not self.weight_norm:
            return params[0], params[1], None
        wu, gu, wv, gv = params
        nu, nv = ops.sqrt((wu * wu).sum(-1, keepdims=True)), ops.sqrt((wv * wv).sum(-1, keepdims=True))
        return wu * (gu / nu), wv * (gv / nv), (nu, nv)

    def forward_and_cache(self, params):
        u, v, norms = self.factors(params)
        n = self.depth
        if n == 1:
            return u - v, (u, v, None, None, norms)
        un1, vn1 = u ** (n - 1), v ** (n - 1)
        return un1 * u - vn1 * v, (u, v, un1, vn1, norms)

    def grads(self, params, g, cache):
        u, v, un1, vn1, norms = cache
        n = self.depth
        du, dv = (g, -g) if un1 is None else ((n * un1) * g, (-n * vn1) * g)
        if norms is None:
            return [du, dv]
        out = []
        for (w, gain), d, norm in zip((params[0:2], params[2:4]), (du, dv), norms):
            what = w / norm
            dgain = (d * what).sum(-1, keepdims=True)
            out += [(gain / norm) * (d - dgain * what), dgain]
        return out


class HadamardModel:
    family = "diagonal"

    def __init__(self, cfg: Config, problem: Problem):
        self.depth = cfg.model.depth
        self.n = problem.shape[0]
        self.cfg = cfg

    def init(self, rng):
        m = self.cfg.model
        a = m.init_scale
        if m.init == "gaussian":
            return [a * rng.standard_normal(self.n) for _ in range(self.depth)]
        if m.init == "zeros":
            return [np.zeros(self.n) for _ in range(self.depth)]
        return [np.full(self.n, a) for _ in range(self.depth)]

    def forward_and_cache(self, params):
        # prefix products L_j = w_1 ... w_{j-1}
        prefix = [None]
        p = params[0]
        for w in params[1:]:
            prefix.append(p)
            p = p * w
        return p, prefix

    def grads(self, params, g, prefix):
        n = len(params)
        out = [None] * n
        suffix_g = g  # g * w_{j+1} ... w_N
        for j in range(n - 1, -1, -1):
            pre = prefix[j]
            out[j] = suffix_g if pre is None else suffix_g * pre
            if j > 0:
                suffix_g = suffix_g * params[j]
        return out


class LinearVectorModel:
    family = "diagonal"

    def __init__(self, cfg: Config, problem: Problem):
        self.depth = 1
        self.n = problem.shape[0]
        self.cfg = cfg

    def init(self, rng):
        m = self.cfg.model
        if m.init == "gaussian":
            return [m.init_scale * rng.standard_normal(self.n)]
        if m.init == "constant":
            return [np.full(self.n, m.init_scale)]
        return [np.zeros(self.n)]

    def forward_and_cache(self, params):
        return params[0], None

    def grads(self, params, g, cache):
        return [g]


def make_model(cfg: Config, problem: Problem):
    kind = cfg.parametrization
    if kind == "product":
        return ProductModel(cfg, problem)
    if kind == "symmetric":
        return SymmetricModel(cfg, problem)
    if kind == "pm_power":
        return PMPowerModel(cfg, problem)
    if kind == "hadamard":
        return HadamardModel(cfg, problem)
    if kind == "linear":
        return LinearVectorModel(cfg, problem)
    if kind == "cp":
        from ibviewer.core.tensor import CPModel

        return CPModel(cfg, problem)
    if kind == "mlp":
        from ibviewer.core.nonlinear import MLPModel

        return MLPModel(cfg, problem)
    raise ConfigError(f"model.parametrization = {kind!r} is not allowed")  # pragma: no cover
