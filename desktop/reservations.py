"""Today's reservations: arrivals, departures and in-house guests, kept live by events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.fitting import fit_columns
from desktop.occupancy_words import late_words
from desktop.theme import OCCUPANCY_COLOURS
from shared import daybook
from shared.occupancy import local_day_bounds
from shared.rules import RoomView, check_reservation_action
from shared.timeutil import clock_text, day_label, from_iso

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Room", "Guest", "Pax", "Stay", "State")
STATE_LABELS = {
    "pending": "Pending",
    "confirmed": "Confirmed",
    "cancelled": "Cancelled",
    "checked_in": "In house",
    "checked_out": "Departed",
}
ResRole = Qt.ItemDataRole.UserRole + 1
ACTION_LABELS = {
    "check_in": "Check in",
    "confirm": "Confirm",
    "cancel": "Cancel",
    "check_out": "Check out",
}
CONFIRM = ("cancel", "check_out")  # hard to undo: ask first, as the board does


class ReservationModel(QAbstractTableModel):
    changed = Signal()

    def __init__(self, now: Callable[[], datetime], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._now = now
        self.tz = ZoneInfo("UTC")
        self._items: list[dict[str, Any]] = []
        self._row: dict[int, int] = {}
        self.kind = "arrivals"

    def set_timezone(self, name: str) -> None:
        try:
            self.tz = ZoneInfo(name)
        except Exception:
            self.tz = ZoneInfo("UTC")

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        r = self._items[index.row()]
        col = index.column()
        if role == ResRole:
            return r
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return r.get("room_number")
            if col == 1:
                return r.get("guest_name")
            if col == 2:
                return r.get("guests")
            if col == 3:
                return self.time_text(r)
            if col == 4:
                if self.is_overdue(r):
                    return "Overdue"
                return STATE_LABELS.get(r.get("state", ""), r.get("state"))
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = f"{r.get('guest_name')} · room {r.get('room_number')} · {self.time_text(r)}"
            if self.is_overdue(r):
                end = self.local(r.get("end"))
                assert end is not None
                late = late_words(int((self._now() - end).total_seconds() // 60))
                tip += (
                    f"\nOverdue: due out at {clock_text(end, self.tz, self._now())} "
                    f"({late}), still checked in"
                )
            return tip
        if role == Qt.ItemDataRole.ForegroundRole and r.get("state") == "cancelled":
            return QColor("#99A3A4")
        if role == Qt.ItemDataRole.ForegroundRole and col == 4 and self.is_overdue(r):
            return QColor(OCCUPANCY_COLOURS["overdue"])
        if role == Qt.ItemDataRole.FontRole and col == 4 and self.is_overdue(r):
            font = QFont()
            font.setBold(True)
            return font
        return None

    def is_overdue(self, r: dict[str, Any]) -> bool:
        """Checked in and past the departure time (the board's "overdue")."""
        end = self.local(r.get("end"))
        return r.get("state") == "checked_in" and end is not None and end <= self._now()

    def local(self, iso: str | None) -> datetime | None:
        if not iso:
            return None
        try:
            return from_iso(iso).astimezone(self.tz)
        except ValueError:
            return None

    def time_text(self, r: dict[str, Any]) -> str:
        start, end = self.local(r.get("start")), self.local(r.get("end"))
        day_start, day_end = self.today()
        parts = []
        if start is not None:
            parts.append(start.strftime("%H:%M" if day_start <= start < day_end else "%d/%m"))
        if end is not None:
            parts.append(end.strftime("%H:%M" if day_start <= end < day_end else "%d/%m"))
        return "–".join(parts)

    def today(self) -> tuple[datetime, datetime]:
        return local_day_bounds(self._now(), self.tz)

    # --- updates --------------------------------------------------------------------------

    def set_reservations(self, items: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self._items = [dict(r) for r in items if isinstance(r.get("id"), int)]
        self._row = {r["id"]: i for i, r in enumerate(self._items)}
        self.endResetModel()
        self.changed.emit()

    def apply_event(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        kind = str(msg.get("type", ""))
        if not kind.startswith("reservation."):
            return None
        res = (msg.get("payload") or {}).get("reservation")
        if not isinstance(res, dict) or not isinstance(res.get("id"), int):
            return None
        rid = res["id"]
        row = self._row.get(rid)
        if kind == "reservation.deleted":
            if row is not None:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._items[row]
                self.endRemoveRows()
                self._row = {r["id"]: i for i, r in enumerate(self._items)}
        elif row is None:
            n = len(self._items)
            self.beginInsertRows(QModelIndex(), n, n)
            self._items.append(dict(res))
            self._row[rid] = n
            self.endInsertRows()
        else:
            self._items[row] = dict(res)
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        self.changed.emit()
        return res

    # --- questions the controls ask -----------------------------------------------------------

    def items(self) -> list[dict[str, Any]]:
        return self._items

    def is_arrival(self, r: dict[str, Any]) -> bool:
        _, day_end = self.today()
        start, end = self.local(r.get("start")), self.local(r.get("end"))
        return (
            r.get("state") in ("pending", "confirmed")
            and start is not None
            and end is not None
            and start < day_end
            and end > self._now()
        )

    def is_departure(self, r: dict[str, Any]) -> bool:
        day_start, day_end = self.today()
        end = self.local(r.get("end"))
        return (
            r.get("state") in ("checked_in", "checked_out")
            and end is not None
            and day_start <= end < day_end
        )

    def has_arrival(self, room_number: str) -> bool:
        return any(r.get("room_number") == room_number and self.is_arrival(r) for r in self._items)

    def has_guest(self, room_number: str) -> bool:
        return any(
            r.get("room_number") == room_number and r.get("state") == "checked_in"
            for r in self._items
        )

    def counts(self) -> dict[str, int]:
        return {
            "arrivals": sum(1 for r in self._items if self.is_arrival(r)),
            "departures": sum(1 for r in self._items if self.is_departure(r)),
            "in_house": sum(1 for r in self._items if r.get("state") == "checked_in"),
        }


class TodayFilter(QSortFilterProxyModel):
    def __init__(self, kind: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setDynamicSortFilter(True)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, ReservationModel)
        items = model.items()
        if not 0 <= source_row < len(items):
            return False
        r = items[source_row]
        if self.kind == "arrivals":
            return model.is_arrival(r)
        if self.kind == "departures":
            return model.is_departure(r)
        return r.get("state") == "checked_in"


class ReservationsPanel(QWidget):
    """Three tabs over one model; the front desk can act on the selected reservation."""

    reservation_action = Signal(str, dict)  # action, reservation

    def __init__(self, model: ReservationModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.role = ""
        # the room of a reservation as the board has it (for the rules of check-in)
        self.room_of: Callable[[str], dict[str, Any] | None] = lambda number: None
        self.tabs = QTabWidget()
        self.views: dict[str, QTableView] = {}
        self.proxies: dict[str, TodayFilter] = {}
        for kind, title in (
            ("arrivals", "Arrivals"),
            ("departures", "Departures"),
            ("in_house", "In house"),
        ):
            proxy = TodayFilter(kind, self)
            proxy.setSourceModel(model)
            view = QTableView()
            view.setModel(proxy)
            view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
            view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
            view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            view.verticalHeader().hide()
            view.verticalHeader().setDefaultSectionSize(24)
            view.setWordWrap(False)
            view.setTextElideMode(Qt.TextElideMode.ElideRight)
            view.setAlternatingRowColors(True)
            view.setSortingEnabled(True)
            view.sortByColumn(3, Qt.SortOrder.AscendingOrder)
            hh = view.horizontalHeader()
            hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
            fit_columns(view, stretch=1)  # the other columns just fit: the name gets the rest
            view.selectionModel().selectionChanged.connect(self._update_buttons)
            self.views[kind] = view
            self.proxies[kind] = proxy
            self.tabs.addTab(view, title)
        self.tabs.currentChanged.connect(self._update_buttons)
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for action, label in ACTION_LABELS.items():
            b = QPushButton(label)
            b.clicked.connect(lambda _=False, a=action: self.run(a))
            self.buttons[action] = b
            row.addWidget(b)
        # the business day's work so far (since the night roll-over), kept live
        self.day_label = QLabel()
        self.day_label.setObjectName("dayCounts")
        self.day_label.setWordWrap(True)
        self.day_label.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.day_label)
        lay.addWidget(self.tabs, 1)
        lay.addLayout(row)
        model.changed.connect(self._refresh_titles)
        model.modelReset.connect(self._refresh_titles)
        self._refresh_titles()
        self._update_buttons()

    def set_role(self, role: str) -> None:
        self.role = role
        self._update_buttons()

    def set_day(self, business_date: str | None, counts: Mapping[str, int]) -> None:
        """Show the business day's counters ("Business day Tue 1 Dec: 12 cleaned · …")."""
        if not business_date:
            self.day_label.hide()
            return
        try:
            day = day_label(date.fromisoformat(business_date))
        except ValueError:
            day = business_date
        self.day_label.setText(f"<b>Business day {day}:</b> {daybook.summary(counts)}")
        self.day_label.setToolTip(
            "Since the night roll-over:\n"
            + "\n".join(
                f"{counts.get(name, 0)} {daybook.LABELS[name]}" for name in daybook.COUNTERS
            )
        )
        self.day_label.show()

    def selected(self) -> dict[str, Any] | None:
        kind = ("arrivals", "departures", "in_house")[max(0, self.tabs.currentIndex())]
        view = self.views[kind]
        rows = view.selectionModel().selectedRows()
        if not rows:
            return None
        r = rows[0].data(ResRole)
        return r if isinstance(r, dict) else None

    def run(self, action: str, confirmed: bool = False) -> bool:
        """Act on the selected reservation if the rules allow it, asking first for what is
        hard to undo. Tests pass `confirmed` to skip the question."""
        self._update_buttons()
        r = self.selected()
        if r is None or not self.buttons[action].isEnabled():
            return False
        if action in CONFIRM and not confirmed:
            label = ACTION_LABELS[action]
            answer = QMessageBox.question(
                self,
                label,
                f"{label} for {r.get('guest_name')}, room {r.get('room_number')}? "
                "This is not easily undone.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self.reservation_action.emit(action, r)
        return True

    def refresh(self) -> None:
        """Enable the buttons again (a room changed, so check-in may have become possible)."""
        self._update_buttons()

    def _update_buttons(self, *args: Any) -> None:
        r = self.selected()
        for action, b in self.buttons.items():
            b.setVisible(self.role in ("front_desk", "manager"))
            if r is None:
                b.setEnabled(False)
                b.setToolTip("Select a reservation first.")
                continue
            room = self.room_of(str(r.get("room_number") or "")) if action == "check_in" else None
            view = RoomView.from_payload(room) if room is not None else None
            d = check_reservation_action(action, self.role, r.get("state", "pending"), view)
            b.setEnabled(bool(d))
            tip = ACTION_LABELS[action] + (" (asks first)" if action in CONFIRM else "")
            b.setToolTip(tip if d else f"{tip}: not possible now. {d.reason}")

    def _refresh_titles(self) -> None:
        c = self.model.counts()
        self.tabs.setTabText(0, f"Arrivals ({c['arrivals']})")
        self.tabs.setTabText(1, f"Departures ({c['departures']})")
        self.tabs.setTabText(2, f"In house ({c['in_house']})")
        self._update_buttons()
