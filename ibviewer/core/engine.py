"""The training engine: ``reset(seed)``, ``step(k)``, ``snapshot()``, ``state_dict()``, a bounded history and
stop conditions.

The engine trains one run of a :class:`~ibviewer.core.config.Config`.  On the CPU it uses the closed-form
gradients of :mod:`ibviewer.core.models` on numpy arrays (the fastest here); on ``run.device = cuda`` (or
``run.backend = torch``) the same code runs on torch tensors (:mod:`ibviewer.core.backend`).  Metrics
(:mod:`ibviewer.core.runmetrics`) are computed at recorded steps only (:mod:`ibviewer.core.schedule`).  Full-batch
GD takes the steps between two records through :mod:`ibviewer.core.fastpath` (the same steps in fewer calls).

A diverging run (NaN/Inf, or a loss above ``run.diverge_factor`` times its start) stops with
``status = "diverged"`` and a message; it never raises (:mod:`ibviewer.core.bookkeeping`).  The whole training
state goes out and comes back through :meth:`Engine.state_dict` and :meth:`Engine.load_state_dict`
(:mod:`ibviewer.core.engine_state`).
"""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np

from ibviewer.core import engine_state
from ibviewer.core.backend import Backend, limit_threads, resolve_device
from ibviewer.core.bookkeeping import (CONVERGED, DIVERGED, MAX_STEPS, READY, RUNNING, STOPPED,  # noqa: F401
                                       Bookkeeping)
from ibviewer.core.config import LABEL_NOISE_KINDS, Config, ConfigError, set_key
from ibviewer.core.fastpath import make_fast_path
from ibviewer.core.sparse_completion import takes_sparse_gradient
from ibviewer.core.checkpoint import LastGood
from ibviewer.core.history import History
from ibviewer.core.labelnoise import LabelNoise, target_shape
from ibviewer.core.models import make_model
from ibviewer.core.ops import to_numpy
from ibviewer.core.optim import Optimizer
from ibviewer.core.problems import LossHead, Problem, make_problem
from ibviewer.core.references import references
from ibviewer.core.runmetrics import RunMetrics, summary
from ibviewer.core.sampler import BatchSampler
from ibviewer.core.schedule import AUTO_STRIDE, AUTO_STRIDE_MLP, RecordSchedule  # noqa: F401

__all__ = ["Engine", "READY", "RUNNING", "CONVERGED", "MAX_STEPS", "DIVERGED", "STOPPED", "limit_threads",
           "resolve_device"]


def QUIET(method):
    """Where the engine computes, overflow and invalid values are the run's to report (it diverges and says
    why), not numpy's to print as warnings on the terminal."""

    @functools.wraps(method)
    def quiet(*args, **kwargs):
        with np.errstate(all="ignore"):
            return method(*args, **kwargs)

    return quiet


