"""Which panels exist (:data:`PANEL_CLASSES`, filled by :func:`register`), how a family lays them out by
default (:func:`panel_layout`), and the panels' saved choices from a session's view (:func:`saved_panel_states`).

Adding a panel is one module with the class and one ``register(...)`` entry (see ``docs/adding_a_panel.md``).
"""

from __future__ import annotations

from typing import Any

from ibviewer.gui.panels.base import Panel

#: panel name -> class, in registration order
PANEL_CLASSES: dict[str, type[Panel]] = {}


def register(cls: type[Panel]) -> type[Panel]:
    """Make ``cls`` available by its ``name`` (usable as a class decorator).  A second class under a name that
    is taken is refused: two panels would otherwise share a saved state and a dock."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name or name == Panel.name:
        raise ValueError(f"panel class {cls.__name__} needs its own `name` (a non-empty string, not 'panel')")
    other = PANEL_CLASSES.get(name)
    if other is not None and other is not cls:
        raise ValueError(f"panel name {name!r} is taken by {other.__name__}; choose another name")
    PANEL_CLASSES[name] = cls
    return cls


def unregister(name: str) -> None:
    """Forget the panel called ``name`` (a plug-in or a test that registered one)."""
    PANEL_CLASSES.pop(name, None)


def saved_panel_states(view: dict[str, Any], names) -> dict[str, dict[str, Any]]:
    """Each panel's :meth:`Panel.state` as a session's view keeps it.

    A view is ``{"panels": {name: state}}``; views written before panels saved themselves also hold
    ``"theory": [names of panels with the overlay on]`` and ``"panels": {name: {"form"|"layer": value}}``:
    those are read too (the theory toggle of every listed panel on, of every other panel off).
    """
    saved = view.get("panels") if isinstance(view.get("panels"), dict) else {}
    theory = view.get("theory")
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        raw = saved.get(name)
        state = dict(raw) if isinstance(raw, dict) else {}
        if isinstance(theory, list):
            state.setdefault("theory", name in theory)
        if state:
            out[name] = state
    return out


def panel_layout(family: str, depth: int, parametrization: str, kind: str = "", geometry: bool = False
                 ) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """The default arrangement of a family's panels (``geometry``: the problem is small enough for the geometry
    panel, :func:`ibviewer.core.geometry.geometry_applies`).

    Returns (columns, tabs): columns of panel names (top to bottom) and (panel, tabbed-behind-panel) pairs.
    """
    balance = depth > 1 and parametrization in ("product", "hadamard")
    if family == "mlp":
        third = ["layer_norms", "accuracy"] if kind == "digits" else ["layer_norms"]
        return [["loss", "layer_rel_change"], ["layer_sv", "layer_rank"], third], [("grad_norm", "loss")]
    if family == "tensor":
        return [["loss", "errors"], ["component_norms", "tensor_rank"]], [("grad_norm", "loss")]
    if family == "factorization":
        cols = [["loss", "effective_rank"], ["singular_values", "norms"], ["heatmap", "errors"]]
        tabs = [("grad_norm", "loss")]
        if balance:
            tabs.append(("balancedness", "norms"))
        return cols, tabs
    if family == "linear_network":
        cols = [["loss", "effective_rank"], ["singular_values", "balancedness" if balance else "norms"],
                ["heatmap", "errors"]]
        tabs = [("grad_norm", "loss")]
        tabs.append(("norms", "balancedness") if balance else ("norms", "norms"))
        return cols, [t for t in tabs if t[0] != t[1]]
    if family == "diagonal":
        cols = [["loss", "errors"], ["coordinates", "norms"], ["geometry"] if geometry else ["stems"]]
        tabs = [("grad_norm", "loss")] + ([("stems", "geometry")] if geometry else [])
        if balance:
            tabs.append(("balancedness", "norms"))
        return cols, tabs
    # classifier
    cols = [["loss", "t_loss"], ["data", "margin"], ["w_norm", "angle"]]
    tabs = [("grad_norm", "loss"), ("errors", "angle")]
    return cols, tabs
