"""The controls side panel: preset, run, problem, model and optimizer groups (superqt QCollapsible).

The panel only reports what the user entered: ``edited(key, value)`` with a config key (``optimizer.lr``) and
the raw value; the window validates it against the config (a bad value gives a one-line status message and the
control returns to the config's value).  ``set_config(cfg)`` shows a config without emitting anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible
from superqt.utils import signals_blocked

from ibviewer.core.config import INITS, OPTIMIZERS, PARAMETRIZATIONS, PROBLEM_KINDS, Config, preset_info, preset_names
from ibviewer.core.config_fields import LABEL_NOISE_KINDS, ConfigError, choices, field_help
from ibviewer.core.datafiles import FILE_SIZES
from ibviewer.core.problems import empty_singular_values_text, ignored_problem_keys
from ibviewer.gui.fields import (
    ExponentSlider,
    FloatField,
    ListField,
    TextField,
    WheelGuard,
    WholeNumberField,
    WrappedLabel,
    choice_box,
    whole_field,
)
from ibviewer.gui.preset_words import preset_html, preset_plain

try:  # newer cores: MLP activations
    from ibviewer.core.config import ACTIVATIONS
except ImportError:  # pragma: no cover
    ACTIVATIONS = ("relu", "tanh", "linear")

#: steps per frame offered by the speed slider; the last position means "as fast as possible"
SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 0)

KIND_LABELS = {
    "matrix_sensing": "matrix sensing",
    "matrix_completion": "matrix completion",
    "matrix_factorization": "matrix factorization",
    "sparse_recovery": "sparse recovery (diagonal net)",
    "linear_regression": "deep linear regression",
    "logistic_separable": "logistic, separable data",
    "razin_cohen": "Razin–Cohen 2×2 completion",
    "teacher_student": "MLP, teacher–student",
    "digits": "MLP, handwritten digits",
    "tensor_completion": "tensor completion (CP)",
}

#: which problem fields each kind uses
KIND_FIELDS = {
    "matrix_sensing": ("d", "rank", "singular_values", "measurements", "operator", "symmetric", "noise", "seed"),
    "matrix_completion": ("d", "rank", "singular_values", "measurements", "symmetric", "noise", "seed"),
    "matrix_factorization": ("d", "rank", "target", "singular_values", "symmetric", "noise", "seed"),
    "razin_cohen": ("seed",),
    "sparse_recovery": ("n", "measurements", "sparsity", "noise", "seed"),
    "linear_regression": ("d", "outputs", "samples", "inputs", "noise", "seed"),
    "logistic_separable": ("d", "samples", "seed"),
    "teacher_student": ("d", "rank", "samples", "test_samples", "noise", "seed"),
    "digits": ("samples", "seed"),
    "tensor_completion": ("d", "rank", "singular_values", "measurements", "noise", "seed"),
}
#: fields of a kind this panel does not know yet
DEFAULT_FIELDS = ("d", "samples", "noise", "seed")
#: model fields by family (None: every family)
MODEL_FIELDS = {
    "model.depth": ("factorization", "linear_network", "classifier", "diagonal", "mlp"),
    "model.components": ("tensor",),
    "model.width": ("factorization", "linear_network", "mlp"),
    "model.activation": ("mlp",),
    "model.bias": ("mlp",),
    "model.center_output": ("mlp",),
}

#: tooltips of the controls that are not config keys; a config key's tooltip is its declared help (field_help)
TIPS = {
    "preset": "A ready-made experiment (resources/presets): choosing one replaces the whole configuration",
    "speed": "Steps per frame (30 frames/s), or as fast as possible",
    "step_n": "N for 'Step N' (Shift+Right)",
}


def tooltip(key: str) -> str:
    """The tooltip of a row: the panel's own text, or the help text declared with the config key."""
    if key in TIPS:
        return TIPS[key]
    try:
        return field_help(key)
    except ConfigError:
        return ""


