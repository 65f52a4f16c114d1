"""Help > Guide to the panels: what each panel shows and which quantities it draws.

The guide is written from the panel registry (:data:`~ibviewer.gui.panels.PANEL_CLASSES`): each panel's title
and tooltip, and the problems whose default layout (:func:`~ibviewer.gui.panels.panel_layout`) shows it.  A
panel added to the registry is in the guide with no further edit, and the guide cannot say something the panel's
own tooltip does not.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from ibviewer.gui.panels import PANEL_CLASSES, panel_layout
from ibviewer.live.series import symbols

#: the model families, as a person names the problems they train on
FAMILIES: dict[str, str] = {
    "factorization": "matrix sensing, completion and factorization",
    "linear_network": "deep linear networks (regression)",
    "diagonal": "diagonal networks (sparse recovery)",
    "classifier": "logistic regression on separable data",
    "mlp": "MLPs (teacher-student, digits)",
}


def families_showing() -> dict[str, list[str]]:
    """Panel name -> the families (keys of :data:`FAMILIES`) whose default layout shows it, at any depth."""
    out: dict[str, list[str]] = {}
    for family in FAMILIES:
        shown: set[str] = set()
        for depth in (1, 2, 3):
            for param in ("product", "hadamard", "pm_power"):
                for kind in ("", "digits"):
                    for small in (False, True):  # small: 2 or 3 unknowns, one measurement (the geometry panel)
                        cols, tabs = panel_layout(family, depth, param, kind, small)
                        shown.update(name for col in cols for name in col)
                        shown.update(name for pair in tabs for name in pair)
        for name in shown:
            out.setdefault(name, []).append(family)
    return out


def guide_html() -> str:
    """The guide as rich text: one entry per registered panel, in registration order."""
    where = families_showing()
    rows = ["<h3>The panels and what they show</h3>",
            ("<p>Each panel draws one quantity of the runs over time (or, for the state panels, now).  Hover over "
             "a panel for this text; its header holds its own choices (a theory overlay, a layer, a definition).  "
             "<i>View</i> shows and hides panels; the x axis (step, log step, time η·k) is chosen on the toolbar.</p>")]
    for name, cls in PANEL_CLASSES.items():
        fams = where.get(name, [])
        shown = "; ".join(FAMILIES[f] for f in fams) if fams else "on request (View menu)"
        tip = symbols(" ".join(cls.tooltip.split()))  # the tooltip's line breaks are for a tooltip's width
        rows.append(f"<p><b>{symbols(cls.title)}</b> <tt>({escape(name)})</tt><br>{tip}<br>"
                    f"<i>shown for:</i> {escape(shown)}</p>")
    return "\n".join(rows)


def panel_guide_dialog(parent: QWidget | None = None) -> QDialog:
    """The guide in a dialog that does not block (already open), deleted when closed."""
    dlg = QDialog(parent)
    dlg.setObjectName("panel_guide")
    dlg.setWindowTitle("Guide to the panels")
    dlg.resize(760, 640)
    lay = QVBoxLayout(dlg)
    text = QTextBrowser(dlg)
    text.setObjectName("panel_guide_text")
    text.setHtml(guide_html())
    lay.addWidget(text)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
    buttons.rejected.connect(dlg.close)
    lay.addWidget(buttons)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.open()
    return dlg
