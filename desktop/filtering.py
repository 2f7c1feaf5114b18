"""The board's filter and sort: a proxy over the room model that keeps the rooms matching
the filter bar (status, floor, occupancy, repairs, room type, the search words) in the order of
the sort mode (by floor, by status, by number; an attendant's own rooms first in each), and
the keys it sorts by."""

from __future__ import annotations

import functools
import re
from enum import IntEnum
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel

from desktop.marks import assigned_to_me, attendant_name, mine_first
from desktop.room_facts import occupancy_of, status_label
from shared.rules import PRIORITY_RANK, Priority, RoomStatus

if TYPE_CHECKING:  # the model imports this module (and names its filter for its callers)
    from desktop.model import RoomModel

Index = QModelIndex | QPersistentModelIndex

STATUS_ORDER = {
    s: i
    for i, s in enumerate(
        [
            RoomStatus.CHECKOUT_DIRTY,
            RoomStatus.OCCUPIED_DIRTY,
            RoomStatus.CLEANING_IN_PROGRESS,
            RoomStatus.CLEANED_UNINSPECTED,
            RoomStatus.READY_FOR_GUEST,
            RoomStatus.MAINTENANCE_REQUIRED,
            RoomStatus.OUT_OF_ORDER,
        ]
    )
}


@functools.lru_cache(maxsize=65536)
def natural_key(number: str) -> tuple[tuple[int, int, str], ...]:
    """'101' < '102' < '1010' < 'M01': digits compare as numbers, every part is comparable."""
    return tuple(
        (0, int(p), "") if p.isdigit() else (1, 0, p.lower())
        for p in re.split(r"(\d+)", number)
        if p
    )


class SortMode(IntEnum):
    NUMBER = 0
    FLOOR = 1
    STATUS = 2


