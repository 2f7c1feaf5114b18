"""Setting the hotel up: room types and rooms created, edited and retired.

The contract:
- Who: over the wire, a manager only (`shared.access.COMMAND_ROLES`, checked by the server
  before anything is read: every other role gets `forbidden`); on the command line, whoever
  may write the store file (`server.rooms_cli`).
- Each change is ONE transaction that updates the rows and appends the journal events through
  `Journal.emit`, the path of every other write, so it reaches every board live:
  `room_created` (a new card), `room_updated` (the card changes; `changed_fields` is what
  differs between the room's payload before and after), `room_retired` (the card leaves), and
  `room_type_created` / `room_type_updated` / `room_type_retired` on the overview channel. A
  room type renamed or given another max occupancy changes every live room of that type: each
  gets its `room_updated`.
- Values are checked with `shared.roomsetup` (the same table the desktop form and the CSV
  import use): a bad one is `bad_request` naming the field; nothing is written.
- A room number stays the room's for ever: a room is never renumbered and never deleted. A room
  with a guest in house, a booking still to come (pending, confirmed or checked in) or a block
  scheduled or in force is not retired (`room_in_use`, listing them): move or cancel them
  first. Retiring resolves the room's open discrepancies, clears its rush and attendant, and
  takes it off the board, the status list and every lookup; its history stays in the journal.
  Creating a room with a retired room's number brings that room back (same id, same history).
- A room type still given to a live room is not retired (`room_type_in_use`). Retired room
  types keep their name; creating a room type of that name brings it back.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from server import db as m
from server.calendar import BLOCK_LIVE
from server.commands.entry import READ, WRITE, Entry
from server.core import check_version
from server.journal import Journal, Outcome, StaffInfo
from server.payloads import room_payload, status_entry
from server.services import Services
from shared import protocol
from shared.errors import ErrorCode, ProtocolError
from shared.roomsetup import (
    ROOM_DEFAULTS,
    ROOM_FIELDS,
    ROOM_TYPE_FIELDS,
    changed_fields,
    check_fields,
)
from shared.timeutil import to_iso

ROOM_EDITABLE = ("room_type", "floor", "building", "section", "capacity", "max_occupancy")
LIVE_BOOKINGS = ["pending", "confirmed", "checked_in"]
MAX_LISTED = 20  # rooms or bookings named in an error's details


# --- checks -------------------------------------------------------------------------------


def _check(rules: Any, values: dict[str, Any]) -> None:
    errors = check_fields(rules, values)
    if errors:
        first = next(iter(errors.values()))
        raise ProtocolError(ErrorCode.BAD_REQUEST, first, {"fields": errors})


def _type_by_name(hotel_id: int, name: str, *, live: bool = True) -> m.RoomType:
    rt: m.RoomType | None = m.RoomType.get_or_none(
        (m.RoomType.hotel == hotel_id) & (m.RoomType.name == name)
    )
    if rt is None:
        raise ProtocolError(
            ErrorCode.UNKNOWN_ROOM_TYPE,
            f"There is no room type '{name[:60]}'.",
            {"room_type": name[:60]},
        )
    if live and rt.retired_at is not None:
        raise ProtocolError(
            ErrorCode.UNKNOWN_ROOM_TYPE,
            f"The room type '{name[:60]}' is retired (add it again to bring it back).",
            {"room_type": name[:60], "retired": True},
        )
    return rt


def _room_row(sv: Services, hotel_id: int, number: str) -> m.Room | None:
    room: m.Room | None = m.Room.get_or_none((m.Room.hotel == hotel_id) & (m.Room.number == number))
    if room is not None:
        room.room_type = sv.room_type(room.room_type_id)
    return room


def _live_room(sv: Services, hotel_id: int, number: str) -> m.Room:
    room = _room_row(sv, hotel_id, number)
    if room is None or room.retired_at is not None:
        raise ProtocolError(
            ErrorCode.UNKNOWN_ROOM,
            f"There is no room {number[:16]}" + (" (it is retired)." if room is not None else "."),
            {"room_number": number[:16]},
        )
    return room


def _live_rooms_of(type_id: int) -> list[m.Room]:
    return list(
        m.Room.select()
        .where((m.Room.room_type == type_id) & m.Room.retired_at.is_null())
        .order_by(m.Room.floor, m.Room.number)
    )


# --- payloads -----------------------------------------------------------------------------


def room_type_dict(rt: m.RoomType) -> dict[str, Any]:
    rooms = m.Room.select().where((m.Room.room_type == rt.id) & m.Room.retired_at.is_null())
    return {
        "id": rt.id,
        "name": rt.name,
        "max_occupancy": rt.max_occupancy,
        "version": rt.version,
        "rooms": rooms.count(),
        "retired_at": to_iso(rt.retired_at),
    }


def room_entry(sv: Services, room: m.Room, now: Any) -> dict[str, Any]:
    """A room as a snapshot has it: its status entry and its room payload."""
    occ = sv.occupancy_of([room], now)[room.id]
    return {**status_entry(room, occ), **room_payload(room)}


# --- room types ---------------------------------------------------------------------------


def create_room_type(
    sv: Services, journal: Journal, name: str, max_occupancy: int
) -> dict[str, Any]:
    _check(ROOM_TYPE_FIELDS, {"name": name, "max_occupancy": max_occupancy})
    hotel_id = journal.hotel.id
    rt: m.RoomType | None = m.RoomType.get_or_none(
        (m.RoomType.hotel == hotel_id) & (m.RoomType.name == name)
    )
    reinstated = False
    if rt is not None:
        if rt.retired_at is None:
            raise ProtocolError(
                ErrorCode.DUPLICATE_ROOM_TYPE,
                f"There is a room type '{name}' already.",
                {"room_type": name},
            )
        rt.retired_at = None
        rt.max_occupancy = max_occupancy
        rt.version += 1
        rt.save()
        reinstated = True
    else:
        rt = m.RoomType.create(hotel=hotel_id, name=name, max_occupancy=max_occupancy)
    sv.forget_room_type(rt.id)
    found = room_type_dict(rt)
    payload = {"room_type": found, "changed_fields": [], "reinstated": reinstated}
    journal.emit("rooms", "room_type_created", payload, None)
    return {"room_type": found, "reinstated": reinstated}


def update_room_type(
    sv: Services,
    journal: Journal,
    name: str,
    expected_version: int | None,
    new_name: str | None,
    max_occupancy: int | None,
) -> dict[str, Any]:
    _check(ROOM_TYPE_FIELDS, {"name": new_name, "max_occupancy": max_occupancy})
    hotel_id = journal.hotel.id
    rt = _type_by_name(hotel_id, name)
    check_version("room type", rt.version, expected_version)
    if new_name is not None and new_name != rt.name:
        other = m.RoomType.get_or_none(
            (m.RoomType.hotel == hotel_id) & (m.RoomType.name == new_name)
        )
        if other is not None:
            retired = " (a retired one)" if other.retired_at is not None else ""
            raise ProtocolError(
                ErrorCode.DUPLICATE_ROOM_TYPE,
                f"There is a room type '{new_name}'{retired} already.",
                {"room_type": new_name},
            )
    rooms = _live_rooms_of(rt.id)
    befores = {}
    for room in rooms:
        room.room_type = rt
        befores[room.id] = room_payload(room)
    old = room_type_dict(rt)
    if new_name is not None:
        rt.name = new_name
    if max_occupancy is not None:
        rt.max_occupancy = max_occupancy
    changed = changed_fields(old, room_type_dict(rt))
    if not changed:
        return {"room_type": old, "unchanged": True}
    rt.version += 1
    rt.save()
    sv.forget_room_type(rt.id)
    found = room_type_dict(rt)
    journal.emit(
        "rooms", "room_type_updated", {"room_type": found, "changed_fields": changed}, None
    )
    cards = 0
    for room in rooms:  # every card of this type shows the new name or occupancy
        before = befores[room.id]
        room_changed = changed_fields(before, room_payload(room))
        if room_changed:
            Services._commit_room(journal, room, before)
            cards += 1
    return {"room_type": found, "rooms_changed": cards}


def retire_room_type(
    sv: Services, journal: Journal, name: str, expected_version: int | None
) -> dict[str, Any]:
    rt = _type_by_name(journal.hotel.id, name)
    check_version("room type", rt.version, expected_version)
    rooms = _live_rooms_of(rt.id)
    if rooms:
        numbers = [r.number for r in rooms]
        shown = ", ".join(numbers[:MAX_LISTED]) + (" ..." if len(numbers) > MAX_LISTED else "")
        raise ProtocolError(
            ErrorCode.ROOM_TYPE_IN_USE,
            f"{len(numbers)} room(s) still have the type '{name}' ({shown}): "
            "give them another type or retire them first.",
            {"room_type": name, "rooms": numbers[:MAX_LISTED], "count": len(numbers)},
        )
    rt.retired_at = journal.now
    rt.version += 1
    rt.save()
    sv.forget_room_type(rt.id)
    found = room_type_dict(rt)
    journal.emit(
        "rooms", "room_type_retired", {"room_type": found, "changed_fields": ["retired_at"]}, None
    )
    return {"room_type": found}


def list_room_types(hotel_id: int, include_retired: bool = False) -> list[dict[str, Any]]:
    q = m.RoomType.select().where(m.RoomType.hotel == hotel_id)
    if not include_retired:
        q = q.where(m.RoomType.retired_at.is_null())
    return [room_type_dict(rt) for rt in q.order_by(m.RoomType.name)]


# --- rooms --------------------------------------------------------------------------------


def _apply_fields(room: m.Room, hotel_id: int, values: dict[str, Any]) -> None:
    """Put checked `values` (wire names; None: not given) on the room row."""
    if values.get("room_type") is not None:
        rt = _type_by_name(hotel_id, values["room_type"])
        room.room_type = rt
        room.room_type_id = rt.id
    for name in ("floor", "building", "section", "capacity"):
        if values.get(name) is not None:
            setattr(room, name, values[name])
    if values.get("max_occupancy") is not None:
        room.max_occupancy = values["max_occupancy"] or None
        if room.max_occupancy == room.room_type.max_occupancy:
            room.max_occupancy = None  # the same as its type's: it follows the type


def create_room(sv: Services, journal: Journal, values: dict[str, Any]) -> dict[str, Any]:
    """`values`: room_number, room_type, floor, and optionally building, section, capacity,
    max_occupancy (0: the room type's)."""
    _check(ROOM_FIELDS, values)
    for name in ("room_number", "room_type", "floor"):
        if values.get(name) is None:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST,
                f"{ROOM_FIELDS[name].label} is needed.",
                {"fields": {name: f"{ROOM_FIELDS[name].label} is needed."}},
            )
    hotel_id = journal.hotel.id
    number = values["room_number"]
    rt = _type_by_name(hotel_id, values["room_type"])
    room = _room_row(sv, hotel_id, number)
    reinstated = room is not None
    if room is not None:
        if room.retired_at is None:
            raise ProtocolError(
                ErrorCode.DUPLICATE_ROOM,
                f"There is a room {number} already.",
                {"room_number": number},
            )
        room.retired_at = room.retired_by = None
        room.building, room.section = ROOM_DEFAULTS["building"], ROOM_DEFAULTS["section"]
        room.capacity, room.max_occupancy = ROOM_DEFAULTS["capacity"], None
        room.version += 1
    else:
        room = m.Room(hotel=hotel_id, number=number, room_type=rt, floor=values["floor"])
        room.room_status = "READY_FOR_GUEST"
        for name, default in ROOM_DEFAULTS.items():
            setattr(room, name, default)
        room.version = 1
    room.room_type = rt
    _apply_fields(room, hotel_id, values)
    room.updated_at = journal.now
    room.save()
    payload = {**room_entry(sv, room, journal.now), "reinstated": reinstated}
    journal.emit("rooms", "room_created", payload, room.number)
    return {"room_number": room.number, "version": room.version, "reinstated": reinstated}


