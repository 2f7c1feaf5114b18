"""Room and reservation rules: who may move a room from which status to which.

One table drives both sides: the server refuses exactly what the desktop greys out.
Pure Python, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Any

from shared.errors import ErrorCode
from shared.timeutil import day_label


class RoomStatus(StrEnum):
    """Housekeeping condition of a room (names from the room notification document)."""

    CHECKOUT_DIRTY = "CHECKOUT_DIRTY"
    OCCUPIED_DIRTY = "OCCUPIED_DIRTY"  # stayover that needs service (added)
    CLEANING_IN_PROGRESS = "CLEANING_IN_PROGRESS"
    CLEANED_UNINSPECTED = "CLEANED_UNINSPECTED"
    READY_FOR_GUEST = "READY_FOR_GUEST"
    MAINTENANCE_REQUIRED = "MAINTENANCE_REQUIRED"
    OUT_OF_ORDER = "OUT_OF_ORDER"  # off sale (added; also flagged by is_out_of_order)


STATUS_LABELS: dict[RoomStatus, str] = {
    RoomStatus.CHECKOUT_DIRTY: "Dirty (vacated)",
    RoomStatus.OCCUPIED_DIRTY: "Stayover needs service",
    RoomStatus.CLEANING_IN_PROGRESS: "Cleaning",
    RoomStatus.CLEANED_UNINSPECTED: "Cleaned, to inspect",
    RoomStatus.READY_FOR_GUEST: "Ready for guest",
    RoomStatus.MAINTENANCE_REQUIRED: "Maintenance required",
    RoomStatus.OUT_OF_ORDER: "Out of order",
}


class Role(StrEnum):
    HOUSEKEEPING = "housekeeping"
    SUPERVISOR = "supervisor"
    MAINTENANCE = "maintenance"
    FRONT_DESK = "front_desk"
    MANAGER = "manager"


ALL_ROLES = frozenset(Role)
HK = frozenset({Role.HOUSEKEEPING, Role.SUPERVISOR, Role.MANAGER})
INSPECTORS = frozenset({Role.SUPERVISOR, Role.MANAGER})
FIXERS = frozenset({Role.MAINTENANCE, Role.SUPERVISOR, Role.MANAGER})
OOO_ROLES = frozenset({Role.MAINTENANCE, Role.MANAGER})
DESK = frozenset({Role.FRONT_DESK, Role.MANAGER})
DND_ROLES = frozenset({Role.HOUSEKEEPING, Role.SUPERVISOR, Role.FRONT_DESK, Role.MANAGER})


class Priority(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    URGENT = "URGENT"


PRIORITY_RANK = {Priority.LOW: 0, Priority.MEDIUM: 1, Priority.HIGH: 2, Priority.URGENT: 3}

# Statuses a room may return to when it comes back from out of order.
RETURN_STATUSES = frozenset(
    {RoomStatus.CHECKOUT_DIRTY, RoomStatus.CLEANED_UNINSPECTED, RoomStatus.READY_FOR_GUEST}
)


@dataclass(frozen=True)
class RoomView:
    """The part of a room the rules look at. Built from a wire payload or a database row."""

    room_status: RoomStatus
    is_occupied: bool = False
    is_out_of_order: bool = False
    maintenance_required: bool = False
    do_not_disturb: bool = False
    is_rush: bool = False  # wanted by the front desk for a waiting arrival

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> RoomView:
        return cls(
            room_status=RoomStatus(p["room_status"]),
            is_occupied=bool(p.get("is_occupied", False)),
            is_out_of_order=bool(p.get("is_out_of_order", False)),
            maintenance_required=bool(p.get("maintenance_required", False)),
            do_not_disturb=bool(p.get("do_not_disturb", False)),
            is_rush=p.get("rush") is not None,
        )

    @property
    def dirty_status(self) -> RoomStatus:
        """The dirty status that fits the room's occupancy."""
        return RoomStatus.OCCUPIED_DIRTY if self.is_occupied else RoomStatus.CHECKOUT_DIRTY


