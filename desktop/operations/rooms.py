"""Rooms and room types, for a manager: add, edit and retire them (the server checks again and
has the last word). The rooms come from the live board; the room types from the server, kept
up to date by the room_type_* events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.filtering import natural_key
from desktop.operations.common import OPS_STYLE, fill_row, selected_keys, table
from desktop.room_facts import status_label
from desktop.session import error_text
from desktop.theme import STYLE, named
from shared.roomsetup import ROOM_DEFAULTS, ROOM_FIELDS, ROOM_TYPE_FIELDS, check_fields

if TYPE_CHECKING:
    from desktop.operations.window import OperationsWindow

ROOM_ADMIN_ROLES = {"manager"}  # shared.rules.ROOM_ADMIN_ROLES; the server has the last word
ROOM_HEADERS = ["Room", "Type", "Floor", "Building", "Section", "Capacity", "Max occ.", "Status"]
TYPE_HEADERS = ["Room type", "Max occupancy", "Rooms"]


def _spin(name: str, rules: Any = ROOM_FIELDS) -> QSpinBox:
    rule = rules[name]
    box = QSpinBox()
    box.setRange(rule.low, rule.high)
    box.setToolTip(rule.words)
    box.setMinimumWidth(110)
    return box


def explain_rooms_error(reply: dict[str, Any]) -> str:
    """A refusal in words a manager can act on."""
    code = reply.get("code")
    if code == "stale_version":
        return "Someone changed this meanwhile; the list shows the latest. Check and try again."
    if code == "forbidden":
        return "Only a manager can set rooms up."
    return error_text(reply)


class FormDialog(QDialog):
    """A small form with a line for errors and OK / Cancel; `submit` sends it."""

    def __init__(self, ops: OperationsWindow, title: str, ok_text: str) -> None:
        super().__init__(ops)
        self.ops = ops
        self.setWindowTitle(title)
        self.setStyleSheet(STYLE + OPS_STYLE)
        self.setMinimumWidth(460)
        self.lay = QVBoxLayout(self)
        self.form = QFormLayout()
        self.lay.addLayout(self.form)
        self.error = named(QLabel(""), "opsError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.busy = False

    def finish_layout(self) -> None:
        self.lay.addWidget(self.error)
        self.lay.addWidget(self.buttons)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def send(
        self, kind: str, label: str, wire: dict[str, Any], checked: dict[str, Any], rules: Any
    ) -> None:
        """Check `checked` with the shared rules (the server's), then send `wire`."""
        if self.busy:
            return
        errors = check_fields(rules, checked)
        if errors:
            self.show_error(" ".join(errors.values()))
            return
        self.busy = True
        self.show_error("")
        self.ops.send(kind, label, wire, self._reply)

    def _reply(self, reply: dict[str, Any]) -> None:
        self.busy = False
        if reply.get("type") == "ack":
            self.accept()
        else:
            self.show_error(explain_rooms_error(reply))

    def submit(self) -> None:  # pragma: no cover - every form has its own
        raise NotImplementedError


class RoomDialog(FormDialog):
    """A new room, or the type, place and size of an existing one (its number stays)."""

    def __init__(self, ops: OperationsWindow, types: list[str], room: dict[str, Any] | None):
        editing = room is not None
        super().__init__(
            ops,
            f"Room {room['room_number']}" if room else "New room",
            "Save" if editing else "Add room",
        )
        self.room = room
        self.number = QLineEdit()
        self.number.setPlaceholderText("e.g. 101 or M-01")
        self.number.setMaxLength(ROOM_FIELDS["room_number"].high)
        self.form.addRow("Number", self.number)
        self.room_type = QComboBox()
        for name in types:
            self.room_type.addItem(name, name)
        self.form.addRow("Room type", self.room_type)
        self.floor = _spin("floor")
        self.form.addRow("Floor", self.floor)
        self.building = QLineEdit(ROOM_DEFAULTS["building"])
        self.form.addRow("Building", self.building)
        self.section = QLineEdit(ROOM_DEFAULTS["section"])
        self.section.setPlaceholderText("a wing or corridor (optional)")
        self.form.addRow("Section", self.section)
        self.capacity = _spin("capacity")
        self.capacity.setValue(ROOM_DEFAULTS["capacity"])
        self.form.addRow("Beds or seats", self.capacity)
        self.max_occupancy = _spin("max_occupancy")
        self.max_occupancy.setSpecialValueText("The room type's")
        self.form.addRow("Max occupancy (guests)", self.max_occupancy)
        if room is not None:
            self.number.setText(str(room["room_number"]))
            self.number.setEnabled(False)
            self.number.setToolTip("A room keeps its number; retire it and add another instead.")
            index = self.room_type.findData(room.get("room_type"))
            if index < 0:
                self.room_type.addItem(str(room.get("room_type")), room.get("room_type"))
                index = self.room_type.count() - 1
            self.room_type.setCurrentIndex(index)
            self.floor.setValue(int(room.get("floor") or 0))
            self.building.setText(str(room.get("building") or ""))
            self.section.setText(str(room.get("section") or ""))
            self.capacity.setValue(int(room.get("capacity") or 1))
            self.max_occupancy.setValue(int(room.get("own_max_occupancy") or 0))
        else:
            self.floor.setValue(1)
        hint = named(
            QLabel(
                "A new room starts ready for guests. Max occupancy follows the room type "
                "unless this room holds another number of guests."
            ),
            "hint",
        )
        hint.setWordWrap(True)
        self.lay.addWidget(hint)
        self.finish_layout()

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "room_type": self.room_type.currentData(),
            "floor": self.floor.value(),
            "building": self.building.text().strip(),
            "section": self.section.text().strip(),
            "capacity": self.capacity.value(),
            "max_occupancy": self.max_occupancy.value(),
        }
        if self.room is None:
            out["room_number"] = self.number.text().strip()
        return out

    def submit(self) -> None:
        f = self.fields()
        if self.room is None:
            if not f["room_number"]:
                self.show_error("Give the room a number.")
                return
            if not f["room_type"]:
                self.show_error("Add a room type first (right-hand list).")
                return
            self.send("room.create", f"Add room {f['room_number']}", f, f, ROOM_FIELDS)
            return
        number = str(self.room["room_number"])
        current = self.ops.rooms.room(number) or self.room
        wire = {**f, "room_number": number, "expected_version": int(current.get("version") or 0)}
        self.send("room.update", f"Change room {number}", wire, f, ROOM_FIELDS)


