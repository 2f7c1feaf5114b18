"""Service functions: synchronous, one database transaction each.

A write updates its rows and appends its events to the journal in the same transaction, so a
rollback emits nothing and a commit can never lose its events. The events are returned to the
caller, who publishes them after the commit.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import peewee as pw

from server import db as m
from shared import assignment, daybook, discrepancies, occupancy, protocol, rollover
from shared.clock import Clock
from shared.errors import ErrorCode, ProtocolError
from shared.roomsetup import changed_fields
from shared.rules import (
    ACTION_ARGS,
    ASSIGN_ROLES,
    ATTENDANT_ROLES,
    BLOCK_ROLES,
    LIVE_STATES,
    RESERVATION_ACTIONS,
    RESERVATION_ROLES,
    RETURN_STATUSES,
    BlockKind,
    ReservationState,
    Role,
    RoomStatus,
    RoomView,
    check_action_request,
    check_block,
    check_block_request,
    check_in_allowed,
    check_in_due,
    check_reservation_action,
    check_room_action,
    check_rush,
    check_rush_cancel,
)
from shared.rules import (
    HK as HK_ROLES,
)
from shared.timeutil import from_iso, moment_text, to_iso

T = TypeVar("T")
MAX_STAY = timedelta(days=366)  # longest reservation or block


@dataclass(frozen=True)
class StaffInfo:
    """Who is acting: bound to a connection once logged in."""

    staff_id: int
    hotel_id: int
    hotel_slug: str
    hotel_name: str
    timezone: str
    login: str
    name: str
    role: Role
    workstation: str | None = None

    def actor(self) -> dict[str, Any]:
        return {
            "staff_id": self.staff_id,
            "name": self.name,
            "role": self.role.value,
            "workstation": self.workstation,
        }

    def public(self) -> dict[str, Any]:
        return {"id": self.staff_id, "login": self.login, "name": self.name, "role": self.role}


@dataclass(frozen=True)
class StoredEvent:
    """A committed journal entry, ready to fan out."""

    hotel_id: int
    seq: int
    channels: frozenset[str]
    frame: str


@dataclass
class Outcome:
    reply: dict[str, Any]
    events: list[StoredEvent] = field(default_factory=list)


def event_channels(slug: str, category: str, kind: str, room_number: str | None) -> frozenset[str]:
    chans = {
        protocol.reservations_channel(slug)
        if category == "reservations"
        else protocol.overview_channel(slug)
    }
    if room_number is not None:
        chans.add(protocol.room_channel(slug, room_number))
    return frozenset(chans)


# The write path runs these prepared statements directly: building SQL through the ORM
# for every command cost more than the rest of the command put together.
_SQL_HEAD = "SELECT head_seq FROM hotel WHERE id = ?"
_SQL_SET_HEAD = "UPDATE hotel SET head_seq = ? WHERE id = ?"
_SQL_DAY = "SELECT day_counts FROM hotel WHERE id = ?"
_SQL_SET_DAY = "UPDATE hotel SET day_counts = ? WHERE id = ?"
_SQL_EVENT = (
    "INSERT INTO event (hotel_id, seq, type, category, room_number, ts, frame, before)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SQL_SEEN = "SELECT reply, digest FROM applied_request WHERE staff_id = ? AND request_id = ?"
_SQL_REMEMBER = (
    "INSERT INTO applied_request (staff_id, request_id, reply, ts, digest) VALUES (?, ?, ?, ?, ?)"
)
_SQL_ROOM = "SELECT * FROM room WHERE hotel_id = ? AND number = ? AND retired_at IS NULL"
_SQL_LAST_CHANGE_UNTIL = (
    "SELECT e.room_number, e.frame FROM event e JOIN (SELECT MAX(seq) AS seq FROM event"
    " WHERE hotel_id = ? AND type = 'room_updated' AND ts <= ? GROUP BY room_number) x"
    " ON e.seq = x.seq WHERE e.hotel_id = ?"
)
_SQL_FIRST_CHANGE_AFTER = (
    "SELECT e.room_number, e.before FROM event e JOIN (SELECT MIN(seq) AS seq FROM event"
    " WHERE hotel_id = ? AND type = 'room_updated' AND ts > ? GROUP BY room_number) x"
    " ON e.seq = x.seq WHERE e.hotel_id = ?"
)
_SQL_ROOM_LIFE = (
    "SELECT room_number, type, ts FROM event WHERE hotel_id = ?"
    " AND type IN ('room_created', 'room_retired') ORDER BY seq"
)
_SQL_SEQ_AT = "SELECT MAX(seq) FROM event WHERE hotel_id = ? AND ts <= ?"
_SQL_RANGE = (
    "SELECT frame FROM event WHERE hotel_id = ? AND ts >= ? AND ts < ? AND seq > ?"
    " ORDER BY seq LIMIT ?"
)
_ROOM_WRITABLE = [
    f for f in m.Room._meta.sorted_fields if f.name not in ("id", "hotel", "number", "room_type")
]
_SQL_SAVE_ROOM = (
    "UPDATE room SET "
    + ", ".join(f'"{f.column_name}" = ?' for f in _ROOM_WRITABLE)
    + " WHERE id = ? AND version = ?"
)


BLOCK_LIVE = ["scheduled", "active"]


def _overlap(
    model: type[m.Reservation] | type[m.Block],
    room: m.Room,
    start: datetime,
    end: datetime,
    states: list[str],
    extra: Any = True,
) -> int | None:
    """The id of a row of `model` for `room` in one of `states` overlapping [start, end)."""
    found = (
        model.select(model.id)
        .where(
            (model.room == room.id)
            & (model.state.in_(states))
            & (model.start < end)
            & (model.end > start)
            & extra
        )
        .scalar()
    )
    return None if found is None else int(found)


def _exec(sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
    cursor: sqlite3.Cursor = m.db.execute_sql(sql, params)  # type: ignore[no-untyped-call]
    return cursor


def _one(sql: str, params: tuple[Any, ...]) -> Any:
    row = _exec(sql, params).fetchone()
    return None if row is None else row[0]


def _rows(query: Any) -> Iterable[tuple[Any, ...]]:
    """A peewee query's rows as plain tuples."""
    return cast(Iterable[tuple[Any, ...]], query.tuples())


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Journal:
    """Appends events inside the caller's transaction; keeps them to publish after commit."""

    def __init__(
        self,
        hotel: m.Hotel,
        now: datetime,
        source: str,
        actor: dict[str, Any] | None,
        request_id: str | None,
    ) -> None:
        self.hotel = hotel
        self.now = now
        self.source = source
        self.actor = actor
        self.request_id = request_id
        self.events: list[StoredEvent] = []
        self._seq = int(_one(_SQL_HEAD, (hotel.id,)) or 0)
        self._day: dict[str, int] = {}  # what these events add to the day's counters

    def emit(
        self,
        category: str,
        kind: str,
        payload: dict[str, Any],
        room_number: str | None,
        before: dict[str, Any] | None = None,
    ) -> StoredEvent:
        self._seq += 1
        slug = self.hotel.slug
        meta = protocol.EventMeta(
            hotel_slug=slug,
            event_id=str(uuid.uuid4()),
            ts=to_iso(self.now) or "",
            seq=self._seq,
            source=self.source,
            actor=self.actor,
            scope={"room_number": room_number} if room_number is not None else {},
            request_id=self.request_id,
        )
        frame = protocol.dumps(protocol.event(category, kind, payload, meta))
        _exec(
            _SQL_EVENT,
            (
                self.hotel.id,
                self._seq,
                kind,
                category,
                room_number,
                m.db_time(self.now),
                frame,
                None if before is None else protocol.dumps(before),
            ),
        )
        ev = StoredEvent(
            self.hotel.id, self._seq, event_channels(slug, category, kind, room_number), frame
        )
        self.events.append(ev)
        for name in daybook.tally(kind, payload):
            self._day[name] = self._day.get(name, 0) + 1
        return ev

    def close(self) -> None:
        if self.events:
            _exec(_SQL_SET_HEAD, (self._seq, self.hotel.id))
        if self._day:  # most changes are not work done: they cost nothing here
            counts = day_counts(self.hotel.id)
            for name, n in self._day.items():
                counts[name] = counts.get(name, 0) + n
            _exec(_SQL_SET_DAY, (json.dumps(counts), self.hotel.id))
            self._day = {}


