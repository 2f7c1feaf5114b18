"""The first-start and log-in dialog: server address (remembered, or chosen from the servers
found on the LAN), login and password. The address may be several, separated by commas or
spaces: the servers of one cluster, which the desk tries in order (desktop/members.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.discovery import FoundEntry, FoundServer, ServerBrowser, entries
from desktop.theme import named
from desktop.trust import lock_pixmap


class LoginDialog(QDialog):
    submitted = Signal(str, str, str)  # server, login, password
    cancelled = Signal()

    def __init__(
        self,
        server: str,
        login: str = "",
        parent: QWidget | None = None,
        browser: ServerBrowser | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Roomrack — log in")
        self.setModal(False)
        self.setMinimumWidth(420)
        self.setStyleSheet(
            "QDialog { background: #FFFFFF; }"
            "QLabel#brand { font-size: 20pt; font-weight: 700; color: #1F3A4D; }"
            "QLabel#tag { color: #566573; }"
            "QLabel#error { color: #C0392B; font-weight: 600; }"
            "QLineEdit { padding: 6px; font-size: 11pt; }"
            "QPushButton#primary { background: #2E6DB4; color: white; padding: 7px 18px;"
            " border-radius: 4px; font-weight: 600; font-size: 11pt; }"
            "QPushButton#primary:disabled { background: #85A9D6; }"
        )
        brand = named(QLabel("Roomrack"), "brand")
        tag = named(QLabel("The live room rack of your hotel"), "tag")
        self.server = QLineEdit(server)
        self.server.setPlaceholderText("e.g. reception-pc:8765 (several: a:8765, b:8765)")
        self.server.setToolTip(
            "The address of the Roomrack server on the hotel network, as your manager gave it.\n"
            "Several servers of one hotel (a cluster): their addresses separated by commas;\n"
            "the desk tries them in order and moves on to the next by itself."
        )
        self.login = QLineEdit(login)
        self.login.setPlaceholderText("your login")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("password")
        self.error = named(QLabel(""), "error")
        self.error.setWordWrap(True)
        self.error.hide()
        self.button = named(QPushButton("Log in"), "primary")
        self.button.setDefault(True)
        self.button.clicked.connect(self._submit)
        self.password.returnPressed.connect(self._submit)
        self.login.returnPressed.connect(self.password.setFocus)
        self.found = QListWidget()  # the servers announced on the LAN (if looked for)
        self.found.setMaximumHeight(130)
        self.found.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.found.setWordWrap(True)
        self.found.setToolTip("Servers found on this network: click one to use its address")
        self.found.itemClicked.connect(self._choose)
        self.found_label = named(QLabel("Servers on this network"), "tag")
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("Server", self.server)
        form.addRow("Login", self.login)
        form.addRow("Password", self.password)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 20, 24, 20)
        lay.setSpacing(10)
        lay.addWidget(brand)
        lay.addWidget(tag)
        lay.addSpacing(6)
        lay.addWidget(self.found_label)
        lay.addWidget(self.found)
        lay.addLayout(form)
        lay.addWidget(self.error)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.button)
        lay.addLayout(row)
        (self.password if login else self.login).setFocus()
        self.browser = browser
        self.found_label.hide()
        self.found.hide()
        if browser is not None:
            self.show_found()
            self.list_servers(list(browser.servers.values()))
            browser.changed.connect(self.list_servers)
            browser.start()

    def show_found(self) -> None:
        """Show the list of servers found on the network (wider, for their codes)."""
        self.setMinimumWidth(540)
        self.found_label.show()
        self.found.show()

    def list_servers(self, servers: list[FoundServer]) -> None:
        """Show the servers found so far (each hotel's name, its address and its code); the
        servers of one cluster are one entry, with every member's address."""
        self.found.clear()
        if not servers:
            item = QListWidgetItem("Looking for servers… (or type the address below)")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.found.addItem(item)
            return
        for found in entries(servers):
            mark = f"code {found.code}" if found.tls else "not encrypted"
            # a cluster's addresses take a line of their own, its code the next
            gap = "\n" if len(found.members) > 1 else "  ·  "
            item = QListWidgetItem(f"{found.title}\n{found.addresses}{gap}{mark}")
            colour = "#1E8449" if found.tls else "#B9770E"
            item.setIcon(QIcon(lock_pixmap(colour, 20, open_=not found.tls)))
            item.setData(Qt.ItemDataRole.UserRole, found)
            item.setToolTip(
                f"{found.names}\nIt announces the code {found.code or '—'}; the desk checks "
                "the certificate itself when it connects."
            )
            self.found.addItem(item)

    def _choose(self, item: QListWidgetItem) -> None:
        found = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(found, FoundEntry | FoundServer):
            self.server.setText(found.typed)
            (self.password if self.login.text() else self.login).setFocus()

    def _submit(self) -> None:
        server, login = self.server.text().strip(), self.login.text().strip()
        if not server or not login or not self.password.text():
            self.show_error("Please fill in the server address, your login and your password.")
            return
        self.busy(True)
        self.submitted.emit(server, login, self.password.text())

    def busy(self, busy: bool) -> None:
        self.button.setEnabled(not busy)
        self.button.setText("Connecting…" if busy else "Log in")
        if busy:
            self.error.hide()

    def show_error(self, text: str) -> None:
        self.busy(False)
        self.error.setText(text)
        self.error.show()
        self.password.selectAll()
        self.password.setFocus()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.cancelled.emit()
        super().closeEvent(event)
