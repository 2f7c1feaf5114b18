"""Fixes from the desktop review: logging in again, the day changing, presence after a
reconnect, housekeeping's observations, the Today panel, shortcuts, history words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from desktop.mainwindow import MainWindow
from desktop.session import State
from shared.clock import ManualClock
from tests.desktop.conftest import login, make_window, run
from tests.support import Peer, ServerThread

pytestmark = pytest.mark.gui


def revoke(server: ServerThread, token: str) -> None:
    """Log the token out from another connection (as 'log out' elsewhere would)."""

    async def go() -> None:
        peer = await Peer.open(server.url)
        try:
            reply = await peer.request("auth.token", request_id="t-revoke-1", token=token)
            assert reply["type"] == "ack"
            reply = await peer.request("auth.logout", request_id="t-revoke-2")
            assert reply["type"] == "ack"
        finally:
            await peer.close()

    server.call(go)


def lose_the_token(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock
) -> None:
    token = window.session.token
    assert token
    revoke(server, token)
    qtbot.waitUntil(lambda: window.session.state is not State.LIVE, timeout=10000)
    clock.advance(30)  # the retry finds the token refused
    qtbot.waitUntil(
        lambda: window.login_dialog is not None and window.login_dialog.isVisible(), timeout=10000
    )


@pytest.mark.parametrize("again", ["manager", "frontdesk"])
def test_logging_in_again_after_the_token_is_refused_loads_a_fresh_board(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock, again: str
) -> None:
    login(qtbot, window, server, "manager")
    lose_the_token(qtbot, window, server, clock)
    assert window.session.last_seq is None  # the next login cannot resume into nothing
    # the same person, or someone else at the same desk, logs in at the dialog
    login(qtbot, window, server, again)
    assert window.rooms.rowCount() == 68
    assert window.reservations.rowCount() > 0


def test_a_new_login_never_resumes_the_last_stream(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "manager")
    resets = window.rooms.resets
    run(qtbot, window.session.stop())
    login(qtbot, window, server, "supervisor")
    assert window.rooms.resets > resets and window.rooms.rowCount() == 68


def test_the_room_being_viewed_is_told_again_after_a_reconnect(
    qtbot: Any, qloop: Any, clock: ManualClock, tmp_path: Path, server: ServerThread
) -> None:
    a = make_window(clock, tmp_path, "a.ini")
    qtbot.addWidget(a)
    login(qtbot, a, server, "manager")
    b = make_window(clock, tmp_path, "b.ini")
    qtbot.addWidget(b)
    login(qtbot, b, server, "supervisor")
    b.board.select(["204"])
    a.board.select(["204"])
    qtbot.waitUntil(lambda: "Sean Byrne" in a.details.viewers.text(), timeout=5000)
    assert server.server is not None
    hub = server.server.hub

    def viewing() -> list[str | None]:
        async def go() -> list[str | None]:
            return [
                c.viewing
                for c in hub.clients
                if c.staff is not None and c.staff.login == "supervisor"
            ]

        return list(server.call(go))

    assert viewing() == ["204"]
    first = b.session.frames
    b.session.reconnect_now()  # the connection drops; the server forgets what b viewed
    qtbot.waitUntil(
        lambda: b.session.state is State.LIVE and b.session.frames > first, timeout=10000
    )
    qtbot.waitUntil(lambda: viewing() == ["204"], timeout=5000)
    qtbot.waitUntil(
        lambda: any(
            p.get("name") == "Sean Byrne" and p.get("viewing") == "204" for p in a.session.presence
        ),
        timeout=5000,
    )
    assert "Sean Byrne" in a.details.viewers.text()
