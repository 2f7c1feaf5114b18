"""Out of order and out of service as dated blocks: the list, a dialog to create one, and
ending or cancelling one."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.filtering import natural_key
from desktop.operations.common import (
    BLOCK_ROLES,
    KIND_NAMES,
    fill_row,
    from_qdatetime,
    local_text,
    picker,
    selected_keys,
    table,
    to_qdatetime,
    until_text,
)
from desktop.room_facts import status_label
from desktop.session import error_text
from desktop.theme import STYLE, named
from shared.timeutil import to_iso

if TYPE_CHECKING:
    from desktop.operations.window import OperationsWindow

HEADERS = ["Room", "Kind", "Reason", "From", "Until", "Ends in", "Then", "State", "Set by"]
RETURN_STATUSES = ["CHECKOUT_DIRTY", "CLEANED_UNINSPECTED", "READY_FOR_GUEST"]
STATE_WORDS = {"scheduled": "Scheduled", "active": "In force", "ended": "Ended"}


def explain_block_error(reply: dict[str, Any], role: str, number: str) -> str:
    """A refusal of block.create in words a person can act on."""
    code = reply.get("code")
    if code == "override_required":
        base = (
            f"Room {number} has a guest in house, or an arrival due during this block, so it "
            "cannot simply be taken off sale."
        )
        if role == "manager":
            return base + " If it really must be out of order, tick “Override” and create it again."
        return base + " Only a manager can override this; ask a manager, or make it out of service."
    if code == "conflict":
        return (
            f"Room {number} already has a block in that time. End or cancel it first, or choose "
            "other dates."
        )
    if code == "forbidden":
        return "Your role cannot create blocks (maintenance and managers can)."
    if code == "stale_version":
        return "The room was changed by someone else meanwhile; check it and try again."
    return error_text(reply)


class BlockDialog(QDialog):
    """New block: room, kind, reason, start, end, the status it returns to, override."""

    def __init__(self, ops: OperationsWindow, number: str | None = None) -> None:
        super().__init__(ops)
        self.ops = ops
        self.setWindowTitle("New out-of-order / out-of-service block")
        self.setStyleSheet(STYLE)
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.room = QComboBox()
        for r in sorted(ops.rooms.rooms(), key=lambda r: natural_key(r["room_number"])):
            self.room.addItem(
                f"{r['room_number']} — {status_label(r.get('room_status'))}", r["room_number"]
            )
        if number:
            self.room.setCurrentIndex(max(0, self.room.findData(number)))
        form.addRow("Room", self.room)
        self.kind = QComboBox()
        self.kind.addItem("Out of order — off sale, no check-in", "out_of_order")
        self.kind.addItem("Out of service — still sellable", "out_of_service")
        form.addRow("Kind", self.kind)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("e.g. Bathroom retiling")
        form.addRow("Reason", self.reason)
        now = ops.now()
        self.start_now = QCheckBox("Now")
        self.start_now.setChecked(True)
        self.start = picker()
        self.start.setDateTime(to_qdatetime(now, ops.tz))
        self.start.setEnabled(False)
        self.start_now.toggled.connect(lambda on: self.start.setEnabled(not on))
        start_row = QHBoxLayout()
        start_row.addWidget(self.start_now)
        start_row.addWidget(self.start, 1)
        form.addRow("Starts", start_row)
        self.end = picker()
        self.end.setDateTime(to_qdatetime(now + timedelta(days=1), ops.tz))
        form.addRow("Ends (by itself)", self.end)
        self.returns = QComboBox()
        for s in RETURN_STATUSES:
            self.returns.addItem(status_label(s), s)
        form.addRow("Then the room is", self.returns)
        self.override = QCheckBox("Override: a guest is in house or an arrival is due")
        self.override.setToolTip("Managers only: take the room off sale anyway.")
        self.override.setVisible(ops.role == "manager")
        form.addRow("", self.override)
        lay.addLayout(form)
        tz_note = named(QLabel(f"Times are the hotel's ({ops.tz.key})."), "hint")
        lay.addWidget(tz_note)
        self.error = named(QLabel(""), "opsError")
        self.error.setWordWrap(True)
        self.error.hide()
        lay.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Create block")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.busy = False

    def fields(self) -> dict[str, Any]:
        number = str(self.room.currentData())
        room = self.ops.rooms.room(number) or {}
        out: dict[str, Any] = {
            "room_number": number,
            "kind": self.kind.currentData(),
            "reason": self.reason.text().strip(),
            "end": to_iso(from_qdatetime(self.end.dateTime(), self.ops.tz)),
            "expected_version": int(room.get("version") or 0),
            "return_status": self.returns.currentData(),
        }
        if not self.start_now.isChecked():
            out["start"] = to_iso(from_qdatetime(self.start.dateTime(), self.ops.tz))
        if self.override.isVisible() and self.override.isChecked():
            out["override"] = True
        return out

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def submit(self) -> None:
        if self.busy:
            return
        f = self.fields()
        if not f["reason"]:
            self.show_error("Say why the room is blocked (the reason is shown on the board).")
            return
        self.busy = True
        self.show_error("")
        label = f"{KIND_NAMES.get(f['kind'], f['kind'])}: room {f['room_number']}"
        self.ops.send("block.create", label, f, self._reply)

    def _reply(self, reply: dict[str, Any]) -> None:
        self.busy = False
        if reply.get("type") == "ack":
            block = reply["result"].get("block")
            if isinstance(block, dict):
                self.ops.blocks_tab.upsert(block)
            self.accept()
        else:
            self.show_error(explain_block_error(reply, self.ops.role, str(self.room.currentData())))


class BlocksTab(QWidget):
    def __init__(self, ops: OperationsWindow) -> None:
        super().__init__()
        self.ops = ops
        self.blocks: dict[int, dict[str, Any]] = {}
        self.dialog: BlockDialog | None = None
        lay = QVBoxLayout(self)
        self.title = named(QLabel("Blocks"), "tabTitle")
        lay.addWidget(self.title)
        hint = named(
            QLabel(
                "Out of order takes a room off sale and refuses check-in; out of service keeps "
                "it sellable. Every block has a reason, an end and the status the room returns "
                "to, and ends by itself at its end time."
            ),
            "hint",
        )
        hint.setWordWrap(True)
        lay.addWidget(hint)
        self.table = table(HEADERS, stretch=2)
        self.table.itemSelectionChanged.connect(self.update_buttons)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.new_button = named(QPushButton("New block…"), "primary")
        self.new_button.clicked.connect(lambda: self.open_dialog())
        row.addWidget(self.new_button)
        self.end_button = QPushButton("End now / cancel selected")
        self.end_button.clicked.connect(self.end_selected)
        row.addWidget(self.end_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.status = named(QLabel(""), "opsInfo")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

    def set_role(self, role: str) -> None:
        self.new_button.setVisible(role in BLOCK_ROLES)
        self.end_button.setVisible(role in BLOCK_ROLES)
        self.update_buttons()

    def set_blocks(self, blocks: list[dict[str, Any]]) -> None:
        self.blocks = {int(b["id"]): b for b in blocks}
        self.refresh_view()

    def upsert(self, block: dict[str, Any]) -> None:
        if block.get("state") in ("ended", "cancelled"):
            self.blocks.pop(int(block["id"]), None)
        else:
            self.blocks[int(block["id"])] = block
        self.refresh_view()

    def refresh_view(self) -> None:
        keep = set(selected_keys(self.table))
        now = self.ops.now()
        tz = self.ops.tz
        rows = sorted(self.blocks.values(), key=lambda b: (str(b.get("start")), b["id"]))
        self.table.setRowCount(len(rows))
        for i, b in enumerate(rows):
            by = b.get("created_by")
            if isinstance(by, dict):
                by = by.get("name")
            state = STATE_WORDS.get(str(b.get("state")), str(b.get("state")))
            if b.get("override"):
                state += " (override)"
            fill_row(
                self.table,
                i,
                [
                    b.get("room_number"),
                    KIND_NAMES.get(str(b.get("kind")), b.get("kind")),
                    b.get("reason") or "",
                    local_text(b.get("start"), tz),
                    local_text(b.get("end"), tz),
                    until_text(b.get("end"), now),
                    status_label(b.get("return_status")),
                    state,
                    by or "",
                ],
                key=b["id"],
            )
            if b["id"] in keep:
                self.table.selectRow(i)
        self.table.resizeRowsToContents()
        n = len(rows)
        self.title.setText(f"Scheduled and active blocks · {n}" if n else "No blocks")
        self.ops.set_tab_count(self, "Blocks", n)
        self.update_buttons()

    def update_buttons(self) -> None:
        self.end_button.setEnabled(bool(selected_keys(self.table)))

    def open_dialog(self, number: str | None = None) -> BlockDialog:
        self.dialog = BlockDialog(self.ops, number)
        self.dialog.show()
        return self.dialog

    def end_selected(self) -> None:
        for block_id in selected_keys(self.table):
            b = self.blocks.get(int(block_id)) or {}
            verb = "Cancel" if b.get("state") == "scheduled" else "End"
            label = f"{verb} block of room {b.get('room_number')}"

            def done(reply: dict[str, Any], label: str = label) -> None:
                if reply.get("type") == "ack":
                    block = reply["result"].get("block")
                    if isinstance(block, dict):
                        self.upsert(block)
                    self.status.setText(f"Done: {label}.")
                else:
                    self.status.setText(f"Not done: {label}. {error_text(reply)}")

            self.ops.send("block.end", label, {"block_id": int(block_id)}, done)
