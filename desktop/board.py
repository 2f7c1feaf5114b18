"""The board: room cards in sections (per floor, per status, or one list by number).

Each section is a QListView in icon mode over a small list model of its group's rooms, in
the filter proxy's order (desktop/sections.py keeps them); all of them share one delegate.
Selection spans sections.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QAccessible, QResizeEvent
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
from desktop.sections import SectionModel, Sections
from desktop.theme import named
from shared.rules import RoomStatus

GAP = 6
Index = QModelIndex | QPersistentModelIndex


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
        # the board shows through between the cards (not by a style sheet of its own: that
        # costs every one of the board's sections a style of its own to make and to polish)
        self.viewport().setAutoFillBackground(False)
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

    def dataChanged(self, top: Index, bottom: Index, roles: Sequence[int] = ()) -> None:
        """Every card changed (a burst over the board, the connection went): repaint what is
        shown at once, where Qt would first measure every card's rectangle, each measure
        asking the Python model its row count a few times."""
        model = self.model()
        whole = model is not None and top.row() == 0 and bottom.row() == model.rowCount() - 1
        if whole and top != bottom and not QAccessible.isActive():
            self.viewport().update()
            return
        super().dataChanged(top, bottom, list(roles))


class Section(QWidget):
    def __init__(
        self,
        title: str,
        proxy: SectionModel,
        delegate: RoomCardDelegate,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.proxy = proxy  # the section's rooms
        self.header = named(QLabel(), "sectionHeader")
        self.view = RoomListView(delegate)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.header)
        lay.addWidget(self.view)
        for sig in (proxy.rowsInserted, proxy.rowsRemoved, proxy.modelReset, proxy.layoutChanged):
            sig.connect(self.refresh)
        self.refresh()
        # the rooms last, once the view has its place: laid out once, when first shown
        self.view.setModel(proxy)

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
        self.rows = Sections(proxy, self)  # which rooms each section shows
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
            sec.proxy.deleteLater()  # (no longer kept by self.rows)
        self.sections = []
        mode = self.proxy.sort_mode
        self._mode = mode
        self._floors = self.proxy.source().floors()
        groups: list[tuple[str, Any]] = []
        role: int | None = None
        if mode == SortMode.FLOOR:  # an attendant's own rooms first, then floor by floor
            role = int(Roles.Group)
            groups = [("My rooms", "mine")]
            groups += [(floor_title(f), f) for f in self._floors]
        elif mode == SortMode.STATUS:
            role = int(Roles.Status)
            groups = [(status_label(s), s.value) for s in RoomStatus]
        else:
            groups = [("All rooms by number", None)]
        models = self.rows.set_groups(role, [value for _, value in groups])
        for i, ((title, _), model) in enumerate(zip(groups, models, strict=True)):
            sec = Section(title, model, self.delegate, self.inner)
            sec.view.selectionModel().selectionChanged.connect(self._on_selection)
            sec.view.activated.connect(self._on_activated)
            sec.view.doubleClicked.connect(self._on_activated)
            self.lay.insertWidget(i, sec)
            self.sections.append(sec)
        self._update_empty()
        self._fit_cards(force=True, layout=False)
        if selected:
            self.select(selected)

    def _regroup(self) -> None:
        if self.proxy.source().floors() != self._floors:  # a floor came or went
            self.rebuild()
            return
        self.rows.regroup()  # (a room whose group changed has moved already: a check)
        self._update_empty()

    def _update_empty(self, *args: Any) -> None:
        self.empty.setVisible(self.proxy.rowCount() == 0 and self.proxy.source().rowCount() > 0)

    def set_scale(self, scale: float) -> None:
        self.delegate.scale = max(0.7, min(1.8, scale))
        self.delegate.width = None
        self._fit_cards(force=True)

    def _fit_cards(self, force: bool = False, layout: bool = True) -> None:
        """Cards as wide as fills the board's rows, laid out again at once (`layout`), or
        when each view next paints (new sections: the snapshot's scroll bar coming and the
        cards' new width then cost them one layout, not two)."""
        available = self.viewport().width() - 20 - 4
        if self.delegate.fit(available, GAP) or force:
            for sec in self.sections:
                sec.view.update_grid()
                if layout:
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
                for row, room in enumerate(sec.proxy.rooms):
                    if room["room_number"] in wanted:
                        idx = sec.proxy.index(row, 0)
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
            row = sec.proxy.row_of(number)
            if row is not None:
                return sec.view, sec.proxy.index(row, 0)
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
