"""Nonlinear networks: the puzzle the linear models explain.

Problems: ``teacher_student`` (regression on Gaussian inputs labelled by a small two-layer ReLU teacher) and
``digits`` (scikit-learn's bundled 8x8 handwritten digits, cross-entropy).  Model: a fully connected network
(MLP) with relu / tanh / linear activations, optional biases and optional weight normalization
(W = g * V / ||V|| per row, Salimans & Kingma).

The gradient is written out (backpropagation by hand) once for numpy and torch arrays alike, as for the linear
models: on a 2-core CPU it runs faster than torch autograd for networks of this size, and it is checked
against torch autograd in the tests.  Losses are means over the samples: (1/2n) sum ||f(x) - y||^2 for
regression, mean cross-entropy for classification.
"""

from __future__ import annotations

import numpy as np

from ibviewer.core import ops
from ibviewer.core.config import Config, ConfigError, ProblemConfig
from ibviewer.core.problems import Problem


# ---------------------------------------------------------------------------------------------- problems
def make_teacher_student(p: ProblemConfig, rng: np.random.Generator, family: str) -> Problem:
    """x ~ N(0, I_d); y = a^T relu(W x) / sqrt(r) (+ noise) with a teacher of width r = problem.rank."""
    d, n, r, nt = p.d, p.samples, p.rank, p.test_samples
    w = rng.standard_normal((r, d)) / np.sqrt(d)
    a = rng.choice([-1.0, 1.0], size=r) * (1 + rng.random(r))
    x = rng.standard_normal((n + nt, d))
    y = (np.maximum(x @ w.T, 0.0) @ a / np.sqrt(r))[:, None]
    y_clean = y.copy()
    y[:n] += p.noise * rng.standard_normal((n, 1))
    data = {"X": x[:n], "Y": y[:n], "X_test": x[n:], "Y_test": y_clean[n:]}
    return Problem("teacher_student", family, (1,), data, n, mean_loss=True,
                   info={"task": "regression", "outputs": 1, "inputs": d})


