"""ibviewer's desktop app (Qt).

Training runs in a spawned worker process (:mod:`ibviewer.live.worker`, Qt-free) that owns an
:class:`~ibviewer.core.engine.Engine`; :mod:`ibviewer.gui.client` starts it, sends it commands and relays its
snapshots to the GUI thread with backpressure; :mod:`ibviewer.gui.window` draws them in pyqtgraph panels.

Entry points: :func:`ibviewer.gui.app.main` (``ibviewer gui``) and :func:`ibviewer.gui.bench.main`
(``ibviewer bench gui``).  Importing this package imports no Qt (the worker process imports it too).
"""
