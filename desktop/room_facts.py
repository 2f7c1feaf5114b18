"""What the desk reads off one room (its wire dict), without Qt: the words of its status, its
occupancy as of a moment (the server's word, the countdown kept running between heartbeats)
and that occupancy in words, the guests in the room, and the board's statistics. The room
model, the filter, the cards and the details panel all read a room through these."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from desktop.occupancy_words import overdue_since, sentence
from shared.rules import STATUS_LABELS, RoomStatus
from shared.timeutil import from_iso

OCC_LABELS = {
    "free": "Free",
    "occupied": "Occupied",
    "ending_soon": "Ending soon",
    "overdue": "Overdue departure",
}
ENDING_SOON_MINUTES = 15


def occupancy_of(room: dict[str, Any], now: datetime) -> tuple[str, int | None]:
    """(free / occupied / ending_soon / overdue, minutes until free) as of `now`: the server's
    word, with the countdown kept running between heartbeats. An overdue room has no minutes
    until free (nobody knows when the guest leaves); one whose checked-in guest's departure
    passes between two heartbeats is overdue at once (see occupancy_words.overdue_since)."""
    status = room.get("occupancy_status")
    if status is None:
        status = "occupied" if room.get("is_occupied") else "free"
    if status == "free":
        return "free", None
    if overdue_since(room, now) is not None:
        return "overdue", None
    minutes: int | None = None
    free_at = room.get("free_at")
    if free_at:
        try:
            left = (from_iso(free_at) - now).total_seconds()
            minutes = max(0, math.ceil(left / 60))
        except ValueError:
            minutes = None
    elif isinstance(room.get("time_until_free"), int):
        minutes = room["time_until_free"]
    if status == "occupied" and minutes is not None and minutes <= ENDING_SOON_MINUTES:
        status = "ending_soon"
    return status, minutes


def guests_of(room: dict[str, Any]) -> int:
    return int(room.get("current_attendees") or room.get("guests_in_room") or 0)


def occupancy_text(room: dict[str, Any], now: datetime, tz: ZoneInfo) -> str:
    """The occupancy of a room in words, the same in tooltips and the room's details:
    'Occupied, free in 2 h 10', or the overdue departure and who waits for the room."""
    occ, minutes = occupancy_of(room, now)
    if occ == "overdue":
        return sentence(room, now, tz)
    text = OCC_LABELS.get(occ, occ)
    if occ != "free" and minutes is not None:
        text += f", free in {format_minutes(minutes)}"
    return text


def status_label(status: Any) -> str:
    try:
        return STATUS_LABELS[RoomStatus(status)]
    except ValueError:
        return str(status or "Unknown")


def in_house_words(occupied: bool) -> str:
    """What a past room state tells of its occupancy: only whether a guest was in house."""
    return "Guest in house" if occupied else "No guest in house"


def format_minutes(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest:02d}" if rest else f"{hours} h"
    return f"{hours // 24} days"


STAT_NAMES = (
    *(s.value for s in RoomStatus),
    "total",
    "available",
    "occupied",
    "ending_soon",
    "overdue",
    "free",
    "maintenance",
)
_STATUSES = frozenset(s.value for s in RoomStatus)


def stat_keys(r: dict[str, Any], now: datetime) -> tuple[str, ...]:
    """The statistics one room counts in as of `now` (the board's totals add these up)."""
    keys = ["total"]
    status = r.get("room_status")
    if status in _STATUSES:
        keys.append(status)
    occ, _ = occupancy_of(r, now)
    if occ == "free":
        keys.append("free")
    else:
        keys.append("occupied")
        if occ in ("ending_soon", "overdue"):
            keys.append(occ)
    if r.get("maintenance_required"):
        keys.append("maintenance")
    if (
        status == RoomStatus.READY_FOR_GUEST
        and not r.get("is_out_of_order")
        and not r.get("is_occupied")
        and occ == "free"
    ):
        keys.append("available")
    return tuple(keys)


def compute_stats(rooms: Iterable[dict[str, Any]], now: datetime) -> dict[str, int]:
    """The board's statistics, counted afresh over every room."""
    stats = dict.fromkeys(STAT_NAMES, 0)
    for r in rooms:
        for k in stat_keys(r, now):
            stats[k] += 1
    return stats


class RunningStats:
    """The board's statistics kept room by room: a change recounts only the rooms it
    touched (what each room counted in is remembered), so one event costs the same on a
    board of 20 rooms or 2,000. `reset` counts everything afresh (a snapshot, the minute's
    tick, when the countdowns move)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(STAT_NAMES, 0)
        self._keys: dict[str, tuple[str, ...]] = {}

    def reset(self, rooms: Iterable[dict[str, Any]], now: datetime) -> None:
        self.counts = dict.fromkeys(STAT_NAMES, 0)
        self._keys = {}
        for r in rooms:
            self.update(r, now)

    def update(self, room: dict[str, Any], now: datetime) -> None:
        """Room `room` changed (or is new): move its counts."""
        number = room["room_number"]
        old = self._keys.get(number, ())
        new = stat_keys(room, now)
        if old == new:
            return
        counts = self.counts
        for k in old:
            counts[k] -= 1
        for k in new:
            counts[k] += 1
        self._keys[number] = new

    def remove(self, number: str) -> None:
        """Room `number` left the board."""
        for k in self._keys.pop(number, ()):
            self.counts[k] -= 1
