"""Small helpers shared by the Operations tabs: times in the hotel's zone, role names,
tables, and running a request without blocking the window."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import shiboken6
from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateTimeEdit,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from desktop.theme import ROLE_NAMES
from shared.timeutil import duration_words, from_iso

KIND_NAMES = {"out_of_order": "Out of order", "out_of_service": "Out of service"}

# who may do what (the server's tables in docs/protocol.md; the server has the last word)
RUSH_ROLES = {"front_desk", "manager"}
RUSH_CANCEL_ROLES = {"front_desk", "supervisor", "manager"}
ASSIGN_ROLES = {"supervisor", "manager"}
BLOCK_ROLES = {"maintenance", "manager"}
ATTENDANT_ROLES = {"housekeeping", "supervisor"}

OPS_STYLE = """
QLabel#pastBanner { background: #1C2833; color: #FFFFFF; font-size: 12pt; font-weight: 700;
                    padding: 8px 12px; }
QLabel#tabTitle { font-size: 12pt; font-weight: 600; color: #1F3A4D; }
QLabel#opsError { color: #922B21; font-weight: 600; }
QLabel#opsInfo { color: #34495E; }
QFrame#pastFrame { border: 3px dashed #1C2833; background: #F4F6F8; }
QTableWidget { background: #FFFFFF; gridline-color: #E5E8E8; }
QHeaderView::section { background: #EAEDED; padding: 4px; border: none;
                       border-right: 1px solid #D5D8DC; font-weight: 600; }
"""


def role_name(role: Any) -> str:
    return ROLE_NAMES.get(str(role), str(role or ""))


def parse(iso: Any) -> datetime | None:
    if not iso:
        return None
    try:
        return from_iso(str(iso))
    except ValueError:
        return None


def local_text(iso: Any, tz: ZoneInfo, fmt: str = "%a %d %b %H:%M") -> str:
    dt = parse(iso) if not isinstance(iso, datetime) else iso
    if dt is None:
        return "–"
    return dt.astimezone(tz).strftime(fmt)


def minutes_between(start: Any, end: datetime) -> int:
    dt = parse(start)
    if dt is None:
        return 0
    return max(0, int((end - dt).total_seconds() // 60))


def duration_text(minutes: int) -> str:
    """How long, in the same words as everywhere else (shared.timeutil.duration_words)."""
    return duration_words(minutes)


def to_qdatetime(dt: datetime, tz: ZoneInfo) -> QDateTime:
    """A moment as the wall-clock time of the hotel (what the picker shows)."""
    local = dt.astimezone(tz)
    return QDateTime(
        QDate(local.year, local.month, local.day),
        QTime(local.hour, local.minute, local.second),
    )


def from_qdatetime(value: QDateTime, tz: ZoneInfo) -> datetime:
    """The picker's wall-clock time in the hotel's zone, as a UTC moment."""
    d, t = value.date(), value.time()
    local = datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), t.second(), tzinfo=tz)
    return local.astimezone(UTC)


def picker(with_seconds: bool = False) -> QDateTimeEdit:
    edit = QDateTimeEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("ddd dd MMM yyyy  HH:mm" + (":ss" if with_seconds else ""))
    edit.setMinimumWidth(210 if with_seconds else 190)
    return edit


def table(headers: Sequence[str], stretch: int | None = None) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(list(headers))
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setAlternatingRowColors(True)
    t.setWordWrap(True)
    t.verticalHeader().setVisible(False)
    header = t.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    if stretch is not None:
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    else:
        header.setStretchLastSection(True)
    return t


def fill_row(t: QTableWidget, row: int, values: Sequence[Any], key: Any = None) -> None:
    for col, value in enumerate(values):
        item = QTableWidgetItem("" if value is None else str(value))
        if col == 0 and key is not None:
            item.setData(Qt.ItemDataRole.UserRole, key)
        t.setItem(row, col, item)


def selected_keys(t: QTableWidget) -> list[Any]:
    rows = sorted({i.row() for i in t.selectedIndexes()})
    out = []
    for r in rows:
        item = t.item(r, 0)
        if item is not None:
            out.append(item.data(Qt.ItemDataRole.UserRole))
    return out


class Spawner:
    """Runs coroutines on the qasync loop and keeps them referenced until done. A reply that
    arrives after `owner` (the window its `done` fills in) was deleted is dropped."""

    def __init__(self, owner: QWidget | None = None) -> None:
        self.tasks: set[asyncio.Future[Any]] = set()
        self.owner = owner

    def spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        done: Callable[[Any], None] | None = None,
    ) -> asyncio.Future[Any]:
        task: asyncio.Future[Any] = asyncio.ensure_future(coro)
        self.tasks.add(task)

        def finished(t: asyncio.Future[Any]) -> None:
            self.tasks.discard(t)
            if self.owner is not None and not shiboken6.isValid(self.owner):
                return
            if done is not None and not t.cancelled() and t.exception() is None:
                done(t.result())

        task.add_done_callback(finished)
        return task


def set_tip(widget: QWidget, allowed: bool, why: str) -> None:
    widget.setEnabled(allowed)
    widget.setToolTip("" if allowed else why)


def until_text(iso: Any, now: datetime) -> str:
    """'in 3 h 20 min' until a moment, or 'now' once it has passed."""
    dt = parse(iso)
    if dt is None:
        return "–"
    minutes = int((dt - now).total_seconds() // 60)
    return "now" if minutes <= 0 else f"in {duration_text(minutes)}"
