"""Widgets that give up width gracefully, so the window works at 1280 px: a label that elides
its text (and then says it in full in its tooltip) instead of widening the window, combo boxes
that can be squeezed, and table columns that take only the width they need."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QWidget,
)


class ElidedLabel(QLabel):
    """A one-line label that asks for its whole text but can be squeezed to `min_chars`
    characters: it then draws the text elided on the right and puts it whole in the tooltip
    (before its own tooltip, if it has one)."""

    def __init__(self, text: str = "", min_chars: int = 8, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.min_chars = min_chars
        self._own_tip = ""
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def setToolTip(self, tip: str) -> None:
        self._own_tip = tip
        self._update_tip()

    def setText(self, text: str) -> None:
        super().setText(text)
        self._update_tip()

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        chars = self.fontMetrics().averageCharWidth() * self.min_chars
        return QSize(min(hint.width(), chars), hint.height())

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def _update_tip(self) -> None:
        full = self.text()
        if self.is_elided() and full:
            tip = f"{full}\n{self._own_tip}" if self._own_tip else full
        else:
            tip = self._own_tip
        if self.toolTip() != tip:
            super().setToolTip(tip)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._update_tip()

    def paintEvent(self, event: Any) -> None:
        if not self.is_elided():
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(
            rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text
        )
        painter.end()


def squeezable_combos(parent: QWidget, min_chars: int = 9) -> None:
    """Let the combo boxes under `parent` shrink to `min_chars` characters instead of each one
    asking for its longest item (Qt still opens their lists wide enough for every item)."""
    for combo in parent.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(min_chars)


class ColumnFitter(QObject):
    """Keeps the columns of a table view other than `stretch` exactly as wide as their widest
    cell or header (the header's sort arrow only where it is), so that the stretched column (a
    guest's name) gets all the rest. It follows the model as rows come and go, and the view's
    font; the work is done once per turn of the event loop, never inside a model's signal."""

    EVENTS = (QEvent.Type.Show, QEvent.Type.FontChange, QEvent.Type.StyleChange)

    def __init__(self, view: QAbstractItemView, stretch: int, pad: int = 12) -> None:
        super().__init__(view)  # its view is its parent: no Python reference, so no cycle
        self.stretch, self.pad = stretch, pad
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refit)
        model = view.model()
        for signal in (
            model.rowsInserted,
            model.rowsRemoved,
            model.modelReset,
            model.layoutChanged,
            model.dataChanged,
        ):
            signal.connect(self.later)
        self.header().sortIndicatorChanged.connect(self.later)
        view.installEventFilter(self)
        self.refit()

    @property
    def view(self) -> QAbstractItemView:
        view = self.parent()
        assert isinstance(view, QAbstractItemView)
        return view

    def header(self) -> QHeaderView:
        header = getattr(self.view, "horizontalHeader", None)
        assert header is not None
        result: QHeaderView = header()
        return result

    def later(self, *_args: Any) -> None:
        self._timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in self.EVENTS:
            self.later()
        return False

    def refit(self) -> None:
        model, header = self.view.model(), self.header()
        if model is None:
            return
        fm, hfm = self.view.fontMetrics(), header.fontMetrics()
        for col in range(model.columnCount()):
            if col == self.stretch:
                continue
            title = str(model.headerData(col, Qt.Orientation.Horizontal) or "")
            sorted_here = header.isSortIndicatorShown() and header.sortIndicatorSection() == col
            widest = hfm.horizontalAdvance(title) + (16 if sorted_here else 0)
            for row in range(model.rowCount()):
                widest = max(widest, fm.horizontalAdvance(str(model.index(row, col).data() or "")))
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, widest + self.pad)


def fit_columns(view: QAbstractItemView, stretch: int) -> ColumnFitter:
    """Fit the columns of `view` (see ColumnFitter); the fitter lives as long as the view."""
    return ColumnFitter(view, stretch)
