"""The training worker: a spawned process that owns one :class:`~ibviewer.engine.Engine`.

Qt-free on purpose: the process imports only numpy and ibviewer's core.  It reads commands from one pipe and
writes messages to another.  Commands (tuples, first item the name)::

    ("play",) ("pause",) ("step", n) ("reset", seed_or_None) ("config", cfg_dict, gen) ("speed", steps_per_frame)
    ("set_optimizer", {key: value}) ("set_max_steps", n) ("set_loss_tol", tol) ("ack", seq) ("quit",)

Messages::

    ("ready", info)      the engine of a config is built (info: the problem's static arrays, see _problem_info)
    ("snapshot", snap)   progress: new history rows since the last snapshot (all of them when "replace"), and
                         when paused between recorded steps a provisional "tail" row of the current metrics
    ("error", text)      a command was refused (one line, e.g. a ConfigError); the run goes on unchanged
    ("config_error", text, gen)  the config of generation ``gen`` cannot be built; the previous run goes on
    ("fatal", text)      an unexpected exception (traceback); the worker exits

``gen`` numbers the configs: ready messages and snapshots carry the generation of the engine they come from,
so that the GUI can drop what belongs to a config it has replaced.

Backpressure: at most one snapshot is in flight; the next is sent only after the GUI acknowledged the last one
(``("ack", seq)``), so the GUI never builds a backlog and the worker never waits for the GUI.
"""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from typing import Any

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
            out_conn.send(("fatal", traceback.format_exc()))
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


def _problem_info(engine) -> dict[str, Any]:
    """The static arrays the panels draw against: ground truth, references, data, support."""
    import numpy as np

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
    }
    if "X" in p.data and p.kind == "logistic_separable":
        info["X"] = np.asarray(p.data["X"], float)
        info["labels"] = np.asarray(p.data["labels"], float)
    if p.kind in ("matrix_completion", "razin_cohen"):
        info["observed"] = (np.asarray(p.data["rows"]), np.asarray(p.data["cols"]), np.asarray(p.data["values"], float))
    return info


