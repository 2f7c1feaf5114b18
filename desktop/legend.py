"""The legend under the board: the colours and marks of the cards, painted with the cards' own
colours and marks (the delegate's), so it always matches them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from desktop.delegate import RoomCardDelegate, legend_marks
from desktop.theme import SHORT_LABELS, STATUS_COLOURS
from shared.rules import RoomStatus


class Legend(QWidget):
    """The colours and marks of the cards, painted with the cards' own colours."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.delegate = RoomCardDelegate(self)
        self.setMinimumHeight(26)
        self._want = 26
        self._grow = QTimer(self)  # the height it needs, set after painting
        self._grow.setSingleShot(True)
        self._grow.setInterval(0)
        self._grow.timeout.connect(self._fit_height)

    def _items(self) -> list[tuple[str, Callable[[QPainter, QRectF], float]]]:
        out: list[tuple[str, Callable[[QPainter, QRectF], float]]] = []
        for status in RoomStatus:
            bg, accent, _ = STATUS_COLOURS[status]
            out.append(
                (SHORT_LABELS[status], _swatch(bg, accent, status is RoomStatus.OUT_OF_ORDER))
            )
        out.append(("", self._badge("free")))
        out.append(("", self._badge("occupied")))
        out.append(("booking ends within 15 min", self._badge("ending_soon")))
        out.append(("guest past departure time", self._badge("overdue")))
        out.append(("repair needed, priority", self._maint()))
        out.extend(legend_marks(self.font()))
        return out

    def _badge(self, occ: str) -> Callable[[QPainter, QRectF], float]:
        def draw(p: QPainter, r: QRectF) -> float:
            return self.delegate._occupancy_badge(p, self.font(), r, occ, 1.0, left=True)

        return draw

    def _maint(self) -> Callable[[QPainter, QRectF], float]:
        def draw(p: QPainter, r: QRectF) -> float:
            return self.delegate._maintenance_badge(p, self.font(), r, "HIGH", 1.0, left=True)

        return draw

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = self.fontMetrics()
        x, y, line = 10.0, 4.0, 20.0
        for text, draw in self._items():
            need = 60 + fm.horizontalAdvance(text) + 12
            if x + need > self.width() - 10 and x > 10:
                x, y = 10.0, y + line + 4
            p.save()
            used = draw(p, QRectF(x, y, 120, line))
            p.restore()
            x += used + 5
            if text:
                p.setPen(QColor("#34495E"))
                p.drawText(
                    QRectF(x, y, fm.horizontalAdvance(text) + 4, line),
                    Qt.AlignmentFlag.AlignVCenter,
                    text,
                )
                x += fm.horizontalAdvance(text) + 12
            else:
                x += 8
        p.end()
        # a second line when the window is narrow: never change the geometry while painting
        self._want = int(y + line + 6)
        if self.minimumHeight() != self._want:
            self._grow.start()

    def _fit_height(self) -> None:
        self.setMinimumHeight(self._want)


def _swatch(bg: str, accent: str, hatch: bool) -> Callable[[QPainter, QRectF], float]:
    def draw(p: QPainter, r: QRectF) -> float:
        box = QRectF(r.left(), r.top() + 2, 22, r.height() - 4)
        p.setPen(QPen(QColor(accent), 1))
        p.setBrush(QColor(bg))
        p.drawRoundedRect(box, 3, 3)
        p.fillRect(QRectF(box.left(), box.top(), 5, box.height()), QColor(accent))
        if hatch:
            p.fillRect(box, Qt.BrushStyle.BDiagPattern)
        return 22.0

    return draw
