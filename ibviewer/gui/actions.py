"""The window's actions as data: one declaration per action, from which the menus, the toolbar and the keyboard
shortcuts dialog are all built, so they cannot drift apart.

A declaration names its slot as an attribute path from the window (``"toggle_play"``,
``"recording.toggle_live"``); an action whose feature the window was built without (``window.recording`` None)
is left out everywhere.  Menus and the toolbar are lists of named sections; a section no action belongs to is a
place the window fills itself (the dock toggles, the x-axis chooser); the window may add to a section too
(the recent files submenu after the sessions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QMessageBox, QStyle, QToolBar, QWidget


@dataclass(frozen=True)
class ActionSpec:
    """One action of the window."""

    key: str
    text: str
    #: attribute path from the window to the callable ("recording.toggle_live")
    slot: str
    #: portable key sequence text ("Ctrl+Shift+S", "Space"); "" for none
    shortcut: str = ""
    tip: str = ""
    #: a ``QStyle.StandardPixmap`` name ("SP_MediaPlay"); "" for none
    icon: str = ""
    #: the menu (a key of :data:`MENUS`) and its section; "" for no menu
    menu: str = ""
    section: str = ""
    #: the toolbar section (one of :data:`TOOLBAR`); "" for not on the toolbar
    toolbar: str = ""
    checkable: bool = False
    #: exclusive group (checkable actions of which one is on)
    group: str = ""
    #: arguments the slot is called with (``triggered``'s own argument is dropped); a single one is also the
    #: action's ``data()`` (the x-axis actions: their mode, which the window checks against)
    args: tuple[Any, ...] = ()

    @property
    def label(self) -> str:
        """The text without its mnemonic and ellipsis: how the shortcuts dialog names it."""
        return self.text.replace("&", "").removesuffix("…")


#: the menu bar: each menu's sections in order (separators between them)
MENUS: dict[str, tuple[str, ...]] = {
    "&File": ("files", "session", "data", "export", "quit"),
    "&Run": ("run", "runs", "worker"),
    "&View": ("docks", "x_axis", "plots", "looks", "present"),
    "&Help": ("help",),
}
#: the run toolbar's sections in order
TOOLBAR: tuple[str, ...] = ("run", "x_axis", "plots", "export")

A = ActionSpec
#: every action of the window, in menu order
ACTIONS: tuple[ActionSpec, ...] = (
    # ---------------------------------------------------------------- File
    A("gallery", "Gallery…", "files.open_gallery", "Ctrl+G",
      "Browse the experiments of the literature; opening one sets up all its runs", menu="&File", section="files"),
    A("open_config", "Open config…", "files.open_config_dialog", "Ctrl+Shift+O", "Open a TOML configuration",
      "SP_DialogOpenButton", menu="&File", section="files"),
    A("save_config", "Save config…", "files.save_config_dialog", "Ctrl+Shift+S",
      "Save the current configuration as TOML", "SP_DialogSaveButton", menu="&File", section="files"),
    A("open_sweep", "Open sweep…", "files.open_sweep_dialog", "",
      "Open the results folder of 'ibviewer sweep': its phase diagram; hover a cell for its numbers, click it to "
      "open its run", menu="&File", section="files"),
    A("open_session", "Open session…", "files.open_session_dialog", "Ctrl+O",
      "Open a session file: the runs and the view as saved; training goes on from there", menu="&File",
      section="session"),
    A("save_session", "Save session…", "files.save_session_dialog", "Ctrl+S",
      "Save every run (config, state, history) and the view to a session file (.ibvs)", menu="&File",
      section="session"),
    A("load_data", "Load data…", "files.load_data_dialog", "Ctrl+L",
      "Train on your own data: a target matrix, A and y, a mask, or a regression data set (.npy, .npz, .csv)",
      menu="&File", section="data"),
    A("export_animation", "Export animation…", "recording.export_animation_dialog", "Ctrl+E",
      "Render an MP4, GIF or PNG frames of the run's history for a talk", menu="&File", section="export",
      toolbar="export"),
    A("export_image", "Export image…", "recording.export_image_dialog", "Ctrl+Shift+E",
      "Save a panel or the layout as PNG (any size) or a panel as SVG", menu="&File", section="export"),
    A("export_history", "Export history…", "recording.export_history_dialog", "",
      "Save the recorded history as CSV (scalars) or NPZ (every column)", menu="&File", section="export"),
    A("record_live", "Record live", "recording.toggle_live", "Ctrl+Shift+R",
      "Capture the window as a video while you play, step and change parameters", menu="&File", section="export",
      toolbar="export", checkable=True),
    A("quit", "Quit", "close", "Ctrl+Q", "Quit ibviewer", menu="&File", section="quit"),
    # ---------------------------------------------------------------- Run
    A("play", "Play", "toggle_play", "Space", "Play / pause the training", "SP_MediaPlay", menu="&Run",
      section="run", toolbar="run"),
    A("step1", "Step", "step_once", "Right", "Take exactly one step", "SP_MediaSeekForward", menu="&Run",
      section="run", toolbar="run"),
    A("stepn", "Step N", "step_n", "Shift+Right", "Take exactly N steps (N in the Run group)",
      "SP_MediaSkipForward", menu="&Run", section="run", toolbar="run"),
    A("reset", "Reset", "reset_run", "R", "Back to step 0 with the same seed", "SP_BrowserReload", menu="&Run",
      section="run", toolbar="run"),
    A("continue", "Continue", "continue_run", "C",
      "A diverged run goes on from its last finite state with the settings it has now (lower η first)",
      menu="&Run", section="run"),
    A("new_seed", "New seed", "new_seed", "", "Draw a new initialization seed and reset", menu="&Run",
      section="run"),
    A("add_run", "Add run…", "add_run_dialog", "Ctrl+N",
      "Clone the selected run with one change (depth, α, optimizer, η, parametrization, seed); "
      "the runs train together on the same data", menu="&Run", section="runs"),
    A("restart", "Restart worker", "restart_worker", "", "Start a new training worker", menu="&Run",
      section="worker"),
    # ---------------------------------------------------------------- View
    A("x_step", "x axis: step", "set_x_mode", "", "Plot over the step k", menu="&View", section="x_axis",
      checkable=True, group="x_axis", args=("step",)),
    A("x_log_step", "x axis: log step", "set_x_mode", "", "Plot over log10 k (shows plateaus)", menu="&View",
      section="x_axis", checkable=True, group="x_axis", args=("log_step",)),
    A("x_time", "x axis: time η·k", "set_x_mode", "", "Plot over the time η·k", menu="&View", section="x_axis",
      checkable=True, group="x_axis", args=("time",)),
    A("x_rescaled", "x axis: rescaled time η·k / ln(1/α)", "set_x_mode", "",
      "Plot over η·k / ln(1/α): runs of different small initialization scales α line up", menu="&View",
      section="x_axis", checkable=True, group="x_axis", args=("rescaled",)),
    A("fit", "Fit plots", "fit_plots", "A", "Rescale every plot to its data", menu="&View", section="plots",
      toolbar="plots"),
    A("fullscreen", "Full screen", "appearance.toggle_full_screen", "F11", "Toggle full screen", menu="&View",
      section="plots", checkable=True),
    A("clear_annotations", "Clear annotations", "annotations.clear", "",
      "Remove every annotation (double-click a time panel to write one; double-click it again to edit it)",
      menu="&View", section="plots"),
    A("font_larger", "Larger text", "appearance.step_font_scale", "Ctrl+=", "Larger text everywhere (for a projector)",
      menu="&View", section="looks", args=(1,)),
    A("font_smaller", "Smaller text", "appearance.step_font_scale", "Ctrl+-", "Smaller text", menu="&View",
      section="looks", args=(-1,)),
    A("dark_theme", "Dark theme", "appearance.toggle_dark", "", "Light text on a dark background", menu="&View",
      section="looks", checkable=True),
    A("present", "Presentation mode", "presentation.toggle", "P",
      "The plots alone, full screen, with large text and the experiment's caption; 1–9 show one panel, 0 all",
      menu="&View", section="present", checkable=True),
    A("leave_present", "Leave presentation mode", "presentation.leave", "Escape",
      "Back to the working window", menu="&View", section="present"),
    # ---------------------------------------------------------------- Help
    A("shortcuts", "Keyboard shortcuts", "show_shortcuts", "F1", "List the shortcuts", menu="&Help",
      section="help"),
    A("panel_guide", "Guide to the panels…", "show_panel_guide", "", "What each panel shows, and its quantities",
      menu="&Help", section="help"),
)
del A

SPECS: dict[str, ActionSpec] = {s.key: s for s in ACTIONS}


def _resolve(root: object, path: str) -> Callable[..., Any] | None:
    """The callable at ``path`` from ``root``; None where a feature on the way is absent (None)."""
    obj: Any = root
    for part in path.split("."):
        obj = getattr(obj, part)
        if obj is None:
            return None
    return obj


def native(shortcut: str) -> str:
    """A shortcut as the platform writes it (Ctrl+S, ⌘S)."""
    return QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)


def build_actions(window: QWidget, specs: tuple[ActionSpec, ...] = ACTIONS
                  ) -> tuple[dict[str, QAction], dict[str, QActionGroup]]:
    """The window's actions (by key) and exclusive groups (by name), each action added to the window so its
    shortcut works whatever is shown; actions whose slot's feature is absent are left out."""
    actions: dict[str, QAction] = {}
    groups: dict[str, QActionGroup] = {}
    for spec in specs:
        fn = _resolve(window, spec.slot)
        if fn is None:
            continue
        a = QAction(spec.text, window)
        a.setObjectName("action_" + spec.key)
        if spec.shortcut:
            a.setShortcut(QKeySequence(spec.shortcut))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if spec.tip:
            a.setToolTip(f"{spec.tip} ({native(spec.shortcut)})" if spec.shortcut else spec.tip)
            a.setStatusTip(spec.tip)
        if spec.icon:
            a.setIcon(window.style().standardIcon(getattr(QStyle.StandardPixmap, spec.icon)))
        a.setCheckable(spec.checkable)
        if len(spec.args) == 1:
            a.setData(spec.args[0])
        if spec.group:
            if spec.group not in groups:
                groups[spec.group] = QActionGroup(window)
            groups[spec.group].addAction(a)
        # triggered(bool) must not reach the slot: it takes the declared arguments only
        a.triggered.connect(lambda _checked=False, fn=fn, args=spec.args: fn(*args))
        window.addAction(a)
        actions[spec.key] = a
    return actions, groups


