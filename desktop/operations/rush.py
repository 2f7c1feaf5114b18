"""The rush queue: rooms the front desk wants for a waiting arrival, oldest first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.filtering import natural_key
from desktop.operations.common import (
    RUSH_CANCEL_ROLES,
    RUSH_ROLES,
    duration_text,
    fill_row,
    local_text,
    minutes_between,
    selected_keys,
    table,
)
from desktop.room_facts import status_label
from desktop.session import error_text
from desktop.theme import named

if TYPE_CHECKING:
    from desktop.operations.window import OperationsWindow

HEADERS = ["Room", "Waiting", "Asked at", "Asked by", "Note", "Housekeeping status", "Attendant"]


def rush_queue(rooms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rooms with a rush request, the longest waiting first."""
    rushed = [r for r in rooms if isinstance(r.get("rush"), dict)]
    return sorted(rushed, key=lambda r: (str(r["rush"].get("requested_at")), r["room_number"]))


class RushTab(QWidget):
    def __init__(self, ops: OperationsWindow) -> None:
        super().__init__()
        self.ops = ops
        lay = QVBoxLayout(self)
        self.title = named(QLabel("Rush queue"), "tabTitle")
        lay.addWidget(self.title)
        hint = named(
            QLabel(
                "Rooms the front desk wants for a guest who is waiting, the longest wait first. "
                "Housekeeping is alerted when a room is rushed; the desk that asked is told "
                "the moment it is ready, and it leaves the queue."
            ),
            "hint",
        )
        hint.setWordWrap(True)
        lay.addWidget(hint)
        self.table = table(HEADERS, stretch=4)
        self.table.itemSelectionChanged.connect(self.update_buttons)
        lay.addWidget(self.table, 1)
        self.desk = QWidget()
        row = QHBoxLayout(self.desk)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Room:"))
        self.room_combo = QComboBox()
        self.room_combo.setMinimumWidth(230)
        row.addWidget(self.room_combo)
        row.addWidget(QLabel("Note:"))
        self.note = QLineEdit()
        self.note.setPlaceholderText("e.g. Mr Ryan waiting in the lobby")
        row.addWidget(self.note, 1)
        self.rush_button = named(QPushButton("Rush this room"), "primary")
        self.rush_button.clicked.connect(self.request_rush)
        row.addWidget(self.rush_button)
        self.cancel_button = QPushButton("Cancel rush of selected")
        self.cancel_button.clicked.connect(self.cancel_selected)
        row.addWidget(self.cancel_button)
        lay.addWidget(self.desk)
        self.status = named(QLabel(""), "opsInfo")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

    def set_role(self, role: str) -> None:
        self.rush_button.setVisible(role in RUSH_ROLES)
        self.room_combo.setVisible(role in RUSH_ROLES)
        self.note.setVisible(role in RUSH_ROLES)
        for w in self.desk.findChildren(QLabel):
            w.setVisible(role in RUSH_ROLES)
        self.cancel_button.setVisible(role in RUSH_CANCEL_ROLES)
        self.desk.setVisible(role in RUSH_ROLES | RUSH_CANCEL_ROLES)

    def refresh_view(self) -> None:
        rooms = self.ops.rooms.rooms()
        queue = rush_queue(rooms)
        keep = set(selected_keys(self.table))
        now = self.ops.now()
        bold = QFont(self.font())
        bold.setBold(True)
        self.table.setRowCount(len(queue))
        for i, room in enumerate(queue):
            rush = room["rush"]
            by = rush.get("requested_by") or {}
            who = by.get("name", "") if isinstance(by, dict) else str(by)
            if isinstance(by, dict) and by.get("workstation"):
                who += f" ({by['workstation']})"
            assigned = room.get("assigned_to") or {}
            waited = minutes_between(rush.get("requested_at"), now)
            fill_row(
                self.table,
                i,
                [
                    room["room_number"],
                    duration_text(waited),
                    local_text(rush.get("requested_at"), self.ops.tz, "%H:%M"),
                    who,
                    rush.get("note") or "",
                    status_label(room.get("room_status")),
                    assigned.get("name", "nobody") if isinstance(assigned, dict) else "",
                ],
                key=room["room_number"],
            )
            item = self.table.item(i, 1)
            if item is not None:
                item.setFont(bold)
                if waited >= 15:
                    item.setForeground(QColor("#922B21"))
            if room["room_number"] in keep:
                self.table.selectRow(i)
        self.table.resizeRowsToContents()
        n = len(queue)
        self.title.setText(f"Rush queue · {n} waiting" if n else "Rush queue · nobody waiting")
        self.ops.set_tab_count(self, "Rush queue", n)
        self._fill_rooms(rooms)
        self.update_buttons()

    def _fill_rooms(self, rooms: list[dict[str, Any]]) -> None:
        current = self.room_combo.currentData()
        self.room_combo.blockSignals(True)
        self.room_combo.clear()
        candidates = [
            r
            for r in rooms
            if r.get("rush") is None
            and not r.get("is_occupied")
            and r.get("room_status") not in ("READY_FOR_GUEST", "OUT_OF_ORDER")
        ]
        candidates.sort(key=lambda r: natural_key(r["room_number"]))
        for r in candidates:
            self.room_combo.addItem(
                f"{r['room_number']} — {status_label(r.get('room_status'))}", r["room_number"]
            )
        if current is not None:
            idx = self.room_combo.findData(current)
            if idx >= 0:
                self.room_combo.setCurrentIndex(idx)
        self.room_combo.blockSignals(False)

    def update_buttons(self) -> None:
        self.cancel_button.setEnabled(bool(selected_keys(self.table)))
        self.rush_button.setEnabled(self.room_combo.count() > 0)

    def request_rush(self, number: str | None = None) -> None:
        number = number or self.room_combo.currentData()
        room = self.ops.rooms.room(str(number)) if number else None
        if room is None:
            return
        fields: dict[str, Any] = {
            "room_number": room["room_number"],
            "expected_version": int(room.get("version") or 0),
        }
        if self.note.text().strip():
            fields["note"] = self.note.text().strip()
        self._send("room.rush", f"Rush room {room['room_number']}", fields)
        self.note.clear()

    def cancel_selected(self) -> None:
        for number in selected_keys(self.table):
            room = self.ops.rooms.room(str(number))
            if room is not None:
                self._send(
                    "room.rush_cancel",
                    f"Cancel rush of room {number}",
                    {"room_number": number, "expected_version": int(room.get("version") or 0)},
                )

    def _send(self, kind: str, label: str, fields: dict[str, Any]) -> None:
        def done(reply: dict[str, Any]) -> None:
            if reply.get("type") == "ack":
                self.status.setText(f"Done: {label}.")
            else:
                self.status.setText(f"Not done: {label}. {error_text(reply)}")

        self.ops.send(kind, label, fields, done)
