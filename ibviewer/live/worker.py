"""The training worker: a spawned process that owns the runs (a :class:`~ibviewer.live.group.LiveGroup` of
:class:`~ibviewer.core.engine.Engine` objects on one shared problem, trained together, batched where they can be).

Qt-free on purpose: the process imports only numpy and ibviewer's core.  It reads commands from one pipe and
writes messages to another; both are the frozen dataclasses of :mod:`ibviewer.live.protocol` (a
:class:`~ibviewer.live.protocol.Runs` builds runs, a :class:`~ibviewer.live.protocol.Snapshot` reports progress,
...), dispatched with ``match`` on their type.

``gen`` numbers the configs: ready messages and snapshots carry the generation of the runs they come from,
so that the GUI can drop what belongs to runs it has replaced.

Backpressure: at most one snapshot is in flight; the next is sent only after the GUI acknowledged the last one
(``Ack(seq)``), so the GUI never builds a backlog and the worker never waits for the GUI.
"""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from typing import Any

from ibviewer.live import protocol as msg

#: environment for the worker's numeric libraries: one thread each (2 threads stalled badly on 2 cores)
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}

#: frames per second when the speed is a number of steps per frame
FPS = 30.0
#: target duration of one chunk of steps when playing as fast as possible (commands are read between chunks)
CHUNK_SECONDS = 0.004
MAX_CHUNK = 50_000


def worker_main(cmd_conn, out_conn, cfg_dict: dict[str, Any], options: dict[str, Any] | None = None) -> None:
    """Process entry point (picklable for the 'spawn' start method)."""
    try:
        _limit_threads()
        worker = Worker(cmd_conn, out_conn, options or {})
        worker.serve(cfg_dict)
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass  # the GUI went away
    except Exception:  # noqa: BLE001  # pragma: no cover - reported to the GUI, which offers a restart
        try:
            out_conn.send(msg.Fatal(traceback.format_exc()))
        except Exception:  # noqa: BLE001, S110 - the GUI is gone
            pass
    finally:
        for c in (cmd_conn, out_conn):
            try:
                c.close()
            except Exception:  # noqa: BLE001, S110 - closing anyway
                pass


def _limit_threads() -> None:
    """One BLAS/OpenMP thread and one torch thread (the environment is set by the parent before the start)."""
    for k, v in THREAD_ENV.items():
        os.environ.setdefault(k, v)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # noqa: BLE001, S110  # pragma: no cover - threadpoolctl missing: the environment did it
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def problem_info(engine) -> dict[str, Any]:
    """The static arrays the panels draw against: ground truth, references, data, support."""
    import numpy as np

    from ibviewer.core.nonlinear import trivial_test_loss

    p = engine.problem
    info: dict[str, Any] = {
        "cfg": engine.cfg.to_dict(),
        "family": engine.cfg.family,
        "kind": p.kind,
        "shape": tuple(p.shape),
        "parametrization": engine.cfg.parametrization,
        "target": None if p.target is None else np.asarray(p.target, float),
        "target_sv": p.target_singular_values,
        "support": p.info.get("support"),
        "refs": {k: np.asarray(v, float) for k, v in engine.refs.items()},
        "backend": engine.backend,
        "n_params": sum(int(np.size(w)) for w in engine.params),
        "n_samples": p.n_data,
        # the test loss of predicting without looking at the input: what a test loss is measured against
        "trivial_test_loss": trivial_test_loss(p),
        # the saddle-to-saddle limit and the lasso path (ibviewer/core/sparse_theory.py), where they apply
        "sparse_theory": None if engine.metrics.theory is None else engine.metrics.theory.info(),
    }
    if len(p.shape) == 2 and not engine.is_mlp:
        from ibviewer.core.top_spectrum import TOP_K, uses_top_spectrum

        # how many singular values each row holds: all of them, or the top TOP_K of a large product
        info["sv_count"] = min(TOP_K, min(p.shape)) if uses_top_spectrum(tuple(p.shape)) else min(p.shape)
    if "X" in p.data and p.kind == "logistic_separable":
        info["X"] = np.asarray(p.data["X"], float)
        info["labels"] = np.asarray(p.data["labels"], float)
    if p.kind in ("matrix_completion", "razin_cohen"):
        info["observed"] = (np.asarray(p.data["rows"]), np.asarray(p.data["cols"]), np.asarray(p.data["values"], float))
    return info


_problem_info = problem_info  # the timeline's name for it