def update_room(
    sv: Services,
    journal: Journal,
    number: str,
    expected_version: int | None,
    values: dict[str, Any],
) -> dict[str, Any]:
    _check(ROOM_FIELDS, values)
    hotel_id = journal.hotel.id
    room = _live_room(sv, hotel_id, number)
    check_version("room", room.version, expected_version)
    before = room_payload(room)
    old_type = room.room_type_id
    _apply_fields(room, hotel_id, values)
    changed = changed_fields(before, room_payload(room))
    if not changed:
        return {"room_number": room.number, "version": room.version, "unchanged": True}
    if room.room_type_id != old_type:  # the fast save below leaves the type alone
        m.Room.update(room_type=room.room_type_id).where(m.Room.id == room.id).execute()
    Services._commit_room(journal, room, before)
    return {"room_number": room.number, "version": room.version, "changed_fields": changed}


def _in_use(room: m.Room, now: Any) -> dict[str, list[Any]]:
    """What keeps a room from being retired: guests in house, bookings to come, blocks."""
    bookings = (
        m.Reservation.select(m.Reservation.id, m.Reservation.guest_name, m.Reservation.state)
        .where(
            (m.Reservation.room == room.id)
            & (m.Reservation.state.in_(LIVE_BOOKINGS))
            & ((m.Reservation.end > now) | (m.Reservation.state == "checked_in"))
        )
        .order_by(m.Reservation.start)
    )
    blocks = m.Block.select(m.Block.id).where(
        (m.Block.room == room.id) & (m.Block.state.in_(BLOCK_LIVE))
    )
    found: dict[str, list[Any]] = {}
    res = [{"id": r.id, "guest_name": r.guest_name, "state": r.state} for r in bookings]
    if res:
        found["reservations"] = res[:MAX_LISTED]
    ids = [b.id for b in blocks]
    if ids:
        found["blocks"] = ids[:MAX_LISTED]
    return found


