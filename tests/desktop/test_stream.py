"""The stream: heartbeats, gaps, a dead server, a server that cannot resume."""

from __future__ import annotations

from typing import Any

from desktop.mainwindow import MainWindow
from desktop.session import State
from shared.clock import ManualClock
from tests.desktop.conftest import act, login
from tests.support import ServerThread


def test_heartbeats_show_in_the_header_and_update_occupancy(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server)
    assert server.server is not None
    hub_server = server.server
    sent = server.call(lambda: hub_server.heartbeat("overview"))
    assert sent >= 1
    qtbot.waitUntil(lambda: window.session.last_heartbeat is not None, timeout=5000)
    window.update_connection_label()
    assert "last heartbeat" in window.conn_label.text()


def test_a_gap_in_sequence_numbers_resumes_from_the_last_one(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server)
    session = window.session
    dirty = [r for r in window.rooms.rooms() if r["room_status"] == "CHECKOUT_DIRTY"][:2]
    start = session.last_seq or 0
    for room in dirty:
        act(
            server,
            "housekeeping",
            "room.action",
            room_number=room["room_number"],
            action="start_cleaning",
            expected_version=room["version"],
        )
        if room is dirty[0]:
            qtbot.waitUntil(lambda: (session.last_seq or 0) > start, timeout=5000)
            seen = session.last_seq or 0
            # pretend the desktop missed this event: it must ask for it again, not skip it
            session.last_seq = seen - 1
    resets = window.rooms.resets
    qtbot.waitUntil(
        lambda: all(
            window.rooms.room(r["room_number"])["room_status"] == "CLEANING_IN_PROGRESS"
            for r in dirty
        ),
        timeout=10000,
    )
    qtbot.waitUntil(
        lambda: session.state is State.LIVE and (session.last_seq or 0) > seen, timeout=10000
    )
    assert window.rooms.resets == resets  # replayed, not reloaded


def test_silence_from_the_server_makes_the_desktop_reconnect(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock
) -> None:
    login(qtbot, window, server)
    session = window.session
    first_frames = session.frames
    states: list[str] = []
    session.state_changed.connect(states.append)

    def gone_quiet() -> bool:
        # no heartbeat for far longer than 2.5 intervals; the watchdog may start its wait
        # (and a late frame may land) after any one advance, so keep the clock moving
        clock.advance(50)
        return any(s != State.LIVE.value for s in states)

    qtbot.waitUntil(gone_quiet, timeout=5000)

    def back_live() -> bool:
        # the reconnect waits on this clock, from a moment that depends on the machine's
        # load: keep the clock moving (a second a look) until the desk is back
        clock.advance(1)
        return session.state is State.LIVE

    qtbot.waitUntil(back_live, timeout=15000)
    assert session.frames > first_frames


def test_when_the_server_cannot_resume_the_snapshot_is_reloaded(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server)
    resets = window.rooms.resets
    window.session.epoch = "an-older-store"  # e.g. the store was restored from a backup
    window.session.reconnect_now()
    qtbot.waitUntil(lambda: window.rooms.resets == resets + 1, timeout=10000)
    qtbot.waitUntil(lambda: window.session.state is State.LIVE, timeout=10000)
    assert window.rooms.rowCount() == 68
