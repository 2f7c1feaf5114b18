"""The journal: the per-hotel sequence of events, appended in the caller's transaction.

A write updates its rows and appends its events here in the same transaction, so a rollback
emits nothing and a commit can never lose its events; `Outcome` carries them to the
publisher (server/publish.py), which fans them out after the commit."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from server import db as m
from shared import daybook, protocol
from shared.rules import (
    Role,
)
from shared.timeutil import to_iso

T = TypeVar("T")


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


# PostgreSQL: the hotel's row stays locked until this transaction ends, so two writers of one
# hotel (on two servers, or a server and the command line) never take the same numbers
_SQL_HEAD_LOCKED = "SELECT head_seq FROM hotel WHERE id = ? FOR UPDATE"


# PostgreSQL: wakes the other servers on this database when (and only if) this commits
_SQL_NOTIFY = "SELECT pg_notify('roomrack_journal', ?)"


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


def _exec(sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
    cursor: sqlite3.Cursor = m.execute(sql, params)  # on PostgreSQL, psycopg's (alike)
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
        self._seq = int(_one(_SQL_HEAD_LOCKED if m.is_postgres() else _SQL_HEAD, (hotel.id,)) or 0)
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
            if m.is_postgres():
                _exec(_SQL_NOTIFY, (f"{self.hotel.id}:{self._seq}",))
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
