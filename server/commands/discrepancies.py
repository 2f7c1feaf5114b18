"""Discrepancies the server finds by itself, and their resolution."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server import db as m
from server.commands.entry import READ, WRITE, Entry, hotel_list
from server.core import ServiceCore
from server.journal import (
    Journal,
    Outcome,
    StaffInfo,
)
from server.payloads import (
    discrepancy_dict,
)
from shared import discrepancies, protocol
from shared.errors import ErrorCode, ProtocolError
from shared.rules import (
    RoomStatus,
)


class DiscrepancyCommands(ServiceCore):
    """Discrepancies the server finds by itself, and their resolution."""

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


COMMANDS = (
    Entry(protocol.DiscrepancyResolve, WRITE, DiscrepancyCommands.discrepancy_resolve),
    Entry(
        protocol.DiscrepanciesList,
        READ,
        hotel_list("discrepancies", DiscrepancyCommands.discrepancies_list),
    ),
)
