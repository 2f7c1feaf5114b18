"""Occupancy of a room at a given moment, computed from its reservations.

Field names and values follow the room monitoring document: occupancy_status is one of
free / occupied / ending_soon (the current reservation ends within 15 minutes),
time_until_free in whole minutes, next_available as local "HH:MM", reservations_today and
current_attendees. Pure: the caller passes the instant and the hotel's time zone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.rules import HOLDING_STATES, ReservationState
from shared.timeutil import to_iso

ENDING_SOON = timedelta(minutes=15)


class OccupancyStatus:
    FREE = "free"
    OCCUPIED = "occupied"
    ENDING_SOON = "ending_soon"


@dataclass(frozen=True)
class Stay:
    """What occupancy needs of a reservation."""

    start: datetime
    end: datetime
    state: ReservationState
    guests: int = 1


@dataclass(frozen=True)
class Occupancy:
    is_occupied: bool
    occupancy_status: str
    time_until_free: int
    free_at: str | None
    next_available: str
    next_available_at: str
    reservations_today: int
    current_attendees: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def local_day_bounds(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of the hotel's calendar day containing `now`, in UTC (so that
    arithmetic on them is exact across daylight-saving changes)."""
    local = now.astimezone(tz)
    start = datetime(local.year, local.month, local.day, tzinfo=tz)
    nxt = start.date() + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def compute(stays: Iterable[Stay], now: datetime, tz: ZoneInfo) -> Occupancy:
    stays = list(stays)
    holding = sorted((s for s in stays if s.state in HOLDING_STATES), key=lambda s: s.start)
    active = [
        s
        for s in holding
        if (s.start <= now < s.end) or (s.state is ReservationState.CHECKED_IN and s.start <= now)
    ]
    day_start, day_end = local_day_bounds(now, tz)
    today = sum(
        1
        for s in stays
        if s.state is not ReservationState.CANCELLED and s.start < day_end and s.end > day_start
    )
    if not active:
        free_from = now
        status = OccupancyStatus.FREE
        minutes = 0
        free_at = None
        attendees = 0
    else:
        current_end = max(max(s.end, now) for s in active)
        # follow back-to-back reservations to find when the room is really free
        free_from = current_end
        for s in holding:
            if s.start <= free_from < s.end:
                free_from = s.end
        status = (
            OccupancyStatus.ENDING_SOON
            if current_end - now <= ENDING_SOON
            else OccupancyStatus.OCCUPIED
        )
        minutes = max(0, math.ceil((free_from - now).total_seconds() / 60))
        free_at = to_iso(free_from)
        attendees = sum(s.guests for s in active)
    return Occupancy(
        is_occupied=bool(active),
        occupancy_status=status,
        time_until_free=minutes,
        free_at=free_at,
        next_available=free_from.astimezone(tz).strftime("%H:%M"),
        next_available_at=to_iso(free_from) or "",
        reservations_today=today,
        current_attendees=attendees,
    )
