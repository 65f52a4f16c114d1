"""What an edited setting does to the runs (Qt-free, no worker): the one place that decides it from the key.

Four classes of key (:func:`classify`):

``live``     optimizer settings (name, η, momentum, batch size, weight decay, label noise): the selected run is retuned
             where it stands, in the worker (:class:`~ibviewer.live.protocol.SetOptimizer`)
``reseed``   ``run.seed``: every run back to step 0, the selected one with the new seed
``limits``   ``run.steps`` / ``run.loss_tol``: the stop conditions of every run (runs train to the same
             limits), changed in place
``rebuild``  everything else (model, problem, numerics): the runs are built again and restart together from
             step 0.  ``problem.*`` keys change every run (runs share the problem); a new ``problem.kind`` is one
             run of that kind's defaults.

:func:`apply_edit` checks the new value on every run it touches before it changes any: a refused value raises
ConfigError and leaves the collection as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ibviewer.core.config import Config, build_config, set_key
from ibviewer.live import protocol as msg
from ibviewer.live.runs import RunCollection, value_of

#: optimizer settings that apply live (the rest of a config change rebuilds the run)
LIVE_OPTIMIZER = ("optimizer.name", "optimizer.lr", "optimizer.momentum", "optimizer.batch_size",
                  "optimizer.weight_decay", "optimizer.label_noise")
#: the stop conditions every run shares
LIMITS = ("run.steps", "run.loss_tol")

EditClass = Literal["live", "reseed", "limits", "rebuild"]


def classify(key: str) -> EditClass:
    """How an edit of ``key`` reaches the runs (see the module's docstring)."""
    if key in LIVE_OPTIMIZER:
        return "live"
    if key == "run.seed":
        return "reseed"
    if key in LIMITS:
        return "limits"
    return "rebuild"


@dataclass(frozen=True)
class Edit:
    """What an applied edit asks for: ``commands`` for the worker now; ``rebuild`` when the runs must be sent
    again (``at_once``: without waiting for more edits, as for a new problem kind); ``renamed`` when a run's
    name followed the value; ``note``: one line for the user."""

    key: str
    kind: EditClass
    commands: tuple[msg.Command, ...] = ()
    rebuild: bool = False
    at_once: bool = False
    renamed: bool = False
    note: str = ""


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _trial_configs(runs: RunCollection, key: str, value: Any) -> tuple[Config, dict[int, Config]]:
    """The selected run's new config and, for keys every run shares, every other run's; raises ConfigError."""
    if key == "problem.kind":
        return build_config(overrides=[("problem.kind", value)]), {}
    trial = runs.cfg.copy()
    set_key(trial, key, value)
    trial.validate()
    others: dict[int, Config] = {}
    if key.startswith("problem.") or key in LIMITS:
        for r in runs:
            if r.id != runs.selected_id:
                c = r.cfg.copy()
                set_key(c, key, value)
                others[r.id] = c.validate()
    return trial, others


def apply_edit(runs: RunCollection, key: str, value: Any) -> Edit:
    """Set ``key`` to ``value`` on the selected run (on every run for shared keys) and say what follows.
    Raises ConfigError, changing nothing, when any run refuses the value."""
    trial, others = _trial_configs(runs, key, value)
    kind = classify(key)
    run = runs.selected
    together = " (all runs restart together)" if runs.comparing else ""
    if kind == "live":
        old = value_of(run.cfg, key)
        run.cfg = trial
        accepted = runs.accepted_cfg(run.id)
        if accepted is not None:
            accepted.optimizer = trial.optimizer.model_copy()
        name = key.split(".", 1)[1]
        renamed = runs.rename_for(run, key, old)
        commands: list[msg.Command] = [msg.SetOptimizer({name: getattr(trial.optimizer, name)}, run.id)]
        if renamed:
            commands.append(msg.Rename(run.id, run.name))
        who = f" to '{run.name}'" if runs.comparing else ""
        return Edit(key, kind, tuple(commands), renamed=renamed, note=f"{key} = {_fmt(value)} applied live{who}")
    if kind == "limits":
        field = key.split(".", 1)[1]
        run.cfg = trial
        for r in runs:
            if r.id in others:
                r.cfg = others[r.id]
        for _, _, c in runs.accepted:
            setattr(c.run, field, getattr(trial.run, field))
        command = (msg.SetMaxSteps(trial.run.steps) if key == "run.steps" else msg.SetLossTol(trial.run.loss_tol))
        return Edit(key, kind, (command,))
    if kind == "reseed":
        old = value_of(run.cfg, key)
        run.cfg = trial
        accepted = runs.accepted_cfg(run.id)
        if accepted is not None:
            accepted.run.seed = trial.run.seed
        renamed = runs.rename_for(run, key, old)
        commands = [msg.Reset(trial.run.seed, run.id)]
        if renamed:
            commands.insert(0, msg.Rename(run.id, run.name))
        return Edit(key, kind, tuple(commands), renamed=renamed,
                    note=f"initialization seed {trial.run.seed}: the run was reset" + together)
    # rebuild: problem / model / numerics
    renamed = False
    if key == "problem.kind" and runs.comparing:
        runs.replace([("run", trial)])
    else:
        old = value_of(run.cfg, key)
        run.cfg = trial
        for r in runs:
            if r.id in others:
                r.cfg = others[r.id]
        if key.startswith(("model.", "optimizer.")):
            renamed = runs.rename_for(run, key, old)
        runs.version += 1
    return Edit(key, kind, rebuild=True, at_once=key == "problem.kind", renamed=renamed,
                note=f"{key} changed: the run restarts from step 0" + together)
