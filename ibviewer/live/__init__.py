"""The Qt-free live layer between the core and the app: the training worker process and its protocol,
the run group it trains, the GUI's mirror of the histories.

It imports the core, never Qt or ``ibviewer.gui`` (import-linter contracts in pyproject.toml)."""
