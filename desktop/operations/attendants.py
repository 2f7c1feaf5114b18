"""Room attendants: who has which rooms, assigning by hand or splitting evenly, and the
printable attendant sheets and status report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.filtering import natural_key
from desktop.operations.common import (
    ASSIGN_ROLES,
    ATTENDANT_ROLES,
    fill_row,
    role_name,
    selected_keys,
    table,
)
from desktop.operations.sheets import (
    flags_words,
    occupancy_words,
    sheets_for,
    write_attendant_sheets,
    write_status_report,
)
from desktop.room_facts import status_label
from desktop.session import error_text
from desktop.theme import named

if TYPE_CHECKING:
    from desktop.operations.window import OperationsWindow

HEADERS = ["Room", "Floor", "Section", "Status", "Occupancy", "Flags", "Attendant"]


def assigned_id(room: dict[str, Any]) -> int | None:
    a = room.get("assigned_to")
    if isinstance(a, dict) and a.get("staff_id") is not None:
        return int(a["staff_id"])
    return None


def attendant_order(rooms: list[dict[str, Any]], me: int | None) -> list[dict[str, Any]]:
    """The logged-in attendant's rooms first (rush rooms at the top), then the rest by floor."""

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        mine = me is not None and assigned_id(r) == me
        return (
            not mine,
            not (mine and isinstance(r.get("rush"), dict)),
            int(r.get("floor") or 0),
            natural_key(r["room_number"]),
        )

    return sorted(rooms, key=key)