def _separate(widget: QMenu | QToolBar) -> None:
    acts = widget.actions()
    if acts and not acts[-1].isSeparator():
        widget.addSeparator()


def build_menus(menubar: QMenuBar, actions: dict[str, QAction],
                fill: dict[tuple[str, str], Callable[[QMenu], None]] | None = None) -> dict[str, QMenu]:
    """The menus of :data:`MENUS` (by name without '&'), a separator between sections; ``fill[(menu, section)]``
    adds what a section holds besides the table's actions."""
    fill = fill or {}
    menus: dict[str, QMenu] = {}
    for title, sections in MENUS.items():
        m = menubar.addMenu(title)
        m.setObjectName("menu_" + title.replace("&", "").lower())
        for section in sections:
            keys = [s.key for s in ACTIONS if s.menu == title and s.section == section and s.key in actions]
            _add_section(m, [actions[k] for k in keys], fill.get((title, section)))
        menus[title.replace("&", "")] = m
    return menus


def _add_section(target, actions: list[QAction], extra: Callable | None) -> None:
    """One section of a menu or the toolbar: a separator before it (unless first), its actions, then what
    ``extra`` adds; nothing for a section with neither."""
    if not actions and extra is None:
        return
    _separate(target)
    for a in actions:
        target.addAction(a)
    if extra is not None:
        extra(target)


def build_toolbar(toolbar: QToolBar, actions: dict[str, QAction],
                  fill: dict[str, Callable[[QToolBar], None]] | None = None) -> QToolBar:
    """The sections of :data:`TOOLBAR` on ``toolbar``, a separator between them; ``fill[section]`` adds widgets."""
    fill = fill or {}
    for section in TOOLBAR:
        keys = [s.key for s in ACTIONS if s.toolbar == section and s.key in actions]
        _add_section(toolbar, [actions[k] for k in keys], fill.get(section))
    return toolbar


def shortcut_lines(actions: dict[str, QAction]) -> list[str]:
    """"shortcut<TAB>what it does" for every action of the window that has a shortcut, in menu order."""
    return [f"{native(s.shortcut)}\t{s.label}" for s in ACTIONS if s.shortcut and s.key in actions]


def shortcuts_dialog(parent: QWidget, actions: dict[str, QAction]) -> QMessageBox:
    """The shortcuts of ``actions`` (:func:`shortcut_lines`) in a dialog that does not block (already open)."""
    dlg = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", "\n".join(shortcut_lines(actions)),
                      QMessageBox.StandardButton.Ok, parent)
    dlg.setObjectName("shortcuts_dialog")
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.open()
    return dlg
