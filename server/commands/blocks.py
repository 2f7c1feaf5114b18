"""Dated out-of-order and out-of-service blocks, and their start and end on the clock."""

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
    block_dict,
    room_payload,
)
from shared import protocol
from shared.errors import ErrorCode, ProtocolError
from shared.rules import (
    BLOCK_ROLES,
    RETURN_STATUSES,
    BlockKind,
    RoomStatus,
    check_block,
    check_block_request,
)
from shared.timeutil import from_iso


class BlocksCommands(ServiceCore):
    """Dated out-of-order and out-of-service blocks, and their start and end on the clock."""

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


COMMANDS = (
    Entry(protocol.BlockCreate, WRITE, BlocksCommands.block_create),
    Entry(protocol.BlockEnd, WRITE, BlocksCommands.block_end),
    Entry(protocol.BlocksList, READ, hotel_list("blocks", BlocksCommands.blocks_list)),
)