def day_counts(hotel_id: int) -> dict[str, int]:
    """The hotel's counters for its business day so far (every counter, zeros included)."""
    stored = json.loads(_one(_SQL_DAY, (hotel_id,)) or "{}")
    return {**daybook.empty(), **{k: int(v) for k, v in stored.items()}}


# --- payloads ----------------------------------------------------------------------------


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


# moved by every change of a room, so never named in `changed_fields`
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


class Services:
    """All reads and writes of the store. Call only from the store's one database thread."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._hotels: dict[int, m.Hotel] = {}
        self._room_types: dict[int, m.RoomType] = {}

    # --- helpers ---------------------------------------------------------------------

    def hotel(self, hotel_id: int) -> m.Hotel:
        h = self._hotels.get(hotel_id)
        if h is None:
            h = self._hotels[hotel_id] = m.Hotel.get_by_id(hotel_id)
        return h

    def room_type(self, type_id: int) -> m.RoomType:
        rt = self._room_types.get(type_id)
        if rt is None:
            rt = self._room_types[type_id] = m.RoomType.get_by_id(type_id)
        return rt

    def forget_room_type(self, type_id: int) -> None:
        """A room type changed: read it afresh next time."""
        self._room_types.pop(type_id, None)

    def forget_cached(self) -> None:
        """Another process changed the store: read hotels and room types afresh."""
        self._hotels.clear()
        self._room_types.clear()

    def tz(self, hotel_id: int) -> ZoneInfo:
        return ZoneInfo(self.hotel(hotel_id).timezone)

    def _room(self, staff: StaffInfo, number: str) -> m.Room:
        room: m.Room | None = next(iter(m.Room.raw(_SQL_ROOM, staff.hotel_id, number)), None)
        if room is not None:
            room.room_type = self.room_type(room.room_type_id)
        if room is None:
            raise ProtocolError(ErrorCode.UNKNOWN_ROOM, f"There is no room {number[:16]}.")
        return room

    def _reservation(self, staff: StaffInfo, rid: int) -> m.Reservation:
        r = m.Reservation.get_or_none(
            (m.Reservation.id == rid) & (m.Reservation.hotel == staff.hotel_id)
        )
        if r is None:
            raise ProtocolError(ErrorCode.UNKNOWN_RESERVATION, f"There is no reservation {rid}.")
        return r

    @staticmethod
    def _check_version(kind: str, current: int, expected: int | None) -> None:
        if expected is not None and expected != current:
            raise ProtocolError(
                ErrorCode.STALE_VERSION,
                f"This {kind} was changed by someone else (version {current}, you saw {expected}).",
                {"current_version": current, "of": kind},
            )

    def _journal(self, staff: StaffInfo, request_id: str | None) -> Journal:
        return Journal(
            self.hotel(staff.hotel_id),
            self.clock.now(),
            staff.role.value,
            staff.actor(),
            request_id,
        )

    def idempotent(
        self, staff: StaffInfo, cmd: protocol.Command, work: Callable[[Journal], dict[str, Any]]
    ) -> Outcome:
        """Run `work` in one transaction, exactly once per (staff, request id). The same id
        sent again with the same request gets the first reply; with another request, an
        error (the id was reused by mistake)."""
        request_id = cmd.request_id
        body = {k: v for k, v in cmd.to_wire().items() if k != "request_id"}
        digest = hashlib.sha256(protocol.dumps(body).encode()).hexdigest()[:32]
        with m.db.atomic():
            seen = _exec(_SQL_SEEN, (staff.staff_id, request_id)).fetchone()
            if seen is not None:
                if seen[1] is not None and seen[1] != digest:
                    raise ProtocolError(
                        ErrorCode.BAD_REQUEST,
                        "This request id was used before for a different request.",
                        {"request_id": request_id},
                    )
                result = json.loads(seen[0])
                result["duplicate"] = True
                return Outcome(protocol.ack(request_id, result))
            journal = self._journal(staff, request_id)
            result = work(journal)
            journal.close()
            result["seq"] = journal.events[-1].seq if journal.events else None
            _exec(
                _SQL_REMEMBER,
                (
                    staff.staff_id,
                    request_id,
                    protocol.dumps(result),
                    m.db_time(journal.now),
                    digest,
                ),
            )
        return Outcome(protocol.ack(request_id, result), journal.events)

    # --- auth (logging in, sessions and accounts: server.accounts) ---------------------

    def _staff_info(self, staff_id: int, workstation: str | None) -> StaffInfo:
        s = m.Staff.get_by_id(staff_id)
        h = self.hotel(s.hotel_id)
        return StaffInfo(
            s.id, h.id, h.slug, h.name, h.timezone, s.login, s.name, Role(s.role), workstation
        )

    def staff_for_token(self, token: str, workstation: str | None) -> StaffInfo | None:
        sess = m.Session.get_or_none(m.Session.token_hash == _hash_token(token))
        if sess is None or sess.expires_at < self.clock.now() or sess.ended_at is not None:
            return None  # (server.accounts says why, to the desks)
        s = m.Staff.get_or_none(m.Staff.id == sess.staff_id)
        if s is None or not s.active:
            return None
        return self._staff_info(s.id, workstation or sess.workstation)

    # --- room actions ------------------------------------------------------------------

    def _apply_room_action(
        self, staff: StaffInfo, cmd: protocol.RoomAction, journal: Journal
    ) -> dict[str, Any]:
        room = self._room(staff, cmd.room_number)
        self._check_version("room", room.version, cmd.expected_version)
        decision = check_room_action(
            cmd.action, staff.role, room_view(room), return_status=cmd.return_status
        )
        if not decision:
            assert decision.code is not None
            raise ProtocolError(
                decision.code, decision.reason, {"room_number": room.number, "action": cmd.action}
            )
        now = journal.now
        a = cmd.action
        if a == "set_out_of_order" and self._arrival_due(room, now, now + timedelta(days=1)):
            raise ProtocolError(
                ErrorCode.OVERRIDE_REQUIRED,
                f"An arrival is due in room {room.number}; a manager can still put it out of "
                "order with a dated block and an override.",
                {"room_number": room.number},
            )
        before = room_payload(room)
        saved = False  # clearing out of order by hand saves the room as it ends its block
        if decision.new_status is not None:
            room.room_status = decision.new_status.value
        if a == "finish_cleaning":
            room.last_cleaned_at = now
            room.cleaned_by_staff = staff.name
        elif a in ("inspect", "fail_inspection"):
            room.last_inspected_at = now
            room.inspected_by_staff = staff.name
        elif a in ("report_maintenance", "flag_maintenance"):
            room.maintenance_required = True
            room.maintenance_priority = cmd.priority or "MEDIUM"
            room.maintenance_notes = cmd.notes
        elif a == "update_maintenance":
            if cmd.priority is not None:
                room.maintenance_priority = cmd.priority
            if cmd.notes is not None:
                room.maintenance_notes = cmd.notes
        elif a == "clear_maintenance":
            room.maintenance_required = False
            room.maintenance_priority = None
            room.maintenance_notes = cmd.notes
        elif a == "set_out_of_order":
            room.is_out_of_order = True
            room.out_of_order_reason = cmd.reason or "Out of order"
        elif a == "clear_out_of_order":
            room.is_out_of_order = False
            room.out_of_order_reason = None
            if room.block_id is not None and room.block_kind == BlockKind.OUT_OF_ORDER:
                block = m.Block.get_by_id(room.block_id)
                saved = self._close_block(block, room, journal, "ended", staff.name, before)
        elif a in ("set_dnd", "clear_dnd"):
            room.do_not_disturb = a == "set_dnd"
            room.dnd_since = now if a == "set_dnd" else None
        if not saved:
            self._commit_room(journal, room, before)
        return {
            "room_number": room.number,
            "version": room.version,
            "room_status": room.room_status,
        }

    @staticmethod
    def _commit_room(journal: Journal, room: m.Room, before: dict[str, Any]) -> None:
        """Save a changed room (version + 1) and journal its room_updated event, keeping the
        state before the change for rewinding the board. `before` is `room_payload` of the
        room as last committed (so, as its previous event had it); `changed_fields` is what
        differs from it. A rushed room that has just become ready is no longer rushed, and
        the desk that asked is told (room.rush_ready)."""
        rush = before.get("rush")
        ready = rush is not None and room.room_status == RoomStatus.READY_FOR_GUEST.value
        if ready:
            _clear_rush(room)
        old = room.version
        room.version = old + 1
        room.updated_at = journal.now
        values = [f.db_value(getattr(room, f.name)) for f in _ROOM_WRITABLE]
        cursor = _exec(_SQL_SAVE_ROOM, (*values, room.id, old))
        if cursor.rowcount != 1:  # pragma: no cover - one writer thread makes this impossible
            raise ProtocolError(ErrorCode.STALE_VERSION)
        after = room_payload(room)
        after["changed_fields"] = changed_fields(before, after)
        journal.emit("rooms", "room_updated", after, room.number, before)
        if rush is not None and ready:
            asked = from_iso(rush["requested_at"])
            waited = max(0, round((journal.now - asked).total_seconds() / 60))
            journal.emit(
                "rooms",
                "room.rush_ready",
                {
                    "room_number": room.number,
                    "requested_at": rush["requested_at"],
                    "requested_by": rush["requested_by"],
                    "note": rush["note"],
                    "ready_at": to_iso(journal.now),
                    "waited_minutes": waited,
                },
                room.number,
            )

    def room_rush(self, staff: StaffInfo, cmd: protocol.RoomRush) -> Outcome:
        def work(journal: Journal) -> dict[str, Any]:
            room = self._room(staff, cmd.room_number)
            self._check_version("room", room.version, cmd.expected_version)
            decision = check_rush(staff.role, room_view(room))
            if not decision:
                assert decision.code is not None
                raise ProtocolError(decision.code, decision.reason)
            before = room_payload(room)
            room.rush_requested_at = journal.now
            room.rush_requested_by_id = staff.staff_id
            room.rush_requested_by = staff.name
            room.rush_workstation = staff.workstation
            room.rush_note = cmd.note
            self._commit_room(journal, room, before)
            return {"room_number": room.number, "version": room.version}

        return self.idempotent(staff, cmd, work)

    def room_rush_cancel(self, staff: StaffInfo, cmd: protocol.RoomRushCancel) -> Outcome:
        def work(journal: Journal) -> dict[str, Any]:
            room = self._room(staff, cmd.room_number)
            self._check_version("room", room.version, cmd.expected_version)
            decision = check_rush_cancel(staff.role, room_view(room))
            if not decision:
                assert decision.code is not None
                raise ProtocolError(decision.code, decision.reason)
            before = room_payload(room)
            _clear_rush(room)
            self._commit_room(journal, room, before)
            return {"room_number": room.number, "version": room.version}

        return self.idempotent(staff, cmd, work)

    # --- out of order and out of service blocks --------------------------------------------

    def block_create(self, staff: StaffInfo, cmd: protocol.BlockCreate) -> Outcome:
        asked = check_block_request(staff.role, cmd.kind, cmd.override)
        if not asked:
            assert asked.code is not None
            raise ProtocolError(asked.code, asked.reason)

        def work(journal: Journal) -> dict[str, Any]:
            now = journal.now
            try:
                start = from_iso(cmd.start) if cmd.start else now
                end = from_iso(cmd.end)
            except ValueError:
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST, "start and end must be ISO 8601 times."
                ) from None
            start = max(start, now)
            if end <= start:
                raise ProtocolError(ErrorCode.BAD_REQUEST, "A block must end after it starts.")
            if end - start > MAX_STAY:
                raise ProtocolError(ErrorCode.BAD_REQUEST, "A block lasts at most a year.")
            reason = cmd.reason.strip()
            if not reason:
                raise ProtocolError(ErrorCode.BAD_REQUEST, "Give the reason for the block.")
            back = cmd.return_status or RoomStatus.CHECKOUT_DIRTY.value
            if back not in RETURN_STATUSES:
                raise ProtocolError(ErrorCode.BAD_REQUEST, f"A room cannot return to '{back}'.")
            room = self._room(staff, cmd.room_number)
            self._check_version("room", room.version, cmd.expected_version)
            guest = self._guest_during(room, start, end, now)
            arrival = self._arrival_due(room, start, end)
            decision = check_block(
                staff.role,
                cmd.kind,
                guest_in_house=guest,
                arrival_due=arrival,
                override=cmd.override,
            )
            if not decision:
                assert decision.code is not None
                raise ProtocolError(decision.code, decision.reason, {"room_number": room.number})
            clash = _overlap(m.Block, room, start, end, BLOCK_LIVE)
            if clash is not None or (
                cmd.kind == BlockKind.OUT_OF_ORDER and start <= now and room.is_out_of_order
            ):
                raise ProtocolError(
                    ErrorCode.CONFLICT,
                    f"Room {room.number} is already blocked then.",
                    {"block_id": clash},
                )
            block = m.Block.create(
                hotel=staff.hotel_id,
                room=room.id,
                kind=cmd.kind,
                reason=reason,
                start=start,
                end=end,
                return_status=back,
                override=cmd.override and (guest or arrival),
                created_by=staff.name,
                created_at=now,
            )
            journal.emit(
                "rooms", "block.created", {"block": block_dict(block, room.number)}, room.number
            )
            if start <= now:
                self._open_block(block, room, journal)
            return {"block": block_dict(block, room.number), "room_version": room.version}

        return self.idempotent(staff, cmd, work)

    @staticmethod
    def _guest_during(room: m.Room, start: datetime, end: datetime, now: datetime) -> bool:
        """Is a guest in house in the room at some time between `start` and `end`? A
        checked-in guest stays until their departure, or until now if that has passed
        (they are still here); a room marked occupied without a stay on record counts as
        occupied throughout."""
        stays = list(
            m.Reservation.select(m.Reservation.start, m.Reservation.end).where(
                (m.Reservation.room == room.id) & (m.Reservation.state == "checked_in")
            )
        )
        if not stays:
            return bool(room.is_occupied)
        return any(r.start < end and max(r.end, now) > start for r in stays)

    @staticmethod
    def _arrival_due(room: m.Room, start: datetime, end: datetime) -> bool:
        """Is a guest expected in the room between `start` and `end`?"""
        return _overlap(m.Reservation, room, start, end, ["pending", "confirmed"]) is not None

    def _open_block(self, block: m.Block, room: m.Room, journal: Journal) -> None:
        before = room_payload(room)
        room.block_id, room.block_kind, room.block_reason = block.id, block.kind, block.reason
        room.block_start, room.block_end = block.start, block.end
        room.block_return_status = block.return_status
        if block.kind == BlockKind.OUT_OF_ORDER:
            room.is_out_of_order = True
            room.room_status = RoomStatus.OUT_OF_ORDER.value
            room.out_of_order_reason = block.reason
        else:
            room.is_out_of_service = True
        self._commit_room(journal, room, before)
        block.state = "active"
        block.save()
        journal.emit(
            "rooms", "block.started", {"block": block_dict(block, room.number)}, room.number
        )

    def _close_block(
        self,
        block: m.Block,
        room: m.Room,
        journal: Journal,
        how: str,
        by: str | None,
        before: dict[str, Any] | None = None,
    ) -> bool:
        """End an active block (the room returns to its return status) or cancel a scheduled
        one. `how` is expired, ended or cancelled. `before`: the room's payload as last
        committed, when the caller has changed the room already (its changes and the block's
        end are then one room_updated). Returns whether the room was saved."""
        saved = False
        if block.state == "active" and room.block_id == block.id:
            before = before or room_payload(room)
            room.block_id = room.block_kind = room.block_reason = None
            room.block_start = room.block_end = room.block_return_status = None
            if block.kind == BlockKind.OUT_OF_ORDER:
                room.is_out_of_order = False
                room.out_of_order_reason = None
                if room.room_status == RoomStatus.OUT_OF_ORDER.value:
                    room.room_status = block.return_status
            else:
                room.is_out_of_service = False
            self._commit_room(journal, room, before)
            saved = True
        block.state = "cancelled" if how == "cancelled" else "ended"
        block.ended_at, block.ended_by = journal.now, by
        block.save()
        journal.emit(
            "rooms",
            "block.ended",
            {"block": block_dict(block, room.number), "how": how},
            room.number,
        )
        return saved

    def block_end(self, staff: StaffInfo, cmd: protocol.BlockEnd) -> Outcome:
        def work(journal: Journal) -> dict[str, Any]:
            if staff.role not in BLOCK_ROLES:
                raise ProtocolError(ErrorCode.FORBIDDEN, "Blocks are ended by maintenance.")
            block = m.Block.get_or_none(
                (m.Block.id == cmd.block_id) & (m.Block.hotel == staff.hotel_id)
            )
            if block is None:
                raise ProtocolError(ErrorCode.BAD_REQUEST, f"There is no block {cmd.block_id}.")
            if block.state not in ("scheduled", "active"):
                raise ProtocolError(ErrorCode.INVALID_TRANSITION, "That block is over already.")
            room = self._room_by_id(block.room_id)
            how = "cancelled" if block.state == "scheduled" else "ended"
            self._close_block(block, room, journal, how, staff.name)
            return {"block": block_dict(block, room.number), "room_version": room.version}

        return self.idempotent(staff, cmd, work)

    def _room_by_id(self, room_id: int) -> m.Room:
        room: m.Room = m.Room.get_by_id(room_id)
        room.room_type = self.room_type(room.room_type_id)
        return room

    def blocks_list(self, hotel_id: int) -> list[dict[str, Any]]:
        q = (
            m.Block.select(m.Block, m.Room.number)
            .join(m.Room)
            .where((m.Block.hotel == hotel_id) & (m.Block.state.in_(["scheduled", "active"])))
            .order_by(m.Block.start)
        )
        return [block_dict(b, b.room.number) for b in q]

    def blocks_due(self) -> list[int]:
        """Hotels with a block to start or end now."""
        now = self.clock.now()
        q = (
            m.Block.select(m.Block.hotel)
            .where(
                ((m.Block.state == "scheduled") & (m.Block.start <= now))
                | ((m.Block.state == "active") & (m.Block.end <= now))
            )
            .distinct()
        )
        return [b.hotel_id for b in q]

    def block_tick(self, hotel_id: int) -> Outcome:
        """Start and end the hotel's blocks whose time has come, as the system."""
        with m.db.atomic():
            journal = Journal(self.hotel(hotel_id), self.clock.now(), "system", None, None)
            now = journal.now
            due = (
                m.Block.select()
                .where(
                    (m.Block.hotel == hotel_id)
                    & (
                        ((m.Block.state == "active") & (m.Block.end <= now))
                        | ((m.Block.state == "scheduled") & (m.Block.start <= now))
                    )
                )
                .order_by(m.Block.start)
            )
            for block in due:
                room = self._room_by_id(block.room_id)
                if block.state == "scheduled" and block.end > now:
                    self._open_block(block, room, journal)
                else:  # over (or its whole period passed while the server was off)
                    self._close_block(block, room, journal, "expired", None)
            journal.close()
        return Outcome(protocol.ack(None, {}), journal.events)

    # --- discrepancies -------------------------------------------------------------------

    def room_observe(self, staff: StaffInfo, cmd: protocol.RoomObserve) -> Outcome:
        def work(journal: Journal) -> dict[str, Any]:
            if staff.role not in HK_ROLES:
                raise ProtocolError(ErrorCode.FORBIDDEN, "Housekeeping reports what it sees.")
            if cmd.occupancy not in ("occupied", "vacant"):
                raise ProtocolError(ErrorCode.BAD_REQUEST, "occupancy is occupied or vacant.")
            room = self._room(staff, cmd.room_number)
            self._check_version("room", room.version, cmd.expected_version)
            before = room_payload(room)
            room.hk_occupancy, room.hk_observed_at = cmd.occupancy, journal.now
            self._commit_room(journal, room, before)
            return {"room_number": room.number, "version": room.version}

        return self.idempotent(staff, cmd, work)

    def discrepancy_scan(self, hotel_id: int) -> Outcome:
        """Raise what the system finds wrong now; clear what is no longer so."""
        with m.db.atomic():
            hotel = m.Hotel.get_by_id(hotel_id)
            now = self.clock.now()
            rooms = self._rooms(hotel_id)
            facts = [
                discrepancies.RoomFacts(
                    r.number,
                    RoomStatus(r.room_status),
                    r.is_occupied,
                    r.is_out_of_order,
                    r.dnd_since if r.do_not_disturb else None,
                    r.hk_occupancy,
                    r.hk_observed_at,
                )
                for r in rooms
            ]
            settings = discrepancies.Settings(
                timedelta(minutes=hotel.arrival_lead_minutes),
                timedelta(minutes=hotel.dnd_limit_minutes),
                ZoneInfo(hotel.timezone),
            )
            q = (
                m.Reservation.select(m.Reservation, m.Room.number)
                .join(m.Room)
                .where(
                    (m.Reservation.hotel == hotel_id)
                    & (
                        (m.Reservation.state == "checked_in")
                        | (
                            m.Reservation.state.in_(["pending", "confirmed"])
                            & (m.Reservation.start <= now + settings.arrival_lead)
                            & (m.Reservation.end > now)
                        )
                    )
                )
            )
            stays = [
                discrepancies.StayFacts(r.id, r.room.number, r.guest_name, r.state, r.start, r.end)
                for r in q
            ]
            found = {f.key: f for f in discrepancies.find(facts, stays, now, settings)}
            known = {
                d.key: d for d in m.Discrepancy.select().where(m.Discrepancy.hotel == hotel_id)
            }
            room_ids = {r.number: r.id for r in rooms}
            journal = Journal(self.hotel(hotel_id), now, "system", None, None)
            for key, f in found.items():
                if key in known:
                    continue
                d = m.Discrepancy.create(
                    hotel=hotel_id,
                    room=room_ids[f.room_number],
                    kind=f.kind,
                    key=key,
                    message=f.message,
                    details=protocol.dumps(f.details),
                    roles=protocol.dumps(f.roles),
                    raised_at=now,
                )
                journal.emit(
                    "hotel",
                    "discrepancy.raised",
                    {"discrepancy": discrepancy_dict(d, f.room_number)},
                    f.room_number,
                )
            numbers = {r.id: r.number for r in rooms}
            for key, d in known.items():
                if d.state == "open" and key not in found:
                    self._resolve(journal, d, numbers[d.room_id], None, "Cleared by itself.")
            journal.close()
        return Outcome(protocol.ack(None, {}), journal.events)

    def _resolve(
        self,
        journal: Journal,
        d: m.Discrepancy,
        room_number: str,
        staff: StaffInfo | None,
        note: str | None,
    ) -> None:
        d.state, d.resolved_at = "resolved", journal.now
        d.resolved_by = staff.name if staff is not None else "system"
        d.note = note
        d.save()
        journal.emit(
            "hotel",
            "discrepancy.resolved",
            {"discrepancy": discrepancy_dict(d, room_number)},
            room_number,
        )

    def discrepancy_resolve(self, staff: StaffInfo, cmd: protocol.DiscrepancyResolve) -> Outcome:
        def work(journal: Journal) -> dict[str, Any]:
            d = m.Discrepancy.get_or_none(
                (m.Discrepancy.id == cmd.discrepancy_id) & (m.Discrepancy.hotel == staff.hotel_id)
            )
            if d is None:
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST, f"There is no discrepancy {cmd.discrepancy_id}."
                )
            if staff.role not in json.loads(d.roles):
                raise ProtocolError(ErrorCode.FORBIDDEN, "This is for another team to resolve.")
            if d.state != "open":
                raise ProtocolError(ErrorCode.INVALID_TRANSITION, "It was resolved already.")
            number = self._room_by_id(d.room_id).number
            self._resolve(journal, d, number, staff, cmd.note)
            return {"discrepancy": discrepancy_dict(d, number)}

        return self.idempotent(staff, cmd, work)

    def discrepancies_list(self, hotel_id: int) -> list[dict[str, Any]]:
        q = (
            m.Discrepancy.select(m.Discrepancy, m.Room.number)
            .join(m.Room)
            .where((m.Discrepancy.hotel == hotel_id) & (m.Discrepancy.state == "open"))
            .order_by(m.Discrepancy.raised_at)
        )
        return [discrepancy_dict(d, d.room.number) for d in q]

    # --- room attendants -----------------------------------------------------------------

    def staff_list(self, hotel_id: int) -> list[dict[str, Any]]:
        q = (
            m.Staff.select(m.Staff.id, m.Staff.login, m.Staff.name, m.Staff.role)
            .where((m.Staff.hotel == hotel_id) & (m.Staff.active == True))  # noqa: E712
            .order_by(m.Staff.name)
        )
        return [{"id": s.id, "login": s.login, "name": s.name, "role": s.role} for s in q]

    def _attendants(self, staff: StaffInfo, ids: Iterable[int]) -> dict[int, str]:
        wanted = set(ids)
        found = {
            s.id: s.name
            for s in m.Staff.select(m.Staff.id, m.Staff.name).where(
                (m.Staff.id.in_(list(wanted)))  # type: ignore[attr-defined]
                & (m.Staff.hotel == staff.hotel_id)
                & (m.Staff.role.in_([r.value for r in ATTENDANT_ROLES]))
                & (m.Staff.active == True)  # noqa: E712
            )
        }
        missing = wanted - set(found)
        if missing:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST,
                f"No room attendant with id {', '.join(map(str, sorted(missing)))} here.",
            )
        return found

    def _assign(
        self, staff: StaffInfo, plan: list[tuple[str, int | None, int | None]], journal: Journal
    ) -> dict[str, Any]:
        if staff.role not in ASSIGN_ROLES:
            raise ProtocolError(ErrorCode.FORBIDDEN, "Supervisors assign rooms to attendants.")
        names = self._attendants(staff, {who for _, who, _ in plan if who is not None})
        changed = []
        for number, who, expected in plan:
            room = self._room(staff, number)
            self._check_version("room", room.version, expected)
            if room.assigned_to_id == who:
                continue
            before = room_payload(room)
            room.assigned_to_id = who
            room.assigned_to_name = None if who is None else names[who]
            self._commit_room(journal, room, before)
            changed.append({"room_number": number, "version": room.version})
        return {"rooms": changed}

    def rooms_assign(self, staff: StaffInfo, cmd: protocol.RoomsAssign) -> Outcome:
        plan: list[tuple[str, int | None, int | None]] = []
        for i, item in enumerate(cmd.items):
            number, who = item.get("room_number"), item.get("staff_id")
            expected = item.get("expected_version")
            if (
                not isinstance(number, str)
                or not (who is None or (isinstance(who, int) and not isinstance(who, bool)))
                or not (
                    expected is None
                    or (isinstance(expected, int) and not isinstance(expected, bool))
                )
                or set(item) - {"room_number", "staff_id", "expected_version"}
            ):
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST,
                    f"Item {i + 1}: {{room_number, staff_id (or null), expected_version?}}.",
                    {"index": i},
                )
            plan.append((number, who, expected))
        if len({p[0] for p in plan}) != len(plan):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "Each room at most once.")
        return self.idempotent(staff, cmd, lambda j: self._assign(staff, plan, j))

    def rooms_assign_split(self, staff: StaffInfo, cmd: protocol.RoomsAssignSplit) -> Outcome:
        if cmd.by not in assignment.SPLITS:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, f"Split by one of {', '.join(assignment.SPLITS)}."
            )
        if not cmd.staff_ids:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "Name at least one attendant.")

        def work(journal: Journal) -> dict[str, Any]:
            rooms = self._rooms(staff.hotel_id)
            if cmd.room_numbers is not None:
                wanted = set(cmd.room_numbers)
                unknown = wanted - {r.number for r in rooms}
                if unknown:
                    raise ProtocolError(
                        ErrorCode.UNKNOWN_ROOM, f"There is no room {sorted(unknown)[0]}."
                    )
                rooms = [r for r in rooms if r.number in wanted]
            try:
                split = assignment.split_evenly(
                    [assignment.Place(r.number, r.floor, r.section) for r in rooms],
                    list(dict.fromkeys(cmd.staff_ids)),
                    cmd.by,
                )
            except ValueError as exc:
                raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc).capitalize() + ".") from None
            result = self._assign(staff, [(n, who, None) for n, who in split.items()], journal)
            result["split"] = split
            return result

        return self.idempotent(staff, cmd, work)

    def room_action(self, staff: StaffInfo, cmd: protocol.RoomAction) -> Outcome:
        check_room_action_request(staff.role, cmd)
        return self.idempotent(staff, cmd, lambda j: self._apply_room_action(staff, cmd, j))

    def rooms_batch(self, staff: StaffInfo, cmd: protocol.RoomsBatch) -> Outcome:
        if not cmd.items:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "A batch needs at least one item.")
        actions: list[protocol.RoomAction] = []
        for i, item in enumerate(cmd.items):
            try:
                built = protocol.build_command(
                    protocol.RoomAction, {**item, "request_id": cmd.request_id}
                )
            except ProtocolError as exc:
                raise ProtocolError(
                    exc.code, f"Item {i + 1}: {exc.message}", {"index": i}
                ) from None
            assert isinstance(built, protocol.RoomAction)
            actions.append(built)
        for i, a in enumerate(actions):
            try:
                check_room_action_request(staff.role, a)
            except ProtocolError as exc:
                raise ProtocolError(
                    exc.code, f"Room {a.room_number}: {exc.message}", {**exc.details, "index": i}
                ) from None
        numbers = [a.room_number for a in actions]
        if len(set(numbers)) != len(numbers):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "A batch names each room at most once.")

        def work(journal: Journal) -> dict[str, Any]:
            results = []
            for i, a in enumerate(actions):
                try:
                    results.append(self._apply_room_action(staff, a, journal))
                except ProtocolError as exc:
                    details = {**exc.details, "index": i}
                    raise ProtocolError(
                        exc.code, f"Room {a.room_number}: {exc.message}", details
                    ) from None
            return {"rooms": results}

        return self.idempotent(staff, cmd, work)

    # --- reservations ------------------------------------------------------------------

    def _occupancy_event(self, journal: Journal, room: m.Room) -> None:
        occ = self.occupancy_of([room], journal.now)[room.id]
        journal.emit("rooms", "room.update", status_entry(room, occ), room.number)

    def _reservation_event(
        self, journal: Journal, kind: str, reservation: dict[str, Any], room: m.Room
    ) -> None:
        """Journal a reservation.* event; `reservation` is its `reservation_dict`."""
        payload = {
            "reservation": reservation,
            "event_type": kind.split(".", 1)[1],
            "reservation_id": reservation["id"],
            "room_id": room.id,
            "room_number": room.number,
        }
        journal.emit("reservations", kind, payload, room.number)

    def reservation_create(self, staff: StaffInfo, cmd: protocol.ReservationCreate) -> Outcome:
        if staff.role not in (Role.FRONT_DESK, Role.MANAGER):
            raise ProtocolError(ErrorCode.FORBIDDEN, "Reservations are made by the front desk.")
        try:
            start, end = from_iso(cmd.start), from_iso(cmd.end)
        except ValueError:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, "start and end must be ISO 8601 times."
            ) from None
        if end <= start:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "A reservation must end after it starts.")
        if end - start > MAX_STAY:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "A reservation lasts at most a year.")
        name = cmd.guest_name.strip()
        if not name:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "The guest needs a name.")

        def work(journal: Journal) -> dict[str, Any]:
            room = self._room(staff, cmd.room_number)
            if not 1 <= cmd.guests <= room.room_type.max_occupancy:
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST,
                    f"Room {room.number} takes 1 to {room.room_type.max_occupancy} guests.",
                )
            clash = _overlap(m.Reservation, room, start, end, [s.value for s in LIVE_STATES])
            if clash is not None:
                raise ProtocolError(
                    ErrorCode.CONFLICT,
                    f"Room {room.number} is already booked then (reservation {clash}).",
                    {"reservation_id": clash},
                )
            blocked = _overlap(
                m.Block, room, start, end, BLOCK_LIVE, m.Block.kind == BlockKind.OUT_OF_ORDER.value
            )
            if blocked is not None:
                raise ProtocolError(
                    ErrorCode.CONFLICT,
                    f"Room {room.number} is out of order then (block {blocked}).",
                    {"block_id": blocked},
                )
            if room.is_out_of_order and room.block_kind != BlockKind.OUT_OF_ORDER:
                # out of order by hand: no end is known, so the room is off sale until cleared
                raise ProtocolError(
                    ErrorCode.CONFLICT,
                    f"Room {room.number} is out of order until someone clears it; it cannot "
                    "be booked meanwhile (a dated block says when it will be back).",
                    {"room_number": room.number, "out_of_order": True},
                )
            now = journal.now
            state = ReservationState.CONFIRMED if cmd.confirmed else ReservationState.PENDING
            r = m.Reservation.create(
                hotel=staff.hotel_id,
                room=room.id,
                guest_name=name,
                start=start,
                end=end,
                guests=cmd.guests,
                state=state.value,
                created_at=now,
                updated_at=now,
            )
            made = reservation_dict(r, room)
            self._reservation_event(journal, "reservation.created", made, room)
            self._occupancy_event(journal, room)
            return {"reservation": made}

        return self.idempotent(staff, cmd, work)

    def reservation_action(self, staff: StaffInfo, cmd: protocol.ReservationCommand) -> Outcome:
        def work(journal: Journal) -> dict[str, Any]:
            r = self._reservation(staff, cmd.reservation_id)
            self._check_version("reservation", r.version, cmd.expected_version)
            room = (
                m.Room.select(m.Room, m.RoomType)
                .join(m.RoomType)
                .where(m.Room.id == r.room_id)
                .get()
            )
            self._check_version("room", room.version, cmd.room_version)
            return self._apply_reservation_action(staff, cmd.action, r, room, journal)

        return self.idempotent(staff, cmd, work)

    def _apply_reservation_action(
        self, staff: StaffInfo, action: str, r: m.Reservation, room: m.Room, journal: Journal
    ) -> dict[str, Any]:
        decision = check_reservation_action(action, staff.role, r.state, room_view(room))
        if not decision:
            assert decision.code is not None
            raise ProtocolError(
                decision.code, decision.reason, {"reservation_id": r.id, "room_number": room.number}
            )
        _, new_state, kind = RESERVATION_ACTIONS[action]
        now = journal.now
        if action == "check_in":
            self._check_in_due(r, room, now)
        before = room_payload(room)
        if action in ("check_in", "check_out"):  # the front desk's picture changed
            room.hk_occupancy = room.hk_observed_at = None
        if action == "check_in":
            room.is_occupied = True
            room.guests_in_room = r.guests
            r.checked_in_at = now
            self._commit_room(journal, room, before)
        elif action == "check_out":
            room.is_occupied = False
            room.guests_in_room = 0
            if room.room_status not in (RoomStatus.MAINTENANCE_REQUIRED, RoomStatus.OUT_OF_ORDER):
                room.room_status = RoomStatus.CHECKOUT_DIRTY.value
            r.checked_out_at = now
            if r.end > now:  # early departure: the stay ends now (never before it started)
                r.end = max(now, r.start)
            self._commit_room(journal, room, before)
        result: dict[str, Any] = {"reservation_id": r.id, "room_number": room.number}
        if new_state is None:
            snapshot = reservation_dict(r, room)
            r.delete_instance()
            snapshot["state"] = "deleted"
            self._reservation_event(journal, kind, snapshot, room)
        else:
            r.state = new_state.value
            r.version += 1
            r.updated_at = now
            r.save()
            result["reservation"] = reservation_dict(r, room)
            self._reservation_event(journal, kind, result["reservation"], room)
        self._occupancy_event(journal, room)
        result["room_version"] = room.version
        return result

    def _check_in_due(self, r: m.Reservation, room: m.Room, now: datetime) -> None:
        """Refuse a check-in that is not due (another day's arrival, a stay that is over).
        A guest who arrives before the reservation's start time on the day stays from now
        on: the start moves to now, if nothing else holds the room until then."""
        due = check_in_due(r.start, r.end, now, self.tz(room.hotel_id))
        if not due:
            assert due.code is not None
            raise ProtocolError(
                due.code,
                due.reason,
                {"reservation_id": r.id, "room_number": room.number, "start": to_iso(r.start)},
            )
        if r.start <= now:
            return
        clash = _overlap(m.Reservation, room, now, r.start, [s.value for s in LIVE_STATES])
        if clash is not None:
            raise ProtocolError(
                ErrorCode.CONFLICT,
                f"Room {room.number} is booked for someone else until this guest's arrival "
                f"time (reservation {clash}).",
                {"reservation_id": clash},
            )
        blocked = _overlap(
            m.Block, room, now, r.start, BLOCK_LIVE, m.Block.kind == BlockKind.OUT_OF_ORDER.value
        )
        if blocked is not None:
            raise ProtocolError(
                ErrorCode.CONFLICT,
                f"Room {room.number} is to be out of order before this guest's arrival time "
                f"(block {blocked}).",
                {"block_id": blocked},
            )
        r.start = now

    def room_check_in(self, staff: StaffInfo, cmd: protocol.RoomCheckIn) -> Outcome:
        def work(journal: Journal) -> dict[str, Any]:
            if staff.role not in RESERVATION_ROLES:
                raise ProtocolError(ErrorCode.FORBIDDEN, "Check-in is for the front desk.")
            room = self._room(staff, cmd.room_number)
            self._check_version("room", room.version, cmd.expected_version)
            decision = check_in_allowed(room_view(room))
            if not decision:
                assert decision.code is not None
                raise ProtocolError(decision.code, decision.reason)
            q = m.Reservation.select().where(
                (m.Reservation.room == room.id)
                & (m.Reservation.state.in_(["pending", "confirmed"]))
            )
            if cmd.reservation_id is not None:
                q = q.where(m.Reservation.id == cmd.reservation_id)
            else:
                _, day_end = occupancy.local_day_bounds(journal.now, self.tz(staff.hotel_id))
                q = q.where((m.Reservation.start < day_end) & (m.Reservation.end > journal.now))
            r = q.order_by(m.Reservation.start).first()
            if r is None:
                raise ProtocolError(
                    ErrorCode.NO_RESERVATION, f"No arrival is due in room {room.number} today."
                )
            return self._apply_reservation_action(staff, "check_in", r, room, journal)

        return self.idempotent(staff, cmd, work)

    def room_check_out(self, staff: StaffInfo, cmd: protocol.RoomCheckOut) -> Outcome:
        def work(journal: Journal) -> dict[str, Any]:
            if staff.role not in RESERVATION_ROLES:
                raise ProtocolError(ErrorCode.FORBIDDEN, "Check-out is for the front desk.")
            room = self._room(staff, cmd.room_number)
            self._check_version("room", room.version, cmd.expected_version)
            r = (
                m.Reservation.select()
                .where((m.Reservation.room == room.id) & (m.Reservation.state == "checked_in"))
                .order_by(m.Reservation.start)
                .first()
            )
            if r is None:
                raise ProtocolError(
                    ErrorCode.NO_RESERVATION, f"No guest is checked in to room {room.number}."
                )
            return self._apply_reservation_action(staff, "check_out", r, room, journal)

        return self.idempotent(staff, cmd, work)

    # --- reads ---------------------------------------------------------------------------

    def occupancy_of(
        self, rooms: Iterable[m.Room], now: datetime
    ) -> dict[int, occupancy.Occupancy]:
        rooms = list(rooms)
        if not rooms:
            return {}
        tz = self.tz(rooms[0].hotel_id)
        day_start, _ = occupancy.local_day_bounds(now, tz)
        horizon = now + timedelta(days=30)
        q = m.Reservation.select(
            m.Reservation.room,
            m.Reservation.start,
            m.Reservation.end,
            m.Reservation.state,
            m.Reservation.guests,
        ).where(
            (m.Reservation.state != "cancelled")
            & (m.Reservation.start < horizon)
            & ((m.Reservation.end > day_start) | (m.Reservation.state == "checked_in"))
        )
        if len(rooms) == 1:
            q = q.where(m.Reservation.room == rooms[0].id)
        else:
            q = q.where(m.Reservation.hotel == rooms[0].hotel_id)
        stays: dict[int, list[occupancy.Stay]] = defaultdict(list)
        for r in _rows(q):
            stays[r[0]].append(occupancy.Stay(r[1], r[2], ReservationState(r[3]), r[4]))
        return {room.id: occupancy.compute(stays.get(room.id, ()), now, tz) for room in rooms}

    def _rooms(self, hotel_id: int, number: str | None = None) -> list[m.Room]:
        q = (
            m.Room.select(m.Room, m.RoomType)
            .join(m.RoomType)
            .where((m.Room.hotel == hotel_id) & m.Room.retired_at.is_null())
        )
        if number is not None:
            q = q.where(m.Room.number == number)
        return list(q.order_by(m.Room.floor, m.Room.number))

    def head_seq(self, hotel_id: int) -> int:
        return int(m.Hotel.select(m.Hotel.head_seq).where(m.Hotel.id == hotel_id).scalar() or 0)

    def status_list(self, hotel_id: int) -> list[dict[str, Any]]:
        """The monitoring document's status of every room (HTTP endpoint, heartbeats)."""
        now = self.clock.now()
        rooms = self._rooms(hotel_id)
        occ = self.occupancy_of(rooms, now)
        return [status_entry(r, occ[r.id]) for r in rooms]

    def room_status_entry(self, hotel_id: int, number: str) -> dict[str, Any] | None:
        rooms = self._rooms(hotel_id, number)
        if not rooms:
            return None
        occ = self.occupancy_of(rooms, self.clock.now())
        return status_entry(rooms[0], occ[rooms[0].id])

    def room_exists(self, hotel_id: int, number: str) -> bool:
        return bool(
            m.Room.select().where((m.Room.hotel == hotel_id) & (m.Room.number == number)).exists()
        )

    def snapshot(self, hotel_id: int, wanted: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
        """Snapshots of several channels, all consistent with one sequence number (one
        read transaction)."""
        with m.db.atomic():
            seq = self.head_seq(hotel_id)
            now = self.clock.now()
            slug = self.hotel(hotel_id).slug
            out: list[dict[str, Any]] = []
            for kind, room_number in wanted:
                ts = to_iso(now)
                if kind == "reservations":
                    out.append(
                        {
                            "type": "reservations.status",
                            "channel": protocol.reservations_channel(slug),
                            "seq": seq,
                            "timestamp": ts,
                            "reservations": self.reservations_around(hotel_id, now),
                            "date": self.hotel_date(hotel_id, now),
                        }
                    )
                    continue
                rooms = self._rooms(hotel_id, room_number)
                occ = self.occupancy_of(rooms, now)
                entries = [{**status_entry(r, occ[r.id]), **room_payload(r)} for r in rooms]
                if kind == "room":
                    assert room_number is not None
                    out.append(
                        {
                            "type": "room.status",
                            "channel": protocol.room_channel(slug, room_number),
                            "seq": seq,
                            "timestamp": ts,
                            "status": entries[0] if entries else None,
                        }
                    )
                else:
                    out.append(
                        {
                            "type": "rooms.status",
                            "channel": protocol.overview_channel(slug),
                            "seq": seq,
                            "timestamp": ts,
                            "rooms": entries,
                            "day": self.business_day(hotel_id, now),
                        }
                    )
            return out

    def business_day(self, hotel_id: int, now: datetime) -> dict[str, Any]:
        """The business day in progress and its counters (for the overview snapshot)."""
        hotel = m.Hotel.get_by_id(hotel_id)
        current = (
            hotel.business_date
            or rollover.business_date(now, self.tz(hotel_id), hotel.rollover_hour).isoformat()
        )
        return {"business_date": current, "counts": day_counts(hotel_id)}

    def hotel_date(self, hotel_id: int, now: datetime) -> str:
        """The hotel's calendar date at `now`, on its own clock (YYYY-MM-DD)."""
        return now.astimezone(self.tz(hotel_id)).date().isoformat()

    def reservations_list(self, hotel_id: int) -> dict[str, Any]:
        """`reservations.list`: today's list, the hotel's date it is for, and the journal
        head it is consistent with."""
        now = self.clock.now()
        return {
            "reservations": self.reservations_around(hotel_id, now),
            "date": self.hotel_date(hotel_id, now),
            "seq": self.head_seq(hotel_id),
        }

    def reservations_around(self, hotel_id: int, now: datetime) -> list[dict[str, Any]]:
        """Today's arrivals, departures and in-house stays (the front desk's list)."""
        day_start, day_end = occupancy.local_day_bounds(now, self.tz(hotel_id))
        q = (
            m.Reservation.select(m.Reservation, m.Room)
            .join(m.Room)
            .where(
                (m.Reservation.hotel == hotel_id)
                & (
                    ((m.Reservation.start < day_end) & (m.Reservation.end >= day_start))
                    | (m.Reservation.state == "checked_in")
                )
            )
            .order_by(m.Reservation.start)
        )
        return [reservation_dict(r, r.room) for r in q]

    @staticmethod
    def _channel_filter(wanted: Sequence[tuple[str, str | None]]) -> tuple[str, list[Any]]:
        """SQL that picks the journal rows belonging to any of the channels."""
        parts, params = [], []
        kinds = {k for k, _ in wanted}
        if "overview" in kinds:
            parts.append("category != 'reservations'")
        if "reservations" in kinds:
            parts.append("category = 'reservations'")
        rooms = [r for k, r in wanted if k == "room" and r is not None]
        if rooms:
            parts.append(f"room_number IN ({', '.join('?' * len(rooms))})")
            params.extend(rooms)
        return "(" + (" OR ".join(parts) or "0") + ")", params

    def resume_plan(
        self, hotel_id: int, after_seq: int, limit: int, wanted: Sequence[tuple[str, str | None]]
    ) -> tuple[int, int] | str:
        """(head, how many events to replay), or why resuming after `after_seq` is not
        possible."""
        with m.db.atomic():
            hotel = m.Hotel.get_by_id(hotel_id)
            head = int(hotel.head_seq)
            if after_seq > head:
                return "the server has no events that far (was its store restored?)"
            if after_seq < int(hotel.pruned_seq):
                return "the missed events are no longer all in the journal"
            where, params = self._channel_filter(wanted)
            count = _one(
                f"SELECT COUNT(*) FROM event WHERE hotel_id = ? AND seq > ? AND seq <= ?"
                f" AND {where}",
                (hotel_id, after_seq, head, *params),
            )
            if int(count) > limit:
                return f"more than {limit} events were missed; a fresh snapshot is quicker"
            return head, int(count)

    def replay_page(
        self,
        hotel_id: int,
        after_seq: int,
        upto: int,
        wanted: Sequence[tuple[str, str | None]],
        limit: int,
    ) -> list[StoredEvent] | None:
        """The next events of the channels in (after_seq, upto], oldest first; None if some
        were removed from the journal meanwhile."""
        with m.db.atomic():
            hotel = m.Hotel.get_by_id(hotel_id)
            if after_seq < int(hotel.pruned_seq):
                return None
            where, params = self._channel_filter(wanted)
            rows = _exec(
                "SELECT seq, category, type, room_number, frame FROM event"
                f" WHERE hotel_id = ? AND seq > ? AND seq <= ? AND {where} ORDER BY seq LIMIT ?",
                (hotel_id, after_seq, upto, *params, limit),
            ).fetchall()
        slug = hotel.slug
        return [
            StoredEvent(hotel_id, seq, event_channels(slug, cat, kind, room), frame)
            for seq, cat, kind, room, frame in rows
        ]

    def missing_rooms(self, hotel_id: int, numbers: Sequence[str]) -> list[str]:
        found = {
            r.number
            for r in m.Room.select(m.Room.number).where(
                (m.Room.hotel == hotel_id)
                & (m.Room.number.in_(list(numbers)))
                & m.Room.retired_at.is_null()
            )
        }
        return [n for n in numbers if n not in found]

    def history(self, hotel_id: int, room_number: str, limit: int) -> list[dict[str, Any]]:
        rows = (
            m.Event.select(m.Event.frame)
            .where((m.Event.hotel == hotel_id) & (m.Event.room_number == room_number))
            .order_by(m.Event.seq.desc())
            .limit(max(1, min(limit, 500)))
        )
        return [json.loads(f) for (f,) in _rows(rows)]

    def prune(self, retention: timedelta) -> int:
        """Drop journal entries and request ids older than the retention."""
        cutoff = self.clock.now() - retention
        removed = 0
        with m.db.atomic():
            for h in m.Hotel.select():
                last = (
                    m.Event.select(pw.fn.MAX(m.Event.seq))
                    .where((m.Event.hotel == h.id) & (m.Event.ts < cutoff))
                    .scalar()
                )
                if last:
                    removed += (
                        m.Event.delete()
                        .where((m.Event.hotel == h.id) & (m.Event.seq <= last))
                        .execute()
                    )
                    m.Hotel.update(pruned_seq=last, pruned_until=cutoff).where(
                        m.Hotel.id == h.id
                    ).execute()
            m.AppliedRequest.delete().where(m.AppliedRequest.ts < cutoff).execute()
        return removed

    def board_at(self, hotel_id: int, at: datetime) -> dict[str, Any]:
        """Every room as it was at `at` (within the journal's retention): the last change of
        each room up to then, or else the state before its first change after then."""
        with m.db.atomic():
            hotel = m.Hotel.get_by_id(hotel_id)
            now = self.clock.now()
            earliest = hotel.pruned_until or hotel.created_at
            if at > now:
                raise ProtocolError(ErrorCode.BAD_REQUEST, "That moment is in the future.")
            if at < earliest:
                raise ProtocolError(
                    ErrorCode.HISTORY_UNAVAILABLE,
                    f"The history goes back to {moment_text(earliest, self.tz(hotel_id))} "
                    "(hotel time) only.",
                    {"earliest": to_iso(earliest)},
                )
            when = m.db_time(at)
            last_before = {
                number: json.loads(frame)["payload"]
                for number, frame in _exec(_SQL_LAST_CHANGE_UNTIL, (hotel_id, when, hotel_id))
            }
            first_after = {
                number: json.loads(before)
                for number, before in _exec(_SQL_FIRST_CHANGE_AFTER, (hotel_id, when, hotel_id))
                if before is not None
            }
            seq = _one(_SQL_SEQ_AT, (hotel_id, when)) or hotel.pruned_seq
            rooms = []
            for room in self._rooms_at(hotel_id, when):
                state = last_before.get(room.number) or first_after.get(room.number)
                rooms.append({**(state or room_payload(room)), "changed_fields": []})
        return {"at": to_iso(at), "seq": int(seq), "earliest": to_iso(earliest), "rooms": rooms}

    def _rooms_at(self, hotel_id: int, when: str) -> list[m.Room]:
        """The rooms that were in service at `when` (db time): a room added later is left
        out, a room retired later is in."""
        life: dict[str, tuple[str | None, str | None]] = {}  # number -> (last until, first after)
        for number, kind, ts in _exec(_SQL_ROOM_LIFE, (hotel_id,)):
            until, after = life.get(number, (None, None))
            if ts <= when:
                until = kind
            elif after is None:
                after = kind
            life[number] = (until, after)
        q = (
            m.Room.select(m.Room, m.RoomType)
            .join(m.RoomType)
            .where(m.Room.hotel == hotel_id)
            .order_by(m.Room.floor, m.Room.number)
        )
        rooms = []
        for room in q:
            until, after = life.get(room.number, (None, None))
            if until is not None:
                alive = until == "room_created"
            elif after is not None:
                alive = after == "room_retired"
            else:
                alive = room.retired_at is None
            if alive:
                rooms.append(room)
        return rooms

    def journal_range(
        self, hotel_id: int, since: datetime, until: datetime, limit: int, after_seq: int = 0
    ) -> dict[str, Any]:
        """Events committed in [since, until) with seq > after_seq, oldest first, at most
        `limit` (5000); `truncated` says there are more (ask again from the last seq)."""
        limit = max(1, min(limit, 5000))
        rows = _exec(
            _SQL_RANGE, (hotel_id, m.db_time(since), m.db_time(until), after_seq, limit + 1)
        ).fetchall()
        return {
            "since": to_iso(since),
            "until": to_iso(until),
            "events": [json.loads(f) for (f,) in rows[:limit]],
            "truncated": len(rows) > limit,
        }

    # --- the night roll-over ---------------------------------------------------------------

    def rollovers_due(self) -> list[tuple[int, date]]:
        """Hotels whose business day should move on now. A hotel that never rolled over
        starts at the current business day without rolling."""
        now = self.clock.now()
        found = []
        for h in m.Hotel.select():
            tz = ZoneInfo(h.timezone)
            if h.business_date is None:
                current = rollover.business_date(now, tz, h.rollover_hour)
                m.Hotel.update(business_date=current.isoformat()).where(
                    m.Hotel.id == h.id
                ).execute()
                continue
            day = rollover.due(date.fromisoformat(h.business_date), now, tz, h.rollover_hour)
            if day is not None:
                found.append((h.id, day))
        return found

    def rollover(self, hotel_id: int, day: date) -> Outcome:
        """Start business day `day`: occupied rooms that were serviced need service again.
        One transaction, one batch of events from the system."""
        with m.db.atomic():
            hotel = m.Hotel.get_by_id(hotel_id)
            previous = hotel.business_date
            if previous is not None and date.fromisoformat(previous) >= day:
                return Outcome(protocol.ack(None, {"business_date": previous}))
            journal = Journal(self.hotel(hotel_id), self.clock.now(), "system", None, None)
            finished_day = day_counts(hotel_id)
            changed = []
            for room in self._rooms(hotel_id):
                if room.is_occupied and room.room_status in rollover.SERVICED_STATUSES:
                    before = room_payload(room)
                    room.room_status = RoomStatus.OCCUPIED_DIRTY.value
                    self._commit_room(journal, room, before)
                    changed.append(room.number)
            journal.emit(
                "hotel",
                "hotel.rollover",
                {
                    "business_date": day.isoformat(),
                    "previous_business_date": previous,
                    "rooms_needing_service": changed,
                    "previous_day_counts": finished_day,
                },
                None,
            )
            journal.close()
            m.Hotel.update(business_date=day.isoformat(), day_counts="{}").where(
                m.Hotel.id == hotel_id
            ).execute()
        return Outcome(protocol.ack(None, {"business_date": day.isoformat()}), journal.events)

    def hotel_configure(self, staff: StaffInfo, cmd: protocol.HotelConfigure) -> Outcome:
        wanted = {
            name: getattr(cmd, name) for name in HOTEL_SETTINGS if getattr(cmd, name) is not None
        }
        if staff.role is not Role.MANAGER:
            raise ProtocolError(ErrorCode.FORBIDDEN, "The hotel's settings are for a manager.")

        def work(journal: Journal) -> dict[str, Any]:
            hotel = m.Hotel.get_by_id(staff.hotel_id)
            try:
                changed = apply_hotel_settings(hotel, wanted)
            except ValueError as exc:
                raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc)) from None
            self._hotels.pop(staff.hotel_id, None)
            settings = hotel_settings_dict(hotel)
            if changed:
                journal.emit(
                    "hotel",
                    "hotel.configured",
                    {"settings": settings, "changed_fields": changed},
                    None,
                )
            return {"settings": settings}

        return self.idempotent(staff, cmd, work)

    def hotel_ids(self) -> list[int]:
        return [h.id for h in m.Hotel.select(m.Hotel.id)]
