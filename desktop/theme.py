"""Colours, marks and the style sheet: one place, so the legend always matches the cards.
The colours are resources/colours.json, the style sheet resources/style.qss (read at import).

Every colour has a word next to it on the card (status label, occupancy text, priority), so the
board reads for a colour-blind person and on a black-and-white printout.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

import resources
from shared.rules import RoomStatus

COLOURS: dict[str, Any] = json.loads(resources.path("colours.json").read_text(encoding="utf-8"))


def _triple(value: list[str]) -> tuple[str, str, str]:
    first, second, third = value
    return str(first), str(second), str(third)


# status -> (card background, strong accent, short code)
STATUS_COLOURS: dict[str, tuple[str, str, str]] = {
    RoomStatus(status): _triple(value) for status, value in COLOURS["status"].items()
}
if set(RoomStatus) - set(STATUS_COLOURS):
    raise RuntimeError("resources/colours.json must give colours for every room status")
UNKNOWN = _triple(COLOURS["unknown"])
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
# the roles as people say them (the header, the Operations window)
ROLE_NAMES = {
    "housekeeping": "Housekeeping",
    "supervisor": "Supervisor",
    "maintenance": "Maintenance",
    "front_desk": "Front desk",
    "manager": "Manager",
}

OCCUPANCY_COLOURS: dict[str, str] = dict(COLOURS["occupancy"])  # overdue: near-black
PRIORITY_COLOURS: dict[str, str] = dict(COLOURS["priority"])
# kind -> (background, accent, mark)
TOAST_COLOURS = {kind: _triple(value) for kind, value in COLOURS["toast"].items()}
STATE_COLOURS: dict[str, str] = dict(COLOURS["connection"])  # the header's dot


def status_colours(status: object) -> tuple[QColor, QColor, str]:
    bg, accent, code = STATUS_COLOURS.get(str(status), UNKNOWN)
    return QColor(bg), QColor(accent), code


# the style sheet of the windows (the operations and dialogs add their own rules to it)
STYLE = resources.path("style.qss").read_text(encoding="utf-8")


W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str) -> W:
    """Give a widget an object name (for the style sheet) and return it."""
    widget.setObjectName(name)
    return widget