def retire_room(
    sv: Services, journal: Journal, number: str, expected_version: int | None, by: str
) -> dict[str, Any]:
    hotel_id = journal.hotel.id
    room = _live_room(sv, hotel_id, number)
    check_version("room", room.version, expected_version)
    busy = _in_use(room, journal.now)
    if busy or room.is_occupied:
        parts = []
        in_house = [r for r in busy.get("reservations", []) if r["state"] == "checked_in"]
        if room.is_occupied or in_house:
            parts.append("a guest is in house")
        booked = [r for r in busy.get("reservations", []) if r["state"] != "checked_in"]
        if booked:
            parts.append(f"{len(booked)} booking(s) to come")
        if busy.get("blocks"):
            parts.append(f"{len(busy['blocks'])} block(s) scheduled or in force")
        raise ProtocolError(
            ErrorCode.ROOM_IN_USE,
            f"Room {number} cannot be retired: {', '.join(parts)}. Move or cancel them first.",
            {"room_number": number, **busy},
        )
    open_issues = m.Discrepancy.select().where(
        (m.Discrepancy.room == room.id) & (m.Discrepancy.state == "open")
    )
    for d in open_issues:
        sv._resolve(journal, d, number, None, "The room was retired.")
    room.retired_at, room.retired_by = journal.now, by
    room.assigned_to_id = room.assigned_to_name = None
    room.rush_requested_at = room.rush_requested_by_id = room.rush_requested_by = None
    room.rush_workstation = room.rush_note = None
    room.version += 1
    room.updated_at = journal.now
    room.save()
    payload = {
        "room_number": number,
        "room_id": room.id,
        "room_type": room.room_type.name,
        "retired_at": to_iso(room.retired_at),
        "retired_by": by,
        "version": room.version,
        "changed_fields": ["retired_at"],
    }
    journal.emit("rooms", "room_retired", payload, number)
    return {"room_number": number, "version": room.version}


