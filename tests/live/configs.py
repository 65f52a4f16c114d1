"""Configs the live-layer tests build runs from."""

from ibviewer.core.config import DEFAULT_PRESET, build_config


def depth1_config(**kw):
    """The default preset's config at depth 1, with ``table__key=value`` changes (``model__depth=3``: that key
    set to 3)."""
    c = build_config(preset=DEFAULT_PRESET)
    c.model.depth = 1
    for k, v in kw.items():
        table, name = k.split("__")
        setattr(getattr(c, table), name, v)
    return c.validate()
