"""One's own account: the Change password dialog (the current password is asked; the rule of
`shared.accounts` is shown as you type, and the server checks it again)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.session import Session, error_text
from desktop.theme import STYLE, named
from shared.accounts import MIN_PASSWORD, password_problem


def changed_words(other_sessions: int) -> str:
    if other_sessions == 0:
        return "Use the new password from now on."
    where = "workstation" if other_sessions == 1 else "workstations"
    return (
        f"Use the new password from now on. You were logged out on {other_sessions} other {where}."
    )


def password_field(placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    edit.setMinimumWidth(260)
    return edit


class ChangePasswordDialog(QDialog):
    changed = Signal(int)  # how many other sessions ended

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from desktop.operations.common import Spawner  # (the Staff tab imports this module)

        self.session = session
        self.spawner = Spawner(self)
        self.setWindowTitle("Change your password")
        self.setStyleSheet(STYLE + "QLabel#opsError { color: #922B21; font-weight: 600; }")
        self.setMinimumWidth(460)
        lay = QVBoxLayout(self)
        who = session.staff.get("name") or session.staff.get("login") or ""
        intro = QLabel(
            f"A new password for {who}. At least {MIN_PASSWORD} characters, not your login or "
            "name, not an easy one. Your other workstations will be logged out."
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.current = password_field("your password now")
        self.new = password_field(f"at least {MIN_PASSWORD} characters")
        self.again = password_field("the new one again")
        form.addRow("Current password", self.current)
        form.addRow("New password", self.new)
        form.addRow("New password again", self.again)
        lay.addLayout(form)
        self.error = named(QLabel(""), "opsError")
        self.error.setWordWrap(True)
        lay.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Change password")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        for edit in (self.current, self.new, self.again):
            edit.textChanged.connect(self._check)
        self._check()

    def problem(self) -> str | None:
        """What stops the change, in words (None: it can be sent)."""
        if not self.current.text():
            return "Type your current password."
        new = self.new.text()
        rule = password_problem(
            new, str(self.session.staff.get("login", "")), str(self.session.staff.get("name", ""))
        )
        if new and rule is not None:
            return rule
        if not new:
            return f"Type a new password of at least {MIN_PASSWORD} characters."
        if self.again.text() != new:
            return "The two new passwords differ."
        return None

    def _check(self) -> None:
        problem = self.problem()
        self.ok.setEnabled(problem is None)
        # only what the person typed wrong is shown in red, not what is still to type
        shown = problem if problem and (self.new.text() or self.again.text()) else ""
        self.error.setText(shown or "")

    def submit(self) -> None:
        if self.problem() is not None:
            return
        self.ok.setEnabled(False)
        self.error.setText("")
        self.spawner.spawn(
            self.session.call(
                "auth.change_password",
                old_password=self.current.text(),
                new_password=self.new.text(),
            ),
            self._done,
        )

    def _done(self, reply: dict[str, Any]) -> None:
        if reply.get("type") == "ack":
            self.changed.emit(int((reply.get("result") or {}).get("sessions_ended", 0)))
            self.accept()
            return
        self.error.setText(error_text(reply))
        self.ok.setEnabled(True)
        if reply.get("code") == "auth_failed":
            self.current.selectAll()
            self.current.setFocus()
