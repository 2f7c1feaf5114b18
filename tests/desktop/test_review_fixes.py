"""Fixes from the desktop review: logging in again, the day changing, presence after a
reconnect, housekeeping's observations, the Today panel, shortcuts, history words."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.actions import OBSERVE, decide, role_may_ever
from desktop.delegate import occupancy_line
from desktop.details import describe_event
from desktop.mainwindow import MainWindow
from desktop.model import Roles
from desktop.operations.common import to_qdatetime
from desktop.reservations import ResRole
from desktop.session import State
from shared.clock import ManualClock
from shared.protocol import EVENT_TYPES
from shared.rules import HK
from tests.desktop.conftest import act, logged_in, login, run, start_cleaning
from tests.desktop.ops_support import advance_server, open_ops, scan_discrepancies
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
    a = logged_in(qtbot, clock, tmp_path, server, "manager", "a.ini")
    b = logged_in(qtbot, clock, tmp_path, server, "supervisor", "b.ini")
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


def test_housekeeping_reports_what_it_saw_and_a_mismatch_is_raised(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "supervisor")
    number = next(
        r["room_number"]
        for r in window.rooms.rooms()
        if not r.get("is_occupied") and not r.get("hk_occupancy")
    )
    window.board.select([number])
    assert {"observe_occupied", "observe_vacant"} <= window.controls.offered()
    button = window.controls.buttons["observe_occupied"]
    assert button.text() == "Saw: occupied" and "what you saw" in button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.rooms.room(number).get("hk_occupancy") == "occupied", timeout=5000
    )
    scan_discrepancies(server)  # the server looks once a minute by itself
    qtbot.waitUntil(
        lambda: any(
            d.get("kind") == "occupancy_mismatch" and d.get("room_number") == number
            for d in window.operations.discrepancies.items.values()
        ),
        timeout=5000,
    )
    # two rooms at once: one report per room, so the button waits for one room
    other = next(r["room_number"] for r in window.rooms.rooms() if r["room_number"] != number)
    window.board.select([number, other])
    assert "one room at a time" in window.controls.buttons["observe_vacant"].toolTip()


@pytest.mark.parametrize("role", ["housekeeping", "supervisor", "manager", "front_desk"])
def test_who_may_report_what_they_saw_follows_the_shared_rules(role: str) -> None:
    room = {"room_number": "101", "room_status": "OCCUPIED_DIRTY", "version": 1}
    for action in OBSERVE:
        assert role_may_ever(action, role) == (role in HK)
        assert decide(action, role, [room]).allowed == (role in HK)


def answer_question(button: QMessageBox.StandardButton) -> None:
    """When a question box opens, press `button` in it."""

    def attempt(tries: int = 100) -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QMessageBox) and w.isVisible():
                w.button(button).click()
                return
        if tries:
            QTimer.singleShot(20, lambda: attempt(tries - 1))

    QTimer.singleShot(20, attempt)


def select_reservation(window: MainWindow, kind: str, rid: int) -> None:
    panel = window.res_panel
    panel.tabs.setCurrentIndex(("arrivals", "departures", "in_house").index(kind))
    proxy, view = panel.proxies[kind], panel.views[kind]
    row = next(i for i in range(proxy.rowCount()) if proxy.index(i, 0).data(ResRole)["id"] == rid)
    view.selectRow(row)
    assert panel.selected() is not None and panel.selected()["id"] == rid


def test_today_panel_check_in_follows_the_rules_of_the_room(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "frontdesk")
    panel = window.res_panel
    arrival = next(
        r
        for r in window.reservations.items()
        if window.reservations.is_arrival(r)
        and (room := window.rooms.room(r["room_number"])) is not None
        and room["room_status"] == "READY_FOR_GUEST"
        and not room.get("is_occupied")
    )
    select_reservation(window, "arrivals", arrival["id"])
    assert panel.buttons["check_in"].isEnabled()
    room = window.rooms.room(arrival["room_number"])
    assert room is not None
    reply = act(
        server,
        "housekeeping",
        "room.action",
        room_number=room["room_number"],
        action="mark_dirty",
        expected_version=room["version"],
    )
    assert reply["type"] == "ack"
    qtbot.waitUntil(lambda: not panel.buttons["check_in"].isEnabled(), timeout=5000)
    assert "not ready for a guest" in panel.buttons["check_in"].toolTip()
    sent = len(window.session.mine)
    assert not panel.run("check_in")
    assert len(window.session.mine) == sent


def test_today_panel_asks_before_check_out_and_cancel(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "frontdesk")
    panel = window.res_panel
    guest = next(r for r in window.reservations.items() if r["state"] == "checked_in")
    select_reservation(window, "in_house", guest["id"])
    sent = len(window.session.mine)
    answer_question(QMessageBox.StandardButton.No)
    assert not panel.run("check_out")
    assert len(window.session.mine) == sent  # "No" sends nothing
    answer_question(QMessageBox.StandardButton.Yes)
    assert panel.run("check_out")
    qtbot.waitUntil(
        lambda: any(
            r["id"] == guest["id"] and r["state"] == "checked_out"
            for r in window.reservations.items()
        ),
        timeout=5000,
    )
    booked = next(
        r
        for r in window.reservations.items()
        if window.reservations.is_arrival(r) and r["state"] in ("pending", "confirmed")
    )
    select_reservation(window, "arrivals", booked["id"])
    answer_question(QMessageBox.StandardButton.No)
    assert not panel.run("cancel")
    assert len(window.session.mine) == sent + 1
    assert "asks first" in panel.buttons["cancel"].toolTip()


def test_single_letter_shortcuts_leave_input_widgets_alone(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "manager")
    number = next(
        r["room_number"]
        for r in window.rooms.rooms()
        if r["room_status"] == "READY_FOR_GUEST" and not r.get("is_occupied")
    )
    window.board.select([number])
    assert "mark_dirty" in window.controls.offered()
    window.activateWindow()
    sent: list[str] = []
    window.controls.command.connect(lambda kind, label, fields: sent.append(fields["action"]))
    for widget in (window.status_combo, window.sort_combo, window.search):
        widget.setFocus()
        qtbot.waitUntil(lambda w=widget: QApplication.focusWidget() is w, timeout=2000)
        qtbot.keyClick(widget, "d")
        assert sent == [], widget
    assert window.rooms.room(number)["room_status"] == "READY_FOR_GUEST"
    assert window.search.text() == "d"  # the letter was typed, not taken as a command
    # away from the inputs the letter is the shortcut again
    window.clear_filters()  # "d" searched, and picked a status in the combo box
    window.search.clearFocus()
    window.board.select([number])
    qtbot.waitUntil(lambda: "mark_dirty" in window.controls.offered(), timeout=2000)
    qtbot.keyClick(window, "d")
    assert sent == ["mark_dirty"]


def test_every_event_type_has_words_in_the_room_history() -> None:
    for kind in EVENT_TYPES:
        words = describe_event({"type": kind, "payload": {}, "meta": {}})
        assert words and kind not in words and "_" not in words and "." not in words, kind
    assert describe_event({"type": "block.started", "payload": {"block": {"reason": "Leak"}}}) == (
        "Block started: Leak"
    )
    raised = {"type": "discrepancy.raised", "payload": {"discrepancy": {"label": "Sleep"}}}
    assert describe_event(raised) == "Discrepancy found: Sleep"
    assert describe_event({"type": "room.something_new", "payload": {}}) == "Room something new"


def test_audit_end_follows_now_and_the_history_pickers_survive_a_reconnect(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock, tmp_path: Path
) -> None:
    ops = open_ops(qtbot, window, server, "manager")
    hist = ops.history
    assert not hist.until_chosen
    advance_server(server, 120)  # two minutes on: past the default end set at the login
    clock.advance(120)
    number = next(
        r["room_number"] for r in window.rooms.rooms() if r["room_status"] == "CHECKOUT_DIRTY"
    )
    start_cleaning(server, window, number)
    path = tmp_path / "audit.csv"
    task = hist.export(path)
    qtbot.waitUntil(task.done, timeout=10000)
    assert task.result() > 0
    assert f",{number}," in path.read_text(encoding="utf-8")  # the change just made is in
    # the person's own choice is kept across a reconnect
    moment = to_qdatetime(clock.now() - timedelta(hours=3), ops.tz)
    since = to_qdatetime(clock.now() - timedelta(hours=5), ops.tz)
    until = to_qdatetime(clock.now() - timedelta(hours=2), ops.tz)
    hist.moment.setDateTime(moment)
    hist.since.setDateTime(since)
    hist.until.setDateTime(until)
    logins: list[dict[str, Any]] = []
    window.session.logged_in.connect(logins.append)
    window.session.reconnect_now()
    qtbot.waitUntil(lambda: bool(logins) and window.session.is_live(), timeout=10000)
    assert hist.moment.dateTime() == moment
    assert hist.since.dateTime() == since
    assert hist.until.dateTime() == until and hist.until_chosen
    # someone else logging in gets the defaults again
    login(qtbot, window, server, "supervisor")
    qtbot.waitUntil(lambda: not hist.until_chosen, timeout=5000)
    assert hist.since.dateTime() != since


def test_the_rewound_board_does_not_claim_bookings_it_does_not_know(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock
) -> None:
    ops = open_ops(qtbot, window, server, "manager")
    advance_server(server, 120)
    hist = ops.history
    hist.set_moment(clock.now() + timedelta(seconds=60))
    hist.load_board()
    qtbot.waitUntil(lambda: hist.past.rowCount() == 68, timeout=10000)
    index = hist.past.index(0, 0)
    assert index.data(Roles.OccupancyKnown) is False
    tip = str(index.data(Qt.ItemDataRole.ToolTipRole))
    assert "guest in house" in tip.lower() and "Free" not in tip.split("\n")[2]
    live = window.rooms.index(0, 0)
    assert live.data(Roles.OccupancyKnown) is True


def test_the_cards_occupancy_line_live_and_rewound() -> None:
    assert occupancy_line(True, "free", 0, None, "") == "Free · 0 bookings today"
    assert occupancy_line(True, "free", 1, None, "") == "Free · 1 booking today"
    assert occupancy_line(True, "occupied", 2, 95, "11:00") == "Free in 1 h 35 · 11:00"
    # the past: no bookings are known, only whether a guest was in house
    assert occupancy_line(False, "occupied", 0, None, "") == "Guest in house"
    assert occupancy_line(False, "free", 0, None, "") == "No guest in house"