class Worker:
    def __init__(self, cmd_conn, out_conn, options: dict[str, Any]):
        self.cmd = cmd_conn
        self.out = out_conn
        self.ppid = os.getppid()
        self.engine = None
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
        self.replace = True
        self.sent_n = 0
        self.sent_thinned = 0
        self.rate = 0.0
        self._rate_mark: tuple[float, int] | None = None
        self.quit = False

    # ------------------------------------------------------------------------------------------------ setup
    def _build(self, cfg_dict: dict[str, Any], gen: int) -> bool:
        from ibviewer.config import ConfigError, config_from_dict
        from ibviewer.engine import Engine

        try:
            engine = Engine(config_from_dict(cfg_dict))
        except ConfigError as exc:
            self.out.send(("config_error", str(exc), gen))
            return False
        except (ValueError, ArithmeticError, OSError, np_error()) as exc:  # bad data: say it in one line
            text = str(exc).splitlines()[0] if str(exc) else ""
            self.out.send(("config_error", f"cannot build this run: {type(exc).__name__}: {text}", gen))
            return False
        self.engine = engine
        self.gen = gen
        self.playing = False
        self.pending = 0
        self._after_reset()
        info = _problem_info(engine)
        info["gen"] = gen
        self.out.send(("ready", info))
        return True

    def _after_reset(self) -> None:
        self.replace = True
        self.sent_n = 0
        self.sent_thinned = self.engine.history.thinned
        self.dirty = True
        self.rate = 0.0
        self._rate_mark = None

    # ------------------------------------------------------------------------------------------------ loop
    def serve(self, cfg_dict: dict[str, Any]) -> None:
        # if this fails the worker keeps serving: the GUI may send another config
        self._build(cfg_dict, self.gen)
        last_parent_check = time.monotonic()
        while not self.quit:
            busy = self.engine is not None and (self.playing or self.pending > 0)
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
            if self.engine is not None:
                self._work()
                self._maybe_send()

    def _work(self) -> None:
        e = self.engine
        if self.pending > 0:
            k = min(self.pending, max(self.chunk, 1))
            done = self._timed_step(k)
            self.pending = 0 if (done < k or e.stopped) else self.pending - k
            self.dirty = True
            if e.stopped:
                self.playing = False
            return
        if not self.playing:
            return
        if e.stopped:
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
        if e.stopped:
            self.playing = False

    def _timed_step(self, k: int) -> int:
        t0 = time.perf_counter()
        done = self.engine.step(k)
        dt = time.perf_counter() - t0
        if done == k and dt > 0 and (k >= self.chunk or dt > 2 * CHUNK_SECONDS):
            # aim a chunk at CHUNK_SECONDS (smoothed), so that commands are read often
            target = k * CHUNK_SECONDS / dt
            self.chunk = int(min(MAX_CHUNK, max(1, 0.5 * self.chunk + 0.5 * target)))
        return done

    # ------------------------------------------------------------------------------------------------ commands
    def _handle(self, cmd) -> None:
        from ibviewer.config import ConfigError

        name = cmd[0]
        e = self.engine
        if name == "quit":
            self.quit = True
            return
        if name == "ack":
            if cmd[1] == self.seq:
                self.awaiting_ack = False
            return
        if name == "config":
            self._build(cmd[1], int(cmd[2]) if len(cmd) > 2 else self.gen + 1)
            return
        if name == "speed":
            self.speed = max(0, int(cmd[1]))
            self.frame_left = 0
            self.next_frame = time.monotonic()
            self.dirty = True
            return
        if e is None:
            self.out.send(("error", "no run is loaded; choose a valid configuration"))
            return
        try:
            if name == "play":
                if e.stopped:
                    self.playing = False
                else:
                    self.playing = True
                    self.pending = 0
                    self.next_frame = time.monotonic()
                    self._rate_mark = None
            elif name == "pause":
                self.playing = False
                self.pending = 0
                self.frame_left = 0
            elif name == "step":
                self.playing = False
                self.pending = max(0, int(cmd[1]))
            elif name == "reset":
                self.playing = False
                self.pending = 0
                e.reset(cmd[1] if len(cmd) > 1 else None)
                self._after_reset()
            elif name == "set_optimizer":
                kwargs = dict(cmd[1])
                e.set_optimizer(kwargs.pop("name", None), **kwargs)
            elif name == "set_max_steps":
                e.set_max_steps(int(cmd[1]))
            elif name == "set_loss_tol":
                e.set_loss_tol(float(cmd[1]))
            else:
                self.out.send(("error", f"unknown command {name!r}"))
                return
        except ConfigError as exc:
            self.out.send(("error", str(exc)))
        self.dirty = True

    # ------------------------------------------------------------------------------------------------ output
    def _maybe_send(self) -> None:
        if not self.dirty or self.awaiting_ack:
            return
        self.out.send(("snapshot", self.snapshot()))
        self.awaiting_ack = True
        self.dirty = False

    def snapshot(self) -> dict[str, Any]:
        import numpy as np

        e = self.engine
        h = e.history
        replace = self.replace or h.thinned != self.sent_thinned
        start = 0 if replace else self.sent_n
        rows = h.since(start) if h.n > start else {}
        matrix = len(e.problem.shape) == 2 and e.cfg.family != "classifier"
        if matrix:
            rows.pop("state", None)  # the GUI keeps only the current product of a matrix model
        try:
            product = e.product()
        except Exception:  # noqa: BLE001  # pragma: no cover - a broken state must not stop the stream
            product = None
        if product is not None and not np.all(np.isfinite(product)):
            product = None
        now = time.monotonic()
        if self.playing or self.pending:
            if self._rate_mark is None:
                self._rate_mark = (now, e.step_count)
            else:
                t0, s0 = self._rate_mark
                if now - t0 >= 0.25:
                    self.rate = (e.step_count - s0) / (now - t0)
                    self._rate_mark = (now, e.step_count)
        else:
            self.rate = 0.0
            self._rate_mark = None
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
        self.seq += 1
        snap = {
            "seq": self.seq,
            "gen": self.gen,
            "step": e.step_count,
            "time": e.time,
            "status": e.status,
            "message": e.message,
            "loss": loss if math.isfinite(loss) else float("nan"),
            "wall": e.wall_seconds,
            "rate": self.rate,
            "playing": self.playing,
            "pending": self.pending,
            "replace": replace,
            "rows": rows,
            "tail": tail,
            "product": product,
            "lr": e.cfg.optimizer.lr,
            "optimizer": e.cfg.optimizer.name,
            "seed": e.cfg.run.seed,
            "sent_at": time.time(),
        }
        self.replace = False
        self.sent_n = h.n
        self.sent_thinned = h.thinned
        return snap


def np_error():
    import numpy as np

    return np.linalg.LinAlgError
