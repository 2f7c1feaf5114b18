"""Discrepancies found by the server: the open ones, live, and resolving one with a note."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.operations.common import (
    duration_text,
    fill_row,
    minutes_between,
    parse,
    role_name,
    selected_keys,
    table,
)
from desktop.session import error_text
from desktop.theme import named
from shared.timeutil import clock_text

if TYPE_CHECKING:
    from desktop.operations.window import OperationsWindow

HEADERS = ["Room", "What", "Raised", "Open for", "Details", "Concerns"]


def raised_text(iso: Any, tz: ZoneInfo, now: datetime) -> str:
    """When it was raised, on the hotel's clock: "08:06" today, "Wed 2 Dec 18:06" before."""
    when = parse(iso)
    return clock_text(when, tz, now) if when is not None else "–"


class DiscrepanciesTab(QWidget):
    def __init__(self, ops: OperationsWindow) -> None:
        super().__init__()
        self.ops = ops
        self.items: dict[int, dict[str, Any]] = {}
        lay = QVBoxLayout(self)
        self.title = named(QLabel("Open discrepancies"), "tabTitle")
        lay.addWidget(self.title)
        hint = named(
            QLabel(
                "Found by the server itself: a guest due out still in the room, an arrival due "
                "in a room that is not ready, do-not-disturb held too long, housekeeping and the "
                "front desk disagreeing about a room. Resolve one when it has been dealt with; "
                "your name is recorded."
            ),
            "hint",
        )
        hint.setWordWrap(True)
        lay.addWidget(hint)
        self.table = table(HEADERS, stretch=4)
        self.table.itemSelectionChanged.connect(self.update_buttons)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Note:"))
        self.note = QLineEdit()
        self.note.setPlaceholderText("What was done (e.g. 'Guest extended to Friday')")
        row.addWidget(self.note, 1)
        self.resolve_button = named(QPushButton("Resolve selected"), "primary")
        self.resolve_button.clicked.connect(self.resolve_selected)
        row.addWidget(self.resolve_button)
        lay.addLayout(row)
        self.status = named(QLabel(""), "opsInfo")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.update_buttons()

    # --- data ----------------------------------------------------------------------------

    def set_items(self, items: list[dict[str, Any]]) -> None:
        self.items = {int(d["id"]): d for d in items if d.get("state", "open") == "open"}
        self.refresh_view()

    def raised(self, d: dict[str, Any]) -> None:
        if d.get("state", "open") == "open":
            self.items[int(d["id"])] = d
            self.refresh_view()

    def resolved(self, d: dict[str, Any]) -> None:
        if self.items.pop(int(d["id"]), None) is not None:
            self.refresh_view()

    def ordered(self) -> list[dict[str, Any]]:
        return sorted(self.items.values(), key=lambda d: (str(d.get("raised_at")), d["id"]))

    def refresh_view(self) -> None:
        keep = set(selected_keys(self.table))
        now = self.ops.now()
        tz = self.ops.tz
        rows = self.ordered()
        self.table.setRowCount(len(rows))
        for i, d in enumerate(rows):
            fill_row(
                self.table,
                i,
                [
                    d.get("room_number") or "–",
                    d.get("label") or d.get("kind"),
                    raised_text(d.get("raised_at"), tz, now),
                    duration_text(minutes_between(d.get("raised_at"), now)),
                    d.get("message") or "",
                    ", ".join(role_name(r) for r in d.get("roles") or []),
                ],
                key=d["id"],
            )
            if d["id"] in keep:
                self.table.selectRow(i)
        self.table.resizeRowsToContents()
        n = len(rows)
        self.title.setText(f"Open discrepancies · {n}" if n else "No open discrepancies")
        self.ops.set_tab_count(self, "Discrepancies", n)
        self.update_buttons()

    # --- resolving -----------------------------------------------------------------------

    def selected(self) -> list[dict[str, Any]]:
        return [self.items[k] for k in selected_keys(self.table) if k in self.items]

    def concerns_me(self, d: dict[str, Any]) -> bool:
        return self.ops.role in (d.get("roles") or [])

    def update_buttons(self) -> None:
        chosen = self.selected()
        mine = [d for d in chosen if self.concerns_me(d)]
        self.resolve_button.setEnabled(bool(chosen) and len(mine) == len(chosen))
        if not chosen:
            self.resolve_button.setToolTip("Select a discrepancy first.")
        elif len(mine) != len(chosen):
            other = next(d for d in chosen if not self.concerns_me(d))
            self.resolve_button.setToolTip(
                f"Only {', '.join(role_name(r) for r in other.get('roles') or [])} "
                "can resolve this one."
            )
        else:
            self.resolve_button.setToolTip("Mark it dealt with; the note and your name are kept.")

    def resolve_selected(self) -> None:
        note = self.note.text().strip()
        for d in self.selected():
            self.resolve(int(d["id"]), note)

    def resolve(self, discrepancy_id: int, note: str = "") -> None:
        fields: dict[str, Any] = {"discrepancy_id": discrepancy_id}
        if note:
            fields["note"] = note
        d = self.items.get(discrepancy_id) or {}
        self.ops.send(
            "discrepancy.resolve",
            f"Resolve: {d.get('label', 'discrepancy')} (room {d.get('room_number', '?')})",
            fields,
            lambda reply: self._resolved_reply(discrepancy_id, reply),
        )

    def _resolved_reply(self, discrepancy_id: int, reply: dict[str, Any]) -> None:
        if reply.get("type") == "ack":
            d = reply["result"].get("discrepancy") or {"id": discrepancy_id}
            self.resolved(d)
            self.note.clear()
            self.status.setText(f"Resolved: {d.get('label', '')} (room {d.get('room_number')}).")
        else:
            if reply.get("code") == "invalid_transition":
                self.resolved({"id": discrepancy_id})  # someone else was quicker
            self.status.setText(f"Not resolved: {error_text(reply)}")
