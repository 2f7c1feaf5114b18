"""Servers found on the LAN: two real servers announced on the loopback interface are both
listed in the login dialog, and choosing one fills the address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from desktop.discovery import FoundEntry, FoundServer, ServerBrowser
from desktop.mainwindow import MainWindow
from shared.clock import ManualClock
from tests.support import ServerThread, make_store, tls_config

LOOPBACK = ("127.0.0.1",)


@pytest.fixture
def two_servers(tmp_path: Path, clock: ManualClock) -> Iterator[list[ServerThread]]:
    servers = []
    for name in ("north", "south"):
        db = tmp_path / name / "roomrack.db"
        db.parent.mkdir()
        make_store(db, clock)
        config = tls_config(db, discovery=True, discovery_interfaces=LOOPBACK)
        servers.append(ServerThread(config, clock=ManualClock(clock.now())).start())
    yield servers
    for st in servers:
        st.stop()


def entries_listed(win: MainWindow) -> list[FoundEntry]:
    assert win.login_dialog is not None
    found = win.login_dialog.found
    items = [found.item(i).data(Qt.ItemDataRole.UserRole) for i in range(found.count())]
    return [f for f in items if isinstance(f, FoundEntry)]


def listed(win: MainWindow) -> list[FoundServer]:
    """Every server the dialog lists (a cluster's entry lists several)."""
    return [s for entry in entries_listed(win) for s in entry.members]


def test_two_servers_on_one_network_are_both_listed_and_one_is_chosen(
    qtbot: Any, window: MainWindow, two_servers: list[ServerThread]
) -> None:
    window.browser = ServerBrowser(LOOPBACK)
    window.show_login()
    ports = {st.port for st in two_servers}
    qtbot.waitUntil(lambda: ports <= {f.port for f in listed(window)}, timeout=20000)
    ours = [f for f in listed(window) if f.port in ports]
    assert len({f.name for f in ours}) == 2  # two services, not one seen twice
    for st in two_servers:
        found = next(f for f in ours if f.port == st.port)
        assert found.tls and found.host == "127.0.0.1"
        assert found.code == st.server.fingerprint_code  # type: ignore[union-attr]
        assert found.hotels == ("Hotel Killarney (demo)",)
    dialog = window.login_dialog
    assert dialog is not None
    item = next(
        dialog.found.item(i)
        for i in range(dialog.found.count())
        if ours[1] in dialog.found.item(i).data(Qt.ItemDataRole.UserRole).members
    )
    rect = dialog.found.visualItemRect(item)
    qtbot.mouseClick(dialog.found.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert dialog.server.text() == ours[1].address
    window.browser.stop()


def test_without_discovery_the_dialog_only_takes_a_typed_address(
    qtbot: Any, window: MainWindow
) -> None:
    dialog = window.show_login()
    assert dialog.found.isHidden() and dialog.server.isVisible()