class ControlPanel(QScrollArea):
    """The side panel.  Signals: ``edited(key, value)``, ``preset_chosen(name)``, ``speed_changed(steps)``,
    ``new_seed()``; the run buttons use the window's actions (passed in)."""

    edited = Signal(str, object)
    preset_chosen = Signal(str)
    speed_changed = Signal(int)
    new_seed = Signal()
    invalid = Signal(str)

    def __init__(self, actions: dict[str, Any], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        body.setObjectName("controls")
        self.setWidget(body)
        self.vbox = QVBoxLayout(body)
        self.vbox.setContentsMargins(6, 6, 6, 6)
        self.vbox.setSpacing(4)
        self.widgets: dict[str, QWidget] = {}
        self.rows: dict[str, tuple[QLabel, QWidget]] = {}
        self._kind = None
        self._family = None
        self._build_preset()
        self._build_run(actions)
        self._build_problem()
        self._build_model()
        self._build_optimizer()
        self.vbox.addStretch(1)
        self._guard_wheel()

    def _guard_wheel(self) -> None:
        """Fields change on the mouse wheel only when they have focus: scrolling the panel must not change the
        depth or the initialization of whatever field passes under the cursor (each change restarts the run)."""
        self._wheel_guard = WheelGuard(self.verticalScrollBar(), self)
        for kind in (QAbstractSpinBox, QComboBox, QAbstractSlider):
            for w in self.widget().findChildren(kind):
                w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel turn does not give focus
                w.installEventFilter(self._wheel_guard)

    def sizeHint(self) -> QSize:
        return QSize(max(370, self.minimumSizeHint().width()), 800)

    def minimumSizeHint(self) -> QSize:
        # never narrower than the content: the horizontal scroll bar is off, so it would be cut
        body = self.widget().minimumSizeHint().width() if self.widget() is not None else 300
        return QSize(body + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth() + 2, 200)

    # ------------------------------------------------------------------------------------------------ building
    def _group(self, title: str, expanded: bool = True, note: str = "") -> QFormLayout:
        """A collapsible section of rows, under an optional italic note (what its changes do)."""
        col = QCollapsible(title)
        col.setDuration(0)
        f = col.toggleButton().font()
        f.setBold(True)
        col.toggleButton().setFont(f)
        inner = QWidget()
        body = inner.font()  # the rows in the regular weight: a bold title must not carry over to them
        body.setBold(False)
        inner.setFont(body)
        form = QFormLayout(inner)
        form.setContentsMargins(4, 0, 2, 4)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        col.addWidget(inner)
        if expanded:
            col.expand(animate=False)
        else:
            col.collapse(animate=False)
        self.vbox.addWidget(col)
        if note:
            lab = QLabel(f"<i>{note}</i>")
            lab.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # dimmer than the fields, in either theme
            form.addRow(lab)
        return form

    def _row(self, form: QFormLayout, key: str, label: str, widget: QWidget) -> QWidget:
        lab = QLabel(label)
        tip = tooltip(key)
        lab.setToolTip(tip)
        widget.setToolTip(tip)
        form.addRow(lab, widget)
        self.widgets[key] = widget
        self.rows[key] = (lab, widget)
        return widget

    def _field(self, form: QFormLayout, key: str, label: str, widget: QWidget) -> QWidget:
        """A labelled row for config key ``key`` whose edits are emitted as ``edited(key, value)``."""
        self._row(form, key, label, widget)
        self._connect_field(key, widget)
        return widget

    def _connect_field(self, key: str, w: QWidget) -> None:
        if isinstance(w, QSpinBox):
            w.valueChanged.connect(lambda v, k=key: self.edited.emit(k, int(v)))
            if isinstance(w, WholeNumberField):
                w.invalid.connect(self.invalid)
        elif isinstance(w, QComboBox):
            w.activated.connect(lambda _i, k=key, c=w: self.edited.emit(k, c.currentData()))
        elif isinstance(w, QCheckBox):
            w.toggled.connect(lambda v, k=key: self.edited.emit(k, bool(v)))
        elif isinstance(w, (ExponentSlider, FloatField, ListField, TextField)):
            w.committed.connect(lambda v, k=key: self.edited.emit(k, v))
            w.invalid.connect(self.invalid)

    def _build_preset(self) -> None:
        form = self._group("Experiment")
        combo = choice_box()
        combo.setObjectName("preset")
        combo.addItem("(custom)", "")
        for name in preset_names():
            meta = preset_info(name)
            title = meta.get("title", name)
            exp = meta.get("experiment")
            combo.addItem(f"{exp}: {title}" if exp else title, name)
            combo.setItemData(combo.count() - 1, f"{preset_plain(meta)}\n{meta.get('paper', '')}",
                              Qt.ItemDataRole.ToolTipRole)
        combo.activated.connect(self._on_preset)
        # the whole width of the panel, under the group's title: experiment titles are long
        combo.setToolTip("The experiment: a preset from the literature (its runs, settings and panels)")
        combo.setMinimumContentsLength(24)
        form.addRow(combo)
        self.widgets["preset"] = combo
        self.description = WrappedLabel("")
        self.description.setObjectName("description")
        self.description.setTextFormat(Qt.TextFormat.RichText)
        form.addRow(self.description)

    def _on_preset(self, _i: int) -> None:
        name = self.widgets["preset"].currentData()
        if name:
            self.preset_chosen.emit(name)

    def _build_run(self, actions: dict[str, Any]) -> None:
        form = self._group("Run")
        buttons = QGridLayout()
        buttons.setSpacing(4)
        for i, key in enumerate(("play", "step1", "stepn", "reset")):
            b = QToolButton()
            b.setDefaultAction(actions[key])
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setMinimumHeight(30)
            buttons.addWidget(b, i // 2, i % 2)
            self.widgets["button." + key] = b
        form.addRow(buttons)
        n = WholeNumberField("step_n", 1, 10**8, label="step N", check=True)
        n.setValue(100)
        n.invalid.connect(self.invalid)
        self._row(form, "step_n", "step N", n)
        seed_row = QWidget()
        sl = QHBoxLayout(seed_row)
        sl.setContentsMargins(0, 0, 0, 0)
        seed = whole_field("run.seed", 0, 2**31 - 1)
        sl.addWidget(seed, 1)
        ns = QPushButton("new seed")
        ns.setObjectName("new_seed")
        ns.setToolTip("Draw a new initialization seed and reset")
        ns.clicked.connect(self.new_seed)
        sl.addWidget(ns)
        self._row(form, "run.seed", "init seed", seed_row)
        self.widgets["run.seed"] = seed
        self._connect_field("run.seed", seed)
        sp = QWidget()
        spl = QHBoxLayout(sp)
        spl.setContentsMargins(0, 0, 0, 0)
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setObjectName("speed")
        slider.setRange(0, len(SPEEDS) - 1)
        slider.setPageStep(1)
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(64)
        spl.addWidget(slider, 1)
        spl.addWidget(self.speed_label)
        self._row(form, "speed", "speed", sp)
        self.widgets["speed"] = slider
        slider.valueChanged.connect(self._on_speed)
        self.set_speed(0)
        steps = whole_field("run.steps", 0, 2**31 - 1, special="no limit")
        steps.setSingleStep(1000)
        self._field(form, "run.steps", "max steps", steps)
        tol = FloatField("run.loss_tol")
        tol.setPlaceholderText("0 = off")
        self._field(form, "run.loss_tol", "loss tol", tol)

    def _on_speed(self, pos: int) -> None:
        v = SPEEDS[pos]
        self.speed_label.setText("max" if v == 0 else f"{v}/frame")
        self.speed_changed.emit(v)

    def set_speed(self, steps_per_frame: int) -> None:
        pos = SPEEDS.index(steps_per_frame) if steps_per_frame in SPEEDS else len(SPEEDS) - 1
        with signals_blocked(self.widgets["speed"]):
            self.widgets["speed"].setValue(pos)
        v = SPEEDS[pos]
        self.speed_label.setText("max" if v == 0 else f"{v}/frame")

    def _build_problem(self) -> None:
        form = self._group("Problem", note="changes here reset the run")
        kind = choice_box()
        kind.setObjectName("problem.kind")
        for k in PROBLEM_KINDS:
            kind.addItem(KIND_LABELS.get(k, k), k)
        self._field(form, "problem.kind", "kind", kind)
        for key, label, lo, hi in (("d", "size d", 1, 2000), ("n", "length n", 1, 100000), ("rank", "rank r", 1, 2000),
                                   ("measurements", "measurements m", 1, 10**7), ("sparsity", "sparsity s", 0, 100000),
                                   ("samples", "samples", 1, 10**7), ("test_samples", "test samples", 1, 10**7),
                                   ("outputs", "outputs", 0, 2000)):
            w = whole_field("problem." + key, lo, hi)
            self._field(form, "problem." + key, label, w)
        sv = ListField("problem.singular_values")
        self._field(form, "problem.singular_values", "singular values", sv)
        target = choice_box()
        target.setObjectName("problem.target")
        for t in ("spectrum", "lowrank_noise"):
            target.addItem(t, t)
        self._field(form, "problem.target", "target", target)
        inputs = choice_box()
        inputs.setObjectName("problem.inputs")
        for t in ("gaussian", "whitened"):
            inputs.addItem(t, t)
        self._field(form, "problem.inputs", "inputs", inputs)
        operator = choice_box()
        operator.setObjectName("problem.operator")
        for t in choices("problem.operator"):
            operator.addItem(t, t)
        self._field(form, "problem.operator", "operator", operator)
        symmetric = QCheckBox("symmetric, positive semidefinite W*")
        symmetric.setObjectName("problem.symmetric")
        self._field(form, "problem.symmetric", "", symmetric)
        noise = FloatField("problem.noise")
        self._field(form, "problem.noise", "noise σ", noise)
        seed = whole_field("problem.seed", 0, 2**31 - 1)
        self._field(form, "problem.seed", "data seed", seed)

    def _build_model(self) -> None:
        form = self._group("Model", note="changes here reset the run")
        depth = whole_field("model.depth", 1, 20)
        self._field(form, "model.depth", "depth N", depth)
        components = whole_field("model.components", 1, 10000)
        self._field(form, "model.components", "components R", components)
        width = TextField("model.width")
        width.setPlaceholderText("0 = natural (d)")
        self._field(form, "model.width", "width", width)
        init = choice_box()
        init.setObjectName("model.init")
        self._field(form, "model.init", "init", init)
        alpha = ExponentSlider("model.init_scale", -8, 1)
        self._field(form, "model.init_scale", "α (scale)", alpha)
        std = FloatField("model.init_std")
        std.setPlaceholderText("0 = use α")
        self._field(form, "model.init_std", "init std", std)
        par = choice_box()
        par.setObjectName("model.parametrization")
        self._field(form, "model.parametrization", "parametrization", par)
        act = choice_box()
        act.setObjectName("model.activation")
        for a in ACTIVATIONS:
            act.addItem(a, a)
        self._field(form, "model.activation", "activation", act)
        for key, text in (("model.bias", "biases"), ("model.weight_norm", "weight normalization"),
                          ("model.center_output", "centred output f(w) − f(w₀)")):
            box = QCheckBox(text)
            box.setObjectName(key)
            self._field(form, key, "", box)

    def _build_optimizer(self) -> None:
        form = self._group("Optimizer", note="applies live, without a reset")
        name = choice_box()
        name.setObjectName("optimizer.name")
        for o in OPTIMIZERS:
            name.addItem(o, o)
        self._field(form, "optimizer.name", "optimizer", name)
        lr = ExponentSlider("optimizer.lr", -6, 1, live=True)
        self._field(form, "optimizer.lr", "learning rate η", lr)
        mom = FloatField("optimizer.momentum")
        self._field(form, "optimizer.momentum", "momentum β", mom)
        bs = whole_field("optimizer.batch_size", 0, 10**7, special="full batch")
        self._field(form, "optimizer.batch_size", "batch size", bs)
        wd = FloatField("optimizer.weight_decay")
        self._field(form, "optimizer.weight_decay", "weight decay λ", wd)
        noise = FloatField("optimizer.label_noise")
        self._field(form, "optimizer.label_noise", "label noise σ", noise)

    # ------------------------------------------------------------------------------------------------ showing
    def set_dark(self, on: bool) -> None:
        """Follow the window's theme: the panel's own background is the palette's (no colour is fixed here)."""
        self.widget().setPalette(self.palette())

    def set_config(self, cfg: Config, preset: str | None = None) -> None:
        """Show ``cfg`` in the controls (no signals)."""
        w = self.widgets
        with signals_blocked(w["preset"]):
            i = w["preset"].findData(preset or "")
            w["preset"].setCurrentIndex(max(i, 0))
        meta = cfg.meta or {}
        self.description.setText(preset_html(meta) if preset else "")  # what it is, then what to look for
        self.description.setVisible(bool(preset and (meta.get("description") or meta.get("look_for"))))
        fam = cfg.family
        if fam != self._family:
            self._family = fam
            combo = w["model.init"]
            with signals_blocked(combo):
                combo.clear()
                for i in INITS:
                    if fam == "diagonal" and i not in ("constant", "gaussian", "zeros"):
                        continue
                    if fam == "mlp" and i not in ("gaussian", "orthogonal"):
                        continue
                    if fam == "tensor" and i != "gaussian":
                        continue
                    if fam != "diagonal" and i == "constant":
                        continue
                    combo.addItem(i, i)
            combo = w["model.parametrization"]
            with signals_blocked(combo):
                combo.clear()
                combo.addItem("auto", "auto")
                for p in PARAMETRIZATIONS.get(fam, ()):
                    combo.addItem(p, p)
        values: dict[str, Any] = {}
        for table in ("problem", "model", "optimizer", "run"):
            for k, v in vars(getattr(cfg, table)).items():
                values[f"{table}.{k}"] = v
        for key, v in values.items():
            widget = w.get(key)
            if widget is None:
                continue
            with signals_blocked(widget):
                if isinstance(widget, QCheckBox):
                    widget.setChecked(bool(v))
                elif isinstance(widget, TextField):
                    widget.setValue(", ".join(str(x) for x in v) if isinstance(v, list) else str(v))
                elif isinstance(widget, QSpinBox):
                    widget.setValue(int(v))
                elif isinstance(widget, QComboBox):
                    i = widget.findData(v)
                    if i >= 0:
                        widget.setCurrentIndex(i)
                elif isinstance(widget, (ExponentSlider, FloatField, ListField)):
                    widget.setValue(v)
        kind = cfg.problem.kind
        ignored = ignored_problem_keys(cfg.problem)  # e.g. the rank of AT6's spectrum target (it has d values)
        used = [k for k in KIND_FIELDS.get(kind, DEFAULT_FIELDS) if k not in ignored]
        w["problem.singular_values"].setPlaceholderText(empty_singular_values_text(cfg.problem))
        from_file = FILE_SIZES.get(kind, ()) if cfg.problem.source else ()
        for key, (lab, widget) in self.rows.items():
            if key.startswith("problem.") and key != "problem.kind":
                name = key.split(".", 1)[1]
                vis = name in used
                lab.setVisible(vis)
                widget.setVisible(vis)
                # a data file sets these sizes: shown, not editable
                widget.setEnabled(name not in from_file)
                widget.setToolTip(f"set by the data file {Path(cfg.problem.source).name}" if name in from_file
                                  else tooltip(key))
        shown = {k: fam in fams for k, fams in MODEL_FIELDS.items()}
        shown["model.parametrization"] = len(PARAMETRIZATIONS.get(fam, ())) > 1
        shown["model.weight_norm"] = fam == "mlp" or cfg.parametrization == "pm_power"
        shown["model.init_std"] = fam != "mlp"
        shown["optimizer.label_noise"] = cfg.problem.kind in LABEL_NOISE_KINDS
        for key, vis in shown.items():
            lab, widget = self.rows[key]
            lab.setVisible(vis)
            widget.setVisible(vis)
        self._kind = kind
