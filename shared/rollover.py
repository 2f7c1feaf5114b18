"""The night roll-over (night audit): when it is due, in the hotel's own time zone.

At the roll-over hour of each local calendar day, the hotel's business day moves on: rooms
with a guest in house become rooms that need service, and the day's counters start again.
Pure: the caller passes the instant.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.rules import RoomStatus

DEFAULT_HOUR = 3

# Occupied rooms in these statuses need service after the roll-over.
SERVICED_STATUSES = frozenset({RoomStatus.READY_FOR_GUEST, RoomStatus.CLEANED_UNINSPECTED})


def rollover_at(day: date, tz: ZoneInfo, hour: int = DEFAULT_HOUR) -> datetime:
    """The instant the business day `day` begins (its roll-over), aware and exact even on a
    daylight-saving change (a missing local hour counts as the hour after it)."""
    local = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
    return local.astimezone(ZoneInfo("UTC"))


def business_date(now: datetime, tz: ZoneInfo, hour: int = DEFAULT_HOUR) -> date:
    """The business day that `now` belongs to: the local date, or the day before if the
    roll-over has not happened yet today."""
    today = now.astimezone(tz).date()
    return today if now >= rollover_at(today, tz, hour) else today - timedelta(days=1)


def due(last: date | None, now: datetime, tz: ZoneInfo, hour: int = DEFAULT_HOUR) -> date | None:
    """The business date to roll over to now, or None if the last roll-over is current.
    After a long stop the hotel rolls over once, straight to the current day."""
    current = business_date(now, tz, hour)
    if last is None or last >= current:
        return None
    return current
