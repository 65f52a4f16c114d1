"""Ctrl+C and SIGTERM, treated alike by the commands that train and write files.

A command ends the same way whether the user pressed Ctrl+C or a scheduler sent SIGTERM: the signal raises
:class:`KeyboardInterrupt` in the main thread, the command removes what it had half-written, and exits 130
(:func:`ibviewer.core.bookkeeping.exit_code`).  A second signal while that clean-up runs must not interrupt it
(it would leave a temporary file or an encoder process behind, and end in a traceback): :func:`interrupt_once`
ignores every signal after the first, and :func:`shielded` defers signals over a clean-up that must complete.

Signal handlers can only be installed from the main thread; elsewhere these context managers do nothing.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

#: the signals that end a command: Ctrl+C in a terminal, and what ``kill``, systemd or a batch scheduler send
SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: set by the command line's entry point when the process ends with the command (``ibviewer …`` in a shell):
#: once interrupted, later signals are ignored until it exits.  Left False where a command runs inside another
#: program (a test calling ``main(argv)``), whose handlers are put back as they were.
EXITING_PROCESS = False


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _handlers(handler) -> Iterator[None]:
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, as Ctrl+C does, so both end a command the same way."""
    if not _in_main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    with _handlers(handler):
        yield


class Interrupts:
    """The state of :func:`interrupt_once`: whether a signal came (``fired``), and whether it may raise at once.

    While Qt runs (rendering frames), a KeyboardInterrupt raised by the handler could land inside a Python slot
    that Qt called; PySide then prints it as a traceback and carries on.  Within :meth:`deferring` the signal is
    only noted, and :meth:`check`, called between frames, raises it where it can unwind cleanly."""

    def __init__(self):
        self.fired = False
        self.deferred = False
        self._raised = False

    def handler(self, signum, frame) -> None:
        if self.fired:  # a second signal while the first is handled: ignored
            return
        self.fired = True
        if not self.deferred:
            self._raised = True
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferring(self) -> Iterator[Interrupts]:
        previous, self.deferred = self.deferred, True
        try:
            yield self
        finally:
            self.deferred = previous

    def resume(self) -> None:
        """Raise at once again from now on (the Qt part is over); a signal already noted is raised."""
        self.deferred = False
        self.check()

    def check(self) -> None:
        """Raise KeyboardInterrupt if a signal came (once)."""
        if self.fired and not self._raised:
            self._raised = True
            raise KeyboardInterrupt


@contextlib.contextmanager
def interrupt_once() -> Iterator[Interrupts]:
    """The first SIGINT or SIGTERM raises KeyboardInterrupt (or, while :meth:`Interrupts.deferring`, is noted for
    :meth:`Interrupts.check`); any later one, while the command cleans up and reports, is ignored (a second
    Ctrl+C never interrupts the removal of a half-written file)."""
    state = Interrupts()
    if not _in_main_thread():
        yield state
        return
    with _handlers(state.handler):
        yield state
    if state.fired and EXITING_PROCESS:
        # the command reports and the process exits: a signal sent again meanwhile must not kill it with the
        # default action (it would end with -SIGTERM instead of 130, mid-report)
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Defer SIGINT and SIGTERM over a clean-up that must complete; one that arrived meanwhile is raised as
    KeyboardInterrupt at the end, unless an exception is already on its way out (the clean-up runs in an
    ``except`` block, or raised)."""
    if not _in_main_thread():
        yield
        return
    pending = [False]
    handling = sys.exc_info()[0] is not None

    def handler(signum, frame):
        pending[0] = True

    failed = False
    try:
        with _handlers(handler):
            yield
    except BaseException:
        failed = True
        raise
    finally:
        if pending[0] and not failed and not handling:
            raise KeyboardInterrupt
