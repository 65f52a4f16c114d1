"""ibviewer's desktop app (Qt).

Training runs in a spawned worker process (:mod:`ibviewer.live.worker`, Qt-free) that owns an
:class:`~ibviewer.core.engine.Engine`; :mod:`ibviewer.gui.client` starts it, sends it commands and relays its
messages to the GUI thread; :mod:`ibviewer.gui.session_controller` owns the runs, the generations and the
acknowledgements (backpressure); :mod:`ibviewer.gui.window` draws the snapshots in pyqtgraph panels.

Entry points: :func:`ibviewer.gui.app.main` (``ibviewer gui``) and :func:`ibviewer.gui.bench.main`
(``ibviewer bench gui``).  Importing this package imports no Qt (the worker process imports it too).
"""
