"""The business day's counters: what the hotel has done since the last night roll-over.

Rooms cleaned, inspected and sent back, guests checked in and out, maintenance problems
reported and rush rooms made ready. The server keeps them with the hotel, adding each event's
share in the transaction that journals it, and starts them again at the roll-over; a client
holding a snapshot of them adds the same share for every event it receives, so both agree.
Pure: every count follows from the event's type and payload alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.rules import RoomStatus

COUNTERS: tuple[str, ...] = (
    "cleaned",
    "inspected",
    "sent_back",
    "checked_in",
    "checked_out",
    "maintenance_reported",
    "rush_ready",
)

LABELS: dict[str, str] = {
    "cleaned": "cleaned",
    "inspected": "inspected",
    "sent_back": "sent back",
    "checked_in": "checked in",
    "checked_out": "checked out",
    "maintenance_reported": "reported for repair",
    "rush_ready": "rush done",
}


def empty() -> dict[str, int]:
    """The counters of a day that has just begun."""
    return dict.fromkeys(COUNTERS, 0)


def tally(kind: str, payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The counters one event adds one to."""
    if kind == "room_updated":
        changed = set(payload.get("changed_fields") or ())
        status = payload.get("room_status")
        found: list[str] = []
        if "last_cleaned_at" in changed and payload.get("last_cleaned_at"):
            found.append("cleaned")
        if "last_inspected_at" in changed and payload.get("last_inspected_at"):
            found.append("inspected" if status == RoomStatus.READY_FOR_GUEST else "sent_back")
        if "maintenance_required" in changed and payload.get("maintenance_required"):
            found.append("maintenance_reported")
        return tuple(found)
    return _BY_KIND.get(kind, ())


_BY_KIND: dict[str, tuple[str, ...]] = {
    "reservation.checked_in": ("checked_in",),
    "reservation.checked_out": ("checked_out",),
    "room.rush_ready": ("rush_ready",),
}


def add(counts: Mapping[str, int], kind: str, payload: Mapping[str, Any]) -> dict[str, int]:
    """`counts` with one event added (a new dict; unknown counters are kept as they are)."""
    out = {**empty(), **counts}
    for name in tally(kind, payload):
        out[name] += 1
    return out


def summary(counts: Mapping[str, int]) -> str:
    """The counters that are not zero, in words: "12 cleaned · 9 inspected · 4 checked in"."""
    parts = [f"{counts[name]} {LABELS[name]}" for name in COUNTERS if counts.get(name)]
    return " · ".join(parts) if parts else "nothing yet"
