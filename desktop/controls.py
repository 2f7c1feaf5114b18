"""Housekeeping controls for the selected rooms, and the small dialogs some actions need."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.actions import (
    CONTROL_BY_ACTION,
    CONTROLS,
    OBSERVE,
    Verdict,
    decide,
    role_may_ever,
)
from desktop.model import RoomModel
from desktop.room_facts import status_label
from desktop.theme import named
from shared.rules import RETURN_STATUSES, ROOM_ACTIONS, STATUS_LABELS, Priority, RoomStatus


class MaintenanceDialog(QDialog):
    def __init__(
        self, title: str, priority: str | None, notes: str | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.priority = QComboBox()
        for p in Priority:
            self.priority.addItem(p.value.title(), p.value)
        self.priority.setCurrentIndex(max(0, self.priority.findData(priority or "MEDIUM")))
        self.notes = QPlainTextEdit(notes or "")
        self.notes.setPlaceholderText("What is wrong? e.g. 'Leaking tap in bathroom'")
        self.notes.setFixedHeight(90)
        form = QFormLayout(self)
        form.addRow("Priority", self.priority)
        form.addRow("Notes", self.notes)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, Any]:
        notes = self.notes.toPlainText().strip()
        return {"priority": self.priority.currentData(), "notes": notes or None}


class OutOfOrderDialog(QDialog):
    def __init__(self, rooms: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Set out of order")
        lay = QVBoxLayout(self)
        lay.addWidget(
            QLabel(
                f"Take {rooms} off sale? No guest can be checked in until it is cleared.",
                wordWrap=True,
            )
        )
        form = QFormLayout()
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("e.g. Water damage to ceiling")
        form.addRow("Reason", self.reason)
        lay.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Set out of order")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def values(self) -> dict[str, Any]:
        return {"reason": self.reason.text().strip() or None}


class ReturnStatusDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Clear out of order")
        form = QFormLayout(self)
        self.status = QComboBox()
        for s in (
            RoomStatus.CHECKOUT_DIRTY,
            RoomStatus.CLEANED_UNINSPECTED,
            RoomStatus.READY_FOR_GUEST,
        ):
            if s in RETURN_STATUSES:
                self.status.addItem(STATUS_LABELS[s], s.value)
        form.addRow("The room returns as", self.status)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, Any]:
        return {"return_status": self.status.currentData()}


class ControlsPanel(QWidget):
    """One button per action this role has; enabled exactly when the rules allow it for all
    selected rooms, otherwise disabled with the reason as its tooltip."""

    command = Signal(str, str, dict)  # kind, label, fields (sent by desktop/live.py)

    def __init__(self, rooms: RoomModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rooms = rooms
        self.role = ""
        self.selection: list[str] = []
        self.has_arrival: Callable[[str], bool] = lambda n: True
        self.has_guest: Callable[[str], bool] = lambda n: False
        self.verdicts: dict[str, Verdict] = {}
        self.online = True  # while offline nothing can be sent: every action waits
        self.title = named(QLabel("No room selected"), "selectionInfo")
        self.title.setWordWrap(True)
        self.subtitle = named(QLabel("Click a card to select it; Ctrl+click to add more."), "hint")
        self.subtitle.setWordWrap(True)
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(6)
        for i, c in enumerate(CONTROLS):
            text = c.label.replace("&", "&&")
            b = QPushButton(text)
            b.setObjectName("action_" + c.action)
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            b.clicked.connect(lambda _=False, a=c.action: self.run(a))
            self.buttons[c.action] = b
            grid.addWidget(b, i // 2, i % 2)
        self.grid = grid
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.subtitle)
        lay.addLayout(grid)
        self.keys_hint = named(QLabel(""), "hint")
        self.keys_hint.setWordWrap(True)
        lay.addWidget(self.keys_hint)
        self.refresh()

    def set_role(self, role: str) -> None:
        self.role = role
        # roles shape what the window offers: actions this role never does are not shown
        visible = [c for c in CONTROLS if role_may_ever(c.action, role)]
        for b in self.buttons.values():
            self.grid.removeWidget(b)
            b.hide()
        for i, c in enumerate(visible):
            b = self.buttons[c.action]
            self.grid.addWidget(b, i // 2, i % 2)
            b.show()
        keys = [f"{_key(c.shortcut)} {c.label.rstrip('…').lower()}" for c in visible if c.shortcut]
        self.keys_hint.setText("Keys: " + " · ".join(keys) if keys else "")
        self.refresh()

    def set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.refresh()

    def set_selection(self, numbers: list[str]) -> None:
        self.selection = list(numbers)
        self.refresh()

    def selected_rooms(self) -> list[dict[str, Any]]:
        out = []
        for n in self.selection:
            r = self.rooms.room(n)
            if r is not None:
                out.append(r)
        return out

    def offered(self) -> set[str]:
        """Actions shown and enabled now (what the tests compare with the rules)."""
        return {a for a, b in self.buttons.items() if b.isVisibleTo(self) and b.isEnabled()}

    def refresh(self) -> None:
        rooms = self.selected_rooms()
        if not rooms:
            self.title.setText("No room selected")
            self.subtitle.setText("Click a card to select it; Ctrl+click to add more.")
        elif len(rooms) == 1:
            r = rooms[0]
            self.title.setText(f"Room {r['room_number']} · {status_label(r.get('room_status'))}")
            self.subtitle.setText(
                f"{r.get('room_type') or ''}, floor {r.get('floor')}"
                + (" · occupied" if r.get("is_occupied") else " · vacant")
            )
        else:
            self.title.setText(f"{len(rooms)} rooms selected")
            numbers = ", ".join(r["room_number"] for r in rooms[:12])
            self.subtitle.setText(numbers + ("…" if len(rooms) > 12 else ""))
        for action, b in self.buttons.items():
            v = decide(action, self.role, rooms, self.has_arrival, self.has_guest)
            if v.allowed and not self.online:
                v = Verdict(False, "Not connected to the server; reconnecting.")
            self.verdicts[action] = v
            b.setEnabled(v.allowed)
            rule = ROOM_ACTIONS.get(action)
            control = CONTROL_BY_ACTION[action]
            tip = rule.label if rule is not None else control.tip or control.label.rstrip("…")
            key = CONTROL_BY_ACTION[action].shortcut
            tip += f" ({_key(key)})" if key else ""
            b.setToolTip(tip if v.allowed else f"{tip}: not possible now. {v.reason}")

    # --- running an action ---------------------------------------------------------------------

    def run(self, action: str, args: dict[str, Any] | None = None, confirmed: bool = False) -> bool:
        """Ask what is needed, then send. Tests pass `args` and `confirmed` to skip dialogs."""
        self.refresh()
        v = self.verdicts.get(action)
        if v is None or not v.allowed:
            return False
        rooms = self.selected_rooms()
        control = CONTROL_BY_ACTION[action]
        names = (
            f"room {rooms[0]['room_number']}"
            if len(rooms) == 1
            else f"{len(rooms)} rooms ({', '.join(r['room_number'] for r in rooms[:6])}"
            + ("…)" if len(rooms) > 6 else ")")
        )
        if args is None:
            args = {}
            if control.needs_args:
                got = self._ask(action, rooms, names)
                if got is None:
                    return False
                args = got
                confirmed = confirmed or action == "set_out_of_order"
        if control.confirm and not confirmed:
            answer = QMessageBox.question(
                self,
                control.label.rstrip("…"),
                f"{control.label.rstrip('…')} for {names}? This is not easily undone.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        label = f"{control.label.rstrip('…')} — {names}"
        if action in OBSERVE:
            r = rooms[0]
            self.command.emit(
                "room.observe",
                label,
                {
                    "room_number": r["room_number"],
                    "occupancy": OBSERVE[action],
                    "expected_version": int(r.get("version") or 0),
                },
            )
            return True
        if action in ("check_in", "check_out", "rush", "rush_cancel"):
            r = rooms[0]
            self.command.emit(
                f"room.{action}",
                label,
                {"room_number": r["room_number"], "expected_version": int(r.get("version") or 0)},
            )
            return True
        items = [
            {
                "room_number": r["room_number"],
                "action": action,
                "expected_version": int(r.get("version") or 0),
                **{k: v for k, v in args.items() if v is not None},
            }
            for r in rooms
        ]
        if len(items) == 1:
            self.command.emit("room.action", label, items[0])
        else:
            self.command.emit("rooms.batch", label, {"items": items})
        return True

    def _ask(self, action: str, rooms: list[dict[str, Any]], names: str) -> dict[str, Any] | None:
        dialog: MaintenanceDialog | OutOfOrderDialog | ReturnStatusDialog
        if action in ("flag_maintenance", "report_maintenance", "update_maintenance"):
            first = rooms[0]
            current = action == "update_maintenance"
            dialog = MaintenanceDialog(
                f"{CONTROL_BY_ACTION[action].label.rstrip('…')} — {names}",
                first.get("maintenance_priority") if current else None,
                first.get("maintenance_notes") if current else None,
                self,
            )
        elif action == "set_out_of_order":
            dialog = OutOfOrderDialog(names, self)
        elif action == "clear_out_of_order":
            dialog = ReturnStatusDialog(self)
        else:
            return {}
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.values()


def _key(shortcut: str | None) -> str:
    return QKeySequence(shortcut or "").toString(QKeySequence.SequenceFormat.NativeText)
