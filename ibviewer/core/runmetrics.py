"""A run's metrics: the history row recorded at a step, and the run's summary (``summary.json``).

A row holds the loss, gradient norm and layer norms, and by family the product's spectrum and effective ranks,
balancedness, distances to the reference solutions, margins, test losses and accuracies.  Some metrics compare
with the run's start (balance drift, an MLP layer's relative change): :class:`RunMetrics` keeps those starting
values, taken at every reset.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ibviewer.core import metrics as M
from ibviewer.core.events import events
from ibviewer.core.mirror import DivergenceFrom, bregman_q_alpha, records_bregman, records_bregman_l1
from ibviewer.core.nonlinear import trivial_test_loss
from ibviewer.core.ops import to_numpy
from ibviewer.core.sparse_theory import sparse_theory
from ibviewer.core.top_spectrum import TopSpectrum, thin_product_spectrum, uses_top_spectrum
from ibviewer.core.tensor import tensor_row, tensor_summary

if TYPE_CHECKING:
    from ibviewer.core.engine import Engine


def fro(a: np.ndarray) -> float:
    """Frobenius / Euclidean norm (np.linalg.norm costs several times more on small arrays)."""
    return math.sqrt(float(np.vdot(a, a)))


def singular_values(w: np.ndarray) -> np.ndarray:
    """Singular values, descending; through the smaller Gram matrix (eigvalsh is ~1.6x faster than the SVD for
    the square-ish layers of an MLP and agrees to ~1e-14 relative to the largest)."""
    g = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    return np.sqrt(np.clip(np.linalg.eigvalsh(g), 0.0, None))[::-1]


class RunMetrics:
    """Makes the history rows of one engine's run."""

    def __init__(self, engine: Engine):
        self.engine = engine
        norms = {name: fro(ref) for name, ref in engine.refs.items()}
        if engine.problem.target is not None:
            norms["target"] = fro(engine.problem.target)
        # relative distances divide by these (a zero reference gives the absolute distance)
        self.ref_norms = {k: (v if v > 0 else 1.0) for k, v in norms.items()}
        # the Bregman divergence of the mirror potential from its minimiser (x = u^2 - v^2 from u = v = alpha)
        self.bregman = "q_alpha" in engine.refs and records_bregman(engine.cfg.to_dict())
        # ... and of the potential of the run's depth from basis pursuit's solution (N >= 2)
        self.bregman_l1 = None
        if "min_l1" in engine.refs and records_bregman_l1(engine.cfg.to_dict()):
            m = engine.cfg.model
            self.bregman_l1 = DivergenceFrom(engine.refs["min_l1"], m.init_scale, m.depth)
        shape = tuple(engine.problem.shape)
        #: the top singular values of a large product, tracked from record to record (None: the full SVD)
        self.top = TopSpectrum(shape) if (
            not engine.is_mlp and uses_top_spectrum(shape)) else None
        # the saddle-to-saddle limit and the lasso path of a small-initialization diagonal network
        self.theory = sparse_theory(engine.cfg, engine.problem)
        self.weights0: list[np.ndarray] = []
        self.balance0: list[np.ndarray] = []
        self.has_balance = False

    def start(self) -> None:
        """Keep the starting values the row compares with (the engine's parameters are at step 0)."""
        e = self.engine
        if self.top is not None:
            self.top.reset()
        self.has_balance = e.cfg.parametrization in ("product", "hadamard") and e.cfg.model.depth > 1
        if e.is_mlp:
            self.weights0 = [np.asarray(to_numpy(w), dtype=np.float64).copy() for w, _ in e.model.layers(e.params)]
            self.balance0 = []
        else:
            factors = [to_numpy(w).astype(float) for w in e.params]
            self.balance0 = M.balancedness(factors) if self.has_balance else []

    def row(self, P, loss: float, grads) -> dict[str, Any]:
        """The metrics at the engine's current step, given its product ``P`` (None for MLPs), loss and gradients."""
        if self.engine.is_mlp:
            return self._mlp_row(loss, grads)
        e = self.engine
        cfg = e.cfg
        p = np.asarray(to_numpy(P), dtype=np.float64)
        factors = [np.asarray(to_numpy(w), dtype=np.float64) for w in e.params]
        gn = math.sqrt(sum(float((g * g).sum()) for g in grads))
        row: dict[str, Any] = {
            "step": e.step_count,
            "time": e.time,
            "wall": e.wall_seconds,
            "loss": loss,
            "grad_norm": gn,
            "layer_norms": np.array([fro(w) for w in factors]),
            "state": p,
        }
        if self.has_balance:
            bal = M.balancedness(factors)
            row["balancedness"] = np.array([fro(b) for b in bal])
            row["balance_drift"] = np.array([fro(b - b0) for b, b0 in zip(bal, self.balance0)])
        if cfg.family == "tensor":
            row.pop("state")  # d³ numbers a row: the component norms are what a CP model's history keeps
            row.update(tensor_row(factors))
        elif p.ndim == 2:
            if self.top is not None:  # a large product: its top values (docs/science.md, "Metrics at large sizes")
                thin = {"product": factors, "symmetric": [factors[0].T, factors[0]]}.get(cfg.parametrization)
                s = thin_product_spectrum(thin, self.top.k) if thin is not None else None  # U Uᵀ as W_2 W_1
                s = self.top(p) if s is None else s
                fro2 = float(np.vdot(p, p))
                er = M.effective_ranks(s)
                er["stable"] = fro2 / float(s[0]) ** 2 if s[0] > 0 else 0.0  # exact: ||W||_F^2 / sigma_1^2
                norms = M.matrix_norms(s, cfg.model.depth)
                norms["fro"] = math.sqrt(fro2)
                row["sv_tail"] = math.sqrt(max(fro2 - float((s * s).sum()), 0.0))
            else:
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
        target = e.problem.target
        if target is not None:
            row["rel_error"] = fro(p - target) / self.ref_norms["target"]
        if cfg.problem.kind == "razin_cohen":
            row["abs_w00"] = abs(float(p[0, 0]))
        if cfg.family == "classifier":
            w = p[0]
            x, y = e.problem.data["X"], e.problem.data["labels"]
            row["w_norm"] = float(np.linalg.norm(w))
            row["margin"] = M.normalized_margin(w, x, y)
            row["angle_deg"] = M.angle_degrees(w, e.refs["max_margin"][0])
            row["t_loss"] = e.step_count * loss
        for name, ref in e.refs.items():
            if name == "max_margin":
                nw = np.linalg.norm(p)
                row["dist_max_margin"] = M.relative_distance(p / nw if nw > 0 else p, ref / np.linalg.norm(ref))
            else:
                row[f"dist_{name}"] = fro(p - ref) / self.ref_norms[name]
        if self.bregman:
            row["bregman_q_alpha"] = bregman_q_alpha(e.refs["q_alpha"], p, cfg.model.init_scale)
        if self.bregman_l1 is not None:
            row["bregman_l1"] = self.bregman_l1(p)
        if self.theory is not None:
            row.update(self.theory.row(p, e.time))
        return row

    def _mlp_row(self, loss: float, grads) -> dict[str, Any]:
        e = self.engine
        model, d = e.model, e.data
        gn = math.sqrt(sum(float((g * g).sum()) for g in grads))
        ws = [np.asarray(to_numpy(w), dtype=np.float64) for w, _ in model.layers(e.params)]
        svs = [singular_values(w) for w in ws]
        row: dict[str, Any] = {
            "step": e.step_count, "time": e.time, "wall": e.wall_seconds, "loss": loss, "grad_norm": gn,
            "layer_norms": np.array([np.linalg.norm(w) for w in ws]),
            "layer_spectral": np.array([s[0] for s in svs]),
            "layer_erank": np.array([M.effective_ranks(s)["entropy"] for s in svs]),
            "layer_stable_rank": np.array([M.effective_ranks(s)["stable"] for s in svs]),
            "layer_rel_change": np.array([np.linalg.norm(w - w0) / np.linalg.norm(w0)
                                          for w, w0 in zip(ws, self.weights0)]),
        }
        for j, s in enumerate(svs):
            row[f"sv_layer{j}"] = s
        if model.task == "regression":
            row["test_loss"], _ = model.evaluate(e.params, d, "test")
        else:
            _, row["train_acc"] = model.evaluate(e.params, d, "train")
            row["test_loss"], row["test_acc"] = model.evaluate(e.params, d, "test")
            row["margin"] = model.normalized_margin(e.params, d)
        return row


