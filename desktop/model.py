"""The rooms of the hotel as one Qt list model.

After the snapshot the model is never reset: every change is queued, bursts are coalesced by a
short timer, and each flush emits `dataChanged` for exactly the rows that changed. The board's
filter and sort over it are in desktop/filtering.py, what it reads off a room in
desktop/room_facts.py; both are named here too, for the callers that know them from here.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from desktop.cards import Card
from desktop.filtering import STATUS_ORDER as STATUS_ORDER
from desktop.filtering import RoomFilter as RoomFilter
from desktop.filtering import SortMode as SortMode
from desktop.filtering import block_reason as block_reason
from desktop.filtering import natural_key as natural_key
from desktop.filtering import priority_rank as priority_rank
from desktop.marks import assigned_to_me, attendant_name, block_mark
from desktop.occupancy_words import card_line
from desktop.roles import Roles as Roles
from desktop.room_facts import ENDING_SOON_MINUTES as ENDING_SOON_MINUTES
from desktop.room_facts import OCC_LABELS as OCC_LABELS
from desktop.room_facts import RunningStats
from desktop.room_facts import compute_stats as compute_stats
from desktop.room_facts import format_minutes as format_minutes
from desktop.room_facts import guests_of as guests_of
from desktop.room_facts import in_house_words as in_house_words
from desktop.room_facts import occupancy_of as occupancy_of
from desktop.room_facts import occupancy_text as occupancy_text
from desktop.room_facts import status_label as status_label
from desktop.theme import SHORT_LABELS
from shared.rules import RoomView

Index = QModelIndex | QPersistentModelIndex

OCCUPANCY_FIELDS = (
    "occupancy_status",
    "time_until_free",
    "free_at",
    "next_available",
    "next_available_at",
    "reservations_today",
    "current_attendees",
    "overdue_since",
    "overdue_minutes",
    "next_arrival_at",
)


class CardReader:
    """One room's roles, read without going through the proxies again for each: the card
    delegate asks for about twenty of them for every card it paints."""

    __slots__ = ("model", "room")

    def __init__(self, model: RoomModel, room: dict[str, Any]) -> None:
        self.model, self.room = model, room

    def __call__(self, role: int) -> Any:
        return self.model.value(self.room, role)

    def card(self) -> Card:
        return self.model.card(self.room)


def room_view(room: dict[str, Any]) -> RoomView:
    return RoomView.from_payload(room)


class RoomModel(QAbstractListModel):
    """One row per room; `room_number -> row` index; coalesced, row-exact updates."""

    stats_changed = Signal(object)
    rooms_changed = Signal(object)  # room numbers changed by the last flush
    # whose rooms are whose, a floor or a type changed, a room came or went: the board regroups
    groups_changed = Signal()

    def __init__(
        self,
        now: Callable[[], datetime],
        flush_ms: int = 30,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._now = now
        self.tz = ZoneInfo("UTC")  # the hotel's, for the times written on cards
        self.staff_id: int | None = None  # whose rooms come first
        self._rooms: list[dict[str, Any]] = []
        self._row: dict[str, int] = {}
        self._pending: dict[str, dict[str, Any]] = {}
        self._retiring: set[str] = set()  # rooms to take off at the next flush
        self._stale = False
        # the rooms carry occupancy (bookings today, time until free); a rewound board's
        # past room states do not, and must not show "0 bookings today" for them
        self.occupancy_known = True
        self.stats: dict[str, int] = {}
        self._stats = RunningStats()
        self.resets = 0
        self.flushes = 0
        self.rows_changed = 0
        self._recent: dict[str, int] = {}  # room number -> fade ticks left
        self._fade = QTimer(self)
        self._fade.setInterval(1000)
        self._fade.timeout.connect(self._fade_tick)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(flush_ms)
        self._timer.timeout.connect(self.flush)

    # --- Qt model API --------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rooms)

    def roleNames(self) -> dict[int, QByteArray]:
        names = dict(super().roleNames())
        for r in Roles:
            names[int(r)] = QByteArray((r.name[0].lower() + r.name[1:]).encode())
        return names

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rooms):
            return None
        room = self._rooms[index.row()]
        if role == Roles.Card:  # everything a card shows, read in one call through the proxies
            return CardReader(self, room)
        return self.value(room, role)

    def value(self, room: dict[str, Any], role: int) -> Any:
        """What `data` answers for `room` and `role`."""
        if role == Roles.Group:  # first: every board section asks it of every row
            return "mine" if assigned_to_me(room, self.staff_id) else int(room.get("floor") or 0)
        if role == Qt.ItemDataRole.DisplayRole or role == Roles.Number:
            return room["room_number"]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.describe(room)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self.describe(room)
        if role == Roles.Room:
            return room
        if role == Roles.Floor:
            return int(room.get("floor") or 0)
        # never hand an empty value to Python callers (see desktop/__init__.py): "" / -1
        if role == Roles.Status:
            return room.get("room_status") or ""
        if role == Roles.StatusLabel:
            return status_label(room.get("room_status"))
        if role == Roles.Occupancy:
            return occupancy_of(room, self._now())[0]
        if role == Roles.MinutesToFree:
            minutes = occupancy_of(room, self._now())[1]
            return -1 if minutes is None else minutes
        if role == Roles.NextAvailable:
            return room.get("next_available") or ""
        if role == Roles.ReservationsToday:
            return int(room.get("reservations_today") or 0)
        if role == Roles.Guests:
            return guests_of(room)
        if role == Roles.Maintenance:
            return bool(room.get("maintenance_required"))
        if role == Roles.Priority:
            if room.get("maintenance_required"):
                return room.get("maintenance_priority") or "MEDIUM"
            return ""
        if role == Roles.OutOfOrder:
            return bool(room.get("is_out_of_order"))
        if role == Roles.DoNotDisturb:
            return bool(room.get("do_not_disturb"))
        if role == Roles.RoomType:
            return room.get("room_type") or ""
        if role == Roles.Stale:
            return self._stale
        if role == Roles.Version:
            return int(room.get("version") or 0)
        if role == Roles.Notes:
            return room.get("maintenance_notes") or room.get("out_of_order_reason") or ""
        if role == Roles.Rush:
            return room.get("rush") is not None
        if role == Roles.Recent:
            return room["room_number"] in self._recent
        if role == Roles.Block:
            return block_mark(room, self.tz, self._now())
        if role == Roles.Mine:
            return assigned_to_me(room, self.staff_id)
        if role == Roles.Attendant:
            return attendant_name(room)
        if role == Roles.OccupancyKnown:
            return self.occupancy_known
        if role == Roles.OverdueLine:
            return card_line(room, self._now(), self.tz)
        if role == Roles.Group:
            return "mine" if assigned_to_me(room, self.staff_id) else int(room.get("floor") or 0)
        return None

    def card(self, room: dict[str, Any]) -> Card:
        """What the room's card shows: the roles `value` answers, read at once."""
        now = self._now()
        status = room.get("room_status") or ""
        known = self.occupancy_known
        if known:
            occ, minutes = occupancy_of(room, now)
        else:  # a past room state: only whether a guest was in house
            occ, minutes = ("occupied" if room.get("is_occupied") else "free"), None
        maintenance = bool(room.get("maintenance_required"))
        return Card(
            number=room["room_number"],
            status=status,
            label=SHORT_LABELS.get(status) or status_label(status),
            occ=occ,
            known=known,
            minutes=minutes if known else occupancy_of(room, now)[1],
            nxt=room.get("next_available") or "",
            today=int(room.get("reservations_today") or 0),
            guests=guests_of(room),
            maintenance=maintenance,
            priority=(room.get("maintenance_priority") or "MEDIUM") if maintenance else "",
            ooo=bool(room.get("is_out_of_order")),
            dnd=bool(room.get("do_not_disturb")),
            rtype=room.get("room_type") or "",
            stale=self._stale,
            rush=room.get("rush") is not None,
            recent=room["room_number"] in self._recent,
            block=block_mark(room, self.tz, now),
            overdue=card_line(room, now, self.tz) if known and occ == "overdue" else "",
            mine=assigned_to_me(room, self.staff_id),
            attendant=attendant_name(room),
        )

    # --- reading -------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._now()

    def room(self, number: str) -> dict[str, Any] | None:
        row = self._row.get(number)
        return None if row is None else self._rooms[row]

    def row_of(self, number: str) -> int | None:
        return self._row.get(number)

    def rooms(self) -> list[dict[str, Any]]:
        return self._rooms

    def floors(self) -> list[int]:
        return sorted({int(r.get("floor") or 0) for r in self._rooms})

    def room_types(self) -> list[str]:
        return sorted({str(r.get("room_type") or "") for r in self._rooms} - {""})

    def describe(self, room: dict[str, Any]) -> str:
        parts = [f"Room {room['room_number']} ({room.get('room_type') or 'room'})"]
        parts.append(status_label(room.get("room_status")))
        if self.occupancy_known:
            parts.append(occupancy_text(room, self._now(), self.tz))
        else:
            parts.append(in_house_words(bool(room.get("is_occupied"))))
        if guests_of(room):
            parts.append(f"{guests_of(room)} guest(s) in the room")
        if room.get("maintenance_required"):
            parts.append(
                f"Maintenance {room.get('maintenance_priority') or ''}: "
                f"{room.get('maintenance_notes') or 'no notes'}"
            )
        if room.get("is_out_of_order"):
            parts.append(f"Out of order: {room.get('out_of_order_reason') or ''}")
        if mark := block_mark(room, self.tz, self._now()):
            parts.append(mark.replace("OOO", "Out of order").replace("OOS", "Out of service"))
        if attendant := attendant_name(room):
            parts.append(f"Attendant: {attendant}")
        if room.get("do_not_disturb"):
            parts.append("Do not disturb")
        rush = room.get("rush")
        if isinstance(rush, dict):
            by = rush.get("requested_by")
            name = by.get("name") if isinstance(by, dict) else by
            parts.append(f"RUSH: wanted by {name or 'the front desk'}")
        return "\n".join(parts)

    def set_viewer(self, staff_id: int | None, tz: ZoneInfo) -> None:
        """Who is logged in (their rooms come first) and the hotel's time zone."""
        if staff_id == self.staff_id and tz == self.tz:
            return
        self.staff_id, self.tz = staff_id, tz
        if self._rooms:
            self.dataChanged.emit(self.index(0), self.index(len(self._rooms) - 1))
            self.groups_changed.emit()

    @property
    def stale(self) -> bool:
        return self._stale

    # --- writing -------------------------------------------------------------------------

    def set_rooms(self, rooms: Iterable[dict[str, Any]]) -> None:
        """A snapshot: the one time the model is reset."""
        self._timer.stop()
        self._pending.clear()
        self._retiring.clear()
        self._recent.clear()
        self.beginResetModel()
        self._rooms = [self._fresh(dict(r)) for r in rooms]
        self._rooms.sort(key=board_order)
        self._row = {r["room_number"]: i for i, r in enumerate(self._rooms)}
        self.endResetModel()
        self.resets += 1
        self._recount()

    @staticmethod
    def _fresh(room: dict[str, Any]) -> dict[str, Any]:
        return room

    def clear(self) -> None:
        self.set_rooms([])

    def set_stale(self, stale: bool) -> None:
        if stale == self._stale:
            return
        self._stale = stale
        if self._rooms:
            self.dataChanged.emit(
                self.index(0), self.index(len(self._rooms) - 1), [int(Roles.Stale)]
            )

    def queue(self, number: str, fields: dict[str, Any]) -> None:
        """Merge `fields` into room `number` at the next flush (bursts coalesce)."""
        slot = self._pending.get(number)
        if slot is None:
            self._pending[number] = dict(fields)
        else:
            slot.update(fields)
        if not self._timer.isActive():
            self._timer.start()

    def apply_event(self, msg: dict[str, Any]) -> str | None:
        """Queue what a server event changes on the board; returns the room number."""
        kind = msg.get("type")
        payload = msg.get("payload") or {}
        number = payload.get("room_number")
        if not isinstance(number, str):
            return None
        if kind == "room_updated":
            fields = dict(payload)  # (the whole room: copied at once, not key by key)
            fields["changed_fields"] = payload.get("changed_fields") or []
            self.queue(number, fields)
        elif kind == "room_created":  # a new card (or a retired room back)
            self._retiring.discard(number)
            fields = {k: v for k, v in payload.items() if k != "reinstated"}
            fields["changed_fields"] = []
            self.queue(number, fields)
        elif kind == "room_retired":  # the card leaves the board
            self._pending.pop(number, None)
            self._retiring.add(number)
            if not self._timer.isActive():
                self._timer.start()
        elif kind == "room.update":
            self.queue(number, occupancy_fields(payload))
        else:
            return None
        return number

    def apply_heartbeat(self, entries: Iterable[dict[str, Any]]) -> int:
        """Occupancy of every room from a heartbeat: queue only what differs."""
        n = 0
        for entry in entries:
            number = entry.get("room_number")
            room = self.room(number) if isinstance(number, str) else None
            if room is None:
                continue
            fields = occupancy_fields(entry)
            if any(room.get(k) != v for k, v in fields.items()):
                self.queue(str(number), fields)
                n += 1
        return n

    def tick(self) -> None:
        """Repaint the cards whose countdown runs (once a minute or so)."""
        rows = [i for i, r in enumerate(self._rooms) if r.get("free_at") or r.get("overdue_since")]
        for lo, hi in runs(rows):
            self.dataChanged.emit(
                self.index(lo),
                self.index(hi),
                [int(Roles.MinutesToFree), int(Roles.Occupancy), int(Roles.OverdueLine)],
            )
        if rows:
            self._recount()

    def flush(self) -> list[str]:
        """Apply every queued change: one dataChanged per run of adjacent changed rows."""
        self._timer.stop()
        if not self._pending and not self._retiring:
            return []
        removed = self._remove_retired()
        pending, self._pending = self._pending, {}
        changed_rows: list[int] = []
        new_rooms: list[dict[str, Any]] = []
        regroup = False
        changed: list[dict[str, Any]] = []  # (rows move when new rooms come in, rooms do not)
        for number, fields in pending.items():
            row = self._row.get(number)
            if row is None:
                if "room_status" in fields:
                    new_rooms.append({"room_number": number, **fields})
                continue
            room = self._rooms[row]
            # a room that moves to another section (its attendant, floor or type changed):
            # told by the values themselves, as every event carries the whole room
            regroup = regroup or any(k in fields and fields[k] != room.get(k) for k in GROUPING)
            room.update(fields)
            changed_rows.append(row)
            changed.append(room)
        changed_rows.sort()
        spans = runs(changed_rows)
        if len(spans) > MAX_RUNS:  # a burst all over the board: one signal for the span
            spans = [(changed_rows[0], changed_rows[-1])]
        for lo, hi in spans:
            self.dataChanged.emit(self.index(lo), self.index(hi))
        for room in new_rooms:  # each in its place by floor and number, as a snapshot has it
            row = bisect.bisect(self._rooms, board_order(room), key=board_order)
            self.beginInsertRows(QModelIndex(), row, row)
            self._rooms.insert(row, room)
            self._row = {r["room_number"]: i for i, r in enumerate(self._rooms)}
            self.endInsertRows()
        if regroup or removed or new_rooms:
            self.groups_changed.emit()
        if len(pending) <= 50:  # a few changes glow for a moment; a reload does not
            for number in pending:
                self._recent[number] = 3
            if not self._fade.isActive():
                self._fade.start()
        self.flushes += 1
        self.rows_changed += len(changed_rows) + len(new_rooms) + len(removed)
        self._recount_rooms(changed + new_rooms, removed)
        numbers = [*removed, *pending]
        self.rooms_changed.emit(numbers)
        return numbers

    def _remove_retired(self) -> list[str]:
        """Take the retired rooms off, one row at a time; the number -> row index follows."""
        retiring, self._retiring = self._retiring, set()
        removed = []
        for number in sorted(retiring, key=natural_key):
            row = self._row.get(number)
            if row is None:
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rooms[row]
            del self._row[number]
            for later in self._rooms[row:]:
                self._row[later["room_number"]] -= 1
            self.endRemoveRows()
            self._recent.pop(number, None)
            removed.append(number)
        return removed

    def _fade_tick(self) -> None:
        done = []
        for number in list(self._recent):
            self._recent[number] -= 1
            if self._recent[number] <= 0:
                del self._recent[number]
                done.append(number)
        rows = sorted(r for n in done if (r := self._row.get(n)) is not None)
        for lo, hi in runs(rows):
            self.dataChanged.emit(self.index(lo), self.index(hi), [int(Roles.Recent)])
        if not self._recent:
            self._fade.stop()

    def _recount(self) -> None:
        """Count the statistics afresh (a snapshot; the countdowns moved)."""
        self._stats.reset(self._rooms, self._now())
        self.stats = dict(self._stats.counts)
        self.stats_changed.emit(self.stats)

    def _recount_rooms(self, rooms: list[dict[str, Any]], removed: list[str]) -> None:
        """Move the statistics of the rooms that changed, came or went; the rest stand."""
        now = self._now()
        for number in removed:
            self._stats.remove(number)
        for room in rooms:
            self._stats.update(room, now)
        self.stats = dict(self._stats.counts)
        self.stats_changed.emit(self.stats)


GROUPING = ("assigned_to", "floor", "room_type")  # what puts a room in a board section


def board_order(room: dict[str, Any]) -> tuple[Any, ...]:
    """The model's own order of rooms: by floor, then by number."""
    return (int(room.get("floor") or 0), natural_key(room["room_number"]))


MAX_RUNS = 16  # more runs of changed rows than this in one flush: one dataChanged for all


def occupancy_fields(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry.get(k) for k in OCCUPANCY_FIELDS if k in entry}


def runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted rows as runs of adjacent rows: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        elif not out or r != out[-1][1]:
            out.append((r, r))
    return out
