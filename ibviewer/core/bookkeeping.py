"""One step's bookkeeping: record the metrics when due, check the stop conditions, keep the status.

A run stops when its loss is not finite or exceeds ``run.diverge_factor`` times its first recorded loss
(``diverged``), when the full loss reaches ``run.loss_tol`` (``converged``) or at ``run.steps`` (``max_steps``);
it never raises.  These methods are the stepping protocol shared by :meth:`ibviewer.core.engine.Engine.step` and
the stacked runs of :mod:`ibviewer.core.compare`, which compute the loss and gradients of many runs at once and
hand each run's share to its engine.
"""

from __future__ import annotations

import math

import numpy as np

from ibviewer.core.ops import to_numpy

READY, RUNNING, CONVERGED, MAX_STEPS, DIVERGED = "ready", "running", "converged", "max_steps", "diverged"
STOPPED = (CONVERGED, MAX_STEPS, DIVERGED)
STATUSES = (READY, RUNNING, CONVERGED, MAX_STEPS, DIVERGED)
#: exit codes of a command that trains: finished, a run diverged, interrupted (Ctrl+C or SIGTERM)
EXIT_OK, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 1, 130


def exit_code(statuses: list[str], interrupted: bool) -> int:
    """The one exit-code rule of every command that trains (``run``, ``record``): 130 when interrupted, 1 when a
    run diverged (its loss, iterates or norms are not finite, or the loss blew up), else 0."""
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_DIVERGED if DIVERGED in statuses else EXIT_OK


#: an initialization scale above this is named beside the learning rate when a run diverges (the presets use <= 1)
LARGE_INIT = 10.0
#: data entries above this are named beside the learning rate when a run diverges (the presets' are below 100)
LARGE_DATA = 1e6


