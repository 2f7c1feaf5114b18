"""The row over the board: the search box, the filters (status, floor, occupancy, repairs,
room type), the sort and how many rooms are shown. It sets the board's filter (the proxy
model) itself; a new sort is said by `sort_changed`, for the board to lay out its sections
again. Also the guard that keeps the window's one-letter shortcuts out of typed text."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QWidget,
)

from desktop.board import floor_title
from desktop.filtering import RoomFilter, SortMode
from desktop.fitting import squeezable_combos
from desktop.model import RoomModel, status_label
from desktop.theme import named
from shared.rules import RoomStatus

# widgets that take typed letters: single-letter shortcuts leave them alone
INPUT_WIDGETS = (QLineEdit, QComboBox, QAbstractSpinBox, QTextEdit, QPlainTextEdit)


class TypingGuard(QObject):
    """Installed on the window's inputs: a letter typed there (with or without Shift) is
    theirs, so the window's single-letter shortcuts do not fire (a line edit does this by
    itself; a combo box, for one, does not)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            mods = event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier
            if not mods and event.text().strip():
                event.accept()  # the key goes to the input as an ordinary key press
                return True
        return False


def combo_value(combo: QComboBox) -> Any:
    """The filter value of a combo box: "" (all) is None; "yes"/"no" are True/False."""
    value = combo.currentData()
    if value in ("", None):
        return None
    return {"yes": True, "no": False}.get(value, value) if isinstance(value, str) else value


class FilterBar(QFrame):
    """Search, filters and sort of the board; `shown_label` says how many rooms show."""

    sort_changed = Signal()

    def __init__(self, rooms: RoomModel, proxy: RoomFilter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filters")
        self.rooms, self.proxy = rooms, proxy
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 5, 10, 5)
        lay.setSpacing(6)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search rooms, notes…  (Ctrl+F)")
        self.search.setToolTip(
            "Room number, type, status words, maintenance notes, section, attendant,"
            " block reason, “rush” (Ctrl+F)"
        )
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(180)
        self.search.textChanged.connect(lambda t: proxy.set_filters(text=t))
        lay.addWidget(self.search, 2)
        self.status_combo = QComboBox()
        self.status_combo.addItem("All statuses", "")
        for st in RoomStatus:
            self.status_combo.addItem(status_label(st), st.value)
        self.floor_combo = QComboBox()
        self.floor_combo.addItem("All floors", "")
        self.occ_combo = QComboBox()
        for text, value in (
            ("Any occupancy", ""),
            ("Free", "free"),
            ("Occupied", "occupied"),
            ("Ending soon", "ending_soon"),
            ("Overdue departure", "overdue"),
        ):
            self.occ_combo.addItem(text, value)
        self.maint_combo = QComboBox()
        for text, mvalue in (
            ("Repairs: any", ""),
            ("Repair reported", "yes"),  # the maintenance flag, as the tile of that name
            ("No repair reported", "no"),
        ):
            self.maint_combo.addItem(text, mvalue)
        self.type_combo = QComboBox()
        self.type_combo.addItem("All room types", "")
        self.sort_combo = QComboBox()
        for text, mode in (
            ("Group by floor", SortMode.FLOOR),
            ("Group by status", SortMode.STATUS),
            ("Sort by number", SortMode.NUMBER),
        ):
            self.sort_combo.addItem(text, int(mode))
        self.sort_combo.setToolTip("Sort the board by floor, status or room number")
        for combo, key in (
            (self.status_combo, "status"),
            (self.floor_combo, "floor"),
            (self.occ_combo, "occupancy"),
            (self.maint_combo, "maintenance"),
            (self.type_combo, "room_type"),
        ):
            combo.currentIndexChanged.connect(
                lambda _i, c=combo, k=key: proxy.set_filters(**{k: combo_value(c)})
            )
            lay.addWidget(combo, 1)
        self.sort_combo.currentIndexChanged.connect(self._on_sort)
        lay.addWidget(self.sort_combo, 1)
        clear = QPushButton("Clear filters")
        clear.setToolTip("Show every room again (Esc in the search box)")
        clear.clicked.connect(self.clear_filters)
        lay.addWidget(clear)
        self.shown_label = named(QLabel(""), "hint")
        lay.addWidget(self.shown_label)
        for sig in (
            proxy.rowsInserted,
            proxy.rowsRemoved,
            proxy.modelReset,
            proxy.layoutChanged,
        ):
            sig.connect(self.update_shown)
        squeezable_combos(self)  # the row fits a 1280 px window

    def apply_quick_filter(self, filt: dict[str, Any]) -> None:
        """Only the rooms of a statistics tile: {"status", "occupancy", "maintenance"}."""
        self.clear_filters()
        for combo, key in (
            (self.status_combo, "status"),
            (self.occ_combo, "occupancy"),
            (self.maint_combo, "maintenance"),
        ):
            if key in filt:
                combo.setCurrentIndex(max(0, combo.findData(filt[key])))

    def clear_filters(self) -> None:
        self.search.clear()
        for combo in (
            self.status_combo,
            self.floor_combo,
            self.occ_combo,
            self.maint_combo,
            self.type_combo,
        ):
            combo.setCurrentIndex(0)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _on_sort(self, _i: int) -> None:
        self.proxy.set_sort_mode(SortMode(self.sort_combo.currentData()))
        self.sort_changed.emit()

    def update_shown(self, *args: Any) -> None:
        shown, total = self.proxy.rowCount(), self.rooms.rowCount()
        self.shown_label.setText(
            f"{shown} of {total} shown" if shown != total else f"{total} rooms"
        )

    def refresh_choices(self) -> None:
        """The floors and room types of the rooms now (rooms came, went or moved)."""
        for combo, values, label in (
            (self.floor_combo, self.rooms.floors(), "All floors"),
            (self.type_combo, self.rooms.room_types(), "All room types"),
        ):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(label, "")
            for v in values:
                combo.addItem(floor_title(int(v)) if combo is self.floor_combo else str(v), v)
            combo.setCurrentIndex(max(0, combo.findData(current)) if current != "" else 0)
            combo.blockSignals(False)