class RoomTypeDialog(FormDialog):
    def __init__(self, ops: OperationsWindow, room_type: dict[str, Any] | None) -> None:
        super().__init__(
            ops,
            f"Room type {room_type['name']}" if room_type else "New room type",
            "Save" if room_type else "Add room type",
        )
        self.room_type = room_type
        self.name = QLineEdit(str(room_type["name"]) if room_type else "")
        self.name.setPlaceholderText("e.g. Standard Double")
        self.name.setMaxLength(ROOM_TYPE_FIELDS["name"].high)
        self.form.addRow("Name", self.name)
        self.max_occupancy = _spin("max_occupancy", ROOM_TYPE_FIELDS)
        self.max_occupancy.setSuffix(" guests")
        self.max_occupancy.setValue(int(room_type["max_occupancy"]) if room_type else 2)
        self.form.addRow("Max occupancy", self.max_occupancy)
        self.finish_layout()

    def submit(self) -> None:
        name = self.name.text().strip()
        occupancy = self.max_occupancy.value()
        if self.room_type is None:
            fields = {"name": name, "max_occupancy": occupancy}
            label = f"Add room type {name}"
            self.send("room_type.create", label, fields, fields, ROOM_TYPE_FIELDS)
            return
        old = self.room_type
        wire: dict[str, Any] = {"room_type": old["name"], "expected_version": old["version"]}
        if name != old["name"]:
            wire["name"] = name
        if occupancy != old["max_occupancy"]:
            wire["max_occupancy"] = occupancy
        if len(wire) == 2:
            self.accept()  # nothing to change
            return
        checked = {k: v for k, v in wire.items() if k in ("name", "max_occupancy")}
        label = f"Change room type {old['name']}"
        self.send("room_type.update", label, wire, checked, ROOM_TYPE_FIELDS)