def list_rooms(sv: Services, hotel_id: int, include_retired: bool = False) -> list[dict[str, Any]]:
    q = (
        m.Room.select(m.Room, m.RoomType)
        .join(m.RoomType)
        .where(m.Room.hotel == hotel_id)
        .order_by(m.Room.floor, m.Room.number)
    )
    if not include_retired:
        q = q.where(m.Room.retired_at.is_null())
    out = []
    for room in q:
        entry = room_payload(room)
        entry["retired_at"] = to_iso(room.retired_at)
        out.append(entry)
    return out


# --- over the wire ------------------------------------------------------------------------

Work = Callable[[Services, Journal, Any, StaffInfo], dict[str, Any]]


def _room_values(cmd: Any) -> dict[str, Any]:
    return {name: getattr(cmd, name, None) for name in ("room_number", *ROOM_EDITABLE)}


WORK: dict[type[protocol.Command], Work] = {
    protocol.RoomTypeCreate: lambda sv, j, c, st: create_room_type(sv, j, c.name, c.max_occupancy),
    protocol.RoomTypeUpdate: lambda sv, j, c, st: update_room_type(
        sv, j, c.room_type, c.expected_version, c.name, c.max_occupancy
    ),
    protocol.RoomTypeRetire: lambda sv, j, c, st: retire_room_type(
        sv, j, c.room_type, c.expected_version
    ),
    protocol.RoomCreate: lambda sv, j, c, st: create_room(sv, j, _room_values(c)),
    protocol.RoomUpdate: lambda sv, j, c, st: update_room(
        sv, j, c.room_number, c.expected_version, {**_room_values(c), "room_number": None}
    ),
    protocol.RoomRetire: lambda sv, j, c, st: retire_room(
        sv, j, c.room_number, c.expected_version, st.name
    ),
}


def write(sv: Services, staff: StaffInfo, cmd: protocol.Command) -> Outcome:
    """One room or room type command of a manager, once per request id."""
    work = WORK[type(cmd)]
    return sv.idempotent(staff, cmd, lambda journal: work(sv, journal, cmd, staff))


def room_types(sv: Services, staff: StaffInfo, cmd: protocol.RoomTypesList) -> dict[str, Any]:
    """The hotel's room types (a manager's), with the journal head they are consistent with."""
    with m.db.atomic():
        found = list_room_types(staff.hotel_id, cmd.include_retired)
        return {"room_types": found, "seq": sv.head_seq(staff.hotel_id)}


# --- from the command line ----------------------------------------------------------------


def cli_actor() -> dict[str, Any]:
    return {
        "staff_id": None,
        "name": "Command line",
        "role": None,
        "workstation": socket.gethostname()[:64] or None,
    }


def cli_journal(sv: Services, hotel: m.Hotel) -> Journal:
    """A journal for changes made on the command line (source "cli"). Call inside the
    write transaction."""
    return Journal(hotel, sv.clock.now(), "cli", cli_actor(), None)


COMMANDS = (
    *(Entry(cls, WRITE, write) for cls in WORK),
    Entry(protocol.RoomTypesList, READ, room_types),
)
