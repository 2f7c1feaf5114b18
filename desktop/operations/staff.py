"""Staff accounts, for a manager: who has an account, whether it is enabled or locked, its
open sessions, and the security log; add a colleague, reset a password, disable or enable an
account, end its sessions, lift a lockout. Every change is the server's (`staff.*`
commands); the tab asks for the lists again after each one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
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
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.account import password_field
from desktop.operations.common import (
    fill_row,
    local_text,
    role_name,
    selected_keys,
    set_tip,
    table,
)
from desktop.session import error_text
from desktop.theme import ROLE_NAMES, STYLE, named
from shared.accounts import MIN_PASSWORD, password_problem
from shared.rules import STAFF_ADMIN_ROLES

if TYPE_CHECKING:
    from desktop.operations.window import OperationsWindow

HEADERS = ["Name", "Login", "Role", "Account", "Last login", "Sessions", "Lockout"]
LOG_HEADERS = ["When", "What", "Account", "By", "From", "Detail"]
KIND_WORDS = {
    "staff.login": "Logged in",
    "staff.login_failed": "Failed login",
    "staff.locked": "Locked out",
    "staff.unlocked": "Unlocked",
    "staff.disabled": "Disabled",
    "staff.enabled": "Enabled",
    "staff.password_changed": "Changed own password",
    "staff.password_reset": "Password reset",
    "staff.session_ended": "Session ended",
    "staff.created": "Account created",
}


class PasswordDialog(QDialog):
    """A new password, typed twice, checked against the rule as it is typed. With `login`
    empty it also asks for the login, name and role of a new colleague."""

    def __init__(
        self, ops: OperationsWindow, title: str, account: dict[str, Any] | None = None
    ) -> None:
        super().__init__(ops)
        self.ops, self.account = ops, account
        self.setWindowTitle(title)
        self.setStyleSheet(STYLE + "QLabel#opsError { color: #922B21; font-weight: 600; }")
        self.setMinimumWidth(480)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.login = QLineEdit()
        self.name = QLineEdit()
        self.role = QComboBox()
        for value, words in ROLE_NAMES.items():
            self.role.addItem(words, value)
        if account is None:
            self.login.setPlaceholderText("e.g. eva (no spaces)")
            self.name.setPlaceholderText("e.g. Eva Roe")
            form.addRow("Login", self.login)
            form.addRow("Name", self.name)
            form.addRow("Role", self.role)
        else:
            intro = QLabel(
                f"A new password for {account.get('name')} ({account.get('login')}). They are "
                "logged out everywhere and log in with it; tell it to them in person."
            )
            intro.setWordWrap(True)
            lay.addWidget(intro)
        self.password = password_field(f"at least {MIN_PASSWORD} characters")
        self.again = password_field("the same again")
        form.addRow("Password", self.password)
        form.addRow("Password again", self.again)
        lay.addLayout(form)
        self.error = named(QLabel(""), "opsError")
        self.error.setWordWrap(True)
        lay.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Add" if account is None else "Set password")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        for edit in (self.login, self.name, self.password, self.again):
            edit.textChanged.connect(self._check)
        self._check()

    def _login_name(self) -> tuple[str, str]:
        if self.account is not None:
            return str(self.account.get("login", "")), str(self.account.get("name", ""))
        return self.login.text().strip(), self.name.text().strip()

    def problem(self) -> str | None:
        login, name = self._login_name()
        if self.account is None and (not login or not name):
            return "Type the login and the name."
        if self.account is None and any(c.isspace() for c in login):
            return "A login has no spaces."
        if not self.password.text():
            return f"Type a password of at least {MIN_PASSWORD} characters."
        rule = password_problem(self.password.text(), login, name)
        if rule is not None:
            return rule
        if self.again.text() != self.password.text():
            return "The two passwords differ."
        return None

    def _check(self) -> None:
        problem = self.problem()
        self.ok.setEnabled(problem is None)
        self.error.setText(problem if problem and self.password.text() else "")

    def submit(self) -> None:
        if self.problem() is not None:
            return
        self.ok.setEnabled(False)
        if self.account is None:
            fields = {
                "login": self.login.text().strip(),
                "name": self.name.text().strip(),
                "role": str(self.role.currentData()),
                "password": self.password.text(),
            }
            self.ops.spawner.spawn(self.ops.session.call("staff.create", **fields), self._done)
        else:
            self.ops.spawner.spawn(
                self.ops.session.call(
                    "staff.reset_password",
                    staff_id=int(self.account["id"]),
                    password=self.password.text(),
                ),
                self._done,
            )

    def _done(self, reply: dict[str, Any]) -> None:
        if reply.get("type") == "ack":
            self.accept()
            return
        self.error.setText(error_text(reply))
        self.ok.setEnabled(True)


class StaffTab(QWidget):
    def __init__(self, ops: OperationsWindow) -> None:
        super().__init__()
        self.ops = ops
        self.accounts: dict[int, dict[str, Any]] = {}
        self.entries: list[dict[str, Any]] = []
        lay = QVBoxLayout(self)
        self.title = named(QLabel("Staff accounts"), "tabTitle")
        lay.addWidget(self.title)
        hint = named(
            QLabel(
                "Disabling an account, ending its sessions or resetting its password logs that "
                "person out at once on every workstation. An account locks after failed logins "
                "from several machines; its own desks still get in, and Unlock lifts it."
            ),
            "hint",
        )
        hint.setWordWrap(True)
        lay.addWidget(hint)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add staff member…")
        self.reset_button = QPushButton("Reset password…")
        self.toggle_button = QPushButton("Disable")
        self.end_button = QPushButton("End sessions")
        self.unlock_button = QPushButton("Unlock")
        self.refresh_button = QPushButton("Refresh")
        for b in (
            self.add_button,
            self.reset_button,
            self.toggle_button,
            self.end_button,
            self.unlock_button,
        ):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.refresh_button)
        self.add_button.clicked.connect(self.add_staff)
        self.reset_button.clicked.connect(self.reset_selected)
        self.toggle_button.clicked.connect(self.toggle_selected)
        self.end_button.clicked.connect(self.end_selected)
        self.unlock_button.clicked.connect(self.unlock_selected)
        self.refresh_button.clicked.connect(self.reload)
        self.table = table(HEADERS, stretch=0)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.log = table(LOG_HEADERS, stretch=5)
        split = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.table, 1)
        tl.addLayout(row)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 6, 0, 0)
        bl.addWidget(named(QLabel("Security log: logins, lockouts and account changes"), "hint"))
        bl.addWidget(self.log, 1)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setSizes([380, 260])
        lay.addWidget(split, 1)
        self.status = named(QLabel(""), "opsInfo")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self._update_buttons()

    # --- the lists -------------------------------------------------------------------------

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.reload()  # who logged in since, and the newest of the log

    def allowed(self) -> bool:
        return self.ops.role in STAFF_ADMIN_ROLES

    def reload(self) -> None:
        if not self.allowed():
            return
        self.ops.spawner.spawn(self.ops.session.call("staff.accounts"), self._accounts_reply)
        self.ops.spawner.spawn(self.ops.session.call("staff.audit", limit=200), self._log_reply)

    def _accounts_reply(self, reply: dict[str, Any]) -> None:
        if reply.get("type") == "ack":
            self.set_accounts((reply.get("result") or {}).get("staff") or [])
        else:
            self.status.setText(error_text(reply))

    def _log_reply(self, reply: dict[str, Any]) -> None:
        if reply.get("type") == "ack":
            self.set_log((reply.get("result") or {}).get("entries") or [])

    def set_accounts(self, accounts: list[dict[str, Any]]) -> None:
        keep = set(selected_keys(self.table))
        self.accounts = {int(a["id"]): a for a in accounts}
        rows = sorted(accounts, key=lambda a: (not a.get("enabled"), str(a.get("name"))))
        self.table.setRowCount(len(rows))
        for i, a in enumerate(rows):
            sessions = int(a.get("sessions") or 0)
            online = int(a.get("online") or 0)
            fill_row(
                self.table,
                i,
                [
                    a.get("name"),
                    a.get("login"),
                    role_name(a.get("role")),
                    "Enabled" if a.get("enabled") else "Disabled",
                    local_text(a.get("last_login_at"), self.ops.tz),
                    f"{sessions} ({online} online)" if sessions else "–",
                    f"Locked until {local_text(a.get('locked_until'), self.ops.tz, '%H:%M')}"
                    if a.get("locked")
                    else "",
                ],
                key=int(a["id"]),
            )
            if int(a["id"]) in keep:
                self.table.selectRow(i)
        locked = sum(1 for a in accounts if a.get("locked"))
        self.title.setText(
            f"Staff accounts · {len(accounts)}" + (f" · {locked} locked" if locked else "")
        )
        self._update_buttons()

    def set_log(self, entries: list[dict[str, Any]]) -> None:
        self.entries = list(entries)
        self.log.setRowCount(len(entries))
        for i, e in enumerate(entries):
            where = " · ".join(str(x) for x in (e.get("workstation"), e.get("address")) if x)
            fill_row(
                self.log,
                i,
                [
                    local_text(e.get("ts"), self.ops.tz, "%a %d %b %H:%M:%S"),
                    KIND_WORDS.get(str(e.get("kind")), str(e.get("kind"))),
                    e.get("login") or "",
                    e.get("actor") or "",
                    where,
                    e.get("detail") or "",
                ],
            )

    def selected(self) -> dict[str, Any] | None:
        keys = selected_keys(self.table)
        return self.accounts.get(int(keys[0])) if keys else None

    def select_login(self, login: str) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 1)
            if item is not None and item.text() == login:
                self.table.selectRow(row)
                return

    def _update_buttons(self) -> None:
        a = self.selected()
        me = a is not None and a.get("id") == self.ops.staff_id
        pick = "Select a staff member first."
        set_tip(
            self.reset_button,
            a is not None and not me,
            pick if a is None else "Change your own password in Settings.",
        )
        enabled = a is not None and bool(a.get("enabled"))
        self.toggle_button.setText("Enable" if a is not None and not enabled else "Disable")
        set_tip(
            self.toggle_button,
            a is not None and not me,
            pick if a is None else "You cannot disable your own account.",
        )
        set_tip(
            self.end_button,
            a is not None and int(a.get("sessions") or 0) > 0,
            pick if a is None else "No open sessions.",
        )
        set_tip(
            self.unlock_button,
            a is not None and bool(a.get("locked")),
            pick if a is None else "This account is not locked.",
        )

    # --- actions -----------------------------------------------------------------------------

    def add_staff(self) -> PasswordDialog:
        dialog = PasswordDialog(self.ops, "Add a staff member")
        dialog.accepted.connect(lambda: self._after("Account added", dialog.login.text()))
        dialog.show()
        return dialog

    def reset_selected(self) -> PasswordDialog | None:
        a = self.selected()
        if a is None:
            return None
        dialog = PasswordDialog(self.ops, "Reset a password", a)
        dialog.accepted.connect(
            lambda: self._after("Password reset", f"{a['name']} was logged out everywhere.")
        )
        dialog.show()
        return dialog

    def toggle_selected(self) -> None:
        a = self.selected()
        if a is None:
            return
        if a.get("enabled"):
            answer = QMessageBox.question(
                self,
                "Disable account",
                f"Disable the account of {a['name']}? They are logged out at once everywhere "
                "and cannot log in until it is enabled again.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.set_enabled(int(a["id"]), not a.get("enabled"))

    def set_enabled(self, staff_id: int, enabled: bool) -> None:
        kind = "staff.enable" if enabled else "staff.disable"
        words = "Account enabled" if enabled else "Account disabled"
        self._send(kind, words, staff_id=staff_id)

    def end_selected(self) -> None:
        a = self.selected()
        if a is not None:
            self.end_sessions(int(a["id"]))

    def end_sessions(self, staff_id: int) -> None:
        self._send("staff.end_sessions", "Sessions ended", staff_id=staff_id)

    def unlock_selected(self) -> None:
        a = self.selected()
        if a is not None:
            self.unlock(int(a["id"]))

    def unlock(self, staff_id: int) -> None:
        self._send("staff.unlock", "Account unlocked", staff_id=staff_id)

    def _send(self, kind: str, words: str, **fields: Any) -> None:
        def done(reply: dict[str, Any]) -> None:
            if reply.get("type") == "ack":
                n = (reply.get("result") or {}).get("sessions_ended")
                extra = f"{n} session(s) ended." if n else ""
                self._after(words, extra)
            else:
                self.status.setText(error_text(reply))
                self.ops.toast("error", f"Not done: {words.lower()}", error_text(reply), True)

        self.ops.spawner.spawn(self.ops.session.call(kind, **fields), done)

    def _after(self, words: str, detail: str = "") -> None:
        self.status.setText(f"{words}. {detail}".strip())
        self.ops.toast("success", words, detail)
        self.reload()