class Engine(Bookkeeping):
    """Trains one run.  Not thread-safe: drive it from one thread (or one worker process)."""

    @QUIET
    def __init__(self, cfg: Config, problem: Problem | None = None):
        limit_threads()
        self.cfg = cfg.copy().validate()
        self.problem = problem if problem is not None else make_problem(self.cfg)
        self.model = make_model(self.cfg, self.problem)
        self.lib = Backend(self.cfg)
        self.device, self.backend, self.np_dtype = self.lib.device, self.lib.name, self.lib.np_dtype
        self.data = {k: self.lib.array(v) for k, v in self.problem.data.items()}
        observed = len(self.problem.data["rows"]) if "rows" in self.problem.data else 0
        self.head = LossHead(self.problem, self.data, sparse_gradient=takes_sparse_gradient(
            self.problem.kind, tuple(self.problem.shape), observed, self.cfg.model.depth, self.cfg.parametrization,
            self.backend == "numpy"))
        self.refs = references(
            self.problem, alpha=self.cfg.model.init_scale, parametrization=self.cfg.parametrization,
            depth=self.cfg.model.depth, init=self.cfg.model.init,
        )
        self.metrics = RunMetrics(self)
        self._wall = 0.0
        self._fast = make_fast_path(self)
        self.reset(self.cfg.run.seed)

    @QUIET
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
        self.params = [self.lib.array(w) for w in init]
        self.sampler = BatchSampler(seed, self.problem.n_data)
        # optimizer.label_noise may be set between steps: the draws are ready for every kind that allows it
        self.label_noise = (LabelNoise(seed, target_shape(self.problem))
                            if self.problem.kind in LABEL_NOISE_KINDS else None)
        self.optimizer = Optimizer(self.cfg.optimizer)
        self.step_count = 0
        self.time = 0.0  # sum of learning rates: gradient-flow time
        self.status = READY
        self.message = ""
        self._wall = 0.0
        self.history = History(self.cfg.run.history_rows, snapshot_budget=self.cfg.run.snapshot_mb * 2**20,
                               snapshot_dtype=self.np_dtype)
        self.schedule = RecordSchedule(self.cfg)
        self.last_good = LastGood()
        self.loss0: float | None = None  # the first recorded loss: the divergence limit scales with it
        self._current: tuple[int, float] | None = None
        if self.is_mlp:
            self.model.set_offset(self.params, self.data)
        self.metrics.start()

    # ---------------------------------------------------------------------------------------- state
    def rewind(self) -> bool:
        """A diverged run goes on from its last finite state, its last recorded row (see
        :mod:`ibviewer.core.checkpoint`): the settings it has now apply (lower the learning rate first), the
        optimizer starts afresh and the rows after that one are dropped.  False (nothing changes) when the run
        has not diverged or no state was kept."""
        if self.status != DIVERGED or not self.last_good.restore(self):
            return False
        self.status, self.message = READY, ""
        self._current = None
        return True

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run bit for bit, as copies (see :mod:`ibviewer.core.engine_state`)."""
        return engine_state.state_dict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the run ``state`` describes, its configuration included (settings changed live, such as the
        learning rate, come along; its problem and model must be this engine's).  The state is checked whole
        first: anything wrong raises :class:`~ibviewer.core.engine_state.StateError` (one line) and leaves this
        engine as it was."""
        engine_state.load_state(self, state)

    # ---------------------------------------------------------------------------------------- properties
    @property
    def is_mlp(self) -> bool:
        return self.cfg.family == "mlp"

    @property
    def fast_path(self):
        """The fast path of full-batch GD steps between records (:mod:`ibviewer.core.fastpath`), or None."""
        return self._fast

    @property
    def stride(self) -> int:
        """Steps between records once past the early, log-spaced ones (doubles when the history thins)."""
        return self.schedule.stride

    @property
    def wall_seconds(self) -> float:
        """Seconds spent training (in step) since the last reset."""
        return self._wall

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
        return self.lib.index(self.sampler.draw(b))

    @QUIET
    def step(self, k: int = 1) -> int:
        """Take up to ``k`` optimizer steps; returns how many were taken (fewer once a stop condition holds)."""
        if self.stopped:
            return 0
        t0 = time.perf_counter()
        model, head, params, opt, schedule = self.model, self.head, self.params, self.optimizer, self.schedule
        mlp = self.is_mlp
        o = self.cfg.optimizer
        sigma = o.label_noise if self.label_noise is not None else 0.0
        # label noise changes every step's targets: the fast paths (clean targets) are off
        fast = self._fast if o.name in ("gd", "sgd") and not self.batch_size and not sigma else None
        evaluate = getattr(fast, "evaluate", None)
        max_steps = self.cfg.run.steps
        done = 0
        self.status = RUNNING
        while done < k:
            if self.stop_at_max_steps():
                break
            if fast is not None and self.step_count < schedule.next:
                # the steps up to the next record in one call; a step where the run stops is left to the loop below
                n = min(k - done, schedule.next - self.step_count)
                if max_steps:
                    n = min(n, max_steps - self.step_count)
                taken = fast.run(params, n, o.lr, o.weight_decay, self.divergence_limit, self.cfg.run.loss_tol)
                for _ in range(taken):
                    self.advance()
                done += taken
                if taken == n:
                    continue
            elif fast is not None and evaluate is not None:
                # a record step: the fast path may know the state already (then it also takes this step's update)
                got = evaluate(params)
                if got is not None:
                    if not self.bookkeep(*got):
                        break
                    continue
            idx = self._batch()
            if mlp:
                P = None
                loss, grads = model.loss_and_grads(params, self.data, idx)
            else:
                P, cache = model.forward_and_cache(params)
                if sigma:
                    eps = self.lib.array(sigma * self.label_noise.standard(self.step_count))
                    loss, G = head(P, idx, eps)
                else:
                    loss, G = head(P, idx)
                grads = model.grads(params, G, cache)
            # a noisy loss is an estimate: the records and the stop conditions take the clean full loss
            if not self.bookkeep(P, loss, grads, exact=idx is None and not sigma):
                break
            opt.step(params, grads)
            self.advance()
            done += 1
        self.settle()
        self._wall += time.perf_counter() - t0
        return done

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

    def _full_loss(self, P) -> float:
        if self.is_mlp:
            return self.model.loss_and_grads(self.params, self.data)[0]
        return self.head(P)[0]

    @QUIET
    def _evaluate(self):
        """(P, full loss, grads) at the current parameters."""
        if self.is_mlp:
            loss, grads = self.model.loss_and_grads(self.params, self.data)
            return None, loss, grads
        P, cache = self.model.forward_and_cache(self.params)
        loss, G = self.head(P)
        return P, loss, self.model.grads(self.params, G, cache)

    # ---------------------------------------------------------------------------------------- reading
    @QUIET
    def product(self) -> np.ndarray | None:
        """The end-to-end product (matrix or vector); None for MLPs."""
        if self.is_mlp:
            return None
        P, _ = self.model.forward_and_cache(self.params)
        return to_numpy(P).astype(np.float64)

    def current_loss(self) -> float:
        if self._current is not None and self._current[0] == self.step_count:
            return self._current[1]
        P, loss, _ = self._evaluate()
        self._current = (self.step_count, loss)
        return loss

    @QUIET
    def current_metrics(self) -> dict[str, Any]:
        """Metrics of the current parameters (computed now, not stored)."""
        if self.history.n and self.history["step"][-1] == self.step_count:
            return self.history.last()
        return self.metrics.row(*self._evaluate())

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

    @QUIET
    def summary(self) -> dict[str, Any]:
        """The run's summary (summary.json)."""
        return summary(self, self.history.last() if self.status == DIVERGED else self.current_metrics())
