"""The publish path: every committed event reaches the subscribers once, in journal order.

The contract:
- A write's events are appended to the journal in the write's own transaction
  (server/journal.py); nothing is published from inside a transaction. The store's one
  thread commits a group of writes (server/store.py) and only then hands that group's events,
  in seq order, to the event loop (`loop.call_soon_threadsafe`, which keeps their order) and
  so to `Hub.publish` (server/hub.py), which frames each once and sends it to every
  subscriber of its channels. A crash between the commit and the publication loses nothing:
  the events are in the journal and desks resume from it.
- Commits that another process made to the store (the command line, mostly) are found and
  published by this module, before the server's own later events:
  - A running server holds the store's file lock (`StoreLock`), which keeps a second server
    and `restore` away, but not the command line's setup commands (`add-room`,
    `import-rooms`, ...): they open the same SQLite file and write through the same service
    functions and `Journal` while the server runs. SQLite serialises the writers (each waits
    up to its busy timeout); every writer takes the next sequence numbers from
    `hotel.head_seq` inside its own write transaction, so the journal of a hotel stays one
    gap-free sequence whoever wrote it.
  - The server notices another connection's commits by `PRAGMA data_version`, which changes
    for a connection exactly when some other connection has committed. It looks at the start
    of each group of its own writes, inside that group's IMMEDIATE transaction (so nobody can
    commit in between), and on a short periodic tick (`Config.external_poll`, plus the clock
    round).
  - On PostgreSQL (several servers on one database, server/cluster.py) there is no
    `data_version`: a hotel whose `head_seq` is past what this server published is what
    tells, read under the write lock (server/db.py `write_lock`) at the start of each group,
    on the tick, and whenever another server's NOTIFY wakes this one.
  - When it has changed, it reads the journal rows past the last sequence number it
    published for each hotel and publishes them first, in journal order, before its own later
    events; each event is published once (the last published seq per hotel only grows, and
    only on the store thread). It also drops the cached hotels and room types, which those
    commits may have changed.
- Only the store thread calls these methods (like every database call of the server).
"""

from __future__ import annotations

import logging
from typing import Any

from server import db as m
from server.journal import StoredEvent, event_channels
from server.services import Services

log = logging.getLogger("roomrack.tail")

_SQL_AFTER = (
    "SELECT seq, category, type, room_number, frame FROM event"
    " WHERE hotel_id = ? AND seq > ? ORDER BY seq"
)


_SQL_HEADS = "SELECT id, slug, head_seq FROM hotel"


def _rows(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    cursor = m.execute(sql, params)
    return list(cursor.fetchall())


class JournalTail:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.published: dict[int, int] = {}  # hotel id -> the last seq handed out
        self._version: int | None = None

    def _data_version(self) -> int:
        return int(_rows("PRAGMA data_version", ())[0][0])

    def prime(self) -> None:
        """At start: everything in the journal so far counts as published."""
        if not m.is_postgres():
            self._version = self._data_version()
        for hotel_id, _, head in _rows(_SQL_HEADS, ()):
            self.published[int(hotel_id)] = int(head or 0)

    def _unchanged(self) -> list[tuple[Any, ...]] | None:
        """None if nobody else committed since the last look; else the hotels (id, slug,
        head). SQLite says so by `data_version`; on PostgreSQL, the hotels' heads tell (every
        commit others make that matters here journals an event, and so moves a head)."""
        if m.is_postgres():
            heads = _rows(_SQL_HEADS, ())
            moved = any(int(head or 0) > self.published.get(h, -1) for h, _, head in heads)
            return heads if moved else None
        version = self._data_version()
        if version == self._version:
            return None
        self._version = version
        return _rows(_SQL_HEADS, ())

    def take(self) -> list[StoredEvent]:
        """The events other processes committed since the last look, in journal order
        (none if nobody else committed). Call inside a transaction."""
        hotels = self._unchanged()
        if hotels is None:
            return []
        self.services.forget_cached()
        found: list[StoredEvent] = []
        for hotel_id, slug, _ in hotels:
            after = self.published.setdefault(hotel_id, 0)
            for seq, category, kind, room, frame in _rows(_SQL_AFTER, (hotel_id, after)):
                found.append(
                    StoredEvent(hotel_id, seq, event_channels(slug, category, kind, room), frame)
                )
        self.note(found)
        if found:
            log.info("%d event(s) committed by another process", len(found))
        return found

    def note(self, events: list[StoredEvent]) -> None:
        """These events are being handed out."""
        for ev in events:
            if ev.seq > self.published.get(ev.hotel_id, 0):
                self.published[ev.hotel_id] = ev.seq