class RoomsTab(QWidget):
    def __init__(self, ops: OperationsWindow) -> None:
        super().__init__()
        self.ops = ops
        self.types: dict[str, dict[str, Any]] = {}  # name -> room type
        self.dialog: FormDialog | None = None
        lay = QVBoxLayout(self)
        self.title = named(QLabel("Rooms"), "tabTitle")
        lay.addWidget(self.title)
        hint = named(
            QLabel(
                "Add, change and retire the hotel's rooms and room types; every board follows "
                "at once. A retired room leaves the board but keeps its history; a room with a "
                "guest in house or bookings or blocks to come cannot be retired. Many rooms at "
                "once: roomrack-server import-rooms (see the README)."
            ),
            "hint",
        )
        hint.setWordWrap(True)
        lay.addWidget(hint)
        split = QSplitter()
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        self.rooms_table = table(ROOM_HEADERS, stretch=4)
        self.rooms_table.itemSelectionChanged.connect(self.update_buttons)
        self.rooms_table.doubleClicked.connect(lambda _i: self.edit_room())
        left_lay.addWidget(self.rooms_table, 1)
        row = QHBoxLayout()
        self.add_room_button = named(QPushButton("Add room…"), "primary")
        self.add_room_button.clicked.connect(lambda: self.open_room_dialog())
        self.edit_room_button = QPushButton("Change…")
        self.edit_room_button.clicked.connect(self.edit_room)
        self.retire_room_button = QPushButton("Retire…")
        self.retire_room_button.clicked.connect(self.retire_room)
        for b in (self.add_room_button, self.edit_room_button, self.retire_room_button):
            row.addWidget(b)
        row.addStretch(1)
        left_lay.addLayout(row)
        split.addWidget(left)
        right = QWidget()
        right_lay = QVBoxLayout(right)
        right_lay.setContentsMargins(0, 0, 0, 0)
        self.types_table = table(TYPE_HEADERS, stretch=0)
        self.types_table.itemSelectionChanged.connect(self.update_buttons)
        self.types_table.doubleClicked.connect(lambda _i: self.edit_type())
        right_lay.addWidget(self.types_table, 1)
        row = QHBoxLayout()
        self.add_type_button = QPushButton("Add type…")
        self.add_type_button.clicked.connect(lambda: self.open_type_dialog())
        self.edit_type_button = QPushButton("Change…")
        self.edit_type_button.clicked.connect(self.edit_type)
        self.retire_type_button = QPushButton("Retire")
        self.retire_type_button.clicked.connect(self.retire_type)
        for b in (self.add_type_button, self.edit_type_button, self.retire_type_button):
            row.addWidget(b)
        row.addStretch(1)
        right_lay.addLayout(row)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay.addWidget(split, 1)
        self.status = named(QLabel(""), "opsInfo")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.update_buttons()

    # --- lists ---------------------------------------------------------------------------

    def clear(self) -> None:
        self.types = {}
        self.refresh_view()

    def set_types(self, types: list[dict[str, Any]]) -> None:
        self.types = {str(t["name"]): t for t in types}
        self.refresh_types()

    def type_event(self, kind: str, payload: dict[str, Any]) -> None:
        """room_type_created / _updated / _retired: the list follows."""
        rt = payload.get("room_type")
        if not isinstance(rt, dict):
            return
        for name, known in list(self.types.items()):
            if known.get("id") == rt.get("id"):
                del self.types[name]
        if kind != "room_type_retired":
            self.types[str(rt["name"])] = rt
        self.refresh_types()

    def refresh_view(self) -> None:
        keep = set(selected_keys(self.rooms_table))
        rooms = sorted(self.ops.rooms.rooms(), key=lambda r: natural_key(r["room_number"]))
        self.rooms_table.setRowCount(len(rooms))
        for i, r in enumerate(rooms):
            own = r.get("own_max_occupancy")
            fill_row(
                self.rooms_table,
                i,
                [
                    r["room_number"],
                    r.get("room_type") or "",
                    r.get("floor"),
                    r.get("building") or "",
                    r.get("section") or "",
                    r.get("capacity"),
                    f"{r.get('max_occupancy')}" + ("" if own else " (type)"),
                    status_label(r.get("room_status")),
                ],
                key=r["room_number"],
            )
            if r["room_number"] in keep:
                self.rooms_table.selectRow(i)
        n = len(rooms)
        self.title.setText(f"Rooms · {n} in service" if n else "No rooms yet: add the first")
        self.refresh_types()

    def refresh_types(self) -> None:
        keep = set(selected_keys(self.types_table))
        counts: dict[str, int] = {}
        for r in self.ops.rooms.rooms():  # the board is newer than the list's counts
            counts[str(r.get("room_type"))] = counts.get(str(r.get("room_type")), 0) + 1
        types = sorted(self.types.values(), key=lambda t: str(t["name"]).lower())
        self.types_table.setRowCount(len(types))
        for i, t in enumerate(types):
            name = str(t["name"])
            fill_row(
                self.types_table,
                i,
                [name, t.get("max_occupancy"), counts.get(name, 0)],
                key=name,
            )
            if name in keep:
                self.types_table.selectRow(i)
        self.update_buttons()

    def row_of(self, number: str) -> int | None:
        for i in range(self.rooms_table.rowCount()):
            item = self.rooms_table.item(i, 0)
            if item is not None and item.text() == number:
                return i
        return None

    def select(self, number: str) -> None:
        self.refresh_view()
        row = self.row_of(number)
        if row is not None:
            self.rooms_table.selectRow(row)

    def update_buttons(self) -> None:
        room = bool(selected_keys(self.rooms_table))
        rtype = bool(selected_keys(self.types_table))
        self.edit_room_button.setEnabled(room)
        self.retire_room_button.setEnabled(room)
        self.edit_type_button.setEnabled(rtype)
        self.retire_type_button.setEnabled(rtype)

    # --- rooms ---------------------------------------------------------------------------

    def open_room_dialog(self, number: str | None = None) -> RoomDialog:
        room = self.ops.rooms.room(number) if number else None
        self.dialog = RoomDialog(self.ops, sorted(self.types), dict(room) if room else None)
        self.dialog.show()
        return self.dialog

    def edit_room(self) -> None:
        keys = selected_keys(self.rooms_table)
        if keys:
            self.open_room_dialog(str(keys[0]))

    def retire_room(self, confirm: bool = True) -> None:
        for number in selected_keys(self.rooms_table):
            room = self.ops.rooms.room(str(number))
            if room is None:
                continue
            if confirm:
                answer = QMessageBox.question(
                    self,
                    "Retire room",
                    f"Retire room {number}? It leaves every board for good; its history "
                    f"stays. (Adding room {number} again brings it back.)",
                )
                if answer != QMessageBox.StandardButton.Yes:
                    return
            label = f"Retire room {number}"
            fields = {"room_number": number, "expected_version": int(room.get("version") or 0)}
            self.ops.send("room.retire", label, fields, self._done(label))

    # --- room types ----------------------------------------------------------------------

    def open_type_dialog(self, name: str | None = None) -> RoomTypeDialog:
        self.dialog = RoomTypeDialog(self.ops, self.types.get(name) if name else None)
        self.dialog.show()
        return self.dialog

    def edit_type(self) -> None:
        keys = selected_keys(self.types_table)
        if keys:
            self.open_type_dialog(str(keys[0]))

    def retire_type(self) -> None:
        for name in selected_keys(self.types_table):
            t = self.types.get(str(name)) or {}
            label = f"Retire room type {name}"
            fields = {"room_type": name, "expected_version": t.get("version")}
            self.ops.send("room_type.retire", label, fields, self._done(label))

    def _done(self, label: str) -> Any:
        def done(reply: dict[str, Any]) -> None:
            if reply.get("type") == "ack":
                self.status.setText(f"Done: {label}.")
            else:
                self.status.setText(f"Not done: {label}. {explain_rooms_error(reply)}")

        return done
