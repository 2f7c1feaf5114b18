"""The hotel's day moves on while the desktop runs: today's reservations are asked for again
(the server lists only the day's), at midnight and after the night roll-over."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from desktop.mainwindow import MainWindow
from shared.clock import ManualClock
from tests.desktop.conftest import act, login
from tests.desktop.ops_support import advance_server
from tests.support import ServerThread

pytestmark = pytest.mark.gui


@pytest.fixture
def clock() -> ManualClock:
    # a minute before midnight in the demo hotel (Europe/Dublin is on UTC in January)
    return ManualClock(datetime(2026, 1, 15, 23, 59, tzinfo=UTC))


def book_tomorrow(window: MainWindow, server: ServerThread) -> tuple[str, int]:
    """A confirmed arrival tomorrow in a room that is ready and vacant."""
    number = next(
        r["room_number"]
        for r in window.rooms.rooms()
        if r["room_status"] == "READY_FOR_GUEST"
        and not r.get("is_occupied")
        and not window.reservations.has_arrival(r["room_number"])
        and not any(x.get("room_number") == r["room_number"] for x in window.reservations.items())
    )
    reply = act(
        server,
        "frontdesk",
        "reservation.create",
        room_number=number,
        guest_name="Tomorrow's Guest",
        start="2026-01-16T14:00:00Z",
        end="2026-01-18T11:00:00Z",
    )
    assert reply["type"] == "ack", reply
    return number, int(reply["result"]["reservation"]["id"])


def test_after_midnight_the_new_days_arrivals_are_loaded(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock
) -> None:
    login(qtbot, window, server, "frontdesk")
    number, rid = book_tomorrow(window, server)
    # a fresh login sees only today's list: tomorrow's arrival is not in it
    login(qtbot, window, server, "frontdesk")
    assert all(r["id"] != rid for r in window.reservations.items())
    window.board.select([number])
    assert "check_in" not in window.controls.offered()
    snapshots: list[int] = []
    window.session.reservations_snapshot.connect(lambda items, seq: snapshots.append(seq))
    advance_server(server, 90)  # both clocks: 00:00:30 on the 16th
    clock.advance(90)
    qtbot.waitUntil(lambda: any(r["id"] == rid for r in window.reservations.items()), timeout=5000)
    assert len(snapshots) == 1
    assert window.reservations.has_arrival(number)
    qtbot.waitUntil(lambda: "check_in" in window.controls.offered(), timeout=5000)
    # the rooms were not reloaded, and the stream goes on from where it was
    assert window.rooms.rowCount() == 68 and window.session.is_live()


def test_the_night_roll_over_reloads_the_reservations(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "frontdesk")
    snapshots: list[int] = []
    window.session.reservations_snapshot.connect(lambda items, seq: snapshots.append(seq))
    advance_server(server, 3 * 3600 + 60)  # only the server's clock: past its 03:00
    assert server.server is not None
    srv = server.server
    server.call(srv.rollover_now)
    qtbot.waitUntil(lambda: len(snapshots) == 1, timeout=5000)
    assert window.session.is_live()


def test_the_days_counters_follow_the_work_and_restart_at_the_roll_over(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "supervisor")
    assert window.business_date == "2026-01-15"
    start = dict(window.day_counts)
    label = window.res_panel.day_label
    assert label.isVisibleTo(window.res_panel) and "Business day Thu 15 Jan" in label.text()
    room = next(r for r in window.rooms.rooms() if r["room_status"] == "CLEANED_UNINSPECTED")
    reply = act(
        server,
        "supervisor",
        "room.action",
        room_number=room["room_number"],
        action="inspect",
        expected_version=room["version"],
    )
    assert reply["type"] == "ack", reply
    qtbot.waitUntil(lambda: window.day_counts["inspected"] == start["inspected"] + 1, timeout=5000)
    assert window.day_counts == {**start, "inspected": start["inspected"] + 1}
    assert f"{start['inspected'] + 1} inspected" in label.text()
    advance_server(server, 3 * 3600 + 60)  # past the server's 03:00
    assert server.server is not None
    srv = server.server
    server.call(srv.rollover_now)
    qtbot.waitUntil(lambda: window.business_date == "2026-01-16", timeout=5000)
    assert not any(window.day_counts.values())
    assert "Business day Fri 16 Jan:</b> nothing yet" in label.text()


def test_reloading_the_list_while_the_desk_books_keeps_the_stream_and_every_booking(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "frontdesk")
    states: list[str] = []
    window.session.state_changed.connect(states.append)
    snapshots: list[int] = []
    window.session.reservations_snapshot.connect(lambda items, seq: snapshots.append(seq))
    candidates = [
        r["room_number"]
        for r in window.rooms.rooms()
        if r["room_status"] == "READY_FOR_GUEST" and not r.get("is_occupied")
    ]
    made: list[int] = []
    for i in range(3):
        task = asyncio.ensure_future(window.session.reload_reservations())
        for _ in range(i + 1):  # the list request on its way (more or less far each time)
            QApplication.processEvents()
        while True:  # the first free room that takes a booking tonight
            reply = act(
                server,
                "frontdesk",
                "reservation.create",
                room_number=candidates.pop(0),
                guest_name=f"Guest {i}",
                start="2026-01-15T23:59:30Z",  # arriving tonight: in today's list
                end="2026-01-16T11:00:00Z",
            )
            if reply.get("code") != "conflict":
                break
        assert reply["type"] == "ack", reply
        made.append(int(reply["result"]["reservation"]["id"]))
        qtbot.waitUntil(task.done, timeout=5000)
        assert task.result() is True
    qtbot.waitUntil(
        lambda: set(made) <= {r["id"] for r in window.reservations.items()}, timeout=5000
    )
    assert len(snapshots) == 3 and states == []  # never left live, never reconnected


def test_a_desk_whose_clock_runs_ahead_asks_again_once_a_minute_not_every_second(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock
) -> None:
    login(qtbot, window, server, "frontdesk")
    snapshots: list[int] = []
    window.session.reservations_snapshot.connect(lambda items, seq: snapshots.append(seq))
    clock.advance(90)  # the desk's clock says 00:00:30 on the 16th; the server's, 23:59 still
    window.check_day()
    qtbot.waitUntil(lambda: len(snapshots) == 1, timeout=5000)
    assert str(window.live.reservations_day) == "2026-01-15"  # the server's day decides
    for _ in range(5):  # the desk's one-second checks: no new question yet
        clock.advance(1)
        window.check_day()
    assert len(snapshots) == 1 and not window.live.reloading_reservations
    advance_server(server, 90)  # now the server's date has moved on too
    clock.advance(60)
    window.check_day()
    qtbot.waitUntil(lambda: len(snapshots) == 2, timeout=5000)
    assert str(window.live.reservations_day) == "2026-01-16"
    clock.advance(120)
    window.check_day()
    assert len(snapshots) == 2 and not window.live.reloading_reservations
