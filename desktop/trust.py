"""Asking the person whether to trust a server: the pairing question and the warning that a
certificate changed.

First connection to an address: the dialog shows the server's code and asks the person to
compare it with the one the server PC shows (as a phone pairs with a car), or to type the
pairing code an admin printed with `roomrack-server pair`. A changed certificate gets a
warning instead, with no way to accept it blindly: only a pairing code from the admin (who
knows whether the certificate was replaced on purpose) pins the new one.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.pinning import Verdict, address_of, short
from desktop.session import LoginError, Session, UntrustedServer
from desktop.theme import named
from shared.pairing import is_pairing_code


class Answer(StrEnum):
    TRUSTED = "trusted"  # the person compared the codes: pin it
    PAIRED = "paired"  # a pairing code proved it: pinned already
    CANCELLED = "cancelled"


STYLE = (
    "QDialog { background: #FFFFFF; }"
    "QLabel#title { font-size: 15pt; font-weight: 700; color: #1F3A4D; }"
    "QLabel#warnTitle { font-size: 15pt; font-weight: 700; color: #B03A2E; }"
    "QLabel#where { color: #1F3A4D; font-size: 11pt; }"
    "QLabel#code { font-family: monospace; font-size: 17pt; font-weight: 700;"
    " color: #1F3A4D; background: #EEF3F8; border-radius: 6px; padding: 10px; }"
    "QLabel#oldCode { font-family: monospace; font-size: 12pt; color: #566573; }"
    "QLabel#newCode { font-family: monospace; font-size: 12pt; color: #B03A2E;"
    " font-weight: 700; }"
    "QLabel#hint { color: #566573; }"
    "QLabel#error { color: #C0392B; font-weight: 600; }"
    "QFrame#warn { background: #FDEDEC; border: 1px solid #E6B0AA; border-radius: 6px; }"
    "QLineEdit { padding: 6px; font-size: 12pt; font-family: monospace; }"
    "QPushButton { padding: 6px 14px; }"
    "QPushButton#primary { background: #2E6DB4; color: white; border-radius: 4px;"
    " font-weight: 600; }"
)


class TrustDialog(QDialog):
    """The question (an unknown server) or the warning (a changed certificate)."""

    def __init__(self, problem: UntrustedServer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.problem = problem
        self.answer = Answer.CANCELLED
        self.changed = problem.verdict is Verdict.CHANGED
        self.setWindowTitle(
            "Roomrack — certificate changed" if self.changed else "Roomrack — new server"
        )
        self.setModal(True)
        self.setMinimumWidth(620)
        self.setStyleSheet(STYLE)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 20, 24, 20)
        lay.setSpacing(10)
        where = address_of(problem.url)
        if self.changed:
            self._build_warning(lay, where)
        else:
            self._build_question(lay, where)
        self.pair_code = QLineEdit()
        self.pair_code.setPlaceholderText("pairing code, e.g. 7M2K-Q9XD-04TR")
        self.pair_code.setMaxLength(20)
        self.pair_button = QPushButton("Pair with this code")
        self.pair_button.setToolTip(
            "Your administrator prints a one-time code on the server PC with `roomrack-server pair`"
        )
        self.pair_button.clicked.connect(self._pair_clicked)
        self.pair_code.returnPressed.connect(self._pair_clicked)
        row = QHBoxLayout()
        row.addWidget(self.pair_code, 1)
        row.addWidget(self.pair_button)
        lay.addLayout(row)
        self.error = named(QLabel(""), "error")
        self.error.setWordWrap(True)
        self.error.hide()
        lay.addWidget(self.error)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        buttons.addWidget(self.cancel_button)
        self.trust_button: QPushButton | None = None
        if not self.changed:
            self.trust_button = named(QPushButton("The codes match: trust it"), "primary")
            self.trust_button.clicked.connect(self._trust_clicked)
            buttons.addWidget(self.trust_button)
        else:
            self.cancel_button.setDefault(True)
        lay.addLayout(buttons)
        self._future: asyncio.Future[str] | None = None
        self._pairing: asyncio.Future[None] | None = None
        self.session: Session | None = None

    def _build_question(self, lay: QVBoxLayout, where: str) -> None:
        lay.addWidget(named(QLabel("Is this your hotel's server?"), "title"))
        lay.addWidget(named(QLabel(f"Roomrack server at <b>{where}</b>"), "where"))
        text = QLabel(
            "This desk has not connected to this server before. Compare the code below with "
            "the one the server PC shows (it prints it when it starts, and "
            "<code>roomrack-server fingerprint</code> shows it again). If they are the same, "
            "trust it: from then on this desk connects to this server only."
        )
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(text)
        code = named(QLabel(short(self.problem.sha256)), "code")
        code.setMinimumWidth(code.fontMetrics().horizontalAdvance("W" * 30))
        code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        code.setToolTip(f"SHA-256 {self.problem.sha256}")
        lay.addWidget(code)
        lay.addWidget(
            named(QLabel("Or type the pairing code your administrator gave you:"), "hint")
        )

    def _build_warning(self, lay: QVBoxLayout, where: str) -> None:
        title = named(QLabel("Warning: the server's certificate has changed"), "warnTitle")
        title.setWordWrap(True)
        lay.addWidget(title)
        text = QLabel(
            f"The server at <b>{where}</b> presented a different certificate from the one this "
            "desk trusts. Roomrack did not connect and sent nothing to it: your password and "
            "the hotel's data are safe.<br><br>This can mean that someone on the network is "
            "pretending to be the server. It can also mean that the server was reinstalled. "
            "Do not go on until your administrator has checked: if the certificate was "
            "replaced on purpose, they give you a pairing code for it."
        )
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(text)
        old = named(QLabel(f"Trusted:   {short(self.problem.pinned)}"), "oldCode")
        new = named(QLabel(f"Presented: {short(self.problem.sha256)}"), "newCode")
        new.setToolTip(f"SHA-256 {self.problem.sha256}")
        lay.addWidget(old)
        lay.addWidget(new)
        lay.addWidget(named(QLabel("Pairing code from your administrator:"), "hint"))

    # --- answers --------------------------------------------------------------------------

    def ask(self, session: Session) -> asyncio.Future[str]:
        """Show the dialog (without blocking the loop); the future gets the Answer."""
        self.session = session
        self._future = asyncio.get_running_loop().create_future()
        self.finished.connect(self._finished)
        self.open()
        return self._future

    def _finished(self, _result: int) -> None:
        if self._future is not None and not self._future.done():
            self._future.set_result(self.answer.value)

    def _trust_clicked(self) -> None:
        if self.session is not None:
            self.session.trust(self.problem.url, self.problem.sha256)  # and its list's
        self.answer = Answer.TRUSTED
        self.accept()

    def _pair_clicked(self) -> None:
        code = self.pair_code.text()
        if not is_pairing_code(code):
            self.show_error("A pairing code has 12 letters and digits, e.g. 7M2K-Q9XD-04TR.")
            return
        self.pair_button.setEnabled(False)
        self.pair_button.setText("Checking…")
        self._pairing = asyncio.ensure_future(self._pair(code))

    async def _pair(self, code: str) -> None:
        assert self.session is not None
        try:
            await self.session.pair(self.problem.url, code)
        except LoginError as exc:
            self.show_error(exc.message)
            return
        finally:
            self.pair_button.setEnabled(True)
            self.pair_button.setText("Pair with this code")
        self.answer = Answer.PAIRED
        self.accept()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
        self.adjustSize()  # room for the line: the code above it is never squeezed


async def settle(
    holder: QWidget, session: Session, problem: UntrustedServer, parent: QWidget | None = None
) -> bool:
    """Ask about `problem` in a dialog over `parent` (default `holder`); True if the server
    is trusted now (pinned). The open dialog is `holder.trust_dialog` while it waits (tests
    and screenshots find it there)."""
    dialog = TrustDialog(problem, parent or holder)
    holder.trust_dialog = dialog  # type: ignore[attr-defined]
    try:
        answer = await dialog.ask(session)
    finally:
        holder.trust_dialog = None  # type: ignore[attr-defined]
        dialog.deleteLater()
    return answer in (Answer.TRUSTED.value, Answer.PAIRED.value)


def transport_words(session: Session) -> tuple[str, str, str]:
    """The header's transport mark beside the lock: (text, tooltip, colour) — the code over
    TLS, a plain warning over ws, nothing before the first connection."""
    if session.url.startswith("ws://"):
        return (
            "Not encrypted",
            "Plain ws:// (--insecure): logins and guest names cross the network readable.",
            "#F5B041",
        )
    if session.fingerprint:
        return (
            short(session.fingerprint),
            "Encrypted (TLS); the server's certificate is the one this desk pinned.\n"
            f"SHA-256 {session.fingerprint}",
            "#ABEBC6",
        )
    return ("", "", "#ABEBC6")


def lock_pixmap(colour: str = "#1E8449", size: int = 16, open_: bool = False) -> QPixmap:
    """A small padlock, drawn (emoji fonts are missing on many PCs); open for plain ws."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor(colour))
    pen.setWidthF(size / 8)
    p.setPen(pen)
    arc = QRectF(size * 0.28, size * 0.08, size * 0.44, size * 0.5)
    if open_:
        arc.translate(size * 0.22, -size * 0.06)
    p.drawArc(arc, 0, 180 * 16)
    p.drawLine(QPointF(arc.left(), arc.center().y()), QPointF(arc.left(), size * 0.48))
    if not open_:
        p.drawLine(QPointF(arc.right(), arc.center().y()), QPointF(arc.right(), size * 0.48))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(colour))
    p.drawRoundedRect(QRectF(size * 0.16, size * 0.46, size * 0.68, size * 0.5), 2, 2)
    p.end()
    return pix
