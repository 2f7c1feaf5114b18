"""The board: room cards in sections (per floor, per status, or one list by number).

Each section is a QListView in icon mode over a small proxy that keeps only its group's rows
of the filter proxy; all of them share one delegate. Selection spans sections.
"""

from __future__ import annotations

import math
from typing import Any, cast

from PySide6.QtCore import (
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QLabel,
    QListView,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.delegate import RoomCardDelegate
from desktop.filtering import RoomFilter, SortMode
from desktop.model import Roles
from desktop.room_facts import status_label
from desktop.theme import named
from shared.rules import RoomStatus

GAP = 6


class GroupProxy(QSortFilterProxyModel):
    """The rows of one section: those whose `role` equals `value` (None: all rows)."""

    def __init__(
        self, role: int | None, value: Any, dynamic: bool, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.role, self.value = role, value
        self.setDynamicSortFilter(dynamic)

    def regroup(self) -> None:
        """Check every row again (rooms moved between groups without the group's role being
        watched, e.g. an assignment moved a room into or out of "My rooms")."""
        begin = getattr(self, "beginFilterChange", None)
        if begin is not None:
            begin()
            self.endFilterChange()
        else:  # Qt before 6.9
            self.invalidateFilter()

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        if self.role is None:
            return True
        # from the filter's list (every section looks at every row: 20 floors x 2,000 rooms
        # are 40,000 looks when a snapshot comes)
        rooms = cast("RoomFilter", self.sourceModel())
        return bool(rooms.group_of(source_row, self.role) == self.value)


class RoomListView(QListView):
    """A list of cards that is exactly as tall as its rows (the board scrolls as a whole)."""

    def __init__(self, delegate: RoomCardDelegate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.card_delegate = delegate
        self.setItemDelegate(delegate)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSpacing(0)
        self.setMouseTracking(True)
        self.setStyleSheet("QListView { background: transparent; }")
        self.update_grid()

    def update_grid(self) -> None:
        card = self.card_delegate.card_size()
        self.setGridSize(QSize(card.width() + GAP, card.height() + GAP))
        self.fit_height()

    def fit_height(self) -> None:
        model = self.model()
        n = model.rowCount() if model is not None else 0
        grid = self.gridSize()
        width = max(grid.width(), self.viewport().width() or self.width())
        cols = max(1, width // max(1, grid.width()))
        rows = math.ceil(n / cols) if n else 0
        self.setFixedHeight(rows * grid.height() + 4)

    def setModel(self, model: Any) -> None:
        super().setModel(model)
        if model is not None:
            for sig in (
                model.rowsInserted,
                model.rowsRemoved,
                model.modelReset,
                model.layoutChanged,
            ):
                sig.connect(self.fit_height)

    def resizeEvent(self, e: QResizeEvent) -> None:
        super().resizeEvent(e)
        self.fit_height()


class Section(QWidget):
    def __init__(
        self,
        title: str,
        proxy: GroupProxy,
        delegate: RoomCardDelegate,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.proxy = proxy
        self.header = named(QLabel(), "sectionHeader")
        self.view = RoomListView(delegate)
        self.view.setModel(proxy)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.header)
        lay.addWidget(self.view)
        for sig in (proxy.rowsInserted, proxy.rowsRemoved, proxy.modelReset, proxy.layoutChanged):
            sig.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        n = self.proxy.rowCount()
        self.header.setText(f"{self.title}  ·  {n} room{'s' if n != 1 else ''}")
        self.setVisible(n > 0)


class Board(QScrollArea):
    """All sections in one scroll area. Emits the selected room numbers."""

    selection_changed = Signal(list)
    room_activated = Signal(str)

    def __init__(self, proxy: RoomFilter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.proxy = proxy
        self.delegate = RoomCardDelegate(self)
        self.sections: list[Section] = []
        self._mode: SortMode | None = None
        self._floors: list[int] = []
        self._syncing = False
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.inner = named(QWidget(), "central")
        self.lay = QVBoxLayout(self.inner)
        self.lay.setContentsMargins(10, 4, 10, 10)
        self.lay.setSpacing(4)
        self.empty = named(QLabel("No rooms match the filters."), "hint")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.lay.addWidget(self.empty)
        self.lay.addStretch(1)
        self.setWidget(self.inner)
        source = proxy.source()
        source.modelReset.connect(self._maybe_rebuild)
        source.groups_changed.connect(self._regroup)
        source.rowsInserted.connect(self._maybe_rebuild)
        proxy.rowsInserted.connect(self._update_empty)
        proxy.rowsRemoved.connect(self._update_empty)
        proxy.layoutChanged.connect(self._update_empty)
        proxy.modelReset.connect(self._update_empty)
        self.rebuild()

    # --- sections -------------------------------------------------------------------------

    def _maybe_rebuild(self, *args: Any) -> None:
        floors = self.proxy.source().floors()
        if floors != self._floors or self._mode != self.proxy.sort_mode:
            self.rebuild()
        self._update_empty()

    def rebuild(self) -> None:
        selected = self.selected_rooms()
        for sec in self.sections:
            self.lay.removeWidget(sec)
            sec.deleteLater()
            sec.proxy.deleteLater()
        self.sections = []
        mode = self.proxy.sort_mode
        self._mode = mode
        self._floors = self.proxy.source().floors()
        groups: list[tuple[str, int | None, Any]] = []
        if mode == SortMode.FLOOR:  # an attendant's own rooms first, then floor by floor
            groups = [("My rooms", int(Roles.Group), "mine")]
            groups += [(floor_title(f), int(Roles.Group), f) for f in self._floors]
        elif mode == SortMode.STATUS:
            groups = [(status_label(s), int(Roles.Status), s.value) for s in RoomStatus]
        else:
            groups = [("All rooms by number", None, None)]
        for i, (title, role, value) in enumerate(groups):
            # a room's status changes all the time, its floor never and its attendant rarely
            # (the model says when: groups_changed), so only status sections watch every change
            gp = GroupProxy(role, value, mode == SortMode.STATUS, self)
            gp.setSourceModel(self.proxy)
            sec = Section(title, gp, self.delegate, self.inner)
            sec.view.selectionModel().selectionChanged.connect(self._on_selection)
            sec.view.activated.connect(self._on_activated)
            sec.view.doubleClicked.connect(self._on_activated)
            self.lay.insertWidget(i, sec)
            self.sections.append(sec)
        self._update_empty()
        self._fit_cards(force=True)
        if selected:
            self.select(selected)

    def _regroup(self) -> None:
        if self.proxy.source().floors() != self._floors:  # a floor came or went
            self.rebuild()
            return
        if self.proxy.sort_mode == SortMode.FLOOR:
            for sec in self.sections:
                sec.proxy.regroup()
            self._update_empty()

    def _update_empty(self, *args: Any) -> None:
        self.empty.setVisible(self.proxy.rowCount() == 0 and self.proxy.source().rowCount() > 0)

    def set_scale(self, scale: float) -> None:
        self.delegate.scale = max(0.7, min(1.8, scale))
        self.delegate.width = None
        self._fit_cards(force=True)

    def _fit_cards(self, force: bool = False) -> None:
        available = self.viewport().width() - 20 - 4
        if self.delegate.fit(available, GAP) or force:
            for sec in self.sections:
                sec.view.update_grid()
                sec.view.doItemsLayout()

    def resizeEvent(self, e: QResizeEvent) -> None:
        super().resizeEvent(e)
        self._fit_cards()

    # --- selection ------------------------------------------------------------------------

    def _on_selection(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        if self._syncing:
            return
        sender_model = self.sender()
        mods = QApplication.keyboardModifiers()
        extend = bool(
            mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        )
        if not extend and not selected.isEmpty():
            self._syncing = True
            try:
                for sec in self.sections:
                    if sec.view.selectionModel() is not sender_model:
                        sec.view.clearSelection()
            finally:
                self._syncing = False
        self.selection_changed.emit(self.selected_rooms())

    def _on_activated(self, index: QModelIndex) -> None:
        self.room_activated.emit(str(index.data(Roles.Number)))

    def selected_rooms(self) -> list[str]:
        out: list[str] = []
        for sec in self.sections:
            for idx in sec.view.selectionModel().selectedIndexes():
                out.append(str(idx.data(Roles.Number)))
        return out

    def select(self, numbers: list[str]) -> None:
        """Select these rooms (those visible under the filters)."""
        wanted = set(numbers)
        self._syncing = True
        try:
            for sec in self.sections:
                sm = sec.view.selectionModel()
                sel = QItemSelection()
                for row in range(sec.proxy.rowCount()):
                    idx = sec.proxy.index(row, 0)
                    if idx.data(Roles.Number) in wanted:
                        sel.select(idx, idx)
                sm.select(sel, sm.SelectionFlag.ClearAndSelect)
        finally:
            self._syncing = False
        self.selection_changed.emit(self.selected_rooms())

    def clear_selection(self) -> None:
        self.select([])

    def select_all_visible(self) -> None:
        self.select(
            [self.proxy.index(r, 0).data(Roles.Number) for r in range(self.proxy.rowCount())]
        )

    def row_breaks(self) -> list[int]:
        """Y positions in the board's content between rows of cards (for printing)."""
        out: list[int] = []
        for sec in self.sections:
            if not sec.isVisible():
                continue
            top = sec.mapTo(self.inner, sec.rect().topLeft()).y()
            out.append(top)
            view_top = sec.view.mapTo(self.inner, sec.view.rect().topLeft()).y()
            grid = sec.view.gridSize().height()
            rows = max(0, (sec.view.height() - 4) // max(1, grid))
            out.extend(view_top + (k + 1) * grid for k in range(rows))
        return sorted(set(out))

    def view_of(self, number: str) -> tuple[RoomListView, QModelIndex] | None:
        for sec in self.sections:
            for row in range(sec.proxy.rowCount()):
                idx = sec.proxy.index(row, 0)
                if idx.data(Roles.Number) == number:
                    return sec.view, idx
        return None

    def ensure_visible(self, number: str) -> None:
        found = self.view_of(number)
        if found is None:
            return
        view, idx = found
        rect = view.visualRect(idx)
        pos = view.mapTo(self.inner, rect.center())
        self.ensureVisible(pos.x(), pos.y(), 50, rect.height())


def floor_title(floor: int) -> str:
    return "Ground floor & conference" if floor == 0 else f"Floor {floor}"
