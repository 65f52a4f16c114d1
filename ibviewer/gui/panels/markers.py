"""Event markers on a time panel: a labelled vertical line per marker (the moments the engine finds, and the
user's changes); clicking one asks for the panels to show that step (``PanelSignals.marker_clicked``).

One layer per time panel, reusing its lines from frame to frame.  Labels run down along their line from the top;
markers closer than a label's height share one label ("σ₁, σ₂ learned").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics

from ibviewer.gui.panels.style import FONT_PT
from ibviewer.live.draw import marker_x

#: a marker's colour by kind, on a light plot and on a dark one (each readable on its background)
KIND_COLOURS = {
    "learned": ("#1a7f37", "#6ccf7f"),
    "active": ("#1a7f37", "#6ccf7f"),
    "plateau_escaped": ("#b35900", "#ffa64d"),
    "rank_step": ("#6f42c1", "#b99cf0"),
    "closest_rank_r": ("#1a7f37", "#6ccf7f"),
    "erank_rise": ("#6f42c1", "#b99cf0"),
    "diverged": ("#b00020", "#ff6b7f"),
    "edit": ("#0b5cad", "#6fb1ff"),
    "restart": ("#555555", "#bbbbbb"),
}
#: kinds whose markers carry a label (the steps of the effective rank are drawn as lines: the rank panel shows
#: their values, and their labels would crowd the activations they accompany)
LABELLED = ("learned", "active", "plateau_escaped", "diverged", "edit", "restart", "closest_rank_r", "erank_rise")
#: a label's height on the plot, as a fraction of the plot's height (it runs down from there)
LABEL_HEIGHT = 0.97
#: the box behind a label (RGBA): the plot's background, light or dark, three-quarters opaque
LABEL_BOX_LIGHT = (255, 255, 255, 190)
LABEL_BOX_DARK = (30, 32, 36, 190)
#: the markers lie under the data curves (z 0 and up), so that neither a line nor a label's box hides the moment
#: it marks; a labelled line above the bare ones, both above a shaded window band (-5)
BARE_Z, LABELLED_Z = -2, -1


#: which of several close markers a shared label names first (a long label is cut at its end)
PRIORITY = {"learned": 0, "active": 0, "diverged": 1, "restart": 2, "edit": 2, "closest_rank_r": 3, "erank_rise": 4,
            "plateau_escaped": 5}


def by_priority(markers: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(markers, key=lambda m: PRIORITY.get(str(m.get("kind")), 9))  # stable: by step within a kind


def merged_label(markers: Sequence[Mapping[str, Any]]) -> str:
    """One label for markers too close to label apart, joined by " · ", activations first and as one
    ("σ₁, σ₂ learned · plateau 1 escaped")."""
    parts: list[str] = []
    word_of_last = None
    for m in by_priority(markers):
        text = str(m["label"])
        word = next((w for w in (" learned", " active") if text.endswith(w)), None)
        if word is not None and word == word_of_last:
            parts[-1] = parts[-1][: -len(word)] + ", " + text
        else:
            parts.append(text)
        word_of_last = word
    return " · ".join(parts)


def label_groups(xs: Sequence[float], px_per_x: float, min_px: float) -> list[list[int]]:
    """Indices of labelled markers (sorted by x) grouped where neighbours are closer than ``min_px`` pixels."""
    groups: list[list[int]] = []
    last = None
    for i, x in enumerate(xs):
        if groups and last is not None and (x - last) * px_per_x < min_px:
            groups[-1].append(i)
        else:
            groups.append([i])
        last = x
    return groups


class MarkerLayer:
    """The markers of one plot: :meth:`draw` places them, :meth:`set_dark` / :meth:`set_font_scale` follow the
    app's looks; ``on_click(step)`` is called when one is clicked."""

    def __init__(self, plot: pg.PlotItem, on_click=None):
        self.plot = plot
        self.on_click = on_click
        self.lines: list[pg.InfiniteLine] = []
        self.shown: list[Mapping[str, Any]] = []
        self._texts: list[str] = []
        self._named: list[Mapping[str, Any]] = []
        self.dark = False
        self.pt = FONT_PT - 1

    def draw(self, markers: Sequence[Mapping[str, Any]], x_mode: str, x_range: tuple[float, float] | None,
             alpha: float | None = None) -> None:
        placed = sorted(((x, m) for m in markers if (x := marker_x(m, x_mode, alpha)) is not None),
                        key=lambda p: p[0])
        while len(self.lines) < len(placed):
            self.lines.append(self._new_line())
        texts = [""] * len(placed)
        labelled = [i for i, (_, m) in enumerate(placed) if m.get("kind") in LABELLED]
        span = (x_range[1] - x_range[0]) if x_range and x_range[1] > x_range[0] else 0.0
        px_per_x = self.plot.getViewBox().width() / span if span > 0 else 0.0
        lead = list(range(len(placed)))  # whose colour a line's label takes
        for group in label_groups([placed[i][0] for i in labelled], px_per_x, 1.6 * self.pt * 96 / 72):
            members = [placed[labelled[g]][1] for g in group]
            texts[labelled[group[0]]] = merged_label(members)
            lead[labelled[group[0]]] = labelled[group[members.index(by_priority(members)[0])]]
        for i, (line, (x, m), text) in enumerate(zip(self.lines, placed, texts)):
            self._style(line, m, text, placed[lead[i]][1])
            line.setPos(x)
            line.setVisible(True)
        for line in self.lines[len(placed):]:
            line.setVisible(False)
        self.shown = [m for _, m in placed]
        self._texts = texts
        self._named = [placed[lead[i]][1] for i in range(len(placed))]

    def labels(self) -> list[str]:
        """The labels drawn now, in x order (markers too close to label apart share one)."""
        return [t for t in self._texts if t]

    def set_dark(self, on: bool) -> None:
        self.dark = bool(on)
        for line, m, text, named in zip(self.lines, self.shown, self._texts, self._named):
            self._style(line, m, text, named)

    def set_font_scale(self, scale: float) -> None:
        self.pt = (FONT_PT - 1) * scale
        for line, m, text, named in zip(self.lines, self.shown, self._texts, self._named):
            self._style(line, m, text, named)

    # ------------------------------------------------------------------
    def _new_line(self) -> pg.InfiniteLine:
        line = pg.InfiniteLine(angle=90, movable=False, label="",
                               labelOpts={"position": LABEL_HEIGHT, "rotateAxis": (1, 0),
                                          "anchors": [(1, 1), (1, 0)]})
        line.setZValue(BARE_Z)
        line.sigClicked.connect(self._clicked)
        self.plot.addItem(line, ignoreBounds=True)
        return line

    def _colour(self, marker: Mapping[str, Any]) -> str:
        return KIND_COLOURS.get(str(marker.get("kind")), ("#555555", "#bbbbbb"))[1 if self.dark else 0]

    def _style(self, line: pg.InfiniteLine, marker: Mapping[str, Any], text: str,
               named: Mapping[str, Any] | None = None) -> None:
        colour = self._colour(marker)
        style = Qt.PenStyle.DashLine if marker.get("kind") in ("edit", "restart") else Qt.PenStyle.DotLine
        line.setPen(pg.mkPen(colour, width=1.5, style=style))
        line.setHoverPen(pg.mkPen(colour, width=3))
        line.marker_step = int(marker["step"])
        line.setZValue(LABELLED_Z if text else BARE_Z)  # a label above the bare lines next to it
        label = line.label
        f = QFont()
        f.setPointSizeF(self.pt)
        label.setFont(f)
        # cut to the plot's height (it runs down from the top), then made the label's format, which is filled
        # in whenever the line moves (braces kept literal)
        room = int(self.plot.getViewBox().height() * 0.95)
        if room > 0:
            text = QFontMetrics(f).elidedText(text, Qt.TextElideMode.ElideRight, room)
        label.format = text.replace("{", "{{").replace("}", "}}")
        label.valueChanged()
        label.setColor(self._colour(named or marker))
        # a box of the plot's background behind the letters: it hides the grid and the neighbouring markers' lines,
        # which ran through the text, while the data curves stay drawn over it (the markers lie under them)
        label.fill = pg.mkBrush(*(LABEL_BOX_DARK if self.dark else LABEL_BOX_LIGHT))
        label.setVisible(bool(text))

    def _clicked(self, line, _event=None) -> None:
        if self.on_click is not None:
            self.on_click(int(getattr(line, "marker_step", 0)))
