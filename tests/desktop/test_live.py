"""The desktop against a real server on a free port (offscreen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from desktop.actions import CONTROLS, OBSERVE
from desktop.mainwindow import MainWindow
from desktop.model import Roles, SortMode
from desktop.session import State
from shared.clock import ManualClock
from shared.rules import (
    ROOM_ACTIONS,
    RoomView,
    check_room_action,
    check_rush,
    check_rush_cancel,
)
from tests.desktop.conftest import act, logged_in, login, make_window, run, start_cleaning
from tests.support import ServerThread

pytestmark = pytest.mark.gui


def rooms_with(win: MainWindow, status: str, **flags: Any) -> list[str]:
    return [
        r["room_number"]
        for r in win.rooms.rooms()
        if r["room_status"] == status and all(r.get(k) == v for k, v in flags.items())
    ]


def test_login_shows_the_demo_hotel(qtbot: Any, window: MainWindow, server: ServerThread) -> None:
    login(qtbot, window, server)
    assert window.rooms.rowCount() == 68
    assert "Killarney" in window.hotel_label.text()
    assert "Manager" in window.who_label.text()
    assert window.tiles["total"].value.text() == "68"
    assert [s.title for s in window.board.sections] == [
        "My rooms",  # empty (hidden) for a manager, who is given no rooms
        "Ground floor & conference",
        "Floor 1",
        "Floor 2",
        "Floor 3",
        "Floor 4",
    ]
    assert sum(s.proxy.rowCount() for s in window.board.sections) == 68
    assert window.board.sections[0].proxy.rowCount() == 0
    assert window.reservations.rowCount() > 0
    assert window.session.state is State.LIVE and not window.rooms.stale
    assert window.settings.token and window.settings.server_url == server.url
    # the desk offers compression and the server took it (docs/protocol.md, *Compression*)
    assert [c.kind for c in server.server.hub.clients] == [15]


def test_a_change_by_another_client_updates_one_card(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server)
    number = rooms_with(window, "CHECKOUT_DIRTY")[0]
    room = window.rooms.room(number)
    assert room is not None
    resets = window.rooms.resets
    changed: list[tuple[int, int]] = []
    window.rooms.dataChanged.connect(lambda a, b, roles=None: changed.append((a.row(), b.row())))
    start_cleaning(server, window, number)
    qtbot.waitUntil(
        lambda: window.rooms.room(number)["room_status"] == "CLEANING_IN_PROGRESS", timeout=5000
    )
    row = window.rooms.row_of(number)
    assert changed == [(row, row)]  # exactly the affected card
    assert window.rooms.resets == resets  # the board was not rebuilt
    # the card in its section shows the new status
    found = window.board.view_of(number)
    assert found is not None and found[1].data(Roles.Status) == "CLEANING_IN_PROGRESS"


def test_filters_and_search_keep_applying_as_events_arrive(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server)
    combo = window.status_combo
    combo.setCurrentIndex(combo.findData("CLEANED_UNINSPECTED"))
    shown = window.filter.rowCount()
    assert shown == len(rooms_with(window, "CLEANED_UNINSPECTED")) > 0
    number = rooms_with(window, "CLEANED_UNINSPECTED")[0]
    version = window.rooms.room(number)["version"]
    act(
        server,
        "supervisor",
        "room.action",
        room_number=number,
        action="inspect",
        expected_version=version,
    )
    qtbot.waitUntil(lambda: window.filter.rowCount() == shown - 1, timeout=5000)
    window.clear_filters()
    assert window.filter.rowCount() == 68
    qtbot.keyClicks(window.search, "M0")
    assert window.filter.rowCount() == 4
    window.clear_filters()
    window.occ_combo.setCurrentIndex(window.occ_combo.findData("ending_soon"))
    assert 0 < window.filter.rowCount() < 68
    window.clear_filters()
    window.apply_quick_filter({"maintenance": "yes"})
    assert window.filter.rowCount() == sum(
        1 for r in window.rooms.rooms() if r.get("maintenance_required")
    )
    window.clear_filters()
    window.sort_combo.setCurrentIndex(window.sort_combo.findData(int(SortMode.STATUS)))
    assert [s.title for s in window.board.sections][:2] == [
        "Dirty (vacated)",
        "Stayover needs service",
    ]
    window.sort_combo.setCurrentIndex(window.sort_combo.findData(int(SortMode.NUMBER)))
    assert len(window.board.sections) == 1
    first = window.board.sections[0].proxy.index(0, 0).data(Roles.Number)
    assert first == "101"


@pytest.mark.parametrize(
    "who", ["housekeeping", "supervisor", "maintenance", "frontdesk", "manager"]
)
def test_controls_offer_exactly_what_the_rules_allow(
    qtbot: Any, window: MainWindow, server: ServerThread, who: str
) -> None:
    login(qtbot, window, server, who)
    role = window.session.role
    samples = [
        rooms_with(window, status)[:1]
        for status in (
            "CHECKOUT_DIRTY",
            "CLEANING_IN_PROGRESS",
            "CLEANED_UNINSPECTED",
            "READY_FOR_GUEST",
            "OUT_OF_ORDER",
            "MAINTENANCE_REQUIRED",
        )
    ]
    for numbers in [n for n in samples if n] + [rooms_with(window, "CHECKOUT_DIRTY")[:3]]:
        window.board.select(numbers)
        assert window.controls.selection == numbers
        rooms = [window.rooms.room(n) for n in numbers]
        expected = {
            a
            for a in ROOM_ACTIONS
            if all(check_room_action(a, role, RoomView.from_payload(r)) for r in rooms)
        }
        offered = window.controls.offered()
        assert offered - {"check_in", "check_out", "rush", "rush_cancel", *OBSERVE} == expected, (
            numbers,
            role,
        )
        if len(rooms) == 1:
            view = RoomView.from_payload(rooms[0])
            assert ("rush" in offered) == bool(check_rush(role, view))
            assert ("rush_cancel" in offered) == bool(check_rush_cancel(role, view))
        for c in CONTROLS:
            b = window.controls.buttons[c.action]
            if b.isVisibleTo(window.controls) and not b.isEnabled():
                assert "not possible" in b.toolTip()


def test_an_action_and_its_reply_and_an_error_toast(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "housekeeping")
    number = rooms_with(window, "CHECKOUT_DIRTY")[0]
    window.board.select([number])
    qtbot.keyClick(window, "S")  # the shortcut for start cleaning
    qtbot.waitUntil(
        lambda: window.rooms.room(number)["room_status"] == "CLEANING_IN_PROGRESS", timeout=5000
    )
    qtbot.waitUntil(lambda: any(t.kind == "success" for t in window.toasts.toasts), timeout=5000)
    # a stale version (someone else was first) comes back as an error, in words
    window.send_command(
        "room.action",
        f"Finish cleaning — room {number}",
        {"room_number": number, "action": "finish_cleaning", "expected_version": 0},
    )
    qtbot.waitUntil(lambda: any(t.kind == "error" for t in window.toasts.toasts), timeout=5000)
    err = next(t for t in window.toasts.toasts if t.kind == "error")
    assert "changed by someone else" in err.text
    assert not err.hasFocus()


def test_batch_of_rooms_and_maintenance_toast_for_maintenance(
    qtbot: Any, qloop: Any, clock: ManualClock, tmp_path: Path, server: ServerThread
) -> None:
    desk = logged_in(qtbot, clock, tmp_path, server, "maintenance", "a.ini")
    numbers = rooms_with(desk, "CHECKOUT_DIRTY", maintenance_required=False)[:2]
    assert len(numbers) == 2
    other = logged_in(qtbot, clock, tmp_path, server, "housekeeping", "b.ini")
    other.board.select(numbers)
    assert other.controls.run("flag_maintenance", {"priority": "URGENT", "notes": "Smoke alarm"})
    qtbot.waitUntil(
        lambda: all(desk.rooms.room(n)["maintenance_required"] for n in numbers), timeout=5000
    )
    qtbot.waitUntil(
        lambda: sum("Maintenance flagged" in t.title for t in desk.toasts.toasts) == 2,
        timeout=5000,
    )
    assert any("Urgent" in t.text for t in desk.toasts.toasts)
    run(qtbot, other.session.stop())
    run(qtbot, desk.session.stop())


def test_details_show_the_history_from_the_journal(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server)
    number = rooms_with(window, "CHECKOUT_DIRTY")[0]
    act(
        server,
        "housekeeping",
        "room.action",
        room_number=number,
        action="start_cleaning",
        expected_version=window.rooms.room(number)["version"],
    )
    qtbot.waitUntil(
        lambda: window.rooms.room(number)["room_status"] == "CLEANING_IN_PROGRESS", timeout=5000
    )
    window.board.select([number])
    assert window.details.values["room_number"].text() == number
    qtbot.waitUntil(lambda: window.details.history.topLevelItemCount() >= 1, timeout=5000)
    item = window.details.history.topLevelItem(0)
    assert "Aoife Murphy" in item.text(1) and "Cleaning" in item.text(2)


def test_killing_and_restarting_the_server_resumes_with_the_missed_changes(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock
) -> None:
    login(qtbot, window, server)
    resets = window.rooms.resets
    number = rooms_with(window, "CHECKOUT_DIRTY")[0]
    version = window.rooms.room(number)["version"]
    server.stop()
    qtbot.waitUntil(lambda: window.session.state is State.RECONNECTING, timeout=10000)
    assert window.rooms.stale and window.stale_banner.isVisibleTo(window)
    assert (
        "Reconnecting" in window.conn_label.text() and "offline since" in window.conn_label.text()
    )
    assert window.rooms.rowCount() == 68  # the board stays, marked stale
    clock.advance(30)  # a retry while the server is down fails, and backs off again
    qtbot.waitUntil(
        lambda: window.session.attempts >= 1 and window.session.retry_at is not None, timeout=10000
    )
    server.start()
    # while this desktop waits to retry, another workstation changes a room
    act(
        server,
        "housekeeping",
        "room.action",
        room_number=number,
        action="start_cleaning",
        expected_version=version,
    )
    assert window.rooms.room(number)["room_status"] == "CHECKOUT_DIRTY"
    window.session.reconnect_now()  # the manual reconnect button
    qtbot.waitUntil(lambda: window.session.state is State.LIVE, timeout=10000)
    qtbot.waitUntil(
        lambda: window.rooms.room(number)["room_status"] == "CLEANING_IN_PROGRESS", timeout=5000
    )
    assert window.rooms.resets == resets  # resumed from its sequence number: no new snapshot
    assert not window.rooms.stale and not window.stale_banner.isVisibleTo(window)
    assert any(t.title == "Caught up" for t in window.toasts.toasts)


def test_a_restart_goes_straight_to_the_board_and_logout_is_one_click(
    qtbot: Any, qloop: Any, clock: ManualClock, tmp_path: Path, server: ServerThread
) -> None:
    first = make_window(clock, tmp_path)
    qtbot.addWidget(first)
    login(qtbot, first, server, "frontdesk")
    token = first.settings.token
    run(qtbot, first.session.stop())
    first.close()
    again = make_window(clock, tmp_path)  # same settings file: a restart of the program
    qtbot.addWidget(again)
    assert again.settings.token == token
    again.show()
    again.session.resume(again.settings.server_url, token or "")
    qtbot.waitUntil(lambda: again.rooms.rowCount() == 68, timeout=10000)
    assert again.login_dialog is None
    assert again.session.role == "front_desk"
    assert set(again.controls.buttons) >= {"check_in", "check_out"}
    assert again.controls.buttons["check_in"].isVisibleTo(again.controls)
    assert not again.controls.buttons["inspect"].isVisibleTo(again.controls)
    qtbot.mouseClick(
        again.logout_button, __import__("PySide6.QtCore").QtCore.Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(
        lambda: again.login_dialog is not None and again.login_dialog.isVisible(), timeout=5000
    )
    assert again.settings.token is None and again.rooms.rowCount() == 0
    # the token no longer works: a restart asks for a login
    third = make_window(clock, tmp_path, "other.ini")
    qtbot.addWidget(third)
    third.session.resume(server.url, token or "")
    qtbot.waitUntil(
        lambda: third.login_dialog is not None and third.login_dialog.isVisible(), timeout=10000
    )
    assert "log in again" in third.login_dialog.error.text()


def test_logging_out_while_offline_still_revokes_the_token(
    qtbot: Any, qloop: Any, clock: ManualClock, tmp_path: Path, server: ServerThread
) -> None:
    first = make_window(clock, tmp_path)
    qtbot.addWidget(first)
    login(qtbot, first, server, "frontdesk")
    token = first.session.token
    run(qtbot, first.session.stop())  # the connection is gone (the board is offline)
    assert first.session.state is State.OFFLINE and first.session.token == token
    run(qtbot, first.session.logout())
    assert first.session.token is None
    other = make_window(clock, tmp_path, "other.ini")
    qtbot.addWidget(other)
    other.session.resume(server.url, token or "")
    qtbot.waitUntil(
        lambda: other.login_dialog is not None and other.login_dialog.isVisible(), timeout=10000
    )
    assert "log in again" in other.login_dialog.error.text()


def test_login_dialog_reports_a_wrong_password(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    dialog = window.show_login()
    dialog.server.setText(server.url.replace("ws://", ""))
    dialog.login.setText("manager")
    dialog.password.setText("wrong")
    dialog.button.click()
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=10000)
    assert "Wrong login or password" in dialog.error.text()
    dialog.password.setText("demo")
    dialog.button.click()
    qtbot.waitUntil(lambda: window.rooms.rowCount() == 68, timeout=10000)
    assert window.isVisible() and window.login_dialog is None


def test_the_rush_room_loop(
    qtbot: Any, qloop: Any, clock: ManualClock, tmp_path: Path, server: ServerThread
) -> None:
    desk = logged_in(qtbot, clock, tmp_path, server, "frontdesk", "desk.ini")
    hk = logged_in(qtbot, clock, tmp_path, server, "supervisor", "hk.ini")
    number = rooms_with(desk, "CLEANED_UNINSPECTED")[0]
    desk.board.select([number])
    assert desk.controls.run("rush")
    qtbot.waitUntil(lambda: hk.rooms.room(number).get("rush") is not None, timeout=5000)
    qtbot.waitUntil(lambda: any("Rush: room" in t.title for t in hk.toasts.toasts), timeout=5000)
    hk.board.select([number])
    assert hk.controls.run("inspect")
    qtbot.waitUntil(
        lambda: any(f"Rushed room {number} is ready" in t.title for t in desk.toasts.toasts),
        timeout=5000,
    )
    qtbot.waitUntil(lambda: desk.rooms.room(number).get("rush") is None, timeout=5000)
    run(qtbot, desk.session.stop())
    run(qtbot, hk.session.stop())


def test_presence_shows_who_is_online_and_who_views_a_room(
    qtbot: Any, qloop: Any, clock: ManualClock, tmp_path: Path, server: ServerThread
) -> None:
    a = logged_in(qtbot, clock, tmp_path, server, "manager", "a.ini")
    b = logged_in(qtbot, clock, tmp_path, server, "supervisor", "b.ini")
    qtbot.waitUntil(lambda: a.online_label.text() == "2 online", timeout=5000)
    assert "Sean Byrne" in a.online_label.toolTip()
    b.board.select(["204"])
    a.board.select(["204"])
    qtbot.waitUntil(lambda: "Sean Byrne" in a.details.viewers.text(), timeout=5000)
    run(qtbot, a.session.stop())
    run(qtbot, b.session.stop())


def test_controls_wait_while_offline(qtbot: Any, window: MainWindow, server: ServerThread) -> None:
    login(qtbot, window, server, "housekeeping")
    number = rooms_with(window, "CHECKOUT_DIRTY")[0]
    window.board.select([number])
    assert "start_cleaning" in window.controls.offered()
    server.stop()
    qtbot.waitUntil(lambda: window.session.state is State.RECONNECTING, timeout=10000)
    assert window.controls.offered() == set()
    assert "Not connected" in window.controls.buttons["start_cleaning"].toolTip()
    server.start()  # for the fixture to stop


def _answer_dialog(kind: type, act_on: Any) -> None:
    """When a modal dialog of `kind` opens, let `act_on` fill it in and close it."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    def attempt(tries: int = 50) -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, kind) and w.isVisible():
                act_on(w)
                return
        if tries:
            QTimer.singleShot(50, lambda: attempt(tries - 1))

    QTimer.singleShot(50, attempt)


