"""History you can rewind: the board as it was at a past moment, a room's timeline, and the
audit trail between two times as CSV."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.board import Board
from desktop.details import describe_event
from desktop.filtering import RoomFilter
from desktop.model import RoomModel
from desktop.operations.common import (
    from_qdatetime,
    parse,
    picker,
    role_name,
    to_qdatetime,
)
from desktop.session import error_text
from desktop.theme import named
from shared.audit import to_csv
from shared.errors import ErrorCode
from shared.timeutil import clock_text, moment_text, to_iso

if TYPE_CHECKING:
    from desktop.operations.window import OperationsWindow

PAGE = 1000


def describe(ev: dict[str, Any]) -> str:
    """Words for a journal entry, including the kinds the room details do not name."""
    kind = str(ev.get("type", ""))
    p = ev.get("payload") or {}
    if kind == "room_updated":
        changed = set(p.get("changed_fields") or [])
        extra = []
        if "rush" in changed:
            rush = p.get("rush")
            extra.append("Rush requested" if isinstance(rush, dict) else "Rush cleared")
        if "assigned_to" in changed:
            a = p.get("assigned_to")
            extra.append(f"Assigned to {a.get('name')}" if isinstance(a, dict) else "Unassigned")
        if "block" in changed:
            b = p.get("block")
            extra.append(f"Block: {b.get('reason')}" if isinstance(b, dict) else "Block ended")
        if "hk_occupancy" in changed:
            extra.append(f"Housekeeping saw it {p.get('hk_occupancy') or '–'}")
        base = describe_event(ev)
        if extra and base.startswith("Changed "):
            return "; ".join(extra)
        return "; ".join([base, *extra]) if extra else base
    if kind.startswith("block."):
        b = p.get("block") or {}
        how = f" ({p.get('how')})" if p.get("how") else ""
        return f"Block {kind.split('.')[1]}{how}: {b.get('reason', '')}"
    if kind.startswith("discrepancy."):
        d = p.get("discrepancy") or {}
        return f"Discrepancy {kind.split('.')[1]}: {d.get('label', '')}"
    if kind == "room.rush_ready":
        return f"Rushed room ready after {p.get('waited_minutes')} min"
    return describe_event(ev)


class HistoryTab(QWidget):
    def __init__(self, ops: OperationsWindow) -> None:
        super().__init__()
        self.ops = ops
        self.at: datetime | None = None
        self.past = RoomModel(self._past_now, flush_ms=5, parent=self)
        self.past.occupancy_known = False  # past room states carry no bookings or free times
        self.past_filter = RoomFilter(self)
        self.past_filter.setSourceModel(self.past)
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(named(QLabel("Show the board as it was at"), "tabTitle"))
        self.moment = picker(with_seconds=True)
        row.addWidget(self.moment)
        self.show_button = named(QPushButton("Rewind"), "primary")
        self.show_button.clicked.connect(self.load_board)
        row.addWidget(self.show_button)
        for label, minutes in (("−1 h", 60), ("−8 h (last shift)", 480), ("−24 h", 1440)):
            b = QPushButton(label)
            b.clicked.connect(lambda _=False, m=minutes: self.rewind_by(m))
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        self.banner = named(QLabel(""), "pastBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        lay.addWidget(self.banner)
        self.message = named(QLabel("Pick a moment and press Rewind."), "opsInfo")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.frame = named(QFrame(), "pastFrame")
        fl = QVBoxLayout(self.frame)
        fl.setContentsMargins(3, 3, 3, 3)
        self.board = Board(self.past_filter)
        self.board.selection_changed.connect(self._on_selection)
        fl.addWidget(self.board)
        self.splitter.addWidget(self.frame)
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(6, 0, 0, 0)
        self.timeline_title = named(QLabel("Timeline of a room"), "tabTitle")
        sl.addWidget(self.timeline_title)
        self.timeline_hint = named(
            QLabel(
                "Select a room on the board: its changes, newest first. Changes after the "
                "chosen moment are marked “later”."
            ),
            "hint",
        )
        self.timeline_hint.setWordWrap(True)
        sl.addWidget(self.timeline_hint)
        self.timeline = QTreeWidget()
        self.timeline.setHeaderLabels(["When", "What", "Who"])
        self.timeline.setRootIsDecorated(False)
        self.timeline.setWordWrap(True)
        self.timeline.setUniformRowHeights(False)
        sl.addWidget(self.timeline, 1)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([760, 560])
        lay.addWidget(self.splitter, 1)

        audit = QHBoxLayout()
        audit.addWidget(named(QLabel("Audit trail from"), "tabTitle"))
        self.since = picker()
        audit.addWidget(self.since)
        audit.addWidget(QLabel("to"))
        self.until = picker()
        self.until.setToolTip("Until now, unless you pick a time")
        self.until.dateTimeChanged.connect(self._until_picked)
        audit.addWidget(self.until)
        self.export_button = QPushButton("Export audit CSV…")
        self.export_button.setToolTip("Who did what between the two times, one row per change.")
        self.export_button.clicked.connect(self.ask_export)
        audit.addWidget(self.export_button)
        self.export_status = named(QLabel(""), "opsInfo")
        audit.addWidget(self.export_status, 1)
        lay.addLayout(audit)
        self.room: str | None = None
        self.times_for: Any = None  # whose pickers these are: (hotel, staff), or None
        self.until_chosen = False  # the person picked the audit's end; else it follows now
        self._setting_times = False

    def clear(self) -> None:
        self.times_for = None  # the next person gets fresh pickers
        self.at = None
        self.room = None
        self.past.clear()
        self.timeline.clear()
        self.banner.hide()
        self.message.setText("Pick a moment and press Rewind.")

    def _past_now(self) -> datetime:
        return self.at or self.ops.now()

    def start_times(self, who: Any) -> None:
        """At a login: the default times for a new person; a reconnect of the same person
        keeps what they picked."""
        if who != self.times_for:
            self.times_for = who
            self.reset_times()

    def reset_times(self) -> None:
        now = self.ops.now()
        tz = self.ops.tz
        self.moment.setDateTime(to_qdatetime(now - timedelta(hours=1), tz))
        local = now.astimezone(tz)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        self.since.setDateTime(to_qdatetime(start, tz))
        self._set_until_to_now()
        self.until_chosen = False

    def _set_until_to_now(self) -> None:
        self._setting_times = True
        try:
            self.until.setDateTime(to_qdatetime(self.ops.now() + timedelta(minutes=1), self.ops.tz))
        finally:
            self._setting_times = False

    def _until_picked(self, *args: Any) -> None:
        if not self._setting_times:
            self.until_chosen = True

    # --- rewinding -----------------------------------------------------------------------

    def rewind_by(self, minutes: int) -> None:
        self.set_moment(self.ops.now() - timedelta(minutes=minutes))
        self.load_board()

    def set_moment(self, when: datetime) -> None:
        self.moment.setDateTime(to_qdatetime(when, self.ops.tz))

    def load_board(self) -> None:
        when = from_qdatetime(self.moment.dateTime(), self.ops.tz)
        self._ask_board(when, asked=None)

    def _ask_board(self, when: datetime, asked: datetime | None) -> None:
        """Ask for the board at `when`; `asked` is the moment the person chose when that
        was before the history begins and `when` is its first moment instead."""
        self.message.setText("Loading the board as it was…")
        self.ops.spawner.spawn(
            self.ops.session.call("board.at", at=to_iso(when)),
            lambda reply: self._board_reply(when, reply, asked),
        )

    def _board_reply(
        self, when: datetime, reply: dict[str, Any], asked: datetime | None = None
    ) -> None:
        if reply.get("type") != "ack":
            earliest = parse((reply.get("details") or {}).get("earliest"))
            if (
                reply.get("code") == ErrorCode.HISTORY_UNAVAILABLE.value
                and earliest
                and asked is None
            ):
                # before the history begins (a hotel created an hour ago, as a fresh demo):
                # show its first moment rather than nothing
                self._ask_board(max(earliest, when), asked=when)
                return
            text = error_text(reply)
            self.message.setText(f"Cannot rewind: {text}")
            return
        result = reply["result"]
        self.at = parse(result.get("at")) or when
        selected = self.board.selected_rooms()
        self.past.set_rooms(result.get("rooms") or [])
        if selected:
            self.board.select(selected)
        tz, now = self.ops.tz, self.ops.now()
        stamp = moment_text(self.at, tz)
        self.banner.setText(
            f"PAST — the board as at {stamp} (hotel time). This is history, not the live "
            "board: nothing can be changed here."
        )
        self.banner.show()
        earliest = parse(result.get("earliest"))
        reach = clock_text(earliest, tz, now) if earliest else "–"
        text = (
            f"{self.past.rowCount()} rooms as they were after change #{result.get('seq')}; "
            f"history reaches back to {reach}."
        )
        if asked is not None:
            text = (
                f"Cannot rewind to {clock_text(asked, tz, now)}: the history begins at {reach}, "
                f"so this is the board at its first moment. {text}"
            )
            self.moment.setDateTime(to_qdatetime(self.at, tz))
        self.message.setText(text)
        if self.room:
            self.load_timeline(self.room)

    def past_room(self, number: str) -> dict[str, Any] | None:
        return self.past.room(number)

    # --- timeline ------------------------------------------------------------------------

    def _on_selection(self, numbers: list[str]) -> None:
        if len(numbers) == 1:
            self.load_timeline(numbers[0])

    def load_timeline(self, number: str) -> None:
        self.room = number
        self.timeline_title.setText(f"Timeline of room {number}")
        self.ops.spawner.spawn(
            self.ops.session.call("room.history", room_number=number, limit=200),
            lambda reply: self._timeline_reply(number, reply),
        )

    def _timeline_reply(self, number: str, reply: dict[str, Any]) -> None:
        if number != self.room:
            return
        self.timeline.clear()
        if reply.get("type") != "ack":
            self.timeline_hint.setText(f"No timeline: {error_text(reply)}")
            return
        items = []
        grey = QBrush(QColor("#7B7D7D"))
        for ev in reply["result"].get("events") or []:
            meta = ev.get("meta") or {}
            actor = meta.get("actor") or {}
            who = actor.get("name") or "system"
            if actor.get("role"):
                who += f" ({role_name(actor['role'])})"
            if actor.get("workstation"):
                who += f" at {actor['workstation']}"
            ts = parse(meta.get("ts"))
            later = self.at is not None and ts is not None and ts > self.at
            when = clock_text(ts, self.ops.tz, self.ops.now(), seconds=True) if ts else "–"
            what = describe(ev)
            item = QTreeWidgetItem([("later · " if later else "") + when, what, who])
            item.setToolTip(1, what)
            item.setToolTip(2, who)
            item.setData(0, Qt.ItemDataRole.UserRole, meta.get("seq"))
            if later:
                for c in range(3):
                    item.setForeground(c, grey)
            items.append(item)
        self.timeline.addTopLevelItems(items)
        self.timeline.resizeColumnToContents(0)
        self.timeline.setColumnWidth(1, max(220, self.timeline.viewport().width() // 2 - 60))

    # --- audit export --------------------------------------------------------------------

    def ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export audit trail", "roomrack-audit.csv", "CSV (*.csv)"
        )
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> Any:
        since = from_qdatetime(self.since.dateTime(), self.ops.tz)
        if not self.until_chosen:
            self._set_until_to_now()  # not picked: up to now, as it is at the export
        until = from_qdatetime(self.until.dateTime(), self.ops.tz)
        self.export_status.setText("Exporting…")
        return self.ops.spawner.spawn(self._export(path, since, until))

    async def _export(self, path: Path, since: datetime, until: datetime) -> int:
        events: list[dict[str, Any]] = []
        after = 0
        while True:
            reply = await self.ops.session.call(
                "journal.range",
                since=to_iso(since),
                until=to_iso(until),
                limit=PAGE,
                after_seq=after,
            )
            if reply.get("type") != "ack":
                self.export_status.setText(f"Not exported: {error_text(reply)}")
                return -1
            page = reply["result"].get("events") or []
            events.extend(page)
            if not reply["result"].get("truncated") or not page:
                break
            after = int(page[-1]["meta"]["seq"])
        write_text(path, to_csv(events, self.ops.tz))
        self.export_status.setText(f"{len(events)} change(s) written to {path.name}.")
        return len(events)


def write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")
