"""When Python's cyclic garbage collector runs in the app: from a timer on the GUI thread, between events.

Run at an arbitrary allocation, the collector could destroy a closed window's or a panel's Qt objects inside a
Qt call that holds the signal mutex (a disconnect, an item added to a view), and ``~QObject`` then waits on that
mutex forever: the process hangs (seen in the live window, and in ``ibviewer record`` building an export's
panels).  pyqtgraph's GarbageCollector disables the automatic collector and collects on a one-second timer.
Every part that builds panels calls :func:`collect_cycles_between_events` first.
"""

from __future__ import annotations

_COLLECTOR = None


def collect_cycles_between_events() -> None:
    """Collect reference cycles from a timer between events from now on (once per process)."""
    global _COLLECTOR
    if _COLLECTOR is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _COLLECTOR = GarbageCollector(interval=1.0)
