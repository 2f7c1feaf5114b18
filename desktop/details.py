"""Room details: every field of the selected room and its history from the journal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.marks import attendant_name
from desktop.model import RoomModel
from desktop.notify import who_asked
from desktop.room_facts import OCC_LABELS, guests_of, occupancy_of, occupancy_text, status_label
from desktop.theme import named
from shared.timeutil import clock_text, from_iso

FIELDS: list[tuple[str, str]] = [
    ("room_number", "Room"),
    ("room_type", "Type"),
    ("floor", "Floor"),
    ("section", "Section"),
    ("building", "Building"),
    ("capacity", "Capacity"),
    ("room_status", "Housekeeping"),
    ("occupancy", "Occupancy"),
    ("guests", "Guests in room"),
    ("next_available", "Next available"),
    ("reservations_today", "Reservations today"),
    ("maintenance", "Maintenance"),
    ("maintenance_notes", "Maintenance notes"),
    ("is_out_of_order", "Out of order"),
    ("block", "Block"),
    ("rush", "Rush"),
    ("assigned_to", "Attendant"),
    ("do_not_disturb", "Do not disturb"),
    ("hk_occupancy", "Housekeeping saw"),
    ("last_cleaned_at", "Last cleaned"),
    ("cleaned_by_staff", "Cleaned by"),
    ("last_inspected_at", "Last inspected"),
    ("inspected_by_staff", "Inspected by"),
    ("updated_at", "Last change"),
    ("version", "Version"),
]

EVENT_WORDS = {
    "room_updated": "Room changed",
    "room.update": "Occupancy changed",
    "reservation.created": "Reservation made",
    "reservation.confirmed": "Reservation confirmed",
    "reservation.cancelled": "Reservation cancelled",
    "reservation.deleted": "Reservation deleted",
    "reservation.checked_in": "Guest checked in",
    "reservation.checked_out": "Guest checked out",
    "room.rush_ready": "Rushed room ready",
    "block.created": "Block planned",
    "block.started": "Block started",
    "block.ended": "Block ended",
    "discrepancy.raised": "Discrepancy found",
    "discrepancy.resolved": "Discrepancy resolved",
    "hotel.rollover": "Night roll-over",
    "room_created": "Room added",
    "room_retired": "Room retired",
    "room_type_created": "Room type added",
    "room_type_updated": "Room type changed",
    "room_type_retired": "Room type retired",
}


def event_words(kind: str) -> str:
    """A person's words for an event type; an unknown one is made readable."""
    known = EVENT_WORDS.get(kind)
    if known:
        return known
    text = kind.replace(".", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else "Change"


FIELD_WORDS = {
    "room_status": "status",
    "maintenance_required": "maintenance flag",
    "maintenance_priority": "priority",
    "maintenance_notes": "notes",
    "is_out_of_order": "out of order",
    "out_of_order_reason": "reason",
    "do_not_disturb": "do not disturb",
    "is_occupied": "occupancy",
    "guests_in_room": "guests",
    "last_cleaned_at": "cleaned",
    "cleaned_by_staff": "cleaner",
    "last_inspected_at": "inspected",
    "inspected_by_staff": "inspector",
    "block": "block",
    "is_out_of_service": "out of service",
    "rush": "rush",
    "assigned_to": "attendant",
    "hk_occupancy": "housekeeping's look",
    "hk_observed_at": "looked at",
    "dnd_since": "do not disturb since",
    "room_type": "room type",
    "floor": "floor",
    "building": "building",
    "section": "section",
    "capacity": "beds or seats",
    "max_occupancy": "max occupancy",
    "own_max_occupancy": "own max occupancy",
}

Fetch = Callable[[str], Awaitable[list[dict[str, Any]] | None]]


def describe_event(ev: dict[str, Any]) -> str:
    """A journal entry in words: 'Status → Cleaning' or 'Guest checked in (B. Ryan)'."""
    kind = ev.get("type", "")
    p = ev.get("payload") or {}
    if kind == "room_updated":
        changed = p.get("changed_fields") or []
        bits = []
        if "room_status" in changed:
            bits.append(f"Status → {status_label(p.get('room_status'))}")
        if "maintenance_required" in changed or "maintenance_priority" in changed:
            if p.get("maintenance_required"):
                note = f": {p.get('maintenance_notes')}" if p.get("maintenance_notes") else ""
                bits.append(f"Maintenance {p.get('maintenance_priority') or ''}{note}")
            else:
                bits.append("Maintenance cleared")
        if "is_out_of_order" in changed:
            bits.append(
                f"Out of order: {p.get('out_of_order_reason') or ''}"
                if p.get("is_out_of_order")
                else "Back in order"
            )
        if "do_not_disturb" in changed:
            bits.append("Do not disturb " + ("on" if p.get("do_not_disturb") else "off"))
        if "is_occupied" in changed:
            bits.append("Guest in" if p.get("is_occupied") else "Guest out")
        if not bits and changed:
            bits.append("Changed " + ", ".join(FIELD_WORDS.get(f, f) for f in changed))
        if not bits:
            bits.append(event_words(kind))
        return "; ".join(bits)
    if kind == "room.update":
        occ = OCC_LABELS.get(p.get("occupancy_status", ""), p.get("occupancy_status", ""))
        return f"Occupancy: {occ}"
    words = event_words(str(kind))
    if kind == "room.rush_ready" and p.get("waited_minutes") is not None:
        return f"{words} after {p['waited_minutes']} min"
    block = p.get("block")
    if isinstance(block, dict) and block.get("reason"):
        how = f" ({p['how']})" if p.get("how") else ""
        return f"{words}{how}: {block['reason']}"
    found = p.get("discrepancy")
    if isinstance(found, dict) and found.get("label"):
        return f"{words}: {found['label']}"
    res = p.get("reservation") or {}
    if res.get("guest_name"):
        words += f" ({res['guest_name']})"
    return words


class DetailsPanel(QWidget):
    def __init__(self, rooms: RoomModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rooms = rooms
        self.number: str | None = None
        self.tz = ZoneInfo("UTC")
        self.fetch: Fetch | None = None
        self.values: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(2)
        for key, label in FIELDS:
            value = QLabel("–")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[key] = value
            name = QLabel(label)
            name.setStyleSheet("color: #566573;")
            form.addRow(name, value)
        self.history = QTreeWidget()
        self.history.setHeaderLabels(["When", "Who", "What", "From"])
        self.history.setRootIsDecorated(False)
        self.history.setAlternatingRowColors(True)
        self.history.setWordWrap(True)
        self.history_label = named(QLabel("History"), "sectionHeader")
        self.history_label.setWordWrap(True)
        self.viewers = named(QLabel(""), "hint")
        self.viewers.setWordWrap(True)
        self.viewers.hide()
        self.form_box = QWidget()
        self.form_box.setLayout(form)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.viewers)
        lay.addWidget(self.form_box)
        lay.addWidget(self.history_label)
        lay.addWidget(self.history, 1)
        self.show_room(None)

    def set_timezone(self, name: str) -> None:
        try:
            self.tz = ZoneInfo(name)
        except Exception:
            self.tz = ZoneInfo("UTC")

    def when(self, iso: Any) -> str:
        if not iso:
            return "–"
        try:
            dt = from_iso(str(iso))
        except ValueError:
            return "–"  # never a raw stamp in front of staff
        return clock_text(dt, self.tz, self.rooms.now(), seconds=True)

    def show_room(self, number: str | None) -> None:
        changed = number != self.number
        self.number = number
        room = self.rooms.room(number) if number else None
        self.form_box.setVisible(room is not None)
        self.history.setVisible(room is not None)
        if room is None:
            for v in self.values.values():
                v.setText("–")
            self.history.clear()
            self.history_label.setText("Select one room to see its details and history.")
            return
        occ_text = occupancy_text(room, self.rooms.now(), self.rooms.tz)
        maint = "No"
        if room.get("maintenance_required"):
            maint = f"Yes — {room.get('maintenance_priority') or 'MEDIUM'} priority"
        ooo = "No"
        if room.get("is_out_of_order"):
            ooo = f"Yes — {room.get('out_of_order_reason') or ''}"
        block = room.get("block")
        block_text = ""
        if isinstance(block, dict):
            kind = "Out of order" if block.get("kind") == "out_of_order" else "Out of service"
            block_text = (
                f"{kind} until {self.when(block.get('end'))} — {block.get('reason') or ''}"
                f"; then {status_label(block.get('return_status'))}"
            )
        rush = room.get("rush")
        rush_text = ""
        if isinstance(rush, dict):
            rush_text = f"Wanted by {who_asked(rush)} since {self.when(rush.get('requested_at'))}"
            if rush.get("note"):
                rush_text += f" — {rush['note']}"
        dnd = "Off"
        if room.get("do_not_disturb"):
            dnd = f"On since {self.when(room['dnd_since'])}" if room.get("dnd_since") else "On"
        seen = ""
        if room.get("hk_occupancy"):
            seen = str(room["hk_occupancy"]).capitalize()
            seen += f" at {self.when(room.get('hk_observed_at'))}"
        shown = {
            "block": block_text,
            "rush": rush_text,
            "assigned_to": attendant_name(room),
            "hk_occupancy": seen,
            "room_status": status_label(room.get("room_status")),
            "occupancy": occ_text,
            "next_available": "when the guest checks out"
            if occupancy_of(room, self.rooms.now())[0] == "overdue"
            else room.get("next_available"),
            "guests": str(guests_of(room)),
            "maintenance": maint,
            "is_out_of_order": ooo,
            "do_not_disturb": dnd,
            "last_cleaned_at": self.when(room.get("last_cleaned_at")),
            "last_inspected_at": self.when(room.get("last_inspected_at")),
            "updated_at": self.when(room.get("updated_at")),
        }
        for key, label in self.values.items():
            value = shown.get(key, room.get(key))
            label.setText("–" if value in (None, "") else str(value))
        if changed:
            self.history.clear()
            self.history_label.setText(f"History of room {number}")

    def set_viewers(self, names: list[str]) -> None:
        self.viewers.setText("Also looking at this room: " + ", ".join(names) if names else "")
        self.viewers.setVisible(bool(names))

    def set_history(self, number: str, events: list[dict[str, Any]]) -> None:
        if number != self.number:
            return
        self.history.clear()
        items = []
        for ev in events:
            meta = ev.get("meta") or {}
            actor = meta.get("actor") or {}
            who = actor.get("name") or meta.get("source") or "system"
            if actor.get("role"):
                who += f" ({str(actor['role']).replace('_', ' ')})"
            item = QTreeWidgetItem(
                [
                    self.when(meta.get("ts")),
                    who,
                    describe_event(ev),
                    actor.get("workstation") or meta.get("source") or "",
                ]
            )
            item.setToolTip(2, describe_event(ev))
            items.append(item)
        self.history.addTopLevelItems(items)
        for col in range(4):
            self.history.resizeColumnToContents(col)
        self.history_label.setText(f"History of room {number} · {len(events)} entries")


def now_text(dt: datetime, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%H:%M:%S")