#: seconds between two searches for a training run's events (each reads the whole history)
EVENTS_EVERY = 0.5


class Worker:
    def __init__(self, cmd_conn, out_conn, options: dict[str, Any]):
        self.cmd = cmd_conn
        self.out = out_conn
        self.options = options
        self.ppid = os.getppid()
        self.group = None  # LiveGroup: the runs, all on one problem
        self.selected = 0  # id of the run whose product and counters lead every snapshot
        self.gen = int(options.get("gen", 0))
        self.playing = False
        self.pending = 0  # steps still to take for a "step N"
        self.speed = int(options.get("speed", 0))  # steps per frame; 0 = as fast as possible
        self.chunk = 16
        self.next_frame = 0.0
        self.frame_left = 0  # steps still to take in the current frame (speed > 0)
        self.seq = 0
        self.awaiting_ack = False
        self.dirty = False
        self.sent: dict[int, dict[str, Any]] = {}  # per run: rows sent, thinning count, replace flag
        self.rate = 0.0
        self._rate_mark: tuple[float, int] | None = None
        self.quit = False

    @property
    def engine(self):
        """The selected run's engine (None before the first run is built)."""
        g = self.group
        if g is None:
            return None
        return g.engine(self.selected) if self.selected in g.ids else g.engines[0]

    # ------------------------------------------------------------------------------------------------ setup
    def _build_runs(self, specs: tuple[msg.RunSpec, ...], gen: int, selected: int | None = None) -> bool:
        """These runs on one problem, all from step 0 (unchanged engines are reused)."""
        from ibviewer.core.config import ConfigError
        from ibviewer.live.group import LiveGroup

        try:
            group = LiveGroup.build([(int(s.id), str(s.name), s.cfg) for s in specs], self.group)
        except ConfigError as exc:
            self._refuse_runs(str(exc), gen)
            return False
        except (ValueError, ArithmeticError, OSError, MemoryError, np_error()) as exc:  # bad data: one line
            text = str(exc).splitlines()[0] if str(exc) else ""
            self._refuse_runs(f"cannot build this run: {type(exc).__name__}: {text}", gen)
            return False
        self._install(group, gen, selected)
        return True

    def _refuse_runs(self, text: str, gen: int) -> None:
        """Runs that cannot be built change nothing: the current ones (if any) go on where they stand, under the
        new generation (the GUI has dropped the old one), their histories sent again whole."""
        kept = self.group is not None
        self.out.send(msg.ConfigError(text, gen, kept))
        if kept:
            self.gen = gen
            self._after_reset()
            self._send_ready()

    def _install(self, group, gen: int, selected: int | None) -> None:
        self.group = group
        self.gen = gen
        self.selected = selected if selected in group.ids else group.ids[0]
        self.playing = False
        self.pending = 0
        self.sent = {}
        self._after_reset()
        self._send_ready()

    def _send_ready(self) -> None:
        import numpy as np

        g = self.group
        runs = tuple(
            msg.ReadyRun(rid, name, e.cfg.to_dict(), e.cfg.parametrization,
                         {k: np.asarray(v, float) for k, v in e.refs.items()}, e.step_count)
            for rid, name, e in zip(g.ids, g.names, g.engines))
        self.out.send(msg.Ready(self.gen, self.selected, problem_info(self.engine), runs))

    def _after_reset(self) -> None:
        """Every run's history is sent again in full with the next snapshot."""
        for rid, e in zip(self.group.ids, self.group.engines):
            self.sent[rid] = {"n": 0, "thinned": e.history.thinned, "replace": True}
        self.dirty = True
        self.rate = 0.0
        self._rate_mark = None

    # ------------------------------------------------------------------------------------------------ sessions
    def _open_session(self, path: str, gen: int) -> bool:
        from ibviewer.live.group import LiveGroup
        from ibviewer.core.session import SessionError, load_session

        try:
            session = load_session(path)
            engines = [e for _, e in session.runs]
            if not engines:
                raise SessionError(f"{str(path)!r} holds no run")
            first = engines[0].cfg.to_dict()["problem"]
            if any(e.cfg.to_dict()["problem"] != first for e in engines[1:]):
                raise SessionError(f"{str(path)!r} holds runs on different problems; the app compares runs on one")
            group = LiveGroup(list(range(len(engines))), [n for n, _ in session.runs], engines)
        except SessionError as exc:
            self.out.send(msg.SessionError(str(exc), gen))
            return False
        except Exception as exc:  # noqa: BLE001 - a damaged file must not end the worker
            text = str(exc).splitlines()[0] if str(exc) else ""
            self.out.send(msg.SessionError(f"{str(path)!r} cannot be opened: {type(exc).__name__}: {text}", gen))
            return False
        view = dict(session.view or {})
        self._install(group, gen, view.get("selected_index", 0))
        self.out.send(msg.Session(str(path), gen, view, session.version))
        return True

    def _save_session(self, path: str, names: tuple[str, ...] | None, view: dict[str, Any]) -> None:
        from ibviewer.core.session import SessionError, save_session

        g = self.group
        if names is not None and len(names) == len(g.names):
            g.names = [str(n) for n in names]
        g.sync_state()
        try:
            out = save_session(path, list(zip(g.names, g.engines)), view)
        except SessionError as exc:
            self.out.send(msg.SessionError(str(exc), None))
            return
        except Exception as exc:  # noqa: BLE001 - e.g. an unwritable folder: one line, the runs go on
            text = str(exc).splitlines()[0] if str(exc) else ""
            self.out.send(msg.SessionError(f"cannot save the session: {type(exc).__name__}: {text}", None))
            return
        self.out.send(msg.Saved(str(out), g.step_count))

    # ------------------------------------------------------------------------------------------------ loop
    def serve(self, cfg_dict: dict[str, Any]) -> None:
        """Build the first runs (``options["session"]``, else ``options["runs"]``, else one run of
        ``cfg_dict``), then read commands and train until Quit.  A first build that fails leaves the worker
        serving: the GUI may send other runs."""
        opts = self.options
        opened = bool(opts.get("session")) and self._open_session(opts["session"], self.gen)
        if not opened:
            specs = tuple(opts.get("runs") or ()) or (msg.RunSpec(0, "run", cfg_dict),)
            self._build_runs(specs, self.gen, opts.get("selected"))
        last_parent_check = time.monotonic()
        while not self.quit:
            busy = self.group is not None and (self.playing or self.pending > 0)
            timeout = 0.1
            if busy:
                timeout = 0.0
                if self.playing and self.speed > 0 and self.pending == 0 and self.frame_left <= 0:
                    timeout = max(0.0, self.next_frame - time.monotonic())
            if self.dirty and not self.awaiting_ack:
                timeout = 0.0
            # read every waiting command (the first read may wait `timeout`)
            if self.cmd.poll(timeout):
                while True:
                    self._handle(self.cmd.recv())
                    if self.quit or not self.cmd.poll(0):
                        break
                if self.quit:
                    break
            now = time.monotonic()
            if now - last_parent_check > 0.5:
                last_parent_check = now
                if os.getppid() != self.ppid:  # the GUI died without closing the pipe: no orphan
                    return
            if self.group is not None:
                self._work()
                self._maybe_send()

    def _work(self) -> None:
        g = self.group
        if self.pending > 0:
            k = min(self.pending, max(self.chunk, 1))
            done = self._timed_step(k)
            self.pending = 0 if (done < k or g.stopped) else self.pending - k
            self.dirty = True
            if g.stopped:
                self.playing = False
            return
        if not self.playing:
            return
        if g.stopped:
            self.playing = False
            self.dirty = True
            return
        if self.speed > 0:
            # a frame's steps in chunks, so that commands are read between them even when a frame is slow
            if self.frame_left <= 0:
                now = time.monotonic()
                if now < self.next_frame:
                    return
                self.frame_left = self.speed
                self.next_frame = max(self.next_frame + 1.0 / FPS, now)
            k = min(self.frame_left, max(self.chunk, 1))
            done = self._timed_step(k)
            self.frame_left = 0 if done < k else self.frame_left - k
        else:
            self._timed_step(self.chunk)
        self.dirty = True
        if g.stopped:
            self.playing = False

    def _timed_step(self, k: int) -> int:
        """``k`` steps of every run that can go on; returns the most steps a run took."""
        g = self.group
        t0 = time.perf_counter()
        if len(g.engines) == 1:
            done = g.engines[0].step(k)
        else:
            before = [e.step_count for e in g.engines]
            g.step(k)
            done = max(e.step_count - b for e, b in zip(g.engines, before))
        dt = time.perf_counter() - t0
        if done == k and dt > 0 and (k >= self.chunk or dt > 2 * CHUNK_SECONDS):
            # aim a chunk at CHUNK_SECONDS (smoothed), so that commands are read often
            target = k * CHUNK_SECONDS / dt
            self.chunk = int(min(MAX_CHUNK, max(1, 0.5 * self.chunk + 0.5 * target)))
        return done

    # ------------------------------------------------------------------------------------------------ commands
    def _handle(self, cmd: msg.Command) -> None:
        """Apply one command.  A refused one is answered with one Error line; the runs go on unchanged."""
        from ibviewer.core.config import ConfigError

        match cmd:
            case msg.Quit():
                self.quit = True
                return
            case msg.Ack(seq=seq):
                if seq == self.seq:
                    self.awaiting_ack = False
                return
            case msg.Runs(specs=specs, gen=gen, selected=selected):
                self._build_runs(specs, int(gen), selected)
                return
            case msg.OpenSession(path=path, gen=gen):
                self._open_session(path, int(gen))
                return
            case msg.Speed(steps_per_frame=n):
                self.speed = max(0, int(n))
                self.frame_left = 0
                self.next_frame = time.monotonic()
                self.dirty = True
                return
        if self.group is None:
            self.out.send(msg.Error("no run is loaded; choose a valid configuration"))
            return
        try:
            if not self._run_command(cmd):
                self.out.send(msg.Error(f"unknown command {type(cmd).__name__}"))
                return
        except ConfigError as exc:
            self.out.send(msg.Error(str(exc)))
        self.dirty = True

    def _run_command(self, cmd: msg.Command) -> bool:
        """The commands that need runs; False for something that is no command."""
        g = self.group
        match cmd:
            case msg.Play():
                if g.stopped:
                    self.playing = False
                else:
                    self.playing = True
                    self.pending = 0
                    self.next_frame = time.monotonic()
                    self._rate_mark = None
            case msg.Pause():
                self.playing = False
                self.pending = 0
                self.frame_left = 0
            case msg.Step(n=n):
                self.playing = False
                self.pending = max(0, int(n))
            case msg.Reset(seed=seed, run_id=rid):
                # every run back to step 0 (they train together); a seed applies to one run (the selected one)
                self.playing = False
                self.pending = 0
                rid = self.selected if rid is None else int(rid)
                g.reset(None if seed is None else {rid: int(seed)})
                self._after_reset()
            case msg.Continue():
                self.playing = False
                self.pending = 0
                for rid, e in zip(g.ids, g.engines):
                    if e.status == "diverged":
                        g.detach(e)  # it trains on its own from its own state
                        if e.rewind():
                            self.sent[rid] = {"n": 0, "thinned": e.history.thinned, "replace": True}
                g.attach_idle()
            case msg.SetOptimizer(values=values, run_id=rid):
                rid = self.selected if rid is None else int(rid)
                # a run this worker no longer has (the window edited it while a new set of runs was on its way):
                # its settings arrive with those runs' configs
                if rid in g.ids:
                    g.set_optimizer(rid, dict(values))
            case msg.SetMaxSteps(steps=n):
                for e in g.engines:
                    e.set_max_steps(int(n))
                g.attach_idle()
            case msg.SetLossTol(tol=tol):
                for e in g.engines:
                    e.set_loss_tol(float(tol))
                g.attach_idle()
            case msg.Select(run_id=rid):
                if int(rid) in g.ids:
                    self.selected = int(rid)
                    self.sent.setdefault(self.selected, {"n": 0, "thinned": 0, "replace": True})
            case msg.RemoveRun(run_id=rid):
                rid = int(rid)
                if rid in g.ids and len(g.ids) > 1:
                    g.remove(rid)
                    self.sent.pop(rid, None)
                    if self.selected == rid:
                        self.selected = g.ids[0]
            case msg.Rename(run_id=rid, name=name):
                if int(rid) in g.ids:
                    g.names[g.index(int(rid))] = str(name)
            case msg.SaveSession(path=path, names=names, view=view):
                self._save_session(path, names, dict(view))
            case _:
                return False
        return True

    # ------------------------------------------------------------------------------------------------ output
    def _maybe_send(self) -> None:
        if not self.dirty or self.awaiting_ack:
            return
        self.out.send(self.snapshot())
        self.awaiting_ack = True
        self.dirty = False

    def _entry(self, rid: int, name: str, e, with_product: bool) -> msg.RunEntry:
        """One run's part of a snapshot: its new history rows (all of them when "replace"), counters, product."""
        import numpy as np

        from ibviewer.live.display import display_matrix

        h = e.history
        sent = self.sent.setdefault(rid, {"n": 0, "thinned": h.thinned, "replace": True})
        replace = sent["replace"] or h.thinned != sent["thinned"]
        start = 0 if replace else sent["n"]
        rows = h.since(start) if h.n > start else {}
        matrix = len(e.problem.shape) == 2 and e.cfg.family != "classifier"
        if matrix:
            rows.pop("state", None)  # the GUI keeps only the current product of a matrix model
        product = None
        if with_product:
            try:
                product = e.product()
            except Exception:  # noqa: BLE001  # pragma: no cover - a broken state must not stop the stream
                product = None
            if product is not None and not np.all(np.isfinite(product)):
                product = None
            if product is not None and np.ndim(product) == 2:
                product = display_matrix(product)  # a large W as the heatmap draws it (ibviewer.live.display)
        tail = None
        idle = not self.playing and not self.pending
        if idle and e.status != "diverged" and (h.n == 0 or int(h["step"][-1]) != e.step_count):
            # paused between recorded steps (after "step 1", a reset): the current metrics as a provisional row
            try:
                tail = {k: np.asarray(v) for k, v in e.current_metrics().items()}
                if matrix:
                    tail.pop("state", None)
            except Exception:  # noqa: BLE001  # pragma: no cover - metrics of an odd state: the plots wait
                tail = None
        loss = e.current_loss() if e.status != "diverged" else (
            float(h["loss"][-1]) if h.n else float("nan"))
        events = self._events(sent, e, replace)
        sent.update(n=h.n, thinned=h.thinned, replace=False)
        return msg.RunEntry(
            id=rid, name=name, step=e.step_count, time=e.time, status=e.status, message=e.message,
            loss=loss if math.isfinite(loss) else float("nan"), wall=e.wall_seconds, replace=replace, rows=rows,
            tail=tail, product=product, lr=e.cfg.optimizer.lr, optimizer=e.cfg.optimizer.name, seed=e.cfg.run.seed,
            events=events, resume_step=-1 if e.status != "diverged" or e.last_good.step is None
            else e.last_good.step)

    def _events(self, sent: dict[str, Any], e, replace: bool) -> tuple[dict[str, Any], ...] | None:
        """The run's event markers when they may have changed (None: as last sent).  Found from the whole
        history, as summary.json lists them; a few milliseconds, so at most every EVENTS_EVERY seconds while the
        run trains, and at once when it stops or its history starts again."""
        from ibviewer.core.events import events as find_events

        key = (e.history.n, e.status)
        if not replace and key == sent.get("events_key"):
            return None
        now = time.monotonic()
        training = e.status == "running" and (self.playing or self.pending)
        if not replace and training and now - sent.get("events_at", -1e9) < EVENTS_EVERY:
            return None
        sent["events_key"], sent["events_at"] = key, now
        try:
            found = find_events(e.history.as_dict(), e.cfg, e.status, e.step_count, e.problem.target)
        except (ValueError, ArithmeticError, IndexError):  # pragma: no cover - odd histories have no markers
            found = []
        return tuple(found)

    def snapshot(self) -> msg.Snapshot:
        """The selected run's entry at the top level (as for a single run) and every run's in ``runs``."""
        g = self.group
        now = time.monotonic()
        steps = g.step_count
        if self.playing or self.pending:
            if self._rate_mark is None:
                self._rate_mark = (now, steps)
            else:
                t0, s0 = self._rate_mark
                if now - t0 >= 0.25:
                    self.rate = (steps - s0) / (now - t0)
                    self._rate_mark = (now, steps)
        else:
            self.rate = 0.0
            self._rate_mark = None
        entries = []
        for rid, name, e in zip(g.ids, g.names, g.engines):
            # products: the selected run's always; small vectors (diagonal nets, separators) of every run
            small = len(e.problem.shape) == 1 or e.cfg.family == "classifier"
            entries.append(self._entry(rid, name, e, rid == self.selected or small))
        lead = next((x for x in entries if x.id == self.selected), entries[0])
        self.seq += 1
        return msg.Snapshot(seq=self.seq, gen=self.gen, rate=self.rate, playing=self.playing, pending=self.pending,
                            selected=lead.id, runs=tuple(entries), sent_at=time.time())


def np_error():
    import numpy as np

    return np.linalg.LinAlgError
