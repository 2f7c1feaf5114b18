"""The desktop over TLS with a real server: the pairing question, pins, the warning about a
changed certificate, pairing codes, rotation, and the token kept in the keyring."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from desktop.mainwindow import MainWindow
from desktop.session import LoginError, Session
from server import tls
from shared.clock import ManualClock
from shared.pairing import fingerprint_code
from tests.desktop.conftest import login, make_window, run
from tests.support import FileKeyring, ServerThread, tls_config


@pytest.fixture
def tls_server(demo_db: Path, clock: ManualClock) -> Iterator[ServerThread]:
    st = ServerThread(
        tls_config(demo_db, rate_per_second=0), clock=ManualClock(clock.now())
    ).start()
    yield st
    st.stop()


def certificate(server: ServerThread) -> tls.TlsFolder:
    return tls.TlsFolder(server.config.db_path.with_name("roomrack-tls"))


def served(server: ServerThread) -> str:
    cert = certificate(server).current()
    assert cert is not None
    return cert.sha256


def next_pin(win: MainWindow, server: ServerThread) -> str | None:
    pin = win.session.pins.get(server.url)
    return pin.next if pin else None


def start_login(win: MainWindow, server: ServerThread, who: str = "manager") -> Any:
    win.show()
    return asyncio.ensure_future(win.login(server.url, who, "demo"))


def the_question(qtbot: Any, win: MainWindow) -> Any:
    qtbot.waitUntil(lambda: win.trust_dialog is not None and win.trust_dialog.isVisible())
    assert win.trust_dialog is not None
    return win.trust_dialog


def trusted_login(qtbot: Any, win: MainWindow, server: ServerThread) -> None:
    fut = start_login(win, server)
    dialog = the_question(qtbot, win)
    qtbot.mouseClick(dialog.trust_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(fut.done, timeout=15000)
    assert fut.result() is True
    qtbot.waitUntil(lambda: win.session.is_live() and win.rooms.rowCount() > 0, timeout=10000)


def test_the_first_connection_shows_the_code_and_trusting_it_logs_in_over_tls(
    qtbot: Any, window: MainWindow, tls_server: ServerThread
) -> None:
    fut = start_login(window, tls_server)
    dialog = the_question(qtbot, window)
    code = fingerprint_code(served(tls_server))
    assert not dialog.changed and code in [w.text() for w in dialog.findChildren(QLabel)]
    qtbot.mouseClick(dialog.trust_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(fut.done, timeout=15000)
    assert fut.result() is True
    qtbot.waitUntil(lambda: window.session.is_live(), timeout=10000)
    assert window.session.url.startswith("wss://")
    assert window.session.fingerprint == served(tls_server)
    pin = window.session.pins.get(tls_server.url)
    assert pin is not None and pin.fingerprint == served(tls_server)
    window.update_connection_label()
    assert window.transport_label.text() == code
    assert not window.transport_icon.pixmap().isNull()  # the lock


def test_a_pinned_server_is_not_asked_about_again(
    qtbot: Any, window: MainWindow, tls_server: ServerThread, clock: ManualClock, tmp_path: Path
) -> None:
    trusted_login(qtbot, window, tls_server)
    run(qtbot, window.session.stop())
    other = make_window(clock, tmp_path)  # the same settings file: the same pins
    qtbot.addWidget(other)
    login(qtbot, other, tls_server)
    assert other.trust_dialog is None


def test_cancelling_the_question_trusts_nothing_and_sends_nothing(
    qtbot: Any, window: MainWindow, tls_server: ServerThread
) -> None:
    window.show_login()
    fut = start_login(window, tls_server)
    dialog = the_question(qtbot, window)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(fut.done)
    assert fut.result() is False
    assert window.session.pins.get(tls_server.url) is None
    assert window.login_dialog is not None and "not trusted" in window.login_dialog.error.text()


def test_a_server_with_a_new_certificate_is_refused_with_the_warning(
    qtbot: Any, window: MainWindow, tls_server: ServerThread
) -> None:
    trusted_login(qtbot, window, tls_server)
    pinned = served(tls_server)
    tls_server.stop()
    shutil.rmtree(certificate(tls_server).folder)  # reinstalled, or someone pretending
    tls_server.start()
    window.session.reconnect_now()
    dialog = the_question(qtbot, window)
    assert dialog.changed and dialog.trust_button is None  # no way to accept it blindly
    assert "changed" in dialog.windowTitle()
    assert window.session.state.value == "offline"  # it stopped; nothing was sent
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.trust_dialog is None)
    pin = window.session.pins.get(tls_server.url)
    assert pin is not None and pin.fingerprint == pinned  # still the old pin


def test_a_pairing_code_pins_the_server_without_reading_its_code(
    qtbot: Any, window: MainWindow, tls_server: ServerThread
) -> None:
    folder = certificate(tls_server)
    code = folder.new_pairing(tls_server.clock.now())
    fut = start_login(window, tls_server)
    dialog = the_question(qtbot, window)
    dialog.pair_code.setText("0000-0000-0000")  # a wrong code: refused, nothing pinned
    qtbot.mouseClick(dialog.pair_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.isVisible() and dialog.pair_button.isEnabled())
    assert "does not match" in dialog.error.text()
    assert window.session.pins.get(tls_server.url) is None
    # the dialog grew for the line: nothing above it is squeezed (the code stays whole)
    code_label = dialog.findChild(QLabel, "code")
    assert code_label is not None and code_label.height() >= code_label.sizeHint().height()
    assert dialog.height() >= dialog.sizeHint().height()
    code = folder.new_pairing(tls_server.clock.now())  # the wrong try used the first one up
    dialog.pair_code.setText(code.lower().replace("-", " "))
    qtbot.mouseClick(dialog.pair_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(fut.done, timeout=15000)
    assert fut.result() is True
    pin = window.session.pins.get(tls_server.url)
    assert pin is not None and pin.fingerprint == served(tls_server)
    qtbot.waitUntil(lambda: window.session.is_live(), timeout=10000)


def test_a_desk_connected_during_the_grace_period_accepts_the_next_certificate(
    qtbot: Any, window: MainWindow, tls_server: ServerThread
) -> None:
    trusted_login(qtbot, window, tls_server)
    nxt, _ = certificate(tls_server).rotate(tls_server.clock.now(), timedelta(days=14))
    window.session.reconnect_now()  # its next hello announces the next certificate
    qtbot.waitUntil(lambda: next_pin(window, tls_server) == nxt.sha256, timeout=10000)
    qtbot.waitUntil(lambda: window.session.is_live(), timeout=10000)
    assert isinstance(tls_server.clock, ManualClock)
    tls_server.clock.advance(14 * 86400)
    assert tls_server.call(tls_server.server.certificate_now)  # type: ignore[union-attr]
    window.session.reconnect_now()
    qtbot.waitUntil(lambda: window.session.fingerprint == nxt.sha256, timeout=10000)
    qtbot.waitUntil(lambda: window.session.is_live(), timeout=10000)
    assert window.trust_dialog is None  # no question: the desk was ready
    pin = window.session.pins.get(tls_server.url)
    assert pin is not None and pin.fingerprint == nxt.sha256 and pin.next is None


def test_the_token_is_kept_in_the_keyring_not_in_qsettings_and_logout_removes_it(
    qtbot: Any,
    window: MainWindow,
    tls_server: ServerThread,
    tmp_path: Path,
    test_keyring: FileKeyring,
) -> None:
    trusted_login(qtbot, window, tls_server)
    token = window.session.token
    assert token and window.settings.token == token
    assert token in test_keyring.path.read_text()
    ini = (tmp_path / "settings.ini").read_text()
    assert token not in ini and "token" not in ini
    window.logout()
    qtbot.waitUntil(lambda: window.login_dialog is not None)
    qtbot.waitUntil(lambda: token not in test_keyring.path.read_text())
    assert window.settings.token is None


def test_a_token_an_older_version_kept_in_qsettings_moves_to_the_keyring(
    tmp_path: Path, test_keyring: FileKeyring
) -> None:
    from PySide6.QtCore import QSettings

    from desktop.settings import Settings

    path = tmp_path / "old.ini"
    old = QSettings(str(path), QSettings.Format.IniFormat)
    old.setValue("session/token", "secret-token-123")
    old.sync()
    assert Settings(path).token == "secret-token-123"
    assert "secret-token-123" not in path.read_text()
    assert "secret-token-123" in test_keyring.path.read_text()


def test_a_plain_address_is_refused_unless_asked_for_by_name(
    qtbot: Any, qloop: Any, server: ServerThread
) -> None:
    session = Session()
    with pytest.raises(LoginError) as refused:
        run(qtbot, session.login(server.url, "manager", "demo"))
    assert refused.value.code == "insecure_refused" and "--insecure" in refused.value.message


def test_the_header_says_when_the_connection_is_not_encrypted(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server)
    window.update_connection_label()
    assert "Not encrypted" in window.transport_label.text()
    assert not window.transport_icon.pixmap().isNull()  # an open lock


def test_a_server_being_paired_cannot_slip_in_a_next_certificate(
    qtbot: Any, qloop: Any, tls_server: ServerThread, clock: ManualClock
) -> None:
    """A changed certificate whose server announces itself as the 'next' one must not get
    pinned as such while the desk only tries a pairing code with it."""
    session = Session(clock=clock)
    session.pins.pin(tls_server.url, "ab" * 32)  # the desk trusts another certificate
    certificate(tls_server).rotate(tls_server.clock.now(), timedelta(days=14))
    with pytest.raises(LoginError):
        run(qtbot, session.pair(tls_server.url, "0000-0000-0000"))
    pin = session.pins.get(tls_server.url)
    assert pin is not None and pin.fingerprint == "ab" * 32 and pin.next is None
