"""The hotel's settings and its night roll-over."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from server import db as m
from server.commands.entry import WRITE, Entry
from server.core import ServiceCore
from server.journal import (
    Journal,
    Outcome,
    StaffInfo,
    day_counts,
)
from server.payloads import (
    HOTEL_SETTINGS,
    apply_hotel_settings,
    hotel_settings_dict,
    room_payload,
)
from shared import protocol, rollover
from shared.errors import ErrorCode, ProtocolError
from shared.rules import (
    Role,
    RoomStatus,
)


class HotelCommands(ServiceCore):
    """The hotel's settings and its night roll-over."""

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


COMMANDS = (Entry(protocol.HotelConfigure, WRITE, HotelCommands.hotel_configure),)
