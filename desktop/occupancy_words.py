"""The words for a room's occupancy that need more than its status: an overdue departure
(a checked-in guest past their departure time) and the booking that waits for the room. Pure:
the caller passes the room (wire fields), the instant and the hotel's time zone."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from shared.timeutil import clock_text, from_iso


def _when(value: Any) -> datetime | None:
    try:
        return from_iso(str(value)) if value else None
    except ValueError:
        return None


def overdue_since(room: dict[str, Any], now: datetime) -> datetime | None:
    """When the overdue guest was due out, or None if the room is not overdue. The server
    says so (`occupancy_status` "overdue", `overdue_since`); between two heartbeats a room
    whose departure has just passed with a guest still checked in is overdue already."""
    if room.get("occupancy_status") == "overdue":
        return _when(room.get("overdue_since")) or now
    free_at = _when(room.get("free_at"))
    if (
        room.get("occupancy_status") in ("occupied", "ending_soon")
        and room.get("is_occupied")
        and free_at is not None
        and free_at <= now
    ):
        return free_at
    return None


def overdue_minutes(room: dict[str, Any], now: datetime) -> int | None:
    since = overdue_since(room, now)
    if since is None:
        return None
    return max(0, int((now - since).total_seconds() // 60))


def next_arrival(room: dict[str, Any]) -> datetime | None:
    return _when(room.get("next_arrival_at"))


def late_words(minutes: int) -> str:
    """'45 min late', '2 h 10 late', '3 days late'."""
    if minutes < 60:
        return f"{minutes} min late"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest:02d} late" if rest else f"{hours} h late"
    return f"{hours // 24} days late"


def card_line(room: dict[str, Any], now: datetime, tz: tzinfo) -> str:
    """The card's occupancy line of an overdue room: '45 min late · next 11:30' when a
    booking waits (or follows today), else '45 min late · due 11:00'."""
    since = overdue_since(room, now)
    if since is None:
        return ""
    late = late_words(max(0, int((now - since).total_seconds() // 60)))
    nxt = next_arrival(room)
    if nxt is not None and nxt.astimezone(tz).date() == now.astimezone(tz).date():
        return f"{late} · next {clock_text(nxt, tz, now)}"
    return f"{late} · due {clock_text(since, tz, now)}"


def sentence(room: dict[str, Any], now: datetime, tz: tzinfo) -> str:
    """An overdue room in full words (tooltips, details, the Today panel)."""
    since = overdue_since(room, now)
    if since is None:
        return ""
    minutes = max(0, int((now - since).total_seconds() // 60))
    text = (
        f"Overdue: due out at {clock_text(since, tz, now)} ({late_words(minutes)}), "
        "still checked in"
    )
    nxt = next_arrival(room)
    if nxt is not None:
        if nxt <= now:
            text += (
                f"; the next guests were due at {clock_text(nxt, tz, now)} and are waiting"
                " — the room is still occupied"
            )
        else:
            text += f"; the next guests are due at {clock_text(nxt, tz, now)}"
    return text
