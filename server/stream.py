"""The stream's reads: snapshots consistent with a seq, resume plans and replay pages, the
status lists, the business day, and pruning the journal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from server import db as m
from server import wire
from server.core import ServiceCore
from server.journal import (
    StoredEvent,
    _exec,
    _one,
    day_counts,
    event_channels,
)
from server.payloads import (
    room_payload,
    status_entry,
)
from shared import protocol, rollover
from shared.timeutil import to_iso

SNAPSHOT_REUSE = timedelta(seconds=1)  # how long a snapshot at an unchanged seq is reused
SNAPSHOT_CACHE = 512  # snapshots kept at most (of any hotel and channel)


class StreamReads(ServiceCore):
    """Reads of the stream, on the store thread."""

    def status_list(self, hotel_id: int) -> list[dict[str, Any]]:
        """The monitoring document's status of every room (HTTP endpoint, heartbeats)."""
        now = self.clock.now()
        rooms = self._rooms(hotel_id)
        occ = self.occupancy_of(rooms, now)
        return [status_entry(r, occ[r.id]) for r in rooms]

    def room_status_entry(self, hotel_id: int, number: str) -> dict[str, Any] | None:
        rooms = self._rooms(hotel_id, number)
        if not rooms:
            return None
        occ = self.occupancy_of(rooms, self.clock.now())
        return status_entry(rooms[0], occ[rooms[0].id])

    def snapshot_frames(
        self, hotel_id: int, wanted: list[tuple[str, str | None]]
    ) -> tuple[int, list[wire.Shared]]:
        """Snapshots of several channels, encoded, all consistent with one sequence number
        (one read transaction): (that seq, the frames).

        A channel's snapshot built at the same seq less than `SNAPSHOT_REUSE` ago is sent
        again as it was encoded and framed (its `timestamp` says when it was taken): when a thousand
        desks come back after a restart, the overview is built once, not a thousand times.
        Anything that changes a snapshot is a journal event, so a new seq builds it afresh;
        the age bound keeps what only the clock moves (occupancy's minutes) current."""
        with m.read_snapshot():
            seq = self.head_seq(hotel_id)
            now = self.clock.now()
            frames: list[wire.Shared] = []
            for kind, room_number in wanted:
                key = (hotel_id, kind, room_number)
                hit = self._snapshots.get(key)
                if hit is None or hit[0] != seq or not hit[1] <= now < hit[1] + SNAPSHOT_REUSE:
                    if len(self._snapshots) >= SNAPSHOT_CACHE:
                        self._snapshots.clear()
                    body = self._snapshot_of(hotel_id, kind, room_number, seq, now)
                    snap = wire.Shared(protocol.dumps(body).encode())
                    hit = self._snapshots[key] = (seq, now, snap)
                frames.append(hit[2])
            return seq, frames

    def _snapshot_of(
        self, hotel_id: int, kind: str, room_number: str | None, seq: int, now: datetime
    ) -> dict[str, Any]:
        """One channel's snapshot at `seq` (inside the caller's read transaction)."""
        slug = self.hotel(hotel_id).slug
        ts = to_iso(now)
        if kind == "reservations":
            return {
                "type": "reservations.status",
                "channel": protocol.reservations_channel(slug),
                "seq": seq,
                "timestamp": ts,
                "reservations": self.reservations_around(hotel_id, now),
                "date": self.hotel_date(hotel_id, now),
            }
        rooms = self._rooms(hotel_id, room_number)
        occ = self.occupancy_of(rooms, now)
        entries = [{**status_entry(r, occ[r.id]), **room_payload(r)} for r in rooms]
        if kind == "room":
            assert room_number is not None
            return {
                "type": "room.status",
                "channel": protocol.room_channel(slug, room_number),
                "seq": seq,
                "timestamp": ts,
                "status": entries[0] if entries else None,
            }
        return {
            "type": "rooms.status",
            "channel": protocol.overview_channel(slug),
            "seq": seq,
            "timestamp": ts,
            "rooms": entries,
            "day": self.business_day(hotel_id, now),
        }

    def business_day(self, hotel_id: int, now: datetime) -> dict[str, Any]:
        """The business day in progress and its counters (for the overview snapshot)."""
        hotel = m.Hotel.get_by_id(hotel_id)
        current = (
            hotel.business_date
            or rollover.business_date(now, self.tz(hotel_id), hotel.rollover_hour).isoformat()
        )
        return {"business_date": current, "counts": day_counts(hotel_id)}

    @staticmethod
    def _channel_filter(wanted: Sequence[tuple[str, str | None]]) -> tuple[str, list[Any]]:
        """SQL that picks the journal rows belonging to any of the channels."""
        parts, params = [], []
        kinds = {k for k, _ in wanted}
        if "overview" in kinds:
            parts.append("category != 'reservations'")
        if "reservations" in kinds:
            parts.append("category = 'reservations'")
        rooms = [r for k, r in wanted if k == "room" and r is not None]
        if rooms:
            parts.append(f"room_number IN ({', '.join('?' * len(rooms))})")
            params.extend(rooms)
        return "(" + (" OR ".join(parts) or "0") + ")", params

    def resume_plan(
        self, hotel_id: int, after_seq: int, limit: int, wanted: Sequence[tuple[str, str | None]]
    ) -> tuple[int, int] | str:
        """(head, how many events to replay), or why resuming after `after_seq` is not
        possible."""
        with m.read_snapshot():
            hotel = m.Hotel.get_by_id(hotel_id)
            head = int(hotel.head_seq)
            if after_seq > head:
                return "the server has no events that far (was its store restored?)"
            if after_seq < int(hotel.pruned_seq):
                return "the missed events are no longer all in the journal"
            where, params = self._channel_filter(wanted)
            count = _one(
                f"SELECT COUNT(*) FROM event WHERE hotel_id = ? AND seq > ? AND seq <= ?"
                f" AND {where}",
                (hotel_id, after_seq, head, *params),
            )
            if int(count) > limit:
                return f"more than {limit} events were missed; a fresh snapshot is quicker"
            return head, int(count)

    def replay_page(
        self,
        hotel_id: int,
        after_seq: int,
        upto: int,
        wanted: Sequence[tuple[str, str | None]],
        limit: int,
    ) -> list[StoredEvent] | None:
        """The next events of the channels in (after_seq, upto], oldest first; None if some
        were removed from the journal meanwhile."""
        with m.read_snapshot():
            hotel = m.Hotel.get_by_id(hotel_id)
            if after_seq < int(hotel.pruned_seq):
                return None
            where, params = self._channel_filter(wanted)
            rows = _exec(
                "SELECT seq, category, type, room_number, frame FROM event"
                f" WHERE hotel_id = ? AND seq > ? AND seq <= ? AND {where} ORDER BY seq LIMIT ?",
                (hotel_id, after_seq, upto, *params, limit),
            ).fetchall()
        slug = hotel.slug
        return [
            StoredEvent(hotel_id, seq, event_channels(slug, cat, kind, room), frame)
            for seq, cat, kind, room, frame in rows
        ]

    def missing_rooms(self, hotel_id: int, numbers: Sequence[str]) -> list[str]:
        found = {
            r.number
            for r in m.Room.select(m.Room.number).where(
                (m.Room.hotel == hotel_id)
                & (m.Room.number.in_(list(numbers)))
                & m.Room.retired_at.is_null()
            )
        }
        return [n for n in numbers if n not in found]

    def prune(self, retention: timedelta) -> int:
        """Drop journal entries and request ids older than the retention."""
        cutoff = self.clock.now() - retention
        removed = 0
        with m.write_lock():
            for h in m.Hotel.select():
                last = (
                    m.Event.select(pw.fn.MAX(m.Event.seq))
                    .where((m.Event.hotel == h.id) & (m.Event.ts < cutoff))
                    .scalar()
                )
                if last:
                    removed += (
                        m.Event.delete()
                        .where((m.Event.hotel == h.id) & (m.Event.seq <= last))
                        .execute()
                    )
                    m.Hotel.update(pruned_seq=last, pruned_until=cutoff).where(
                        m.Hotel.id == h.id
                    ).execute()
            m.AppliedRequest.delete().where(m.AppliedRequest.ts < cutoff).execute()
        return removed
