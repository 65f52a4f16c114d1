"""The GUI side of the training worker: starts the spawned process, sends commands, relays its messages.

A :class:`PipeReader` (a QThread) blocks on the worker's output pipe and emits every message; the
:class:`WorkerClient` (a QObject living in the GUI thread) receives them in a method slot -- a queued connection,
so they arrive on the GUI thread -- and re-emits them as signals, looked up by the message's type in one table
(:attr:`WorkerClient.RELAY`).  Commands (the dataclasses of :mod:`ibviewer.live.protocol`) go straight down the
command pipe from the GUI thread (small, they never block).
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from ibviewer.live import protocol as msg
from ibviewer.live.worker import THREAD_ENV, worker_main


class PipeReader(QThread):
    """Reads the worker's messages off the GUI thread; emits each one as ``message(object)``."""

    message = Signal(object)
    closed = Signal(str)

    def __init__(self, conn, parent: QObject | None = None):
        super().__init__(parent)
        self._conn = conn
        self._stop = False

    def stop(self) -> None:
        self._stop = True

    def run(self) -> None:  # runs in the reader thread
        conn = self._conn
        while not self._stop:
            try:
                if not conn.poll(0.05):
                    continue
                msg = conn.recv()
            except (EOFError, OSError) as exc:
                if not self._stop:
                    self.closed.emit(type(exc).__name__)
                return
            except Exception as exc:  # noqa: BLE001  # pragma: no cover - an unpicklable message: report, keep reading
                self.message.emit(msg.Error(f"could not read a message from the worker: {exc}"))
                continue
            self.message.emit(msg)


class WorkerClient(QObject):
    """Owns the worker process: ``start``, ``send``, ``ack``, ``shutdown``; relays messages as signals."""

    ready = Signal(object)  # protocol.Ready: the (new) runs are built
    snapshot = Signal(object)  # protocol.Snapshot
    error = Signal(str)  # one-line refusal of a command
    config_error = Signal(str, int, bool)  # a config (of that generation) could not be built; the old runs kept
    died = Signal(str)  # the worker ended unexpectedly: the reason
    session = Signal(object)  # protocol.Session: a session file was opened
    session_error = Signal(str, int)  # a session could not be opened (gen) or saved (-1): one line
    saved = Signal(str, int)  # a session file was written: path, step

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._ctx = multiprocessing.get_context("spawn")
        self.process = None
        self._cmd = None
        self._out = None
        self._reader: PipeReader | None = None
        self._closing = False
        self._dead_reported = False
        self.is_ready = False
        self._watch = QTimer(self)
        self._watch.setInterval(500)
        self._watch.timeout.connect(self._check_alive)

    # ------------------------------------------------------------------------------------------------ life
    def start(self, cfg_dict: dict[str, Any], options: dict[str, Any] | None = None) -> None:
        """Spawn the worker (returns at once; the worker imports numpy and builds the engine by itself)."""
        self.stop()
        self._closing = False
        self._dead_reported = False
        self.is_ready = False
        cmd_r, cmd_w = self._ctx.Pipe(duplex=False)
        out_r, out_w = self._ctx.Pipe(duplex=False)
        saved = {k: os.environ.get(k) for k in THREAD_ENV}
        os.environ.update(THREAD_ENV)  # inherited by the child at exec: one BLAS/OpenMP thread
        try:
            self.process = self._ctx.Process(
                target=worker_main, args=(cmd_r, out_w, cfg_dict, options or {}), name="ibviewer-worker", daemon=True
            )
            self.process.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        # close the child's ends here so that a dead child reads as EOF
        cmd_r.close()
        out_w.close()
        self._cmd, self._out = cmd_w, out_r
        self._reader = PipeReader(out_r)
        self._reader.message.connect(self._on_message)
        self._reader.closed.connect(self._on_closed)
        self._reader.start()
        self._watch.start()

    def stop(self, timeout: float = 0.6) -> None:
        """Stop the worker and the reader thread (quit, then terminate, then kill); idempotent."""
        self._closing = True
        self._watch.stop()
        proc, self.process = self.process, None
        if proc is not None:
            self._send_raw(msg.Quit())
            proc.join(timeout)
            if proc.is_alive():
                proc.terminate()
                proc.join(0.3)
            if proc.is_alive():  # pragma: no cover - SIGTERM ignored
                proc.kill()
                proc.join(0.3)
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.stop()
            if not reader.wait(1000):  # pragma: no cover - the reader polls every 50 ms
                reader.terminate()
                reader.wait(500)
            reader.message.disconnect(self._on_message)
            reader.closed.disconnect(self._on_closed)
            reader.deleteLater()
        for conn in (self._cmd, self._out):
            if conn is not None:
                try:
                    conn.close()
                except OSError:
                    pass
        self._cmd = self._out = None
        self.is_ready = False

    @property
    def reader(self) -> PipeReader | None:
        """The thread that reads the worker's messages (None when no worker runs)."""
        return self._reader

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def is_alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    # ------------------------------------------------------------------------------------------------ commands
    def send(self, cmd: msg.Command) -> bool:
        """Send a command, e.g. ``send(Step(10))``; False (and ``died``) if the worker is gone."""
        if self.process is None:
            return False
        ok = self._send_raw(cmd)
        if not ok:
            self._report_death("the training worker cannot be reached")
        return ok

    def ack(self, seq: int) -> None:
        self.send(msg.Ack(seq))

    def _send_raw(self, cmd) -> bool:
        if self._cmd is None:
            return False
        try:
            self._cmd.send(cmd)
            return True
        except (OSError, ValueError):
            return False

    # ------------------------------------------------------------------------------------------------ relay
    #: what each message becomes: the method that relays it (a signal, or the death report of a Fatal)
    RELAY = {
        msg.Snapshot: lambda self, m: self.snapshot.emit(m),
        msg.Ready: lambda self, m: self._relay_ready(m),
        msg.Error: lambda self, m: self.error.emit(str(m.text)),
        msg.ConfigError: lambda self, m: self.config_error.emit(str(m.text), int(m.gen), bool(m.kept)),
        msg.Session: lambda self, m: self.session.emit(m),
        msg.SessionError: lambda self, m: self.session_error.emit(str(m.text), -1 if m.gen is None else int(m.gen)),
        msg.Saved: lambda self, m: self.saved.emit(str(m.path), int(m.step)),
        msg.Fatal: lambda self, m: self._report_death(f"the training worker failed: {_last_line(m.traceback)}"),
    }

    @Slot(object)
    def _on_message(self, message) -> None:
        relay = self.RELAY.get(type(message))
        if relay is not None:  # anything else is not from this version of the worker: ignored
            relay(self, message)

    def _relay_ready(self, ready: msg.Ready) -> None:
        self.is_ready = True
        self.ready.emit(ready)

    @Slot(str)
    def _on_closed(self, _why: str) -> None:
        self._report_death(None)

    @Slot()
    def _check_alive(self) -> None:
        if self.process is not None and not self.process.is_alive():
            self._report_death(None)

    def _report_death(self, reason: str | None) -> None:
        if self._closing or self._dead_reported:
            return
        self._dead_reported = True
        self._watch.stop()
        self.is_ready = False
        if reason is None:
            code = None
            if self.process is not None:
                self.process.join(0.2)
                code = self.process.exitcode
            reason = "the training worker stopped unexpectedly" + (f" (exit code {code})" if code is not None else "")
        self.died.emit(reason)


def _last_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"