class RoomFilter(QSortFilterProxyModel):
    """Status, floor, occupancy, maintenance, room type and a search box; sort modes.
    Filters are re-applied by Qt as rows change (dynamic sort and filter), when a filter is
    set or the rows are sorted: else no change can move a row (see _watch_changes)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.status: str | None = None
        self.floor: int | None = None
        # free / occupied (incl. ending soon and overdue) / ending_soon / overdue
        self.occupancy: str | None = None
        self.maintenance: bool | None = None
        self.room_type: str | None = None
        self.sort_mode = SortMode.FLOOR
        self._keys: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}  # see _cached_key
        self._model: Any = None
        self.setDynamicSortFilter(True)
        self.sort(0)

    def source(self) -> RoomModel:
        return cast("RoomModel", self.sourceModel())

    def setSourceModel(self, model: Any) -> None:
        self._model = model  # read directly by the sort and filter (called thousands of times)
        super().setSourceModel(model)
        for signal in (model.groups_changed, model.modelReset, model.rowsInserted):
            signal.connect(self._choose_sorting)
        # now, while the model is (mostly) empty: the first snapshot is then not sorted by
        # comparing 2,000 rooms in Python only to be put back in the model's order after
        self._choose_sorting()

    def _choose_sorting(self, *args: Any) -> None:
        """Sort only where the model's own order (by floor and number) is not the board's:
        by floor with none of the viewer's own rooms to put first, the rows stay in the
        model's order and a change never sorts anything (no comparison at all)."""
        model = self._model
        in_order = self.sort_mode == SortMode.FLOOR and not any(
            assigned_to_me(r, model.staff_id) for r in model.rooms()
        )
        column = -1 if in_order else 0
        if self.sortColumn() != column:
            self._watch_changes(sorting=column >= 0)
            self.sort(column)
            self._watch_changes()

    def _watch_changes(self, sorting: bool | None = None) -> None:
        """Have Qt look at every changed row again (filter it, sort it) only when that can
        move it: with a filter set or the rows sorted. Otherwise every row stays, in the
        model's order, and a burst over the board would have 2,000 rows filtered for
        nothing. (Turned on, Qt puts the rows in order at once: before a sort, while they
        are still in the model's.)"""
        if sorting is None:
            sorting = self.sortColumn() >= 0
        watch = sorting or self.active()
        if self.dynamicSortFilter() != watch:
            self.setDynamicSortFilter(watch)

    def set_filters(self, **kwargs: Any) -> None:
        begin = getattr(self, "beginFilterChange", None)
        if begin is not None:
            begin()
        for key, value in kwargs.items():
            if not hasattr(self, key):
                raise AttributeError(key)
            if key == "text":
                value = (value or "").strip().lower()
            setattr(self, key, value)
        end = getattr(self, "endFilterChange", None)
        if end is not None:
            end()
        else:  # Qt before 6.9
            self.invalidateFilter()
        self._watch_changes()

    def set_sort_mode(self, mode: SortMode) -> None:
        self.sort_mode = SortMode(mode)
        self.invalidate()
        if self._model is not None:
            self._choose_sorting()
        else:
            self.sort(0)

    def shows_model_order(self) -> bool:
        """Whether the rows are the model's own, all of them in its order (no filter set,
        not sorted)."""
        return self.sortColumn() < 0 and not self.active()

    def active(self) -> bool:
        return bool(
            self.text
            or self.status
            or self.floor is not None
            or self.occupancy
            or self.maintenance is not None
            or self.room_type
        )

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        rooms = self._model.rooms()
        if not 0 <= source_row < len(rooms):
            return False
        return self.accepts(rooms[source_row])

    def accepts(self, r: dict[str, Any]) -> bool:
        if self.status is not None and r.get("room_status") != self.status:
            return False
        if self.floor is not None and int(r.get("floor") or 0) != self.floor:
            return False
        if self.room_type and r.get("room_type") != self.room_type:
            return False
        if self.maintenance is not None and bool(r.get("maintenance_required")) != self.maintenance:
            return False
        if self.occupancy:
            occ, _ = occupancy_of(r, self.source().now())
            if self.occupancy == "occupied":
                if occ == "free":
                    return False
            elif occ != self.occupancy:
                return False
        if self.text:
            hay = " ".join(
                str(x or "")
                for x in (
                    r.get("room_number"),
                    r.get("room_type"),
                    status_label(r.get("room_status")),
                    r.get("maintenance_notes"),
                    r.get("out_of_order_reason"),
                    r.get("section"),
                    r.get("building"),
                    attendant_name(r),
                    (r.get("block") or {}).get("reason")
                    if isinstance(r.get("block"), dict)
                    else "",
                    "rush" if r.get("rush") else "",
                )
            ).lower()
            if not all(word in hay for word in self.text.split()):
                return False
        return True

    def lessThan(self, left: Index, right: Index) -> bool:
        rooms = self._model.rooms()
        return self._cached_key(rooms[left.row()]) < self._cached_key(rooms[right.row()])

    def _cached_key(self, r: dict[str, Any]) -> tuple[Any, ...]:
        """`key`, computed again only when what it is made of changed: a burst of changes
        over the board re-sorts its rows without rebuilding 2,000 keys several times."""
        a = r.get("assigned_to")
        made_of = (
            r.get("room_status"),
            r.get("floor"),
            a.get("staff_id") if isinstance(a, dict) else None,
            self._model.staff_id,
            self.sort_mode,
        )
        hit = self._keys.get(r["room_number"])
        if hit is not None and hit[0] == made_of:
            return hit[1]
        key = self.key(r)
        self._keys[r["room_number"]] = (made_of, key)
        return key

    def key(self, r: dict[str, Any]) -> tuple[Any, ...]:
        """The sort key; an attendant's own rooms come first in every mode."""
        number = natural_key(r["room_number"])
        floor = int(r.get("floor") or 0)
        mine = mine_first(r, self.source().staff_id)
        if self.sort_mode == SortMode.STATUS:
            rank = STATUS_ORDER.get(RoomStatus(r["room_status"]), 99)
            return (rank, mine, floor, number)
        if self.sort_mode == SortMode.NUMBER:
            return (mine, number)
        return (mine, floor, number)


def block_reason(room: dict[str, Any]) -> str:
    block = room.get("block")
    return str(block.get("reason") or "") if isinstance(block, dict) else ""


def priority_rank(priority: Any) -> int:
    try:
        return PRIORITY_RANK[Priority(priority)]
    except ValueError:
        return -1
