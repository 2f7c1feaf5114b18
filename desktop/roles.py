"""The roles of the room model: what a view or the card delegate reads off a room."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import Qt


class Roles(IntEnum):
    Room = Qt.ItemDataRole.UserRole + 1
    Number = Qt.ItemDataRole.UserRole + 2
    Floor = Qt.ItemDataRole.UserRole + 3
    Status = Qt.ItemDataRole.UserRole + 4
    StatusLabel = Qt.ItemDataRole.UserRole + 5
    Occupancy = Qt.ItemDataRole.UserRole + 6
    MinutesToFree = Qt.ItemDataRole.UserRole + 7
    NextAvailable = Qt.ItemDataRole.UserRole + 8
    ReservationsToday = Qt.ItemDataRole.UserRole + 9
    Guests = Qt.ItemDataRole.UserRole + 10
    Maintenance = Qt.ItemDataRole.UserRole + 11
    Priority = Qt.ItemDataRole.UserRole + 12
    OutOfOrder = Qt.ItemDataRole.UserRole + 13
    DoNotDisturb = Qt.ItemDataRole.UserRole + 14
    RoomType = Qt.ItemDataRole.UserRole + 15
    Stale = Qt.ItemDataRole.UserRole + 16
    Version = Qt.ItemDataRole.UserRole + 17
    Notes = Qt.ItemDataRole.UserRole + 18
    Rush = Qt.ItemDataRole.UserRole + 19
    Recent = Qt.ItemDataRole.UserRole + 20  # changed in the last seconds: the card glows
    Block = Qt.ItemDataRole.UserRole + 21  # "OOO until 14:00", or ""
    Mine = Qt.ItemDataRole.UserRole + 22  # assigned to the attendant who is logged in
    Attendant = Qt.ItemDataRole.UserRole + 23  # the attendant's name, or ""
    Group = Qt.ItemDataRole.UserRole + 24  # the board's section: "mine", or the floor
    # False on a rewound board: past room states carry no occupancy (no bookings count)
    OccupancyKnown = Qt.ItemDataRole.UserRole + 25
    OverdueLine = Qt.ItemDataRole.UserRole + 26  # "45 min late · next waiting", or ""
    Card = Qt.ItemDataRole.UserRole + 27  # a CardReader: every other role of the room at once
