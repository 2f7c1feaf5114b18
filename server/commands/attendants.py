"""Rush rooms for waiting arrivals, and rooms given to attendants."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server import db as m
from server.commands.entry import READ, WRITE, Entry, hotel_list
from server.core import ServiceCore
from server.journal import (
    Journal,
    Outcome,
    StaffInfo,
)
from server.payloads import (
    _clear_rush,
    room_payload,
    room_view,
)
from shared import assignment, protocol
from shared.errors import ErrorCode, ProtocolError
from shared.rules import (
    ASSIGN_ROLES,
    ATTENDANT_ROLES,
    check_rush,
    check_rush_cancel,
)


class AttendantCommands(ServiceCore):
    """Rush rooms for waiting arrivals, and rooms given to attendants."""

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


COMMANDS = (
    Entry(protocol.RoomRush, WRITE, AttendantCommands.room_rush),
    Entry(protocol.RoomRushCancel, WRITE, AttendantCommands.room_rush_cancel),
    Entry(protocol.RoomsAssign, WRITE, AttendantCommands.rooms_assign),
    Entry(protocol.RoomsAssignSplit, WRITE, AttendantCommands.rooms_assign_split),
    Entry(protocol.StaffList, READ, hotel_list("staff", AttendantCommands.staff_list)),
)
