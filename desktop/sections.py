"""The board's sections as lists of rooms: which rooms each section shows, in the board
filter's order, kept from the filter's own signals.

Every section used to be a proxy of its own over the filter, and each looked at every row
(20 floors x 2,000 rooms when a snapshot came). Here one pass over the filter's rows puts
every room in its section (a snapshot, a new sort or filter order); after that a change moves
or repaints only the rooms it touched. Each section is a small list model over its rooms
(SectionModel); the cards read their roles from the room model, as before.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from desktop.model import CardReader, Roles, runs

if TYPE_CHECKING:
    from desktop.filtering import RoomFilter
    from desktop.model import RoomModel

Index = QModelIndex | QPersistentModelIndex
Room = dict[str, Any]


class SectionModel(QAbstractListModel):
    """The rooms of one section, in the board's order; answers as the room model does."""

    def __init__(self, source: RoomModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.rooms: list[Room] = []
        self._rows: dict[str, int] | None = None  # room number -> row, made when asked

    # --- Qt model API --------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rooms)

    def roleNames(self) -> dict[int, QByteArray]:
        return self.source.roleNames()

    def flags(self, index: Index) -> Qt.ItemFlag:
        return self.source.flags(index)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rooms):
            return None
        room = self.rooms[index.row()]
        if role == Roles.Card:
            return CardReader(self.source, room)
        return self.source.value(room, role)

    # --- reading -------------------------------------------------------------------------

    def numbers(self) -> list[str]:
        return [r["room_number"] for r in self.rooms]

    def row_of(self, number: str) -> int | None:
        if self._rows is None:
            self._rows = {r["room_number"]: i for i, r in enumerate(self.rooms)}
        return self._rows.get(number)

    # --- changes (made by Sections) ------------------------------------------------------

    def reset_to(self, rooms: list[Room]) -> None:
        self.beginResetModel()
        self.rooms, self._rows = rooms, None
        self.endResetModel()

    def remove_rows(self, rows: Sequence[int]) -> None:
        """Take these rows off, a run of adjacent rows at a time, from the bottom up."""
        for lo, hi in reversed(runs(sorted(rows))):
            self.beginRemoveRows(QModelIndex(), lo, hi)
            del self.rooms[lo : hi + 1]
            self._rows = None
            self.endRemoveRows()

    def insert(self, row: int, rooms: list[Room]) -> None:
        self.beginInsertRows(QModelIndex(), row, row + len(rooms) - 1)
        self.rooms[row:row] = rooms
        self._rows = None
        self.endInsertRows()

    def changed(self, rows: Sequence[int], roles: Sequence[int] = ()) -> None:
        """These rows show something new (one signal per run of adjacent rows)."""
        for lo, hi in runs(sorted(rows)):
            self.dataChanged.emit(self.index(lo), self.index(hi), list(roles))

    def changed_all(self, roles: Sequence[int] = ()) -> None:
        if self.rooms:
            self.dataChanged.emit(self.index(0), self.index(len(self.rooms) - 1), list(roles))

    def sync(self, new: list[Room]) -> None:
        """Show `new` (the same rooms in the same order, or not): the rooms that went are
        removed, those that stayed moved if their order changed, those that came inserted,
        so the selection and the rest of the section stay."""
        old_numbers = self.numbers()
        new_numbers = [r["room_number"] for r in new]
        if old_numbers == new_numbers:
            self.rooms = new  # (the same rooms, perhaps new dicts of them)
            return
        if not old_numbers or not new_numbers:
            self.reset_to(new)
            return
        new_set, old_set = set(new_numbers), set(old_numbers)
        self.remove_rows([i for i, n in enumerate(old_numbers) if n not in new_set])
        kept = [r for r in new if r["room_number"] in old_set]
        if self.numbers() != [r["room_number"] for r in kept]:
            self._reorder(kept)
        else:
            self.rooms = kept
        i = 0
        while i < len(new):  # each run of new rooms at its place
            if new_numbers[i] in old_set:
                i += 1
                continue
            j = i
            while j < len(new) and new_numbers[j] not in old_set:
                j += 1
            self.insert(i, new[i:j])
            i = j

    def _reorder(self, rooms: list[Room]) -> None:
        """The same rooms in another order (the selection follows its rooms)."""
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        numbers = [self.rooms[p.row()]["room_number"] for p in before]
        self.rooms, self._rows = rooms, None
        rows = [self.row_of(n) for n in numbers]
        after = [QModelIndex() if row is None else self.index(row) for row in rows]
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()