@dataclass(frozen=True)
class ActionRule:
    """One row of the table: an action, the statuses it applies to, who may do it. What it
    changes is not listed: `changed_fields` of its event is the room's payload before and
    after, compared (server.services.changed_fields)."""

    action: str
    label: str
    roles: frozenset[Role]
    # from status -> to status; None means "any status, status unchanged"
    moves: Mapping[RoomStatus, RoomStatus] | None = None
    needs_maintenance_flag: bool | None = None  # True: must be flagged; False: must not be
    needs_vacant: bool = False
    needs_dnd: bool | None = None
    args: tuple[str, ...] = field(default_factory=tuple)


S = RoomStatus
_NOT_OOO = [s for s in RoomStatus if s is not S.OUT_OF_ORDER]

ROOM_ACTIONS: dict[str, ActionRule] = {
    r.action: r
    for r in (
        ActionRule(
            "start_cleaning",
            "Start cleaning",
            HK,
            {S.CHECKOUT_DIRTY: S.CLEANING_IN_PROGRESS, S.OCCUPIED_DIRTY: S.CLEANING_IN_PROGRESS},
        ),
        ActionRule(
            "finish_cleaning",
            "Finish cleaning",
            HK,
            {S.CLEANING_IN_PROGRESS: S.CLEANED_UNINSPECTED},
        ),
        ActionRule(
            "inspect",
            "Inspect and release",
            INSPECTORS,
            {S.CLEANED_UNINSPECTED: S.READY_FOR_GUEST},
        ),
        ActionRule(
            "fail_inspection",
            "Send back to clean",
            INSPECTORS,
            {S.CLEANED_UNINSPECTED: S.CHECKOUT_DIRTY},
        ),
        ActionRule(
            "mark_dirty",
            "Mark dirty",
            HK | DESK,
            {S.READY_FOR_GUEST: S.CHECKOUT_DIRTY, S.CLEANED_UNINSPECTED: S.CHECKOUT_DIRTY},
        ),
        ActionRule(
            "report_maintenance",
            "Report maintenance problem",
            ALL_ROLES,
            {s: S.MAINTENANCE_REQUIRED for s in _NOT_OOO if s is not S.MAINTENANCE_REQUIRED},
            args=("priority", "notes"),
        ),
        ActionRule(
            "flag_maintenance",
            "Flag maintenance",
            ALL_ROLES,
            needs_maintenance_flag=False,
            args=("priority", "notes"),
        ),
        ActionRule(
            "update_maintenance",
            "Update maintenance",
            FIXERS,
            needs_maintenance_flag=True,
            args=("priority", "notes"),
        ),
        ActionRule(
            "clear_maintenance",
            "Clear maintenance",
            FIXERS,
            needs_maintenance_flag=True,
            args=("notes",),
        ),
        ActionRule(
            "set_out_of_order",
            "Set out of order",
            OOO_ROLES,
            {s: S.OUT_OF_ORDER for s in _NOT_OOO},
            needs_vacant=True,
            args=("reason",),
        ),
        ActionRule(
            "clear_out_of_order",
            "Clear out of order",
            OOO_ROLES,
            {S.OUT_OF_ORDER: S.CHECKOUT_DIRTY},
            args=("return_status",),
        ),
        ActionRule(
            "set_dnd",
            "Do not disturb on",
            DND_ROLES,
            needs_dnd=False,
        ),
        ActionRule(
            "clear_dnd",
            "Do not disturb off",
            DND_ROLES,
            needs_dnd=True,
        ),
    )
}


@dataclass(frozen=True)
class Decision:
    """The answer of the rules: allowed, or refused with a stable code and a reason."""

    allowed: bool
    code: ErrorCode | None = None
    reason: str = ""
    new_status: RoomStatus | None = None

    def __bool__(self) -> bool:
        return self.allowed


def _refuse(code: ErrorCode, reason: str) -> Decision:
    return Decision(False, code, reason)