def test_dialogs_for_maintenance_and_the_check_out_confirmation(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from desktop.controls import MaintenanceDialog

    login(qtbot, window, server, "manager")
    number = rooms_with(window, "READY_FOR_GUEST", maintenance_required=False)[0]
    window.board.select([number])

    def fill(d: MaintenanceDialog) -> None:
        d.priority.setCurrentIndex(d.priority.findData("HIGH"))
        d.notes.setPlainText("Shower drips")
        d.accept()

    _answer_dialog(MaintenanceDialog, fill)
    assert window.controls.run("flag_maintenance")
    qtbot.waitUntil(
        lambda: window.rooms.room(number).get("maintenance_notes") == "Shower drips", timeout=5000
    )
    assert window.rooms.room(number)["maintenance_priority"] == "HIGH"
    # check-out asks first; "No" sends nothing
    guest = next(r["room_number"] for r in window.rooms.rooms() if r.get("is_occupied"))
    window.board.select([guest])
    _answer_dialog(QMessageBox, lambda m: m.button(QMessageBox.StandardButton.No).click())
    assert not window.controls.run("check_out")


def test_the_board_prints_to_pdf(
    qtbot: Any, window: MainWindow, server: ServerThread, tmp_path: Path
) -> None:
    login(qtbot, window, server)
    pdf = tmp_path / "board.pdf"
    pages = window.print_board(pdf)
    assert pages >= 1
    assert pdf.read_bytes().startswith(b"%PDF")
    window.zoom(1.2)
    assert window.board.delegate.scale > 1.0