class Sections(QObject):
    """Which rooms each section of the board shows: the filter's rows whose `role` has the
    section's value (role None: one section of every row), in the filter's order."""

    def __init__(self, rooms: RoomFilter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.filter = rooms
        self.source = rooms.source()
        self.role: int | None = None
        self.models: list[SectionModel] = []
        self._section: dict[Any, int] = {}  # a group's value -> its section
        self.shown: list[Room] = []  # the filter's rows, in order
        self._where: dict[str, int | None] = {}  # room number -> its section (None: none)
        rooms.modelReset.connect(self._on_reset)
        rooms.layoutChanged.connect(self._on_layout)
        rooms.rowsInserted.connect(self._on_inserted)
        rooms.rowsRemoved.connect(self._on_removed)
        rooms.dataChanged.connect(self._on_data)
        self._read()

    def set_groups(self, role: int | None, values: list[Any]) -> list[SectionModel]:
        """New sections, one per value of `role` (the board's new sort or floors)."""
        self.role = role
        self._section = {v: i for i, v in enumerate(values)}
        self.models = [SectionModel(self.source, self) for _ in values]
        for model, rooms in zip(self.models, self._split(), strict=True):
            model.rooms = rooms
        return self.models

    def regroup(self) -> None:
        """Put every room in its section again (from the filter's rows as they are)."""
        for model, rooms in zip(self.models, self._split(), strict=True):
            model.sync(rooms)

    # --- the whole list -------------------------------------------------------------------

    def _read(self) -> None:
        f = self.filter
        rooms, index, to_source = self.source.rooms(), f.index, f.mapToSource
        if f.shows_model_order():  # every room, in the model's order: no need to ask Qt
            self.shown = list(rooms)
            return
        self.shown = [rooms[to_source(index(r, 0)).row()] for r in range(f.rowCount())]

    def _group(self, room: Room) -> int | None:
        if self.role is None:
            return 0 if self.models else None
        return self._section.get(self.source.value(room, self.role))

    def _split(self) -> list[list[Room]]:
        lists: list[list[Room]] = [[] for _ in self.models]
        where: dict[str, int | None] = {}
        for room in self.shown:
            k = where[room["room_number"]] = self._group(room)
            if k is not None:
                lists[k].append(room)
        self._where = where
        return lists

    def _on_reset(self) -> None:
        self._read()
        for model, rooms in zip(self.models, self._split(), strict=True):
            model.reset_to(rooms)

    def _on_layout(self, *args: Any) -> None:
        self._read()
        self.regroup()

    # --- a few rows -----------------------------------------------------------------------

    def _on_removed(self, parent: Index, first: int, last: int) -> None:
        gone = self.shown[first : last + 1]
        del self.shown[first : last + 1]
        rows: dict[int, list[int]] = {}
        for room in gone:
            k = self._where.pop(room["room_number"], None)
            row = None if k is None else self.models[k].row_of(room["room_number"])
            if k is not None and row is not None:
                rows.setdefault(k, []).append(row)
        for k, section_rows in rows.items():
            self.models[k].remove_rows(section_rows)

    def _on_inserted(self, parent: Index, first: int, last: int) -> None:
        f = self.filter
        rooms, index, to_source = self.source.rooms(), f.index, f.mapToSource
        new = [rooms[to_source(index(r, 0)).row()] for r in range(first, last + 1)]
        self.shown[first:first] = new
        self._place(new)

    def _on_data(self, top: Index, bottom: Index, roles: Sequence[int] = ()) -> None:
        # a change of what a room is grouped by moves it; any other repaints it in place
        # (by floor, a room changes section only when the model says groups_changed, and
        # the board regroups then: not looked at here, for every room of every burst)
        check = self.role not in (None, Roles.Group) and (not roles or self.role in roles)
        where, models = self._where, self.models
        whole = top.row() == 0 and bottom.row() == len(self.shown) - 1
        if whole and not check:  # every row: every section, whole
            for model in models:
                model.changed_all(roles)
            return
        changed: dict[int, list[int]] = {}
        moved: list[Room] = []
        for room in self.shown[top.row() : bottom.row() + 1]:
            number = room["room_number"]
            k = where.get(number)
            if check and self._group(room) != k:
                moved.append(room)
            elif k is not None and not whole:
                row = models[k].row_of(number)
                if row is not None:
                    changed.setdefault(k, []).append(row)
        if moved:
            self._move(moved)
        if whole:  # every row: every section, whole
            for model in models:
                model.changed_all(roles)
            return
        for k, rows in changed.items():
            models[k].changed(rows, roles)

    def _move(self, rooms: list[Room]) -> None:
        """These rooms belong to another section now."""
        out: dict[int, list[int]] = {}
        for room in rooms:
            k = self._where.pop(room["room_number"], None)
            row = None if k is None else self.models[k].row_of(room["room_number"])
            if k is not None and row is not None:
                out.setdefault(k, []).append(row)
        for k, rows in out.items():
            self.models[k].remove_rows(rows)
        self._place(rooms)

    def _place(self, rooms: list[Room]) -> None:
        """Put these rooms of the filter's rows in their sections, each at its place."""
        rank: dict[str, int] | None = None
        for room in rooms:
            number = room["room_number"]
            k = self._where[number] = self._group(room)
            if k is None:
                continue
            if rank is None:
                rank = {r["room_number"]: i for i, r in enumerate(self.shown)}
            model, at = self.models[k], rank
            row = bisect.bisect(model.rooms, at[number], key=lambda r: at[r["room_number"]])
            model.insert(row, [room])