def summary(e: Engine, last: dict[str, Any]) -> dict[str, Any]:
    """The run's summary (``summary.json``) given its last metrics row; ``events`` lists the run's event markers
    (:func:`ibviewer.core.events.events`)."""
    out: dict[str, Any] = {
        "config": e.cfg.to_dict(),
        "steps": e.step_count,
        "status": e.status,
        "message": e.message,
        "diverged": e.status == "diverged",
        "final_loss": _num(last.get("loss")),
        "wall_seconds": e.wall_seconds,
        "backend": e.backend,
        "device": e.device,
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
    if e.cfg.family == "diagonal" and "state" in last:  # (a run diverged at step 0 has no metrics row)
        out["x"] = [_num(v) for v in np.asarray(last["state"])]
        out["l1"] = _num(last["l1"])
    if e.cfg.family == "classifier" and "state" in last:
        out["w"] = [_num(v) for v in np.asarray(last["state"])[0]]
        out["margin"] = _num(last["margin"])
        out["angle_deg"] = _num(last["angle_deg"])
    if e.cfg.family == "tensor" and "component_norms" in last:
        out.update(tensor_summary(last, e.cfg.problem))
    if e.is_mlp and "test_loss" in last:
        out["train_loss"] = out["final_loss"]
        out["test_loss"] = _num(last["test_loss"])
        out["trivial_test_loss"] = _num(trivial_test_loss(e.problem))
        if "test_acc" in last:
            out["train_accuracy"] = _num(last["train_acc"])
            out["test_accuracy"] = _num(last["test_acc"])
            out["margin"] = _num(last["margin"])
        out["layer_effective_ranks"] = [_num(v) for v in np.asarray(last["layer_erank"])]
        out["layer_stable_ranks"] = [_num(v) for v in np.asarray(last["layer_stable_rank"])]
        out["layer_relative_change"] = [_num(v) for v in np.asarray(last["layer_rel_change"])]
        out["layer_spectral_norms"] = [_num(v) for v in np.asarray(last["layer_spectral"])]
        out["n_params"] = e.model.n_params
        out["n_samples"] = e.problem.n_data
    if "balancedness" in last:
        out["balancedness"] = [_num(v) for v in np.asarray(last["balancedness"])]
        out["balance_drift"] = [_num(v) for v in np.asarray(last["balance_drift"])]
    out["references"] = {name: _num(last[f"dist_{name}"]) for name in e.refs if f"dist_{name}" in last}
    for name in ("bregman_q_alpha", "bregman_l1", "saddle_gap", "lasso_gap"):
        if name in last:
            out[name] = _num(last[name])
    if e.metrics.theory is not None:
        out.update(e.metrics.theory.summary())
    if e.cfg.family == "diagonal" and "state" in last:
        out.update(mirror_geometry_summary(e.cfg, e.problem, np.asarray(last["state"], float)))
    # the moments to point at, each at a recorded step (ibviewer/core/events.py)
    columns = {name: e.history[name] for name in e.history.keys()}  # views: the history can be large
    out["events"] = events(columns, e.cfg, e.status, e.step_count, e.problem.target)
    notes = derived_settings(e)
    if notes:
        out["notes"] = notes
    return out


#: problem kinds whose ground truth has problem.rank, or the number of problem.singular_values when given
_RANKED = ("matrix_sensing", "matrix_completion")


def derived_settings(e: Engine) -> list[str]:
    """Settings the run did not use as written, each stated in one line: a ground truth whose rank comes from
    its singular values rather than ``problem.rank``, sizes a data file sets, a minibatch as large as the data
    (full batch)."""
    cfg, notes = e.cfg, []
    p, o = cfg.problem, cfg.optimizer
    ranked = p.kind in (*_RANKED, "tensor_completion") or (p.kind == "matrix_factorization"
                                                           and p.target == "lowrank_noise")
    if ranked and not p.source and p.singular_values and len(p.singular_values) != p.rank:
        notes.append(f"the ground truth has rank {len(p.singular_values)}, one per problem.singular_values; "
                     f"problem.rank = {p.rank} is not used")
    if p.source:
        from ibviewer.core.datafiles import file_sizes

        differ = {k: v for k, v in file_sizes(p.kind, e.problem).items() if getattr(p, k) != v}
        if differ:
            said = ", ".join(f"problem.{k} = {v}" for k, v in differ.items())
            notes.append(f"the data file sets {said}; the config's " + ", ".join(
                f"problem.{k} = {getattr(p, k)}" for k in differ) + " is not used")
    if p.kind == "matrix_sensing" and p.operator == "rank_one" and p.source:
        notes.append("problem.operator = rank_one is not used: the data file's dense operator A is")
    if p.kind in _RANKED and not p.source:
        from ibviewer.core.references import min_l2_skip_reason, nuclear_skip_reason

        for why in (min_l2_skip_reason, nuclear_skip_reason):
            skipped = why(p.kind, p.d, p.measurements, p.operator)
            if skipped:
                notes.append(skipped)
    if o.name != "gd" and o.batch_size >= e.problem.n_data:
        notes.append(f"optimizer.batch_size = {o.batch_size} is at least the {e.problem.n_data} data units of "
                     "the problem: every step uses the full batch")
    return notes


_num = M.finite_or_none


def mirror_geometry_summary(cfg, problem, x: np.ndarray) -> dict[str, Any]:
    """For one measurement of 2 or 3 unknowns (the geometry panel's problems, ``docs/science.md``, AT16): the
    potential whose mirror flow the run follows, its minimiser on the solution set, and the relative distance
    of ``x`` to it; {} for other runs, or where the potential has no minimiser there."""
    from ibviewer.core.geometry import geometry_applies, minimiser_on_hyperplane, potential_for

    if not geometry_applies(cfg) or "A" not in problem.data:
        return {}
    pot, _ = potential_for(cfg)
    if pot is None:
        return {}
    a, y = np.asarray(problem.data["A"], float)[0], float(np.asarray(problem.data["y"], float)[0])
    xm = minimiser_on_hyperplane(pot, a, y)
    if xm is None:
        return {}
    den = float(np.linalg.norm(xm))
    dist = float(np.linalg.norm(x - xm)) / (den if den > 0 else 1.0)
    return {"mirror_geometry": {"potential": pot.label, "minimiser": [_num(v) for v in xm],
                                "distance_to_minimiser": _num(dist)}}
