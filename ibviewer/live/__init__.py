"""The Qt-free live layer between the core and the app: the training worker process (``worker``) and its typed
messages (``protocol``), the run group it trains (``group``), the GUI's side of the runs (``runs``: the
collection, its selection and rollback), what an edited setting does to them (``policy``) and the GUI's mirror
of the histories (``series``).

It imports the core, never Qt or ``ibviewer.gui`` (import-linter contracts in pyproject.toml)."""