class Bookkeeping:
    """The stop conditions and recording of :class:`~ibviewer.core.engine.Engine` (a part of it, by job)."""

    @property
    def stopped(self) -> bool:
        return self.status in STOPPED

    @property
    def next_record(self) -> int:
        """The step of the next recorded row (steps before it need no metrics)."""
        return self.schedule.next

    @property
    def divergence_limit(self) -> float:
        """The loss above which the run diverges: ``run.diverge_factor`` x max(first loss, 1); inf before the
        first record."""
        if self.loss0 is None:
            return math.inf
        return self.cfg.run.diverge_factor * max(self.loss0, 1.0)

    def advance(self) -> None:
        """Count one step taken (gradient-flow time grows by the learning rate)."""
        self.step_count += 1
        self.time += self.cfg.optimizer.lr

    def add_wall_seconds(self, dt: float) -> None:
        """Count ``dt`` seconds of training (a stack shares its time among its runs)."""
        self._wall += dt

    def stop_at_max_steps(self) -> bool:
        """At ``run.steps``: record the last step, stop the run and return True."""
        max_steps = self.cfg.run.steps
        if max_steps and self.step_count >= max_steps:
            self._record_final()
            if self.status != DIVERGED:
                self.status, self.message = MAX_STEPS, f"reached run.steps = {max_steps}"
            return True
        return False

    def bookkeep(self, P, loss: float, grads, *, exact: bool = True) -> bool:
        """Record (when due) and check the stop conditions at the current step, given its loss (the full loss
        when ``exact``, else a minibatch estimate).  ``grads`` may be a callable returning the gradient list.
        Returns False when the run stops here."""
        full_loss = loss if exact else None
        if self.step_count >= self.schedule.next:
            if full_loss is None:
                full_loss = self._full_loss(P)
            if not self._check(full_loss):
                self._record_blowup(P, full_loss, grads)
                return False
            self._record(P, full_loss, grads() if callable(grads) else grads)
        elif not math.isfinite(loss) or loss > self.divergence_limit:
            self._diverge(loss)
            self._record_blowup(P, loss if exact else self._full_loss(P), grads)
            return False
        tol = self.cfg.run.loss_tol
        if full_loss is not None and tol and full_loss <= tol:
            self._current = (self.step_count, full_loss)
            if self.history.n == 0 or self.history["step"][-1] != self.step_count:
                self._record(P, full_loss, grads() if callable(grads) else grads)
            self.status, self.message = CONVERGED, f"loss {full_loss:.3g} <= run.loss_tol = {tol:g}"
            return False
        return True

    def settle(self) -> None:
        """After a burst of steps: back to READY unless stopped; stop at run.steps."""
        if self.status == RUNNING:
            self.status = READY
        if self.status == READY:
            self.stop_at_max_steps()

    def _check(self, loss: float) -> bool:
        if self.loss0 is None and math.isfinite(loss):
            self.loss0 = loss
        if not math.isfinite(loss) or loss > self.divergence_limit:
            self._diverge(loss)
            return False
        if not self._params_finite():  # a loss can stay finite (0 for logistic) while the iterates overflow
            self._diverge(loss, iterates=True)
            return False
        return True

    def _params_finite(self) -> bool:
        """Whether every factor and its squared norm are finite (a squared norm overflows before its entries)."""
        with np.errstate(all="ignore"):
            for w in self.params:
                a = to_numpy(w)
                if not math.isfinite(float(np.vdot(a, a).real)):
                    return False
        return True

    def _diverge(self, loss: float, *, iterates: bool = False) -> None:
        self.status = DIVERGED
        if self.step_count == 0:  # nothing was stepped yet: the step size cannot be the cause
            self.message = f"diverged at step 0: {self._start_overflow(loss)}"
            return
        why = "the loss is not finite" if not math.isfinite(loss) else (
            f"loss {loss:.3g} exceeded {self.cfg.run.diverge_factor:g} x its initial value")
        if iterates:
            why = "the parameters or their norms are no longer finite (they overflowed)"
        self.message = (
            f"diverged at step {self.step_count}: {why}; lower optimizer.lr (now {self.cfg.optimizer.lr:g})"
        )
        m = self.cfg.model
        if max(m.init_scale, m.init_std) > LARGE_INIT:  # a large start shrinks the stable step size too
            key, value = ("model.init_std", m.init_std) if m.init_std > m.init_scale else ("model.init_scale",
                                                                                          m.init_scale)
            self.message += f" or {key} (now {value:g}: a large initialization lowers the stable step size)"
        largest = self._largest_data()
        if largest > LARGE_DATA:  # the curvature grows with the data's scale: the data is the cause
            where = f"problem.source = {self.cfg.problem.source!r}" if self.cfg.problem.source else "the data"
            self.message += (f", or rescale {where}: its entries reach {largest:.3g}, which lowers the stable step "
                             "size as much")

    def _largest_data(self) -> float:
        """The largest absolute entry of the problem's floating-point data (0 without any)."""
        with np.errstate(all="ignore"):
            return max((float(np.max(np.abs(v))) for v in self.problem.data.values()
                        if np.issubdtype(np.asarray(v).dtype, np.floating) and np.size(v)), default=0.0)

    def _start_overflow(self, loss: float) -> str:
        """Why the run cannot start: its data or its initialization overflow the floating-point type."""
        big = np.sqrt(np.finfo(self.np_dtype).max) / 1e3  # squares of larger entries overflow a sum
        largest = max((float(np.max(np.abs(v))) for v in self.problem.data.values()
                       if np.issubdtype(np.asarray(v).dtype, np.floating) and np.size(v)), default=0.0)
        what = f"the loss at the start is {loss:.3g}" if math.isfinite(loss) else "the loss at the start is not finite"
        if largest > big or not math.isfinite(largest):
            where = f"problem.source = {self.cfg.problem.source!r}" if self.cfg.problem.source else "the data"
            return f"{what}: {where} holds entries up to {largest:.3g}, too large for {self.cfg.run.dtype}; " \
                   "rescale the data"
        m = self.cfg.model
        return (f"{what}: the initialization overflows {self.cfg.run.dtype} (model.init_scale = {m.init_scale:g}, "
                f"model.init_std = {m.init_std:g}, model.depth = {m.depth}); lower model.init_scale or "
                "model.init_std")

    def _record_final(self) -> None:
        if self.history.n and self.history["step"][-1] == self.step_count:
            return
        P, loss, grads = self._evaluate()
        if not self._check(loss):
            return
        self._record(P, loss, grads)

    def _record(self, P, loss: float, grads) -> None:
        thinned = self.history.append(self.metrics.row(P, loss, grads))
        self.schedule.recorded(self.step_count, thinned)
        self._current = (self.step_count, loss)
        if self.status != DIVERGED:
            self.last_good.take(self)  # a finite row: a diverged run can go on from here

    def _record_blowup(self, P, loss: float, grads) -> None:
        """The row where the run diverged, while its loss and parameters are still finite numbers: the curves
        then show the blow-up instead of ending before it."""
        if self.status != DIVERGED or not math.isfinite(loss) or not self._params_finite():
            return
        if self.history.n and self.history["step"][-1] == self.step_count:
            return
        try:
            self._record(P, loss, grads() if callable(grads) else grads)
        except (ArithmeticError, ValueError, np.linalg.LinAlgError):  # metrics of a blown-up state: no row
            pass