def check_room_action(
    action: str,
    role: Role | str,
    room: RoomView,
    *,
    return_status: RoomStatus | str | None = None,
) -> Decision:
    """May `role` apply `action` to `room`? The single source of truth for both sides."""
    rule = ROOM_ACTIONS.get(action)
    if rule is None:
        return _refuse(ErrorCode.BAD_REQUEST, f"Unknown room action '{action}'.")
    try:
        role = Role(role)
    except ValueError:
        return _refuse(ErrorCode.FORBIDDEN, f"Unknown role '{role}'.")
    if role not in rule.roles:
        allowed = ", ".join(sorted(r.value.replace("_", " ") for r in rule.roles))
        return _refuse(ErrorCode.FORBIDDEN, f"{rule.label} is for: {allowed}.")
    status = room.room_status
    new_status: RoomStatus | None = None
    if rule.moves is not None:
        if status not in rule.moves:
            return _refuse(
                ErrorCode.INVALID_TRANSITION,
                f"{rule.label} is not possible while the room is {STATUS_LABELS[status].lower()}.",
            )
        new_status = rule.moves[status]
        if new_status is S.CHECKOUT_DIRTY:
            new_status = room.dirty_status
    if rule.needs_maintenance_flag is True and not room.maintenance_required:
        return _refuse(ErrorCode.INVALID_TRANSITION, "No maintenance is flagged on this room.")
    if rule.needs_maintenance_flag is False and room.maintenance_required:
        return _refuse(ErrorCode.INVALID_TRANSITION, "Maintenance is already flagged here.")
    if rule.needs_dnd is True and not room.do_not_disturb:
        return _refuse(ErrorCode.INVALID_TRANSITION, "Do not disturb is not on.")
    if rule.needs_dnd is False and room.do_not_disturb:
        return _refuse(ErrorCode.INVALID_TRANSITION, "Do not disturb is already on.")
    if rule.needs_vacant and room.is_occupied:
        return _refuse(
            ErrorCode.ROOM_OCCUPIED, "A guest is in the room; check them out or move them first."
        )
    if action == "clear_maintenance" and status is S.MAINTENANCE_REQUIRED:
        new_status = room.dirty_status
    if action == "clear_out_of_order" and return_status is not None:
        try:
            wanted = RoomStatus(return_status)
        except ValueError:
            wanted = None
        if wanted not in RETURN_STATUSES:
            return _refuse(ErrorCode.BAD_REQUEST, f"A room cannot return to '{return_status}'.")
        new_status = wanted
    return Decision(True, new_status=new_status)


# the optional fields of `room.action`; each action takes those named in its `args`
ACTION_ARGS = ("priority", "notes", "reason", "return_status")


def check_action_request(
    action: str, role: Role | str, args: Mapping[str, object | None]
) -> Decision:
    """What a room action is refused for whatever the room: an unknown action
    (`bad_request`), a role that may not do it (`forbidden`), then a field the action does
    not take or a value out of its set (`bad_request`). `args`: ACTION_ARGS -> value sent
    (None: not sent)."""
    rule = ROOM_ACTIONS.get(action)
    if rule is None:
        return _refuse(ErrorCode.BAD_REQUEST, f"Unknown room action '{action[:40]}'.")
    if role not in rule.roles:
        allowed = ", ".join(r.value.replace("_", " ") for r in Role if r in rule.roles)
        return _refuse(ErrorCode.FORBIDDEN, f"{rule.label} is for: {allowed}.")
    extra = [name for name, value in args.items() if value is not None and name not in rule.args]
    if extra:
        takes = f"it takes {', '.join(rule.args)}" if rule.args else "it takes none of them"
        return _refuse(
            ErrorCode.BAD_REQUEST, f"{action} does not take {', '.join(extra)} ({takes})."
        )
    priority, back = args.get("priority"), args.get("return_status")
    if priority is not None and priority not in {p.value for p in Priority}:
        return _refuse(ErrorCode.BAD_REQUEST, "Priority must be LOW, MEDIUM, HIGH or URGENT.")
    if back is not None and back not in RETURN_STATUSES:
        return _refuse(ErrorCode.BAD_REQUEST, f"A room cannot return to '{str(back)[:40]}'.")
    return Decision(True)


