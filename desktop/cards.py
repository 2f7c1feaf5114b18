"""What one room card shows, read at once: the room model reads it straight off the room
(RoomModel.card); any other model's rows are read role by role (card_from_roles), as the
card delegate once read every card. Equal cards look the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from desktop.roles import Roles
from desktop.theme import SHORT_LABELS


class Card(NamedTuple):
    number: str
    status: str
    label: str  # the status in short words
    occ: str  # free / occupied / ending_soon / overdue (a past state: only in house or not)
    known: bool  # the occupancy is known (not on a rewound board)
    minutes: int | None  # until free
    nxt: str  # next available
    today: int  # bookings today
    guests: int
    maintenance: bool
    priority: str
    ooo: bool
    dnd: bool
    rtype: str
    stale: bool
    rush: bool
    recent: bool
    block: str
    overdue: str  # the overdue line (an overdue room whose occupancy is known), or ""
    mine: bool
    attendant: str


def card_from_roles(data: Callable[[int], Any]) -> Card:
    """A card of a model that is not the room model, from its roles one by one."""
    status = str(data(Roles.Status))
    label = SHORT_LABELS.get(status, str(data(Roles.StatusLabel) or ""))
    occ = str(data(Roles.Occupancy) or "free")
    # a rewound board's past room states carry the front office's flag, not bookings
    known = data(Roles.OccupancyKnown) is not False
    if not known:
        past = data(Roles.Room) or {}
        occ = "occupied" if past.get("is_occupied") else "free"
    minutes = data(Roles.MinutesToFree)
    return Card(
        number=str(data(Roles.Number)),
        status=status,
        label=label,
        occ=occ,
        known=known,
        minutes=None if minutes is None or minutes < 0 else int(minutes),
        nxt=str(data(Roles.NextAvailable) or ""),
        today=int(data(Roles.ReservationsToday) or 0),
        guests=int(data(Roles.Guests) or 0),
        maintenance=bool(data(Roles.Maintenance)),
        priority=str(data(Roles.Priority) or ""),
        ooo=bool(data(Roles.OutOfOrder)),
        dnd=bool(data(Roles.DoNotDisturb)),
        rtype=str(data(Roles.RoomType) or ""),
        stale=bool(data(Roles.Stale)),
        rush=bool(data(Roles.Rush)),
        recent=bool(data(Roles.Recent)),
        block=str(data(Roles.Block) or ""),
        overdue=str(data(Roles.OverdueLine) or "") if known and occ == "overdue" else "",
        mine=bool(data(Roles.Mine)),
        attendant=str(data(Roles.Attendant) or ""),
    )