def make_digits(p: ProblemConfig, rng: np.random.Generator, family: str) -> Problem:
    """The 8x8 digits shipped inside scikit-learn (no download); pixels scaled to [0, 1] and centred."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.data / 16.0
    y = digits.target.astype(np.int64)
    total = len(y)
    n = p.samples
    if not 10 <= n <= total - 100:
        raise ConfigError(f"problem.samples = {n} is not allowed for digits; choose 10 to {total - 100} "
                          f"(the rest of the {total} images is the test set)")
    order = rng.permutation(total)
    tr, te = order[:n], order[n:]
    mean = x[tr].mean(axis=0)
    data = {"X": x[tr] - mean, "labels": y[tr], "X_test": x[te] - mean, "labels_test": y[te]}
    return Problem("digits", family, (1,), data, n, mean_loss=True,
                   info={"task": "classification", "outputs": 10, "inputs": x.shape[1]})


def trivial_test_loss(problem: Problem) -> float | None:
    """The test loss of the trivial predictor, which ignores the input: the training labels' mean (regression)
    or the training labels' class frequencies (classification); None for a problem without a test set.

    A network's test loss means something only next to it: interpolating the training data is easy with
    enough parameters, predicting new labels better than this is what generalizing is."""
    d = problem.data
    if "Y_test" in d:
        y, y_test = np.asarray(d["Y"], float), np.asarray(d["Y_test"], float)
        r = y_test - y.mean(axis=0)
        return float((r * r).sum()) / (2 * len(y_test))
    if "labels_test" in d:
        labels, test = np.asarray(d["labels"]), np.asarray(d["labels_test"])
        classes = int(max(labels.max(), test.max())) + 1
        # add-one counts: a class absent from the training labels costs a finite loss, as it would a person
        freq = (np.bincount(labels, minlength=classes) + 1.0) / (len(labels) + classes)
        return float(-np.log(freq[test]).mean())
    return None


# ---------------------------------------------------------------------------------------------- model
def _relu_(z):
    """relu in place (the gradient code owns z; autograd never sees it)."""
    if isinstance(z, np.ndarray):
        return np.maximum(z, 0.0, out=z)
    return z.clamp_min_(0.0)


def _tanh_(z):
    if isinstance(z, np.ndarray):
        return np.tanh(z, out=z)
    return z.tanh_()


def _act(name):
    """(activation, the same in place, its derivative written in terms of the activation's output h)."""
    if name == "relu":
        return ops.relu, _relu_, lambda h: h > 0  # a boolean mask: multiplying by it is one pass
    if name == "tanh":
        return ops.tanh, _tanh_, lambda h: 1.0 - h * h
    return (lambda z: z), (lambda z: z), None


class MLPModel:
    """f(x) = W_N act(... act(W_1 x + b_1) ...) + b_N; ``depth`` = number of weight layers."""

    family = "mlp"

    def __init__(self, cfg: Config, problem: Problem):
        m = cfg.model
        self.cfg = cfg
        self.task = problem.info["task"]
        self.depth = n = m.depth
        widths = m.width if isinstance(m.width, list) else [m.width or 256] * (n - 1)
        if len(widths) != n - 1:
            raise ConfigError(f"model.width lists {len(widths)} hidden widths; model.depth = {n} needs {n - 1}")
        self.sizes = [problem.info["inputs"]] + [int(w) for w in widths] + [problem.info["outputs"]]
        self.bias = m.bias
        self.weight_norm = m.weight_norm
        self.act, self._act_, self.dact = _act(m.activation)
        self.per_layer = 2 + int(self.bias) if self.weight_norm else 1 + int(self.bias)
        self.center = m.center_output
        #: the initial network's outputs on the train and test inputs (subtracted when centering)
        self.offset: dict = {}

    def set_offset(self, params, data) -> None:
        """Record f(w0) on the data: with ``model.center_output`` the model is f(w) - f(w0) (Chizat et al.)."""
        self.offset = {}
        if self.center:
            self.offset = {k: self.forward(params, data[k]) for k in ("X", "X_test")}

    @property
    def n_params(self) -> int:
        total = 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            total += fan_in * fan_out + (fan_out if self.bias else 0) + (fan_out if self.weight_norm else 0)
        return total

    def init(self, rng: np.random.Generator) -> list[np.ndarray]:
        m = self.cfg.model
        gain = 2.0 if m.activation == "relu" else 1.0
        out = []
        for j, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            g = gain if j < self.depth - 1 else 1.0
            if m.init == "orthogonal":
                q, _ = np.linalg.qr(rng.standard_normal((max(fan_in, fan_out), min(fan_in, fan_out))))
                w = (q if fan_out >= fan_in else q.T) * np.sqrt(g * max(fan_in, fan_out) / fan_in)
                w = w[:fan_out, :fan_in] if w.shape != (fan_out, fan_in) else w
            else:  # fan-in Gaussian: He for ReLU layers, LeCun otherwise
                w = rng.standard_normal((fan_out, fan_in)) * np.sqrt(g / fan_in)
            w = m.init_scale * w
            if self.weight_norm:
                norms = np.linalg.norm(w, axis=1)
                out += [w / norms[:, None], norms]
            else:
                out.append(w)
            if self.bias:
                out.append(np.zeros(fan_out))
        return out

    # -------------------------------------------------------------------- layers
    def layers(self, params):
        """(W_j, b_j) per layer, W the effective weight (after weight normalization)."""
        k = self.per_layer
        out = []
        for j in range(self.depth):
            chunk = params[j * k : (j + 1) * k]
            if self.weight_norm:
                v, g = chunk[0], chunk[1]
                vn = ops.row_norms(v)
                w = v * (g / vn)[:, None]
            else:
                w = chunk[0]
            out.append((w, chunk[-1] if self.bias else None))
        return out

    def forward(self, params, x):
        """The network's output; differentiable by torch autograd (in place only on numpy arrays)."""
        act = self._act_ if isinstance(x, np.ndarray) else self.act
        h = x
        for j, (w, b) in enumerate(self.layers(params)):
            z = h @ w.T
            if b is not None:
                z = z + b
            h = z if j == self.depth - 1 else act(z)
        return h

    def _loss_from_output(self, out, y, *, need_grad: bool):
        n = out.shape[0]
        if self.task == "regression":
            r = out - y
            loss = float((r * r).sum()) / (2 * n)
            return loss, (r / n if need_grad else None)
        lse = ops.logsumexp_rows(out)
        picked = out[ops.arange_like(y, n), y]
        loss = float((lse - picked).sum()) / n
        if not need_grad:
            return loss, None
        p = ops.exp(out - lse[:, None])
        p[ops.arange_like(y, n), y] -= 1.0
        return loss, p / n

    def loss_and_grads(self, params, data, idx=None):
        x, y = data["X"], data["Y"] if self.task == "regression" else data["labels"]
        off = self.offset.get("X")
        if idx is not None:
            x, y = x[idx], y[idx]
            off = None if off is None else off[idx]
        layers = self.layers(params)
        hs = [x]  # the input of every layer; the activation's derivative is written in terms of these
        h = x
        for j, (w, b) in enumerate(layers):
            z = h @ w.T
            if b is not None:
                z += b
            h = z if j == self.depth - 1 else self._act_(z)
            hs.append(h)
        if off is not None:
            h = h - off
        loss, delta = self._loss_from_output(h, y, need_grad=True)
        grads = [None] * len(params)
        k = self.per_layer
        for j in range(self.depth - 1, -1, -1):
            w, b = layers[j]
            dw = delta.T @ hs[j]
            base = j * k
            if self.weight_norm:
                v, g = params[base], params[base + 1]
                vn = ops.row_norms(v)
                vhat = v / vn[:, None]
                dg = (dw * vhat).sum(1)
                grads[base] = (g / vn)[:, None] * (dw - dg[:, None] * vhat)
                grads[base + 1] = dg
            else:
                grads[base] = dw
            if b is not None:
                grads[base + k - 1] = delta.sum(0)
            if j > 0:
                delta = delta @ w
                if self.dact is not None:
                    delta *= self.dact(hs[j])
        return loss, grads

    def evaluate(self, params, data, split: str = "train"):
        """(loss, accuracy or None) on the training or the test set."""
        sfx = "" if split == "train" else "_test"
        y = data[("Y" if self.task == "regression" else "labels") + sfx]
        out = self.output(params, data, split)
        loss, _ = self._loss_from_output(out, y, need_grad=False)
        if self.task == "regression":
            return loss, None
        pred = ops.argmax_rows(out)
        return loss, float((pred == y).sum()) / len(y)


    def output(self, params, data, split: str = "train"):
        key = "X" if split == "train" else "X_test"
        out = self.forward(params, data[key])
        return out - self.offset[key] if key in self.offset else out

    def normalized_margin(self, params, data) -> float:
        """min_i (f_y(x_i) - max_{j != y} f_j(x_i)) / prod_j ||W_j||_F on the training set (exact for bias-free
        homogeneous nets)."""
        out = ops.to_numpy(self.output(params, data)).astype(float)
        y = ops.to_numpy(data["labels"])
        n = len(y)
        correct = out[np.arange(n), y]
        other = out.copy()
        other[np.arange(n), y] = -np.inf
        scale = np.prod([np.linalg.norm(ops.to_numpy(w)) for w, _ in self.layers(params)])
        return float((correct - other.max(axis=1)).min() / scale) if scale > 0 else 0.0