def actions_for(role: Role | str, room: RoomView) -> dict[str, Decision]:
    """Every room action with the decision for this role and room (for enabling buttons)."""
    return {a: check_room_action(a, role, room) for a in ROOM_ACTIONS}


# --- Reservations -------------------------------------------------------------------------


class ReservationState(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"


R = ReservationState

# (action) -> (from states, to state or None for delete, event type)
RESERVATION_ACTIONS: dict[str, tuple[frozenset[ReservationState], ReservationState | None, str]] = {
    "confirm": (frozenset({R.PENDING}), R.CONFIRMED, "reservation.confirmed"),
    "cancel": (frozenset({R.PENDING, R.CONFIRMED}), R.CANCELLED, "reservation.cancelled"),
    "check_in": (frozenset({R.PENDING, R.CONFIRMED}), R.CHECKED_IN, "reservation.checked_in"),
    "check_out": (frozenset({R.CHECKED_IN}), R.CHECKED_OUT, "reservation.checked_out"),
    "delete": (frozenset({R.PENDING, R.CANCELLED}), None, "reservation.deleted"),
}
RESERVATION_ROLES = DESK
_PAST = {
    "confirm": "confirmed",
    "cancel": "cancelled",
    "check_in": "checked in",
    "check_out": "checked out",
    "delete": "deleted",
}

# States in which a reservation holds its room.
HOLDING_STATES = frozenset({R.CONFIRMED, R.CHECKED_IN})
LIVE_STATES = frozenset({R.PENDING, R.CONFIRMED, R.CHECKED_IN})


def check_reservation_action(
    action: str, role: Role | str, state: ReservationState | str, room: RoomView | None = None
) -> Decision:
    """May `role` apply `action` to a reservation in `state` (and, for check-in, its room)?"""
    spec = RESERVATION_ACTIONS.get(action)
    if spec is None:
        return _refuse(ErrorCode.BAD_REQUEST, f"Unknown reservation action '{action}'.")
    if role not in RESERVATION_ROLES:
        return _refuse(ErrorCode.FORBIDDEN, "Reservations are handled by the front desk.")
    from_states, _, _ = spec
    state = ReservationState(state)
    if state not in from_states:
        return _refuse(
            ErrorCode.INVALID_TRANSITION,
            f"A reservation that is {state.value.replace('_', ' ')} cannot be {_PAST[action]}.",
        )
    if action == "check_in" and room is not None:
        decision = check_in_allowed(room)
        if not decision:
            return decision
    return Decision(True)


def check_in_allowed(room: RoomView) -> Decision:
    """Check-in only into a room that is ready, in order and vacant."""
    if room.is_out_of_order or room.room_status is S.OUT_OF_ORDER:
        return _refuse(ErrorCode.ROOM_NOT_READY, "The room is out of order.")
    if room.is_occupied:
        return _refuse(ErrorCode.ROOM_OCCUPIED, "Another guest is in the room.")
    if room.room_status is not S.READY_FOR_GUEST:
        return _refuse(
            ErrorCode.ROOM_NOT_READY,
            f"The room is {STATUS_LABELS[room.room_status].lower()}, not ready for a guest.",
        )
    return Decision(True)


def check_in_due(start: datetime, end: datetime, now: datetime, tz: tzinfo) -> Decision:
    """Is a reservation due for check-in at `now`? Its day of arrival (in the hotel's time
    zone) has come, and its stay is not over. Arriving earlier on that day is fine."""
    if end <= now:
        return _refuse(ErrorCode.NOT_DUE, "This stay is over already; it cannot be checked in.")
    arrival = start.astimezone(tz).date()
    if arrival > now.astimezone(tz).date():
        return _refuse(
            ErrorCode.NOT_DUE,
            f"This guest arrives on {day_label(arrival)}; check-in opens that day.",
        )
    return Decision(True)


# --- Rush rooms and attendants ----------------------------------------------------------

RUSH_ROLES = DESK
RUSH_CANCEL_ROLES = DESK | INSPECTORS
ASSIGN_ROLES = INSPECTORS
ATTENDANT_ROLES = frozenset({Role.HOUSEKEEPING, Role.SUPERVISOR})


def check_rush(role: Role | str, room: RoomView) -> Decision:
    """May `role` ask housekeeping to rush this room for a waiting arrival?"""
    if role not in RUSH_ROLES:
        return _refuse(ErrorCode.FORBIDDEN, "Rush requests come from the front desk.")
    if room.is_rush:
        return _refuse(ErrorCode.INVALID_TRANSITION, "This room is already rushed.")
    if room.is_out_of_order or room.room_status is S.OUT_OF_ORDER:
        return _refuse(ErrorCode.ROOM_NOT_READY, "The room is out of order.")
    if room.room_status is S.READY_FOR_GUEST:
        return _refuse(ErrorCode.INVALID_TRANSITION, "The room is ready already.")
    if room.is_occupied:
        return _refuse(
            ErrorCode.ROOM_OCCUPIED,
            "A guest is in the room: a rush is for a vacant room an arrival is waiting for.",
        )
    return Decision(True)


def check_rush_cancel(role: Role | str, room: RoomView) -> Decision:
    if role not in RUSH_CANCEL_ROLES:
        return _refuse(ErrorCode.FORBIDDEN, "Only the front desk or a supervisor can cancel it.")
    if not room.is_rush:
        return _refuse(ErrorCode.INVALID_TRANSITION, "This room is not rushed.")
    return Decision(True)


# --- Out of order and out of service blocks -------------------------------------------------


class BlockKind(StrEnum):
    OUT_OF_ORDER = "out_of_order"  # off sale: no check-in, no new reservations
    OUT_OF_SERVICE = "out_of_service"  # still sellable: a small fault, a room kept aside


BLOCK_ROLES = OOO_ROLES
ROOM_ADMIN_ROLES = frozenset({Role.MANAGER})  # set rooms and room types up (shared.access rows)
OVERRIDE_ROLES = frozenset({Role.MANAGER})


def check_block_request(role: Role | str, kind: BlockKind | str, override: bool) -> Decision:
    """What a block request is refused for whatever the room: a role that may not block,
    an `override` sent by anyone but a manager (even where none is needed), a kind that
    does not exist."""
    if role not in BLOCK_ROLES:
        return _refuse(ErrorCode.FORBIDDEN, "Blocks are set by maintenance or a manager.")
    if override and role not in OVERRIDE_ROLES:
        return _refuse(ErrorCode.FORBIDDEN, "Only a manager may send an override.")
    try:
        BlockKind(kind)
    except ValueError:
        return _refuse(ErrorCode.BAD_REQUEST, "A block is out_of_order or out_of_service.")
    return Decision(True)


def check_block(
    role: Role | str,
    kind: BlockKind | str,
    *,
    guest_in_house: bool,
    arrival_due: bool,
    override: bool = False,
) -> Decision:
    """May `role` block a room? Taking a room with a guest in house, or an arrival due in the
    period, out of order needs a manager's explicit override (`check_block_request` first)."""
    asked = check_block_request(role, kind, override)
    if not asked:
        return asked
    kind = BlockKind(kind)
    if kind is BlockKind.OUT_OF_ORDER and (guest_in_house or arrival_due):
        who = "a guest is in the room" if guest_in_house else "an arrival is due in that time"
        if not override:
            return _refuse(
                ErrorCode.OVERRIDE_REQUIRED, f"Out of order needs a manager's override: {who}."
            )
        if role not in OVERRIDE_ROLES:
            return _refuse(ErrorCode.FORBIDDEN, f"Only a manager can override this: {who}.")
    return Decision(True)


# --- Staff accounts ------------------------------------------------------------------------

STAFF_ADMIN_ROLES = frozenset({Role.MANAGER})  # the hotel's accounts (shared.access rows)
