"""What every feature's service code stands on: the caches, room and reservation lookups,
version checks, the idempotent transaction, saving a room with its event, occupancy."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server import db as m
from server import wire
from server.journal import (
    _ROOM_WRITABLE,
    _SQL_REMEMBER,
    _SQL_ROOM,
    _SQL_SAVE_ROOM,
    _SQL_SEEN,
    Journal,
    Outcome,
    StaffInfo,
    _exec,
    _hash_token,
    _rows,
)
from server.payloads import (
    _clear_rush,
    reservation_dict,
    room_payload,
)
from shared import occupancy, protocol
from shared.clock import Clock
from shared.errors import ErrorCode, ProtocolError
from shared.roomsetup import changed_fields
from shared.rules import (
    ReservationState,
    Role,
    RoomStatus,
)
from shared.timeutil import from_iso, to_iso


def check_version(kind: str, current: int, expected: int | None) -> None:
    """Refuse with stale_version unless `expected` is None or the `kind`'s current version."""
    if expected is not None and expected != current:
        raise ProtocolError(
            ErrorCode.STALE_VERSION,
            f"This {kind} was changed by someone else (version {current}, you saw {expected}).",
            {"current_version": current, "of": kind},
        )


class ServiceCore:
    """The store's state shared by every feature. Call only from the store's one database thread."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._hotels: dict[int, m.Hotel] = {}
        self._room_types: dict[int, m.RoomType] = {}
        # encoded snapshots: (hotel id, kind, room) -> (seq, built at, frame); server/stream.py
        self._snapshots: dict[tuple[int, str, str | None], tuple[int, datetime, wire.Shared]] = {}

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
        self._snapshots.clear()

    def tz(self, hotel_id: int) -> ZoneInfo:
        return ZoneInfo(self.hotel(hotel_id).timezone)

    def _room(self, staff: StaffInfo, number: str) -> m.Room:
        room: m.Room | None = next(iter(m.Room.raw(m.sql(_SQL_ROOM), staff.hotel_id, number)), None)
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

    _check_version = staticmethod(check_version)

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

    def _room_by_id(self, room_id: int) -> m.Room:
        room: m.Room = m.Room.get_by_id(room_id)
        room.room_type = self.room_type(room.room_type_id)
        return room

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

    def hotel_date(self, hotel_id: int, now: datetime) -> str:
        """The hotel's calendar date at `now`, on its own clock (YYYY-MM-DD)."""
        return now.astimezone(self.tz(hotel_id)).date().isoformat()

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

    def room_exists(self, hotel_id: int, number: str) -> bool:
        return bool(
            m.Room.select().where((m.Room.hotel == hotel_id) & (m.Room.number == number)).exists()
        )
