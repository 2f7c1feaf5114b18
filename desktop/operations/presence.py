"""Who is online: every logged-in workstation, and which room each one has open."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop.operations.common import fill_row, local_text, role_name, table
from desktop.theme import named

if TYPE_CHECKING:
    from desktop.operations.window import OperationsWindow

HEADERS = ["Name", "Role", "Workstation", "Online since", "Looking at"]


class OnlineTab(QWidget):
    def __init__(self, ops: OperationsWindow) -> None:
        super().__init__()
        self.ops = ops
        self.online: list[dict[str, Any]] = []
        lay = QVBoxLayout(self)
        self.title = named(QLabel("Who is online"), "tabTitle")
        lay.addWidget(self.title)
        hint = named(
            QLabel(
                "One line per logged-in workstation, live. “Looking at” is the room whose "
                "details that person has open on the board."
            ),
            "hint",
        )
        hint.setWordWrap(True)
        lay.addWidget(hint)
        self.table = table(HEADERS)
        lay.addWidget(self.table, 1)

    def set_presence(self, online: list[dict[str, Any]]) -> None:
        self.online = list(online)
        rows = sorted(self.online, key=lambda p: (str(p.get("name")), str(p.get("workstation"))))
        me = (self.ops.staff_id, self.ops.session.workstation)
        self.table.setRowCount(len(rows))
        for i, p in enumerate(rows):
            name = str(p.get("name") or "")
            if (p.get("staff_id"), p.get("workstation")) == me:
                name += " (you)"
            fill_row(
                self.table,
                i,
                [
                    name,
                    role_name(p.get("role")),
                    p.get("workstation") or "–",
                    local_text(p.get("since"), self.ops.tz, "%H:%M"),
                    f"Room {p['viewing']}" if p.get("viewing") else "–",
                ],
                key=p.get("staff_id"),
            )
        n = len(rows)
        self.title.setText(f"Who is online · {n}")
        self.ops.set_tab_count(self, "Online", n)

    def viewers(self, number: str) -> list[str]:
        """Everyone else who has `number` open."""
        me = (self.ops.staff_id, self.ops.session.workstation)
        return [
            str(p.get("name"))
            for p in self.online
            if p.get("viewing") == number and (p.get("staff_id"), p.get("workstation")) != me
        ]
