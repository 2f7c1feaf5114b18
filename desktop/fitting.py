"""Widgets that give up width gracefully, so the window works at 1280 px: a label that elides
its text (and then says it in full in its tooltip) instead of widening the window."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt
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


class _Refit(QObject):
    """Calls `refit` when the view is shown or its font or style changes (the widths depend
    on the font the style sheet gives it, which a view has only once it is polished)."""

    EVENTS = (QEvent.Type.Show, QEvent.Type.FontChange, QEvent.Type.StyleChange, QEvent.Type.Polish)

    def __init__(self, view: QWidget, refit: Callable[[], None]) -> None:
        super().__init__(view)
        self.refit = refit
        view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in self.EVENTS:
            self.refit()
        return False


def fit_columns(view: Any, stretch: int, pad: int = 12) -> None:
    """Keep the columns of a table view other than `stretch` exactly as wide as their widest
    cell or header (the header's sort arrow only where it is), so the stretched column (a
    guest's name) gets all the rest. Follows the model as rows come and go."""
    from PySide6.QtWidgets import QHeaderView

    header = view.horizontalHeader()

    def refit(*_args: Any) -> None:
        model = view.model()
        if model is None:
            return
        fm, hfm = view.fontMetrics(), header.fontMetrics()
        for col in range(model.columnCount()):
            if col == stretch:
                continue
            title = str(model.headerData(col, Qt.Orientation.Horizontal) or "")
            sorted_here = header.isSortIndicatorShown() and header.sortIndicatorSection() == col
            widest = hfm.horizontalAdvance(title) + (16 if sorted_here else 0)
            for row in range(model.rowCount()):
                text = str(model.index(row, col).data() or "")
                widest = max(widest, fm.horizontalAdvance(text))
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, widest + pad)

    model = view.model()
    for signal in (
        model.rowsInserted,
        model.rowsRemoved,
        model.modelReset,
        model.layoutChanged,
        model.dataChanged,
    ):
        signal.connect(refit)
    header.sortIndicatorChanged.connect(refit)
    _Refit(view, refit)
    _Refit(header, refit)
    refit()