class AttendantsTab(QWidget):
    def __init__(self, ops: OperationsWindow) -> None:
        super().__init__()
        self.ops = ops
        self.staff: list[dict[str, Any]] = []
        lay = QVBoxLayout(self)
        self.title = named(QLabel("Room attendants"), "tabTitle")
        lay.addWidget(self.title)
        self.summary = named(QLabel(""), "hint")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        body = QHBoxLayout()
        self.table = table(HEADERS, stretch=5)
        self.table.itemSelectionChanged.connect(self.update_buttons)
        body.addWidget(self.table, 1)
        self.side = named(QFrame(), "sidePanel")
        side = QVBoxLayout(self.side)
        side.setContentsMargins(10, 6, 10, 6)
        self.assign_box = QWidget()
        ab = QVBoxLayout(self.assign_box)
        ab.setContentsMargins(0, 0, 0, 0)
        ab.addWidget(_wrapped("Assign the selected rooms to"))
        self.attendant = QComboBox()
        ab.addWidget(self.attendant)
        self.assign_button = named(QPushButton("Assign selected rooms"), "primary")
        self.assign_button.clicked.connect(self.assign_selected)
        ab.addWidget(self.assign_button)
        ab.addSpacing(10)
        ab.addWidget(_wrapped("Split evenly between"))
        split_hint = named(
            QLabel(
                "Every room, or only the rooms selected in the list, dealt out in runs so "
                "that each attendant's rooms are together."
            ),
            "hint",
        )
        split_hint.setWordWrap(True)
        ab.addWidget(split_hint)
        self.split_checks: dict[int, QCheckBox] = {}
        self.split_list = QVBoxLayout()
        ab.addLayout(self.split_list)
        row = QHBoxLayout()
        self.split_floor = QPushButton("Split by floor")
        self.split_floor.clicked.connect(lambda: self.split("floor"))
        self.split_section = QPushButton("Split by section")
        self.split_section.clicked.connect(lambda: self.split("section"))
        row.addWidget(self.split_floor)
        row.addWidget(self.split_section)
        ab.addLayout(row)
        side.addWidget(self.assign_box)
        side.addSpacing(10)
        side.addWidget(named(QLabel("Print"), "tabTitle"))
        self.print_button = QPushButton("Print attendant sheets…")
        self.print_button.setToolTip("A PDF with one page per attendant: their rooms in order.")
        self.print_button.clicked.connect(self.ask_print_sheets)
        side.addWidget(self.print_button)
        self.mine_button = QPushButton("Print my sheet…")
        self.mine_button.setToolTip("A PDF of one page: your rooms in order, with tick boxes.")
        self.mine_button.clicked.connect(lambda: self.ask_print_sheets(mine=True))
        side.addWidget(self.mine_button)
        self.report_button = QPushButton("Print status report…")
        self.report_button.setToolTip("A PDF: rooms per housekeeping status, then every room.")
        self.report_button.clicked.connect(self.ask_print_report)
        side.addWidget(self.report_button)
        side.addStretch(1)
        self.status = named(QLabel(""), "opsInfo")
        self.status.setWordWrap(True)
        side.addWidget(self.status)
        self.side.setFixedWidth(300)
        body.addWidget(self.side)
        lay.addLayout(body, 1)

    # --- data ----------------------------------------------------------------------------

    def attendants(self) -> list[dict[str, Any]]:
        return [s for s in self.staff if s.get("role") in ATTENDANT_ROLES]

    def set_staff(self, staff: list[dict[str, Any]]) -> None:
        self.staff = list(staff)
        current = self.attendant.currentData()
        self.attendant.clear()
        for s in self.attendants():
            self.attendant.addItem(f"{s['name']} ({role_name(s.get('role'))})", int(s["id"]))
        self.attendant.addItem("Nobody (take the rooms back)", -1)
        if current is not None and self.attendant.findData(current) >= 0:
            self.attendant.setCurrentIndex(self.attendant.findData(current))
        while self.split_list.count():
            item = self.split_list.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        self.split_checks = {}
        for s in self.attendants():
            box = QCheckBox(str(s["name"]))
            box.setChecked(s.get("role") == "housekeeping")
            self.split_checks[int(s["id"])] = box
            self.split_list.addWidget(box)
        self.refresh_view()

    def set_role(self, role: str) -> None:
        self.assign_box.setVisible(role in ASSIGN_ROLES)
        self.mine_button.setVisible(role in ATTENDANT_ROLES)
        self.table.setSelectionMode(
            self.table.SelectionMode.ExtendedSelection
            if role in ASSIGN_ROLES
            else self.table.SelectionMode.SingleSelection
        )

    def refresh_view(self) -> None:
        me = self.ops.staff_id if self.ops.role in ATTENDANT_ROLES else None
        rooms = attendant_order(list(self.ops.rooms.rooms()), me)
        keep = set(selected_keys(self.table))
        bold = QFont(self.font())
        bold.setBold(True)
        self.table.setRowCount(len(rooms))
        self.table.setUpdatesEnabled(False)
        for i, r in enumerate(rooms):
            a = r.get("assigned_to")
            name = a.get("name", "") if isinstance(a, dict) else ""
            fill_row(
                self.table,
                i,
                [
                    r["room_number"],
                    r.get("floor"),
                    r.get("section") or "",
                    status_label(r.get("room_status")),
                    occupancy_words(r),
                    flags_words(r, self.ops.tz),
                    name or "–",
                ],
                key=r["room_number"],
            )
            if me is not None and assigned_id(r) == me:
                for c in range(len(HEADERS)):
                    item = self.table.item(i, c)
                    if item is not None:
                        item.setFont(bold)
            if r["room_number"] in keep:
                self.table.selectRow(i)
        self.table.setUpdatesEnabled(True)
        counts: dict[str, int] = {}
        for r in rooms:
            a = r.get("assigned_to")
            name = str(a.get("name", "?")) if isinstance(a, dict) else ""
            counts[name] = counts.get(name, 0) + 1
        parts = [f"{name}: {n}" for name, n in sorted(counts.items()) if name]
        free = counts.get("", 0)
        text = "Rooms per attendant — " + (", ".join(parts) or "none assigned yet")
        if free:
            text += f"; not assigned: {free}"
        if me is not None:
            mine = sum(1 for r in rooms if assigned_id(r) == me)
            text = f"Your rooms ({mine}) are listed first, in bold. " + text
        self.summary.setText(text)
        self.update_buttons()

    def update_buttons(self) -> None:
        chosen = bool(selected_keys(self.table))
        self.assign_button.setEnabled(chosen and self.attendant.count() > 0)
        self.assign_button.setToolTip("" if chosen else "Select rooms in the list first.")

    # --- commands ------------------------------------------------------------------------

    def assign_selected(self) -> None:
        sid = self.attendant.currentData()
        staff_id = None if sid in (None, -1) else int(sid)
        numbers = [str(n) for n in selected_keys(self.table)]
        self.assign(numbers, staff_id)

    def assign(self, numbers: list[str], staff_id: int | None) -> None:
        items = []
        for n in numbers:
            room = self.ops.rooms.room(n) or {}
            items.append(
                {
                    "room_number": n,
                    "staff_id": staff_id,
                    "expected_version": int(room.get("version") or 0),
                }
            )
        who = next((s["name"] for s in self.staff if s["id"] == staff_id), "nobody")
        label = f"{len(items)} room(s) to {who}"
        self.ops.send("rooms.assign", f"Assign {label}", {"items": items}, self._done(label))

    def split(self, by: str, staff_ids: list[int] | None = None) -> None:
        ids = staff_ids or [sid for sid, box in self.split_checks.items() if box.isChecked()]
        if not ids:
            self.status.setText("Tick at least one attendant to split the rooms between.")
            return
        fields: dict[str, Any] = {"staff_ids": ids, "by": by}
        chosen = [str(n) for n in selected_keys(self.table)]
        what = "every room"
        if len(chosen) > 1:
            fields["room_numbers"] = chosen
            what = f"{len(chosen)} rooms"
        label = f"{what} split by {by} between {len(ids)} attendant(s)"
        self.ops.send("rooms.assign_split", f"Assign {label}", fields, self._done(label))

    def _done(self, label: str) -> Any:
        def done(reply: dict[str, Any]) -> None:
            if reply.get("type") == "ack":
                n = len(reply["result"].get("rooms") or [])
                self.status.setText(f"Assigned {label}: {n} room(s) changed.")
            else:
                self.status.setText(f"Not assigned ({label}): {error_text(reply)}")

        return done

    # --- printing ------------------------------------------------------------------------

    def ask_print_sheets(self, mine: bool = False) -> None:
        name = "my-rooms.pdf" if mine else "attendant-sheets.pdf"
        path, _ = QFileDialog.getSaveFileName(self, "Save attendant sheets", name, "PDF (*.pdf)")
        if path:
            self.print_sheets(Path(path), self.ops.staff_id if mine else None)

    def ask_print_report(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save status report", "housekeeping-status.pdf", "PDF (*.pdf)"
        )
        if path:
            self.print_report(Path(path))

    def print_sheets(self, path: Path, only: int | None = None) -> int:
        sheets = sheets_for(list(self.ops.rooms.rooms()), self.attendants() or self.staff, only)
        pages = write_attendant_sheets(
            path, self.ops.hotel_name, sheets, self.ops.now(), self.ops.tz
        )
        self.status.setText(f"Saved {pages} page(s) for {len(sheets)} attendant(s) to {path}.")
        return pages

    def print_report(self, path: Path) -> int:
        pages = write_status_report(
            path, self.ops.hotel_name, list(self.ops.rooms.rooms()), self.ops.now(), self.ops.tz
        )
        self.status.setText(f"Saved the status report ({pages} page(s)) to {path}.")
        return pages


def _wrapped(text: str) -> QLabel:
    label = named(QLabel(text), "tabTitle")
    label.setWordWrap(True)
    return label
