"""Timestamps on the wire: ISO 8601 in UTC with a 'Z', e.g. 2025-12-20T10:30:00Z."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo


def to_iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    text = dt.isoformat(timespec="milliseconds" if dt.microsecond else "seconds")
    return text.replace("+00:00", "Z")


EARLIEST_YEAR, LATEST_YEAR = 2000, 2200


def from_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp; naive times are taken as UTC. Raises ValueError, also
    for years outside 2000-2200 (nothing in a hotel is dated there, and far dates overflow
    time-zone arithmetic)."""
    if not isinstance(text, str):
        raise ValueError("timestamp must be a string")
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        dt = dt.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp out of range") from None
    if not EARLIEST_YEAR <= dt.year <= LATEST_YEAR:
        raise ValueError("timestamp out of range")
    return dt


def utcnow() -> datetime:
    return datetime.now(UTC)


def day_label(d: date, weekday: bool = True) -> str:
    """A day as staff read it: "Tue 1 Dec" (or "1 Dec"). Built by hand, as "%-d" is not
    portable."""
    text = f"{d.day} {d:%b}"
    return f"{d:%a} {text}" if weekday else text


def clock_text(t: datetime, tz: tzinfo, now: datetime | None = None, seconds: bool = False) -> str:
    """A moment as staff read it on the hotel's clock: "09:12" when it is the same day as `now`
    there (or no `now` is given: a time of day), else "Thu 15 Jan 09:12". Never ISO."""
    local = t.astimezone(tz)
    hm = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    if now is None or local.date() == now.astimezone(tz).date():
        return hm
    return f"{day_label(local.date())} {hm}"


def moment_text(t: datetime, tz: tzinfo, seconds: bool = True) -> str:
    """A moment in full for staff, on the hotel's clock: "Thu 15 Jan 2026, 09:12:05"."""
    local = t.astimezone(tz)
    hm = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{day_label(local.date())} {local.year}, {hm}"


def duration_words(minutes: int) -> str:
    """A length of time for staff, the same words everywhere: "45 min", "3 h 05 min", "3 h",
    "2 days 4 h", "2 days"."""
    minutes = max(0, int(minutes))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"
