"""What rooms, reservations, blocks and discrepancies look like on the wire."""

from __future__ import annotations

import json
from typing import Any

from server import db as m
from shared import discrepancies, occupancy, protocol
from shared.errors import ProtocolError
from shared.rules import (
    ACTION_ARGS,
    Role,
    RoomStatus,
    RoomView,
    check_action_request,
)
from shared.timeutil import to_iso


def room_payload(room: m.Room) -> dict[str, Any]:
    """The room_updated payload of the room notification document, plus our extra fields.
    The same dict, with `changed_fields` empty, is a room of the snapshots and of `board.at`."""
    rt = room.room_type
    return {
        "room_number": room.number,
        "room_status": room.room_status,
        "is_occupied": room.is_occupied,
        "is_out_of_order": room.is_out_of_order,
        "maintenance_required": room.maintenance_required,
        "maintenance_priority": room.maintenance_priority,
        "maintenance_notes": room.maintenance_notes,
        "last_cleaned_at": to_iso(room.last_cleaned_at),
        "last_inspected_at": to_iso(room.last_inspected_at),
        "changed_fields": [],
        "room_type": rt.name,
        "max_occupancy": room.max_occupancy or rt.max_occupancy,
        "own_max_occupancy": room.max_occupancy,  # None: the room type's
        "guests_in_room": room.guests_in_room,
        "room_id": room.id,
        "floor": room.floor,
        "building": room.building,
        "section": room.section,
        "capacity": room.capacity,
        "cleaned_by_staff": room.cleaned_by_staff,
        "inspected_by_staff": room.inspected_by_staff,
        "out_of_order_reason": room.out_of_order_reason,
        "do_not_disturb": room.do_not_disturb,
        "dnd_since": to_iso(room.dnd_since),
        "hk_occupancy": room.hk_occupancy,
        "hk_observed_at": to_iso(room.hk_observed_at),
        "is_out_of_service": room.is_out_of_service,
        "block": None
        if room.block_id is None
        else {
            "id": room.block_id,
            "kind": room.block_kind,
            "reason": room.block_reason,
            "start": to_iso(room.block_start),
            "end": to_iso(room.block_end),
            "return_status": room.block_return_status,
        },
        "assigned_to": None
        if room.assigned_to_id is None
        else {"staff_id": room.assigned_to_id, "name": room.assigned_to_name},
        "rush": None
        if room.rush_requested_at is None
        else {
            "requested_at": to_iso(room.rush_requested_at),
            "requested_by": {
                "staff_id": room.rush_requested_by_id,
                "name": room.rush_requested_by,
                "workstation": room.rush_workstation,
            },
            "note": room.rush_note,
        },
        "version": room.version,
        "updated_at": to_iso(room.updated_at),
    }


def status_entry(room: m.Room, occ: occupancy.Occupancy) -> dict[str, Any]:
    """One room in the monitoring document's status shape."""
    return {
        "room_id": room.id,
        "room_number": room.number,
        "room_name": f"Room {room.number}",
        "building": room.building,
        "floor": room.floor,
        "capacity": room.capacity,
        **occ.as_dict(),
    }


def reservation_dict(r: m.Reservation, room: m.Room) -> dict[str, Any]:
    """A reservation on the wire, the same in events, lists and replies. `room` is its room
    (a whole row: a joined row without its id would lose `room_id`)."""
    return {
        "id": r.id,
        "room_id": room.id,
        "room_number": room.number,
        "guest_name": r.guest_name,
        "start": to_iso(r.start),
        "end": to_iso(r.end),
        "guests": r.guests,
        "state": r.state,
        "version": r.version,
        "created_at": to_iso(r.created_at),
        "updated_at": to_iso(r.updated_at),
        "checked_in_at": to_iso(r.checked_in_at),
        "checked_out_at": to_iso(r.checked_out_at),
    }


def room_view(room: m.Room) -> RoomView:
    return RoomView(
        room_status=RoomStatus(room.room_status),
        is_occupied=room.is_occupied,
        is_out_of_order=room.is_out_of_order,
        maintenance_required=room.maintenance_required,
        do_not_disturb=room.do_not_disturb,
        is_rush=room.rush_requested_at is not None,
    )


def block_dict(b: m.Block, room_number: str) -> dict[str, Any]:
    return {
        "id": b.id,
        "room_number": room_number,
        "kind": b.kind,
        "reason": b.reason,
        "start": to_iso(b.start),
        "end": to_iso(b.end),
        "return_status": b.return_status,
        "state": b.state,
        "override": b.override,
        "created_by": b.created_by,
        "created_at": to_iso(b.created_at),
        "ended_at": to_iso(b.ended_at),
        "ended_by": b.ended_by,
    }


def discrepancy_dict(d: m.Discrepancy, room_number: str) -> dict[str, Any]:
    return {
        "id": d.id,
        "kind": d.kind,
        "label": discrepancies.LABELS[d.kind],
        "room_number": room_number,
        "message": d.message,
        "details": json.loads(d.details),
        "roles": json.loads(d.roles),
        "state": d.state,
        "raised_at": to_iso(d.raised_at),
        "resolved_at": to_iso(d.resolved_at),
        "resolved_by": d.resolved_by,
        "note": d.note,
    }


def _clear_rush(room: m.Room) -> None:
    room.rush_requested_at = room.rush_requested_by_id = room.rush_requested_by = None
    room.rush_workstation = room.rush_note = None


# a hotel's settings: name -> (lowest, highest, what it is)
HOTEL_SETTINGS: dict[str, tuple[int, int, str]] = {
    "rollover_hour": (0, 23, "The roll-over hour is 0 to 23 (local time)."),
    "dnd_limit_minutes": (30, 7 * 24 * 60, "The do-not-disturb limit is 30 min to 7 days."),
    "arrival_lead_minutes": (0, 24 * 60, "The arrival lead time is 0 to 1,440 minutes."),
}


def hotel_settings_dict(hotel: m.Hotel) -> dict[str, int]:
    return {name: int(getattr(hotel, name)) for name in HOTEL_SETTINGS}


def apply_hotel_settings(hotel: m.Hotel, wanted: dict[str, int]) -> list[str]:
    """Change the hotel's settings (all or none: ValueError with words if one is out of
    range); returns the names that changed."""
    for name, value in wanted.items():
        low, high, words = HOTEL_SETTINGS[name]
        if isinstance(value, bool) or not low <= value <= high:
            raise ValueError(words)
    changed = [name for name, value in wanted.items() if getattr(hotel, name) != value]
    if changed:
        for name in changed:
            setattr(hotel, name, wanted[name])
        hotel.save(only=[getattr(m.Hotel, name) for name in changed])
    return changed


def check_room_action_request(role: Role, cmd: protocol.RoomAction) -> None:
    """Refuse what a room action is refused for before its room is read
    (`shared.rules.check_action_request`)."""
    args = {name: getattr(cmd, name) for name in ACTION_ARGS}
    decision = check_action_request(cmd.action, role, args)
    if not decision:
        assert decision.code is not None
        raise ProtocolError(
            decision.code, decision.reason, {"room_number": cmd.room_number, "action": cmd.action}
        )
