"""Colours, marks and the style sheet: one place, so the legend always matches the cards.

Every colour has a word next to it on the card (status label, occupancy text, priority), so the
board reads for a colour-blind person and on a black-and-white printout.
"""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from shared.rules import RoomStatus

# status -> (card background, strong accent, short code)
STATUS_COLOURS: dict[str, tuple[str, str, str]] = {
    RoomStatus.CHECKOUT_DIRTY: ("#F9D3CF", "#C0392B", "DIRTY"),
    RoomStatus.OCCUPIED_DIRTY: ("#FBE0C3", "#CA6F1E", "SERVICE"),
    RoomStatus.CLEANING_IN_PROGRESS: ("#FCF0B8", "#B7950B", "CLEANING"),
    RoomStatus.CLEANED_UNINSPECTED: ("#D4E6F9", "#2E6DB4", "INSPECT"),
    RoomStatus.READY_FOR_GUEST: ("#D3F0DC", "#1E8449", "READY"),
    RoomStatus.MAINTENANCE_REQUIRED: ("#E6D9F2", "#7D3C98", "MAINT."),
    RoomStatus.OUT_OF_ORDER: ("#D9DCE0", "#4D5656", "O.O.O."),
}
UNKNOWN = ("#EEEEEE", "#777777", "?")
# the words on a card and in the legend (the full labels are in tooltips and statistics)
SHORT_LABELS: dict[str, str] = {
    RoomStatus.CHECKOUT_DIRTY: "Dirty",
    RoomStatus.OCCUPIED_DIRTY: "Needs service",
    RoomStatus.CLEANING_IN_PROGRESS: "Cleaning",
    RoomStatus.CLEANED_UNINSPECTED: "To inspect",
    RoomStatus.READY_FOR_GUEST: "Ready",
    RoomStatus.MAINTENANCE_REQUIRED: "Maintenance",
    RoomStatus.OUT_OF_ORDER: "Out of order",
}

OCCUPANCY_COLOURS = {
    "free": "#1E8449",
    "occupied": "#B03A2E",
    "ending_soon": "#B9770E",
    "overdue": "#1B2631",  # past the departure time: near-black, unlike any other badge
}
PRIORITY_COLOURS = {
    "LOW": "#5D6D7E",
    "MEDIUM": "#B9770E",
    "HIGH": "#C0392B",
    "URGENT": "#922B21",
}
TOAST_COLOURS = {
    # kind -> (background, accent, mark)
    "success": ("#E9F7EF", "#1E8449", "✓"),
    "error": ("#FDEDEC", "#C0392B", "✕"),
    "info": ("#EBF5FB", "#2E6DB4", "i"),
    "warning": ("#FEF5E7", "#B9770E", "!"),
}
STATE_COLOURS = {
    "live": "#1E8449",
    "connecting": "#B9770E",
    "reconnecting": "#B9770E",
    "offline": "#C0392B",
}


def status_colours(status: object) -> tuple[QColor, QColor, str]:
    bg, accent, code = STATUS_COLOURS.get(str(status), UNKNOWN)
    return QColor(bg), QColor(accent), code


STYLE = """
QMainWindow, QWidget#central { background: #F4F6F8; }
QWidget { font-size: 10pt; color: #1C2833; }
QFrame#header { background: #1F3A4D; }
QFrame#header QLabel { color: #FFFFFF; }
QLabel#hotelName { font-size: 14pt; font-weight: 600; }
QLabel#who { color: #D6EAF8; }
QFrame#stats { background: #FFFFFF; border-bottom: 1px solid #D5D8DC; }
QFrame#statTile { background: #F8F9F9; border: 1px solid #E5E8E8; border-radius: 6px; }
QFrame#statTile:hover { border-color: #85929E; }
QLabel#statValue { font-size: 15pt; font-weight: 700; }
QLabel#statLabel { color: #566573; font-size: 8.5pt; }
QFrame#filters { background: #FFFFFF; border-bottom: 1px solid #D5D8DC; }
QLabel#sectionHeader { font-size: 11pt; font-weight: 600; color: #34495E; padding: 6px 4px 0 4px; }
QFrame#legend { background: #FFFFFF; border-top: 1px solid #D5D8DC; }
QLabel#legendText { color: #34495E; font-size: 8.5pt; }
QFrame#legend QWidget { font-size: 8.5pt; }
QFrame#sidePanel { background: #FFFFFF; border-left: 1px solid #D5D8DC; }
QPushButton { padding: 5px 10px; border-radius: 4px; border: 1px solid #AEB6BF;
              background: #FDFEFE; }
QPushButton:hover { background: #EBF5FB; }
QFrame#sidePanel QPushButton { padding: 2px 8px; }
QPushButton:disabled { color: #99A3A4; background: #F2F3F4; border-color: #D5D8DC; }
QPushButton#primary { background: #2E6DB4; color: white; border-color: #2E6DB4; }
QPushButton#primary:hover { background: #285E9C; }
QPushButton#headerButton { background: transparent; color: #FFFFFF; border: 1px solid #5D7B91; }
QPushButton#headerButton:hover { background: #2C5068; }
QLabel#staleBanner { background: #FCF3CF; color: #7E5109; padding: 4px 10px;
                     border-bottom: 1px solid #F4D03F; font-weight: 600; }
QLabel#selectionInfo { font-weight: 600; font-size: 11pt; }
QLabel#hint { color: #566573; }
QTabWidget::pane { border: none; }
QLineEdit, QComboBox { padding: 3px 6px; }
"""


W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str) -> W:
    """Give a widget an object name (for the style sheet) and return it."""
    widget.setObjectName(name)
    return widget
