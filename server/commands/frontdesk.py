"""Reservations, check-in and check-out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server import db as m
from server.calendar import BLOCK_LIVE, MAX_STAY, _overlap
from server.commands.entry import READ, WRITE, Entry, hotel_list
from server.core import ServiceCore
from server.journal import (
    Journal,
    Outcome,
    StaffInfo,
)
from server.payloads import (
    reservation_dict,
    room_payload,
    room_view,
    status_entry,
)
from server.stream import StreamReads
from shared import occupancy, protocol
from shared.errors import ErrorCode, ProtocolError
from shared.rules import (
    LIVE_STATES,
    RESERVATION_ACTIONS,
    RESERVATION_ROLES,
    BlockKind,
    ReservationState,
    Role,
    RoomStatus,
    check_in_allowed,
    check_in_due,
    check_reservation_action,
)
from shared.timeutil import from_iso, to_iso


class FrontDeskCommands(ServiceCore):
    """Reservations, check-in and check-out."""

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

    def reservations_list(self, hotel_id: int) -> dict[str, Any]:
        """`reservations.list`: today's list, the hotel's date it is for, and the journal
        head it is consistent with."""
        now = self.clock.now()
        return {
            "reservations": self.reservations_around(hotel_id, now),
            "date": self.hotel_date(hotel_id, now),
            "seq": self.head_seq(hotel_id),
        }


def reservations_list(sv: FrontDeskCommands, staff: StaffInfo, cmd: protocol.Command) -> Any:
    return sv.reservations_list(staff.hotel_id)


COMMANDS = (
    Entry(protocol.ReservationCreate, WRITE, FrontDeskCommands.reservation_create),
    *(
        Entry(cls, WRITE, FrontDeskCommands.reservation_action)
        for cls in protocol.COMMANDS.values()
        if issubclass(cls, protocol.ReservationCommand)
    ),
    Entry(protocol.RoomCheckIn, WRITE, FrontDeskCommands.room_check_in),
    Entry(protocol.RoomCheckOut, WRITE, FrontDeskCommands.room_check_out),
    Entry(protocol.ReservationsList, READ, reservations_list),
    Entry(protocol.RoomsStatus, READ, hotel_list("rooms", StreamReads.status_list)),
)
