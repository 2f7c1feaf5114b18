"""Discrepancies the system finds by itself, at a given moment. Pure.

- due_out_still_occupied: a guest's departure time has passed and they are still checked in.
- arrival_room_not_ready: an arrival is due (within the lead time) and their room is not
  ready for a guest, or is out of order.
- dnd_too_long: do-not-disturb has been on for longer than the hotel's limit.
- occupancy_mismatch: housekeeping saw the room occupied while the front desk has it vacant
  ("sleep"), or saw it vacant while the front desk has a guest in it ("skip").

Each finding has a `key` that names this very occurrence (the reservation, the moment DND was
set, the observation): the same key is raised once, and a new occurrence gets a new key. Its
`message` is for a person (times in the hotel's time zone, statuses in words) and holds no
age ("5 min ago" would be stale the minute after it is raised: a client shows how long it has
been open, live, from `raised_at`); `details` keep the exact values for programs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from shared.rules import Role, RoomStatus
from shared.timeutil import day_label, duration_words, to_iso

DUE_OUT = "due_out_still_occupied"
ARRIVAL_NOT_READY = "arrival_room_not_ready"
DND_TOO_LONG = "dnd_too_long"
MISMATCH = "occupancy_mismatch"

# who is told, per kind
CONCERNED: dict[str, tuple[Role, ...]] = {
    DUE_OUT: (Role.FRONT_DESK, Role.MANAGER),
    ARRIVAL_NOT_READY: (Role.HOUSEKEEPING, Role.SUPERVISOR, Role.FRONT_DESK, Role.MANAGER),
    DND_TOO_LONG: (Role.SUPERVISOR, Role.FRONT_DESK, Role.MANAGER),
    MISMATCH: (Role.FRONT_DESK, Role.SUPERVISOR, Role.MANAGER),
}
LABELS = {
    DUE_OUT: "Due out, still occupied",
    ARRIVAL_NOT_READY: "Arrival due, room not ready",
    DND_TOO_LONG: "Do not disturb held too long",
    MISMATCH: "Housekeeping and front desk disagree",
}


# a room's status as the end of "room 110 is ..."
STATUS_WORDS: dict[RoomStatus, str] = {
    RoomStatus.CHECKOUT_DIRTY: "dirty",
    RoomStatus.OCCUPIED_DIRTY: "waiting for service",
    RoomStatus.CLEANING_IN_PROGRESS: "being cleaned",
    RoomStatus.CLEANED_UNINSPECTED: "cleaned but not inspected yet",
    RoomStatus.READY_FOR_GUEST: "ready",
    RoomStatus.MAINTENANCE_REQUIRED: "waiting for maintenance",
    RoomStatus.OUT_OF_ORDER: "out of order",
}


@dataclass(frozen=True)
class Settings:
    arrival_lead: timedelta = timedelta(minutes=60)
    dnd_limit: timedelta = timedelta(hours=12)
    tz: tzinfo = UTC  # the hotel's time zone, for the times in messages


def clock_time(t: datetime, now: datetime, tz: tzinfo) -> str:
    """`t` as a person reads it on the hotel's clock: "23:59", or "2 Dec 23:59" when it is
    not today there."""
    local = t.astimezone(tz)
    hm = local.strftime("%H:%M")
    if local.date() == now.astimezone(tz).date():
        return hm
    return f"{day_label(local, weekday=False)} {hm}"  # the messages' shorter form of clock_text


def duration(delta: timedelta) -> str:
    """ "45 min", "3 h 05 min", "2 days 4 h" (timeutil.duration_words)."""
    return duration_words(_minutes(delta))


@dataclass(frozen=True)
class RoomFacts:
    room_number: str
    room_status: RoomStatus
    is_occupied: bool
    is_out_of_order: bool = False
    dnd_since: datetime | None = None
    hk_occupancy: str | None = None  # what housekeeping saw: "occupied" or "vacant"
    hk_observed_at: datetime | None = None


@dataclass(frozen=True)
class StayFacts:
    reservation_id: int
    room_number: str
    guest_name: str
    state: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Finding:
    kind: str
    room_number: str
    key: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def roles(self) -> list[str]:
        return [r.value for r in CONCERNED[self.kind]]


def _minutes(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def find(
    rooms: Iterable[RoomFacts], stays: Iterable[StayFacts], now: datetime, settings: Settings
) -> list[Finding]:
    by_number = {r.room_number: r for r in rooms}
    found: list[Finding] = []

    def at(t: datetime) -> str:
        return clock_time(t, now, settings.tz)

    for s in stays:
        room = by_number.get(s.room_number)
        if room is None:
            continue
        if s.state == "checked_in" and s.end <= now:
            found.append(
                Finding(
                    DUE_OUT,
                    s.room_number,
                    f"{DUE_OUT}:{s.reservation_id}",
                    f"{s.guest_name} was due out of room {s.room_number} at {at(s.end)} "
                    "and is still checked in.",
                    {"reservation_id": s.reservation_id, "due_out": to_iso(s.end)},
                )
            )
        if (
            s.state in ("pending", "confirmed")
            and s.start <= now + settings.arrival_lead
            and s.end > now
            and (room.room_status is not RoomStatus.READY_FOR_GUEST or room.is_out_of_order)
        ):
            status = "out of order" if room.is_out_of_order else STATUS_WORDS[room.room_status]
            due = "was due" if s.start <= now else "due"
            found.append(
                Finding(
                    ARRIVAL_NOT_READY,
                    s.room_number,
                    f"{ARRIVAL_NOT_READY}:{s.reservation_id}",
                    f"Arrival {s.guest_name} {due} at {at(s.start)}; room {s.room_number} "
                    f"is {status}.",
                    {"reservation_id": s.reservation_id, "arrival": to_iso(s.start)},
                )
            )
    for room in by_number.values():
        if room.dnd_since is not None and now - room.dnd_since > settings.dnd_limit:
            found.append(
                Finding(
                    DND_TOO_LONG,
                    room.room_number,
                    f"{DND_TOO_LONG}:{room.room_number}:{to_iso(room.dnd_since)}",
                    f"Room {room.room_number} has had do-not-disturb on since "
                    f"{at(room.dnd_since)}.",
                    {"since": to_iso(room.dnd_since)},
                )
            )
        seen = room.hk_occupancy
        if seen is not None and (seen == "occupied") != room.is_occupied:
            which = "sleep" if seen == "occupied" else "skip"
            found.append(
                Finding(
                    MISMATCH,
                    room.room_number,
                    f"{MISMATCH}:{room.room_number}:{to_iso(room.hk_observed_at)}",
                    f"Housekeeping found room {room.room_number} {seen}"
                    + (f" at {at(room.hk_observed_at)}" if room.hk_observed_at else "")
                    + f"; the front desk has it {'occupied' if room.is_occupied else 'vacant'}"
                    + (" (a possible sleeper)." if which == "sleep" else " (a possible skip)."),
                    {"housekeeping": seen, "front_desk": room.is_occupied, "which": which},
                )
            )
    return found
