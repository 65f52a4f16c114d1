"""The input fields of the controls panel: numbers typed or slid, lists, whole numbers and the wheel guard.

Each field reports what the user entered (``committed``) or that the text is no number (``invalid``, the text
as typed); it never repairs a value, so the config decides what is allowed and its one-line message quotes what
was typed (ibviewer/gui/controls.py shows it).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QWidget,
)
from superqt.utils import signals_blocked


def fmt(v: float) -> str:
    if v == 0:
        return "0"
    return f"{v:.3g}"


def parse_float(text: str) -> float:
    t = text.strip().replace("−", "-").replace("×10^", "e").replace("*10^", "e").replace("10^", "1e")
    return float(t)


class WrappedLabel(QLabel):
    """A word-wrapped label that asks its layout for the height its text needs at its width (a QFormLayout row
    otherwise gives it a fixed guess and clips long text at the top and bottom)."""

    def __init__(self, text: str = ""):
        super().__init__(text)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        need = self.heightForWidth(self.width())
        if need > 0 and need != self.minimumHeight():
            self.setMinimumHeight(need)


class ExponentSlider(QWidget):
    """A positive number as 10^k: a slider over k (0.1 steps) beside a field that takes any number.

    ``committed(float)`` on field entry, slider release or keyboard move; ``invalid(str)`` on a bad entry.
    ``live`` also commits while the slider is dragged (the learning rate applies live).
    """

    committed = Signal(float)
    invalid = Signal(str)

    def __init__(self, key: str, lo: int, hi: int, live: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.key = key
        self.live = live
        self._value = 1.0
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(lo * 10, hi * 10)
        self.slider.setPageStep(10)
        self.slider.setObjectName(key + ".slider")
        self.field = QLineEdit()
        self.field.setObjectName(key)
        self.field.setFixedWidth(78)
        self.field.setAlignment(Qt.AlignmentFlag.AlignRight)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.field)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderReleased.connect(self._on_release)
        self.field.editingFinished.connect(self._on_field)

    def value(self) -> float:
        return self._value

    def setValue(self, v: float) -> None:
        self._value = float(v)
        with signals_blocked(self.slider):
            if v > 0:
                self.slider.setValue(round(10 * math.log10(v)))
        self.field.setText(fmt(v))

    def _slider_value(self) -> float:
        return float(f"{10 ** (self.slider.value() / 10):.3g}")

    def _on_slider(self, _pos: int) -> None:
        v = self._slider_value()
        self.field.setText(fmt(v))
        if not self.slider.isSliderDown() or self.live:
            self._commit(v)

    def _on_release(self) -> None:
        self._commit(self._slider_value())

    def _on_field(self) -> None:
        text = self.field.text()
        if text.strip() == fmt(self._value):
            return  # the value as shown (rounded to 3 digits): nothing was typed
        try:
            v = parse_float(text)
        except ValueError:
            self.field.setText(fmt(self._value))
            self.invalid.emit(f"{self.key}: {text!r} is not a number; type e.g. 0.01 or 1e-3")
            return
        if not (v > 0 and math.isfinite(v)):
            self.field.setText(fmt(self._value))
            self.invalid.emit(f"{self.key} = {text} is not allowed; it must be a positive number")
            return
        if v != self._value:
            self._commit(v)
            with signals_blocked(self.slider):
                self.slider.setValue(round(10 * math.log10(v)))

    def _commit(self, v: float) -> None:
        if v == self._value:
            return
        self._value = v
        self.committed.emit(v)


class _Field(QLineEdit):
    """A config field edited as text: subclasses parse it in ``_on_edit`` and emit ``committed``."""

    invalid = Signal(str)
    initial: object = ""

    def __init__(self, key: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.key = key
        self.setObjectName(key)
        self._value = self.initial
        self.editingFinished.connect(self._on_edit)


class FloatField(_Field):
    """A number field: ``committed(float)`` after editing, ``invalid(str)`` when the text is no number."""

    committed = Signal(float)
    initial = 0.0

    def value(self) -> float:
        return self._value

    def setValue(self, v: float) -> None:
        self._value = float(v)
        self.setText(fmt(v))

    def _on_edit(self) -> None:
        text = self.text()
        if text.strip() == fmt(self._value):
            return  # the value as shown (rounded to 3 digits): nothing was typed
        try:
            v = parse_float(text)
        except ValueError:
            self.setText(fmt(self._value))
            self.invalid.emit(f"{self.key}: {text!r} is not a number")
            return
        if not math.isfinite(v):
            self.setText(fmt(self._value))
            self.invalid.emit(f"{self.key} = {text.strip()} is not allowed; it must be a finite number")
            return
        if v != self._value:
            self._value = v
            self.committed.emit(v)


class TextField(_Field):
    """Free text handed to the config as is (``model.width``: 64 or 64, 32): ``committed(str)``."""

    committed = Signal(object)

    def setValue(self, v: str) -> None:
        self._value = str(v)
        self.setText(self._value)

    def _on_edit(self) -> None:
        text = self.text().strip()
        if text != self._value:
            self._value = text
            self.committed.emit(text)


class ListField(_Field):
    """A comma-separated list of numbers (empty allowed)."""

    committed = Signal(object)

    def __init__(self, key: str, parent: QWidget | None = None):
        super().__init__(key, parent)
        self._value: list[float] = []
        self.setPlaceholderText("random")

    def setValue(self, v: list[float]) -> None:
        self._value = list(v)
        self.setText(", ".join(fmt(x) for x in v))

    def _on_edit(self) -> None:
        typed = self.text()
        text = typed.strip().strip("[]")
        try:
            v = [parse_float(s) for s in text.split(",") if s.strip()]
        except ValueError:
            self.setValue(self._value)
            self.invalid.emit(f"{self.key}: {typed!r} is not a list of numbers; type e.g. 12, 6, 3")
            return
        if v != self._value:
            self._value = v
            self.committed.emit(v)


def choice_box() -> QComboBox:
    c = QComboBox()
    c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    c.setMinimumContentsLength(8)
    return c


class WholeNumberField(QSpinBox):
    """A whole number as the user types it.  Any integer can be typed and is passed on as typed ("-5" stays -5,
    20000 is not cut to the arrows' range): whether it is allowed is the config's decision, which names the
    value and what is allowed, or, with ``check``, this field's own (``invalid(str)``, and the old value back).
    The arrow buttons, keys and a focused wheel step within ``lo..hi``.  ``special`` is the text shown for 0
    ("no limit", "full batch"), and can be typed."""

    invalid = Signal(str)

    #: what a 32-bit spin box can hold: wider than any config domain, so typing is never cut short
    LIMIT = 2**31 - 1

    def __init__(self, key: str, lo: int, hi: int, special: str = "", label: str = "", check: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.key = key
        self.lo, self.hi = int(lo), int(hi)
        self.special = special
        self.label = label or key
        self.check = check
        self._last = max(self.lo, 0) if self.lo <= 0 <= self.hi else self.lo
        self.setObjectName(key)
        self._refused: str | None = None
        self.editingFinished.connect(self._report_refused)
        self.setRange(-self.LIMIT, self.LIMIT)
        self.setValue(self._last)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        # wide ranges (seeds, steps) would make the panel wide: take the width the column gives
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(80)
        if check:
            self.valueChanged.connect(self._check)

    # ---------------------------------------------------------------- text
    def textFromValue(self, v: int) -> str:
        return self.special if v == 0 and self.special else str(v)

    def valueFromText(self, text: str) -> int:
        t = text.strip()
        return 0 if self.special and t == self.special else int(t)

    def validate(self, text: str, pos: int):
        t = text.strip()
        State = QValidator.State
        if self.special and t and self.special.startswith(t):
            return (State.Acceptable if t == self.special else State.Intermediate, text, pos)
        try:
            v = int(t)
        except ValueError:
            # any text can be typed; what is no whole number is reported when editing ends (see fixup)
            return (State.Intermediate, text, pos)
        return (State.Acceptable if abs(v) <= self.LIMIT else State.Intermediate, text, pos)

    def fixup(self, text: str) -> str:
        # Qt asks to repair text that is no value before it shows the old value again: remember what was typed
        # (an empty field too), and report it once editing ends
        t = text.strip()
        if t != self.textFromValue(self.value()):
            self._refused = t
        return text

    def _report_refused(self) -> None:
        t, self._refused = self._refused, None
        if t == "":
            self.invalid.emit(f"{self.label}: the field was left empty; it keeps {self.text()}")
        elif t is not None:
            self.invalid.emit(f"{self.label}: {t!r} is not a whole number; type digits, e.g. {self.lo + 1}"
                              + (f", or 0 for {self.special}" if self.special else ""))

    # ---------------------------------------------------------------- arrows
    def stepBy(self, steps: int) -> None:
        target = min(max(self.value() + steps * self.singleStep(), self.lo), self.hi)
        if target != self.value():
            self.setValue(target)

    def stepEnabled(self):
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self.value() > self.lo:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        if self.value() < self.hi:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        return flags

    # ---------------------------------------------------------------- own domain
    def _check(self, v: int) -> None:
        if self.lo <= v <= self.hi:
            self._last = v
            return
        with signals_blocked(self):
            self.setValue(self._last)
        self.invalid.emit(f"{self.label} = {v} is not allowed; it must be a whole number >= {self.lo}"
                          + (f" and <= {self.hi:,}" if self.hi < self.LIMIT else ""))


def whole_field(key: str, lo: int, hi: int, special: str = "") -> WholeNumberField:
    return WholeNumberField(key, lo, hi, special)


class WheelGuard(QObject):
    """An event filter for fields: a wheel turn over a field without focus scrolls ``scroll_bar`` instead."""

    def __init__(self, scroll_bar: QWidget, parent: QObject | None = None):
        super().__init__(parent)
        self.scroll_bar = scroll_bar

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            QApplication.sendEvent(self.scroll_bar, event)
            return True
        return False
