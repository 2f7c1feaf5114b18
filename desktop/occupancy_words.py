"""The words for a room's occupancy that need more than its status: an overdue departure
(a checked-in guest past their departure time) and the booking that waits for the room. Pure:
the caller passes the room (wire fields), the instant and the hotel's time zone."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from shared.timeutil import clock_text, duration_words, from_iso


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
    """'45 min late', '1 h 15 min late', '2 days 4 h late' (shared.timeutil's words)."""
    return f"{duration_words(minutes)} late"


def card_line(room: dict[str, Any], now: datetime, tz: tzinfo) -> str:
    """The card's occupancy line of an overdue room: '45 min late · next waiting' when the
    next guests are due already, '45 min late · next 14:00' when they are due later today,
    else '45 min late · due 11:00' (when the guest was due out)."""
    since = overdue_since(room, now)
    if since is None:
        return ""
    late = late_words(max(0, int((now - since).total_seconds() // 60)))
    nxt = next_arrival(room)
    if nxt is not None and nxt <= now:
        return f"{late} · next waiting"
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
