"""A room's history, the board as it was at a past moment, the journal by time."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from server import db as m
from server.commands.entry import READ, Entry
from server.core import ServiceCore
from server.journal import (
    _SQL_FIRST_CHANGE_AFTER,
    _SQL_LAST_CHANGE_UNTIL,
    _SQL_RANGE,
    _SQL_ROOM_LIFE,
    _SQL_SEQ_AT,
    StaffInfo,
    _exec,
    _one,
    _rows,
)
from server.payloads import (
    room_payload,
)
from shared import protocol
from shared.errors import ErrorCode, ProtocolError
from shared.timeutil import from_iso, moment_text, to_iso


class HistoryReads(ServiceCore):
    """A room's history, the board as it was at a past moment, the journal by time."""

    def history(self, hotel_id: int, room_number: str, limit: int) -> list[dict[str, Any]]:
        rows = (
            m.Event.select(m.Event.frame)
            .where((m.Event.hotel == hotel_id) & (m.Event.room_number == room_number))
            .order_by(m.Event.seq.desc())
            .limit(max(1, min(limit, 500)))
        )
        return [json.loads(f) for (f,) in _rows(rows)]

    def board_at(self, hotel_id: int, at: datetime) -> dict[str, Any]:
        """Every room as it was at `at` (within the journal's retention): the last change of
        each room up to then, or else the state before its first change after then."""
        with m.read_snapshot():
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


def parse_time(name: str, text: str) -> datetime:
    """A time a client sent (ISO 8601, with its offset), or bad_request naming the field."""
    try:
        return from_iso(text)
    except ValueError:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"'{name}' must be an ISO 8601 time.") from None


def room_history(sv: HistoryReads, staff: StaffInfo, cmd: protocol.RoomHistory) -> Any:
    if not sv.room_exists(staff.hotel_id, cmd.room_number):
        raise ProtocolError(ErrorCode.UNKNOWN_ROOM, f"There is no room {cmd.room_number}.")
    events = sv.history(staff.hotel_id, cmd.room_number, cmd.limit)
    return {"room_number": cmd.room_number, "events": events}


def board_at(sv: HistoryReads, staff: StaffInfo, cmd: protocol.BoardAt) -> Any:
    return sv.board_at(staff.hotel_id, parse_time("at", cmd.at))


def journal_range(sv: HistoryReads, staff: StaffInfo, cmd: protocol.JournalRange) -> Any:
    since, until = parse_time("since", cmd.since), parse_time("until", cmd.until)
    if until <= since:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "'until' must be after 'since'.")
    return sv.journal_range(staff.hotel_id, since, until, cmd.limit, cmd.after_seq)


COMMANDS = (
    Entry(protocol.RoomHistory, READ, room_history),
    Entry(protocol.BoardAt, READ, board_at),
    Entry(protocol.JournalRange, READ, journal_range),
)
