"""The worker's runs (Qt-free): a :class:`~ibviewer.core.compare.RunGroup` whose runs carry ids and come and go.

The app compares runs on one problem: the worker process owns one :class:`LiveGroup`, trains it in chunks and
streams each run's new history rows.  Runs are added (all restart together from step 0, so that they stay
comparable), removed (the others go on), reset, retuned live (learning rate, optimizer) and saved to or restored
from a session file.
"""

from __future__ import annotations

from typing import Any

from ibviewer.core.compare import Batch, RunGroup
from ibviewer.core.config import ConfigError


class LiveGroup(RunGroup):
    """The worker's runs: a :class:`~ibviewer.core.compare.RunGroup` whose runs carry ids and can be added,
    removed, reset and retuned while it lives.

    All runs share one problem.  Runs whose shapes, optimizer and optimizer step counter agree (all new runs; the
    runs of a restored session) train as one stack; a run whose
    optimizer changes leaves its stack (a learning rate alone is changed in place); a run that stopped and may go
    on again (max steps raised) trains on its own.
    """

    def __init__(self, ids: list[int], names: list[str], engines: list):
        if not engines:
            raise ConfigError("a comparison needs at least one run")
        self.problem = engines[0].problem
        self.ids = [int(i) for i in ids]
        self.names = [str(n) for n in names]
        self.engines = list(engines)
        self.batched = True
        self._form()

    @classmethod
    def build(cls, specs: list[tuple[int, str, dict[str, Any]]], old: LiveGroup | None = None) -> LiveGroup:
        """Runs ``(id, name, cfg_dict)`` on one problem, all at step 0.  An engine of ``old`` with the same id,
        problem and model is reused (reset with its new config): its reference solutions are not computed again.
        Raises ConfigError (and the numeric errors of a bad data file) before touching ``old``."""
        from ibviewer.core.config import config_from_dict
        from ibviewer.core.engine import Engine
        from ibviewer.core.problems import make_problem
        from ibviewer.core.sizing import check_memory

        if not specs:
            raise ConfigError("a comparison needs at least one run")
        cfgs = [config_from_dict(c).validate() for _, _, c in specs]
        for cfg in cfgs:  # a reused problem skips make_problem's check: a wider model must not reach numpy
            check_memory(cfg)
        problem_table = cfgs[0].to_dict()["problem"]
        for (_, name, _), cfg in zip(specs[1:], cfgs[1:]):
            if cfg.to_dict()["problem"] != problem_table:
                raise ConfigError(f"run {name!r} has another problem; runs of a comparison share the problem")
        same_problem = (old is not None and old.engines
                        and old.engines[0].cfg.to_dict()["problem"] == problem_table)
        problem = old.problem if same_problem else make_problem(cfgs[0])
        reusable = dict(zip(old.ids, old.engines)) if same_problem else {}
        engines, reused = [], []
        for (rid, _, _), cfg in zip(specs, cfgs):
            e = reusable.pop(rid, None)
            if e is not None and _same_model(e.cfg, cfg):
                reused.append((e, cfg))
            else:
                e = Engine(cfg, problem=problem)
            engines.append(e)
        for e, cfg in reused:  # only now: a failure above leaves the old runs as they were
            e.cfg = cfg.copy()
            e.reset(cfg.run.seed)
        return cls([s[0] for s in specs], [s[1] for s in specs], engines)

    # ------------------------------------------------------------------ runs by id
    def index(self, rid: int) -> int:
        return self.ids.index(int(rid))

    def engine(self, rid: int):
        return self.engines[self.index(rid)]

    def _batch_of(self, e) -> tuple[Batch, int] | None:
        for b in self.batches:
            for r, x in enumerate(b.engines):
                if x is e:
                    return b, r
        return None

    def detach(self, e) -> None:
        """Take ``e`` out of its stack (its parameters and optimizer state become its own again)."""
        found = self._batch_of(e)
        if found is None:
            return
        b, r = found
        e.params[:] = [p.copy() for p in e.params]
        b._drop([j for j in range(len(b.engines)) if j != r])  # hands e its optimizer state
        self.batches = [x for x in self.batches if x.engines]
        if not e.stopped:
            self.singles.append(e)

    def sync_state(self) -> None:
        """Copy every stack's optimizer state and step counter into its engines (before a session is saved)."""
        for b in self.batches:
            b.sync_engines()

    def remove(self, rid: int) -> None:
        i = self.index(rid)
        e = self.engines[i]
        self.detach(e)
        if e in self.singles:
            self.singles.remove(e)
        del self.ids[i], self.names[i], self.engines[i]

    def reset(self, seeds: dict[int, int] | None = None) -> None:
        """Every run back to step 0 (``seeds``: new initialization seeds by run id); stacks formed anew."""
        seeds = seeds or {}
        for rid, e in zip(self.ids, self.engines):
            e.reset(seeds.get(rid))
        self._form()

    def set_optimizer(self, rid: int, kwargs: dict[str, Any]) -> None:
        e = self.engine(rid)
        kwargs = dict(kwargs)
        name = kwargs.pop("name", None)
        e.set_optimizer(name, **kwargs)
        found = self._batch_of(e)
        if found is not None:
            b, r = found
            if name is None and set(kwargs) <= {"lr"}:
                b.set_lr(r, e.cfg.optimizer.lr)
            else:
                self.detach(e)
        self.attach_idle()

    def attach_idle(self) -> None:
        """Runs that may train again (a stop condition was relaxed) but sit in no stack: train them singly."""
        placed = {id(e) for b in self.batches for e in b.engines} | {id(e) for e in self.singles}
        for e in self.engines:
            if not e.stopped and id(e) not in placed:
                self.singles.append(e)

    @property
    def step_count(self) -> int:
        return max(e.step_count for e in self.engines)


def _same_model(a, b) -> bool:
    """Engines of configs ``a`` and ``b`` are interchangeable after a reset (same problem, model, numerics)."""
    da, db = a.to_dict(), b.to_dict()
    keys = ("dtype", "device", "backend")
    return (da["problem"] == db["problem"] and da["model"] == db["model"]
            and all(da["run"][k] == db["run"][k] for k in keys))
