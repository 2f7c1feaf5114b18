"""The header's statistics tiles: the tile (a number over its words; a click filters the
board) and the words, short enough that the row fits a 1280 px window, with the whole meaning
in the tooltip.

The two maintenance tiles count different things: "Repair reported" counts the rooms with the
`maintenance_required` flag (a repair was reported and is not done yet; the room may still be
sold and cleaned), "Unusable (repair)" counts the rooms whose housekeeping status is
MAINTENANCE_REQUIRED (a problem makes the room unusable until maintenance clears it). A room of
the second kind has the flag as well, so it counts in both."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

from desktop.theme import SHORT_LABELS, named
from shared.rules import STATUS_LABELS, RoomStatus

CLICK = "Click to show only these rooms."
TILE_WORDS: dict[str, tuple[str, str]] = {
    "total": ("Rooms", "Every room of the hotel."),
    "available": ("Available now", "Ready for a guest, vacant, in order and free of bookings now."),
    "occupied": ("Occupied", "A guest is in the room or a booking holds it now (also overdue)."),
    "ending_soon": ("Ending soon", "The current booking ends within 15 minutes."),
    "maintenance": (
        "Repair reported",
        "A repair was reported and is not done yet (the maintenance flag, with its priority):"
        " the room may still be in use. Includes the rooms unusable for repair.",
    ),
    RoomStatus.MAINTENANCE_REQUIRED.value: (
        "Unusable (repair)",
        'Status Maintenance required ("Maintenance" on the cards): a reported problem makes'
        " the room unusable until maintenance clears it. Each of these also counts in Repair"
        " reported.",
    ),
}


def tile_words(key: str) -> tuple[str, str]:
    """(label, tooltip) of a statistics tile: a summary key or a housekeeping status."""
    if key in TILE_WORDS:
        label, tip = TILE_WORDS[key]
        return label, f"{tip} {CLICK}"
    status = RoomStatus(key)
    return SHORT_LABELS[status], f"Status {STATUS_LABELS[status]}. {CLICK}"


class StatTile(QFrame):
    """One statistic of the header: a number over its words; a click filters the board."""

    clicked = Signal()

    def __init__(self, label: str, accent: str | None = None, tip: str = "") -> None:
        super().__init__()
        self.setObjectName("statTile")
        self.value = named(QLabel("–"), "statValue")
        self.label = named(QLabel(label), "statLabel")
        self.label.setWordWrap(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 3, 8, 4)
        lay.setSpacing(0)
        lay.addWidget(self.value)
        lay.addWidget(self.label)
        if accent:
            self.setStyleSheet(
                f"QFrame#statTile {{ border-top: 4px solid {accent}; }}"
                f" QLabel#statValue {{ color: {accent}; }}"
            )
        self.setToolTip(tip or f"{label} — click to show only these rooms")
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event: Any) -> None:
        self.clicked.emit()

    def set(self, n: int) -> None:
        self.value.setText(str(n))
