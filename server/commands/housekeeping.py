"""Room actions: cleaning, inspection, maintenance, out of order, do-not-disturb, observations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from server import db as m
from server.commands.blocks import BlocksCommands
from server.commands.entry import WRITE, Entry
from server.journal import (
    Journal,
    Outcome,
    StaffInfo,
)
from server.payloads import (
    check_room_action_request,
    room_payload,
    room_view,
)
from shared import protocol
from shared.errors import ErrorCode, ProtocolError
from shared.rules import (
    HK as HK_ROLES,
)
from shared.rules import (
    BlockKind,
    check_room_action,
)


class HousekeepingCommands(BlocksCommands):
    """Room actions: cleaning, inspection, maintenance, out of order, do-not-disturb, and what
    housekeeping saw in a room."""

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


COMMANDS = (
    Entry(protocol.RoomAction, WRITE, HousekeepingCommands.room_action),
    Entry(protocol.RoomsBatch, WRITE, HousekeepingCommands.rooms_batch),
    Entry(protocol.RoomObserve, WRITE, HousekeepingCommands.room_observe),
)
