"""The training engine: ``reset(seed)``, ``step(k)``, ``snapshot()``, a bounded history and stop conditions.

The engine trains one run of a :class:`~ibviewer.core.config.Config`.  On the CPU it uses the closed-form
gradients of :mod:`ibviewer.core.models` on numpy arrays (the fastest here); on ``run.device = cuda`` (or
``run.backend = torch``) the same code runs on torch tensors.  Metrics are computed at recorded steps only:
every step for the first ~20 steps, then log-spaced, then every ``stride`` steps (``run.record_every``, or
automatic), the stride doubling whenever the history thins itself.  Full-batch GD takes the steps between two
records through :mod:`ibviewer.core.fastpath` (the same steps in fewer calls).

A diverging run (NaN/Inf, or a loss above ``run.diverge_factor`` times its start) stops with
``status = "diverged"`` and a message; it never raises.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ibviewer.core import metrics as M
from ibviewer.core.config import Config, ConfigError, set_key
from ibviewer.core.fastpath import make_fast_path
from ibviewer.core.history import History
from ibviewer.core.models import make_model
from ibviewer.core.ops import to_numpy
from ibviewer.core.optim import Optimizer
from ibviewer.core.problems import LossHead, Problem, make_problem
from ibviewer.core.references import references

#: the automatic recording stride (after the log-spaced early steps): smooth curves at a few percent of the cost
AUTO_STRIDE = 25
AUTO_STRIDE_MLP = 100

READY, RUNNING, CONVERGED, MAX_STEPS, DIVERGED = "ready", "running", "converged", "max_steps", "diverged"
STOPPED = (CONVERGED, MAX_STEPS, DIVERGED)


_THREADS_LIMITED = False


def limit_threads() -> None:
    """One BLAS thread and one torch thread: on two cores shared with the GUI, two threads per process stall at random."""
    global _THREADS_LIMITED
    if _THREADS_LIMITED:
        return
    _THREADS_LIMITED = True
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _fro(a: np.ndarray) -> float:
    """Frobenius / Euclidean norm (np.linalg.norm costs several times more on small arrays)."""
    return math.sqrt(float(np.vdot(a, a)))


def _singular_values(w: np.ndarray) -> np.ndarray:
    """Singular values, descending; through the smaller Gram matrix (eigvalsh is ~1.6x faster than the SVD for
    the square-ish layers of an MLP and agrees to ~1e-14 relative to the largest)."""
    g = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    return np.sqrt(np.clip(np.linalg.eigvalsh(g), 0.0, None))[::-1]


def resolve_device(device: str) -> str:
    if device == "auto":
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:  # pragma: no cover
            return "cpu"
    return device


class Engine:
    """Trains one run.  Not thread-safe: drive it from one thread (or one worker process)."""

    def __init__(self, cfg: Config, problem: Problem | None = None):
        limit_threads()
        self.cfg = cfg.copy().validate()
        self.problem = problem if problem is not None else make_problem(self.cfg)
        self.model = make_model(self.cfg, self.problem)
        self.device = resolve_device(self.cfg.run.device)
        backend = self.cfg.run.backend
        if backend == "auto":
            backend = "numpy" if self.device == "cpu" else "torch"
        if backend == "numpy" and self.device != "cpu":
            raise ConfigError(f"run.backend = 'numpy' runs on the CPU only; run.device = {self.device!r} needs run.backend = torch or auto")
        self.backend = backend
        self.np_dtype = np.float64 if self.cfg.run.dtype == "float64" else np.float32
        self._torch = None
        if backend == "torch":
            import torch

            torch.set_num_threads(1)
            if self.device == "cuda" and not torch.cuda.is_available():
                raise ConfigError("run.device = 'cuda' but torch sees no CUDA device; use run.device = cpu or auto")
            self._torch = torch
            self._tdtype = torch.float64 if self.cfg.run.dtype == "float64" else torch.float32
        self.data = {k: self._to_backend(v) for k, v in self.problem.data.items()}
        self.head = LossHead(self.problem, self.data)
        self.refs = references(
            self.problem, alpha=self.cfg.model.init_scale, parametrization=self.cfg.parametrization,
            depth=self.cfg.model.depth,
        )
        norms = {name: _fro(ref) for name, ref in self.refs.items()}
        if self.problem.target is not None:
            norms["target"] = _fro(self.problem.target)
        # relative distances divide by these (a zero reference gives the absolute distance)
        self._ref_norms = {k: (v if v > 0 else 1.0) for k, v in norms.items()}
        self._wall = 0.0
        self._fast = make_fast_path(self)
        self.reset(self.cfg.run.seed)

    # ---------------------------------------------------------------------------------------- setup
    def _to_backend(self, a: np.ndarray):
        a = np.asarray(a)
        if a.dtype.kind == "f":
            a = a.astype(self.np_dtype)
        if self._torch is None:
            return a
        t = self._torch.from_numpy(np.ascontiguousarray(a))
        if t.is_floating_point():
            t = t.to(self._tdtype)
        return t.to(self.device)

    def reset(self, seed: int | None = None) -> None:
        """Back to step 0: parameters drawn anew from ``seed`` (the config's run.seed if None)."""
        if seed is not None:
            self.cfg.run.seed = int(seed)
        seed = self.cfg.run.seed
        rng = np.random.default_rng([seed, 0])
        init = self.model.init(rng)
        if self.cfg.problem.kind == "razin_cohen" and self.cfg.model.init == "gaussian":
            # Razin & Cohen: resample until the product has positive determinant
            for _ in range(1000):
                p = init[0]
                for w in init[1:]:
                    p = w @ p
                if np.linalg.det(p) > 0:
                    break
                init = self.model.init(rng)
        self.params = [self._to_backend(w) for w in init]
        self._batch_rng = np.random.default_rng([seed, 1])
        self._perm = None
        self._perm_pos = 0
        self.optimizer = Optimizer(self.cfg.optimizer)
        self.step_count = 0
        self.time = 0.0  # sum of learning rates: gradient-flow time
        self.status = READY
        self.message = ""
        self._wall = 0.0
        self.history = History(self.cfg.run.history_rows)
        rec = self.cfg.run.record_every
        # MLP records (layer spectra, a test-set pass) cost several ms: record them less often
        auto = AUTO_STRIDE_MLP if self._mlp else AUTO_STRIDE
        self.stride = rec if rec > 0 else max(auto, self.cfg.run.steps // 8000)
        self._next_record = 0
        self._loss0: float | None = None
        self._current: tuple[int, float] | None = None
        if self._mlp:
            self.model.set_offset(self.params, self.data)
            self._weights0 = [np.asarray(to_numpy(w), dtype=np.float64).copy() for w, _ in self.model.layers(self.params)]
            self._balance0 = []
        else:
            factors = [to_numpy(w).astype(float) for w in self.params]
            self._balance0 = M.balancedness(factors) if self._has_balance else []

    @property
    def _mlp(self) -> bool:
        return self.cfg.family == "mlp"

    @property
    def _has_balance(self) -> bool:
        return self.cfg.parametrization in ("product", "hadamard") and self.cfg.model.depth > 1

    @property
    def wall_seconds(self) -> float:
        """Seconds spent training (in step) since the last reset."""
        return self._wall

    @property
    def stopped(self) -> bool:
        return self.status in STOPPED

    @property
    def batch_size(self) -> int:
        o = self.cfg.optimizer
        if o.name == "gd":
            return 0
        b = o.batch_size
        if b == 0 and o.name == "sgd":
            b = max(1, self.problem.n_data // 10)
        return b if 0 < b < self.problem.n_data else 0

    # ---------------------------------------------------------------------------------------- live changes
    def set_lr(self, lr: float) -> None:
        self.set_optimizer(lr=lr)

    def set_optimizer(self, name: str | None = None, **kwargs: Any) -> None:
        """Change the optimizer or its settings between steps, keeping the parameters."""
        trial = self.cfg.copy()
        if name is not None:
            set_key(trial, "optimizer.name", name)
        for k, v in kwargs.items():
            set_key(trial, f"optimizer.{k}", v)
        trial.validate()
        new = trial.optimizer
        if new.name != self.cfg.optimizer.name:
            self.optimizer = Optimizer(new)
        else:
            self.optimizer.cfg = new
        self.cfg.optimizer = new
        if self.status == MAX_STEPS and (self.cfg.run.steps == 0 or self.step_count < self.cfg.run.steps):
            self.status = READY

    def set_max_steps(self, steps: int) -> None:
        if steps < 0:
            raise ConfigError(f"run.steps = {steps} is not allowed; it must be >= 0")
        self.cfg.run.steps = int(steps)
        if self.status == MAX_STEPS and (steps == 0 or self.step_count < steps):
            self.status = READY

    def set_loss_tol(self, tol: float) -> None:
        if not tol >= 0:
            raise ConfigError(f"run.loss_tol = {tol} is not allowed; it must be >= 0")
        self.cfg.run.loss_tol = float(tol)
        if self.status == CONVERGED:
            self.status = READY

    # ---------------------------------------------------------------------------------------- training
    def _batch(self):
        b = self.batch_size
        if not b:
            return None
        n = self.problem.n_data
        if self._perm is None or self._perm_pos + b > n:
            self._perm = self._batch_rng.permutation(n)
            self._perm_pos = 0
        idx = self._perm[self._perm_pos : self._perm_pos + b]
        self._perm_pos += b
        if self._torch is not None:
            idx = self._torch.from_numpy(idx).to(self.device)
        return idx

    def step(self, k: int = 1) -> int:
        """Take up to ``k`` optimizer steps; returns how many were taken (fewer once a stop condition holds)."""
        if self.stopped:
            return 0
        t0 = time.perf_counter()
        model, head, params, opt = self.model, self.head, self.params, self.optimizer
        mlp = self._mlp
        o = self.cfg.optimizer
        fast = self._fast if o.name in ("gd", "sgd") and not self.batch_size else None
        evaluate = getattr(fast, "evaluate", None)
        max_steps = self.cfg.run.steps
        done = 0
        self.status = RUNNING
        while done < k:
            if self._at_max_steps():
                break
            if fast is not None and self.step_count < self._next_record:
                # the steps up to the next record in one call; a step where the run stops is left to the loop below
                n = min(k - done, self._next_record - self.step_count)
                if max_steps:
                    n = min(n, max_steps - self.step_count)
                limit = self._limit if self._loss0 is not None else math.inf
                taken = fast.run(params, n, o.lr, o.weight_decay, limit, self.cfg.run.loss_tol)
                for _ in range(taken):
                    self._advance()
                done += taken
                if taken == n:
                    continue
            elif fast is not None and evaluate is not None:
                # a record step: the fast path may know the state already (then it also takes this step's update)
                got = evaluate(params)
                if got is not None:
                    if not self._bookkeep(*got):
                        break
                    continue
            idx = self._batch()
            if mlp:
                P = None
                loss, grads = model.loss_and_grads(params, self.data, idx)
            else:
                P, cache = model.forward_and_cache(params)
                loss, G = head(P, idx)
                grads = model.grads(params, G, cache)
            if not self._bookkeep(P, loss, grads, exact=idx is None):
                break
            opt.step(params, grads)
            self._advance()
            done += 1
        self._settle()
        self._wall += time.perf_counter() - t0
        return done

    # One step's bookkeeping, shared with the batched runs of ibviewer.core.compare.
    def _at_max_steps(self) -> bool:
        max_steps = self.cfg.run.steps
        if max_steps and self.step_count >= max_steps:
            self._record_final()
            if self.status != DIVERGED:
                self.status, self.message = MAX_STEPS, f"reached run.steps = {max_steps}"
            return True
        return False

    def _bookkeep(self, P, loss: float, grads, *, exact: bool = True) -> bool:
        """Record (when due) and check the stop conditions at the current step, given its loss (the full loss
        when ``exact``, else a minibatch estimate).  ``grads`` may be a callable returning the gradient list.
        Returns False when the run stops here."""
        full_loss = loss if exact else None
        if self.step_count >= self._next_record:
            if full_loss is None:
                full_loss = self._full_loss(P)
            if not self._check(full_loss):
                return False
            self._record(P, full_loss, grads() if callable(grads) else grads)
        elif not math.isfinite(loss) or (self._loss0 is not None and loss > self._limit):
            self._diverge(loss)
            return False
        tol = self.cfg.run.loss_tol
        if full_loss is not None and tol and full_loss <= tol:
            self._current = (self.step_count, full_loss)
            if self.history.n == 0 or self.history["step"][-1] != self.step_count:
                self._record(P, full_loss, grads() if callable(grads) else grads)
            self.status, self.message = CONVERGED, f"loss {full_loss:.3g} <= run.loss_tol = {tol:g}"
            return False
        return True

    def _advance(self) -> None:
        self.step_count += 1
        self.time += self.cfg.optimizer.lr

    def _settle(self) -> None:
        """After a burst of steps: back to READY unless stopped; stop at run.steps."""
        if self.status == RUNNING:
            self.status = READY
        if self.status == READY:
            self._at_max_steps()

    def run(self, steps: int | None = None, *, chunk: int = 1000, callback=None) -> None:
        """Train until a stop condition (or ``steps`` more steps); ``callback(engine)`` after every chunk."""
        target = None if steps is None else self.step_count + steps
        while not self.stopped:
            k = chunk if target is None else min(chunk, target - self.step_count)
            if k <= 0:
                break
            self.step(k)
            if callback is not None:
                callback(self)

    @property
    def _limit(self) -> float:
        return self.cfg.run.diverge_factor * max(self._loss0 or 0.0, 1.0)

    def _check(self, loss: float) -> bool:
        if self._loss0 is None and math.isfinite(loss):
            self._loss0 = loss
        if not math.isfinite(loss) or loss > self._limit:
            self._diverge(loss)
            return False
        return True

    def _diverge(self, loss: float) -> None:
        self.status = DIVERGED
        why = "the loss is not finite" if not math.isfinite(loss) else (
            f"loss {loss:.3g} exceeded {self.cfg.run.diverge_factor:g} x its initial value")
        self.message = (
            f"diverged at step {self.step_count}: {why}; lower optimizer.lr (now {self.cfg.optimizer.lr:g})"
        )

    def _full_loss(self, P) -> float:
        if self._mlp:
            return self.model.loss_and_grads(self.params, self.data)[0]
        return self.head(P)[0]

    def _evaluate(self):
        """(P, full loss, grads) at the current parameters."""
        if self._mlp:
            loss, grads = self.model.loss_and_grads(self.params, self.data)
            return None, loss, grads
        P, cache = self.model.forward_and_cache(self.params)
        loss, G = self.head(P)
        return P, loss, self.model.grads(self.params, G, cache)

    def _record_final(self) -> None:
        if self.history.n and self.history["step"][-1] == self.step_count:
            return
        P, loss, grads = self._evaluate()
        if not self._check(loss):
            return
        self._record(P, loss, grads)

    def _record(self, P, loss: float, grads) -> None:
        row = self._metrics(P, loss, grads)
        if self.history.append(row):
            self.stride *= 2
        k = self.step_count
        self._next_record = max(k + 1, min((k // self.stride + 1) * self.stride, int(k * 1.05)))
        self._current = (k, loss)

    # ---------------------------------------------------------------------------------------- metrics
    def _mlp_metrics(self, loss: float, grads) -> dict[str, Any]:
        model, d = self.model, self.data
        gn = math.sqrt(sum(float((g * g).sum()) for g in grads))
        ws = [np.asarray(to_numpy(w), dtype=np.float64) for w, _ in model.layers(self.params)]
        svs = [_singular_values(w) for w in ws]
        row: dict[str, Any] = {
            "step": self.step_count, "time": self.time, "wall": self._wall, "loss": loss, "grad_norm": gn,
            "layer_norms": np.array([np.linalg.norm(w) for w in ws]),
            "layer_spectral": np.array([s[0] for s in svs]),
            "layer_erank": np.array([M.effective_ranks(s)["entropy"] for s in svs]),
            "layer_stable_rank": np.array([M.effective_ranks(s)["stable"] for s in svs]),
            "layer_rel_change": np.array([np.linalg.norm(w - w0) / np.linalg.norm(w0) for w, w0 in zip(ws, self._weights0)]),
        }
        for j, s in enumerate(svs):
            row[f"sv_layer{j}"] = s
        if model.task == "regression":
            row["test_loss"], _ = model.evaluate(self.params, d, "test")
        else:
            _, row["train_acc"] = model.evaluate(self.params, d, "train")
            row["test_loss"], row["test_acc"] = model.evaluate(self.params, d, "test")
            row["margin"] = model.normalized_margin(self.params, d)
        return row

    def _metrics(self, P, loss: float, grads) -> dict[str, Any]:
        if self._mlp:
            return self._mlp_metrics(loss, grads)
        cfg = self.cfg
        p = np.asarray(to_numpy(P), dtype=np.float64)
        factors = [np.asarray(to_numpy(w), dtype=np.float64) for w in self.params]
        gn = math.sqrt(sum(float((g * g).sum()) for g in grads))
        row: dict[str, Any] = {
            "step": self.step_count,
            "time": self.time,
            "wall": self._wall,
            "loss": loss,
            "grad_norm": gn,
            "layer_norms": np.array([_fro(w) for w in factors]),
            "state": p,
        }
        if self._has_balance:
            bal = M.balancedness(factors)
            row["balancedness"] = np.array([_fro(b) for b in bal])
            row["balance_drift"] = np.array([_fro(b - b0) for b, b0 in zip(bal, self._balance0)])
        if p.ndim == 2:
            s = np.linalg.svd(p, compute_uv=False)
            er = M.effective_ranks(s)
            norms = M.matrix_norms(s, cfg.model.depth)
            row.update(
                sv=s,
                erank_entropy=er["entropy"],
                erank_nuclear_over_operator=er["nuclear_over_operator"],
                erank_stable=er["stable"],
                numerical_rank=M.numerical_rank(s, cfg.run.rank_tol),
                norm_fro=norms["fro"],
                norm_nuclear=norms["nuclear"],
                norm_op=norms["operator"],
                sum_sigma_2_over_n=norms["sum_sigma_2_over_n"],
            )
        else:
            row.update(l1=float(np.abs(p).sum()), l2=float(np.linalg.norm(p)))
        target = self.problem.target
        if target is not None:
            row["rel_error"] = _fro(p - target) / self._ref_norms["target"]
        if cfg.problem.kind == "razin_cohen":
            row["abs_w00"] = abs(float(p[0, 0]))
        if cfg.family == "classifier":
            w = p[0]
            x, y = self.problem.data["X"], self.problem.data["labels"]
            row["w_norm"] = float(np.linalg.norm(w))
            row["margin"] = M.normalized_margin(w, x, y)
            row["angle_deg"] = M.angle_degrees(w, self.refs["max_margin"][0])
            row["t_loss"] = self.step_count * loss
        for name, ref in self.refs.items():
            if name == "max_margin":
                nw = np.linalg.norm(p)
                row["dist_max_margin"] = M.relative_distance(p / nw if nw > 0 else p, ref / np.linalg.norm(ref))
            else:
                row[f"dist_{name}"] = _fro(p - ref) / self._ref_norms[name]
        return row

    # ---------------------------------------------------------------------------------------- reading
    def product(self) -> np.ndarray | None:
        """The end-to-end product (matrix or vector); None for MLPs."""
        if self._mlp:
            return None
        P, _ = self.model.forward_and_cache(self.params)
        return to_numpy(P).astype(np.float64)

    def current_loss(self) -> float:
        if self._current is not None and self._current[0] == self.step_count:
            return self._current[1]
        P, loss, _ = self._evaluate()
        self._current = (self.step_count, loss)
        return loss

    def current_metrics(self) -> dict[str, Any]:
        """Metrics of the current parameters (computed now, not stored)."""
        if self.history.n and self.history["step"][-1] == self.step_count:
            return self.history.last()
        return self._metrics(*self._evaluate())

    def snapshot(self) -> dict[str, Any]:
        """The state a view needs: step, loss, status, message and the current metrics."""
        return {
            "step": self.step_count,
            "time": self.time,
            "status": self.status,
            "message": self.message,
            "loss": self.current_loss(),
            "rows": self.history.n,
            "wall_seconds": self._wall,
            "metrics": self.current_metrics() if not self.status == DIVERGED else self.history.last(),
        }

    def summary(self) -> dict[str, Any]:
        """The run's summary (summary.json)."""
        last = self.history.last() if self.status == DIVERGED else self.current_metrics()
        out: dict[str, Any] = {
            "config": self.cfg.to_dict(),
            "steps": self.step_count,
            "status": self.status,
            "message": self.message,
            "diverged": self.status == DIVERGED,
            "final_loss": _num(last.get("loss")),
            "wall_seconds": self._wall,
            "backend": self.backend,
            "device": self.device,
        }
        if "rel_error" in last:
            out["relative_error"] = _num(last["rel_error"])
        if "sv" in last:
            out["singular_values"] = [_num(v) for v in np.asarray(last["sv"])]
            out["effective_rank"] = {
                "entropy": _num(last["erank_entropy"]),
                "nuclear_over_operator": _num(last["erank_nuclear_over_operator"]),
                "stable": _num(last["erank_stable"]),
            }
            out["numerical_rank"] = int(last["numerical_rank"])
            out["norms"] = {k: _num(last[f"norm_{k}"]) for k in ("fro", "nuclear", "op")}
        if self.cfg.family == "diagonal":
            out["x"] = [_num(v) for v in np.asarray(last["state"])]
            out["l1"] = _num(last["l1"])
        if self.cfg.family == "classifier":
            out["w"] = [_num(v) for v in np.asarray(last["state"])[0]]
            out["margin"] = _num(last["margin"])
            out["angle_deg"] = _num(last["angle_deg"])
        if self._mlp:
            out["train_loss"] = out["final_loss"]
            out["test_loss"] = _num(last["test_loss"])
            if "test_acc" in last:
                out["train_accuracy"] = _num(last["train_acc"])
                out["test_accuracy"] = _num(last["test_acc"])
                out["margin"] = _num(last["margin"])
            out["layer_effective_ranks"] = [_num(v) for v in np.asarray(last["layer_erank"])]
            out["layer_stable_ranks"] = [_num(v) for v in np.asarray(last["layer_stable_rank"])]
            out["layer_relative_change"] = [_num(v) for v in np.asarray(last["layer_rel_change"])]
            out["layer_spectral_norms"] = [_num(v) for v in np.asarray(last["layer_spectral"])]
            out["n_params"] = self.model.n_params
            out["n_samples"] = self.problem.n_data
        if "balancedness" in last:
            out["balancedness"] = [_num(v) for v in np.asarray(last["balancedness"])]
            out["balance_drift"] = [_num(v) for v in np.asarray(last["balance_drift"])]
        out["references"] = {
            name: _num(last[f"dist_{name}"]) for name in self.refs if f"dist_{name}" in last
        }
        return out


def _num(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None
