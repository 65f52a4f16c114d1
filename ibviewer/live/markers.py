"""Event markers as the app shows them: the moments the worker finds in a run's history
(:mod:`ibviewer.core.events`) and the changes the user makes to it, each a dict with ``step``, ``kind`` and
``label`` (and ``time`` where known), in the same form as summary.json's ``events``.

A change that applies live (η, the optimizer, the limits) is marked at the step where it was made; a change that
restarts the runs (a new seed, a model or problem setting) is marked as a ``restart`` at the step the new runs
start from, and the markers of the old history go with it.  Qt-free: the controller calls these, panels and the
timeline draw what :meth:`ibviewer.live.runs.RunView.markers` returns.
"""

from __future__ import annotations

from typing import Any

from ibviewer.live.runs import RunCollection, RunView

#: short names of the settings a marker's label uses (the symbols of the panels and controls)
SYMBOLS = {
    "optimizer.lr": "η",
    "optimizer.momentum": "β",
    "optimizer.weight_decay": "λ",
    "optimizer.label_noise": "label noise σ",
    "optimizer.batch_size": "batch",
    "optimizer.name": "optimizer",
    "run.steps": "max steps",
    "run.loss_tol": "loss tol",
    "run.seed": "seed",
    "model.init_scale": "α",
    "model.depth": "depth",
}

#: marker kinds the user's actions make (the engine's are in :mod:`ibviewer.core.events`)
USER_KINDS = ("edit", "restart")


def change_label(key: str, value: Any) -> str:
    """"η = 0.05", "optimizer = adam", "problem.d = 30": what a marker of this change says."""
    name = SYMBOLS.get(key, key)
    if isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, (list, tuple)):
        text = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) or "random"
    else:
        text = str(value)
    return f"{name} = {text}"


def mark_edit(run: RunView, key: str, value: Any) -> dict[str, Any] | None:
    """A live change of ``run`` at its current step (none before it has taken a step: nothing to point at)."""
    step = run.entry.step if run.entry is not None else run.built_step
    if step <= 0:
        return None
    return run.note_edit(change_label(key, value), "edit")


def mark_restart(runs: RunCollection | list[RunView], label: str | None) -> None:
    """Every run starts again: the changes marked on the old histories are dropped, and ``label`` (what made
    it restart; None for a plain reset) marks the new start."""
    for r in runs:
        r.edits = []
        if label:
            r.edits.append({"step": int(r.built_step), "kind": "restart", "label": f"restart: {label}"})


def mark_change(runs: RunCollection, kind: str, key: str, value: Any) -> str | None:
    """Mark an applied edit of class ``kind`` (:func:`ibviewer.live.policy.classify`): a live change or a new
    limit at the selected run's step, a new seed as a restart now; a rebuild is marked when the new runs are
    built: its label is returned for then (None otherwise)."""
    if kind in ("live", "limits"):
        mark_edit(runs.selected, key, value)
    elif kind == "reseed":
        mark_restart(runs, change_label(key, value))
    else:
        return change_label(key, value)
    return None


def mark_continued(runs: RunCollection) -> str:
    """Diverged runs about to go on from their last finite state: their changes after it dropped and the
    continuation marked there.  Returns why none can (a note for the user), or '' when they do."""
    stuck = [r for r in runs if r.entry is not None and r.entry.status == "diverged"]
    if not [r for r in stuck if r.entry.resume_step >= 0]:
        return ("no run can continue: only a diverged run goes on from its last finite state" if not stuck
                else "the diverged run kept no finite state; press R to reset")
    for r in stuck:
        at = r.entry.resume_step
        if at < 0:
            continue  # it stays diverged: nothing to mark
        r.edits = [m for m in r.edits if m["step"] <= at]
        r.edits.append({"step": at, "kind": "edit",
                        "label": f"continued, {change_label('optimizer.lr', r.cfg.optimizer.lr)}"})
    return ""
