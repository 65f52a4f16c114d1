"""The Qt-free core: problems, models, optimizers, the engine, metrics, reference solutions, sessions.

Nothing here imports Qt or ``ibviewer.live``/``ibviewer.gui`` (import-linter contracts in pyproject.toml)."""
