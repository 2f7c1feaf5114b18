"""Widgets that give up width gracefully, so the window works at 1280 px: a label that elides
its text (and then says it in full in its tooltip) instead of widening the window."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """A one-line label that asks for its whole text but can be squeezed to `min_chars`
    characters: it then draws the text elided on the right and puts it whole in the tooltip
    (unless a tooltip of its own was set)."""

    def __init__(self, text: str = "", min_chars: int = 8, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.min_chars = min_chars
        self._own_tip = ""
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def setToolTip(self, tip: str) -> None:
        self._own_tip = tip
        super().setToolTip(tip)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(
            min(hint.width(), self.fontMetrics().averageCharWidth() * self.min_chars), hint.height()
        )

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def paintEvent(self, event: Any) -> None:
        if not self.is_elided():
            if self.toolTip() != self._own_tip:
                super().setToolTip(self._own_tip)
            super().paintEvent(event)
            return
        full = self.text()
        if self._own_tip != full:
            super().setToolTip(f"{full}\n{self._own_tip}" if self._own_tip else full)
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(full, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(
            rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text
        )
        painter.end()


def squeezable_combos(parent: QWidget, min_chars: int = 9) -> None:
    """Let the combo boxes under `parent` shrink to `min_chars` characters (their lists still
    open at full width) instead of each one asking for its longest item."""
    from PySide6.QtWidgets import QComboBox

    for combo in parent.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(min_chars)
        _widen_popup(combo)
        combo.model().rowsInserted.connect(lambda *_a, c=combo: _widen_popup(c))


def _widen_popup(combo: Any) -> None:
    """The open list of a squeezed combo box shows its items whole."""
    combo.view().setMinimumWidth(combo.view().sizeHintForColumn(0) + 24)
