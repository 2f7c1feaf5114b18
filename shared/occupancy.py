"""Occupancy of a room at a given moment, computed from its reservations.

Field names and values follow the room monitoring document: occupancy_status is one of
free / occupied / ending_soon (the current reservation ends within 15 minutes), plus
overdue (a checked-in guest is past their departure time and has not checked out);
time_until_free in whole minutes, next_available as local "HH:MM", reservations_today and
current_attendees. Pure: the caller passes the instant and the hotel's time zone.

An overdue room has no known time until free (the guest leaves when they leave): its
time_until_free and free_at are null and next_available is "", never "now" sliding minute by
minute. The booking that waits for the room is not in it: current_attendees counts the guests
actually in the room, and next_arrival_at says when the next guests were (or are) due.
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
    OVERDUE = "overdue"


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
    time_until_free: int | None  # None when overdue: not known until the guest leaves
    free_at: str | None
    next_available: str
    next_available_at: str
    reservations_today: int
    current_attendees: int
    overdue_since: str | None = None  # the departure time that has passed
    overdue_minutes: int = 0  # whole minutes since it
    next_arrival_at: str | None = None  # start of the next booking not in the room yet

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


def in_room(holding: list[Stay], now: datetime) -> list[Stay]:
    """The stays whose guests are in the room at `now`: the checked-in ones (also past their
    departure: they have not checked out); with none, the confirmed bookings whose time has
    come (the monitoring document's "a reservation holds its room")."""
    checked_in = [s for s in holding if s.state is ReservationState.CHECKED_IN]
    if checked_in:
        return checked_in
    return [s for s in holding if s.start <= now < s.end]


def is_overdue(stay: Stay, now: datetime) -> bool:
    """A checked-in guest whose departure time has come (the same instant the discrepancy
    scan raises due_out_still_occupied)."""
    return stay.state is ReservationState.CHECKED_IN and stay.end <= now


def compute(stays: Iterable[Stay], now: datetime, tz: ZoneInfo) -> Occupancy:
    stays = list(stays)
    holding = sorted((s for s in stays if s.state in HOLDING_STATES), key=lambda s: s.start)
    active = in_room(holding, now)
    day_start, day_end = local_day_bounds(now, tz)
    today = sum(
        1
        for s in stays
        if s.state is not ReservationState.CANCELLED and s.start < day_end and s.end > day_start
    )
    inside = {id(s) for s in active}
    waiting = [s for s in holding if id(s) not in inside and s.end > now]
    next_arrival = to_iso(waiting[0].start) if waiting else None
    late = [s for s in active if is_overdue(s, now)]
    if late:
        since = min(s.end for s in late)
        return Occupancy(
            is_occupied=True,
            occupancy_status=OccupancyStatus.OVERDUE,
            time_until_free=None,
            free_at=None,
            next_available="",
            next_available_at="",
            reservations_today=today,
            current_attendees=sum(s.guests for s in active),
            overdue_since=to_iso(since),
            overdue_minutes=max(0, int((now - since).total_seconds() // 60)),
            next_arrival_at=next_arrival,
        )
    if not active:
        free_from = now
        status = OccupancyStatus.FREE
        minutes = 0
        free_at = None
        attendees = 0
    else:
        current_end = max(s.end for s in active)
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
        next_arrival_at=next_arrival,
    )
