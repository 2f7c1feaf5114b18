"""The looks found on the way: the window at 1280 px, whole guest names at 1366x768, the
first rewind of a fresh demo, live discrepancy ages, the two maintenance tiles, the legend's
marks, an overdue departure on the board, the chime, and a store that went back in time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem

from desktop.board import GAP
from desktop.delegate import RoomCardDelegate
from desktop.mainwindow import Legend, MainWindow
from desktop.model import Roles, RoomModel
from server.cli import main as cli_main
from shared.clock import ManualClock
from shared.rules import STATUS_LABELS, RoomStatus
from shared.timeutil import to_iso
from tests.desktop.conftest import act, login, start_cleaning
from tests.desktop.ops_support import advance_server, open_ops
from tests.support import ServerThread

pytestmark = pytest.mark.gui

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def test_the_first_rewind_of_a_fresh_demo_shows_a_board_and_no_iso_time(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock
) -> None:
    ops = open_ops(qtbot, window, server, "manager")
    hist = ops.history
    ops.show_tab("History")
    # the picker's default is an hour ago, before this hotel (made just now) has any history
    hist.load_board()
    qtbot.waitUntil(lambda: hist.past.rowCount() == window.rooms.rowCount(), timeout=5000)
    texts = [hist.banner.text(), hist.message.text()]
    assert hist.banner.text().startswith("PAST — the board as at")
    assert "09:00:00" in hist.banner.text()  # the first moment, on the hotel's clock
    assert hist.message.text().startswith("Cannot rewind to 08:00: the history begins at 09:00")
    # a change made later is on the room's timeline, in words and hotel times too
    number = next(
        r["room_number"] for r in window.rooms.rooms() if r["room_status"] == "CHECKOUT_DIRTY"
    )
    advance_server(server, 120)
    start_cleaning(server, window, number)
    hist.board.select([number])
    qtbot.waitUntil(lambda: hist.timeline.topLevelItemCount() > 0, timeout=5000)
    assert hist.timeline.topLevelItem(0).text(0).startswith("later · 09:02")
    texts += [
        hist.timeline.topLevelItem(i).text(c)
        for i in range(hist.timeline.topLevelItemCount())
        for c in range(3)
    ]
    assert not [t for t in texts if ISO.search(t)], texts
    ops.grab().save("/tmp/looks/rewind-fresh.png")


def test_after_a_restore_the_desktop_says_the_data_went_back_in_time(
    qtbot: Any, window: MainWindow, server: ServerThread, tmp_path: Path
) -> None:
    login(qtbot, window, server, "manager")
    db = server.config.db_path
    backup = tmp_path / "backup.db"
    stop(qtbot, window, server)  # the tests' server shares this process's store handle
    assert cli_main(["--db", str(db), "backup", str(backup)]) == 0
    start(qtbot, window, server)
    assert not window.restored_banner.isVisibleTo(window)  # a reconnect to the same data
    number = next(
        r["room_number"] for r in window.rooms.rooms() if r["room_status"] == "CHECKOUT_DIRTY"
    )
    advance_server(server, 120)
    reply = act(
        server,
        "housekeeping",
        "room.action",
        room_number=number,
        action="start_cleaning",
        expected_version=window.rooms.room(number)["version"],
    )
    assert reply["type"] == "ack", reply
    qtbot.waitUntil(
        lambda: window.rooms.room(number)["room_status"] == "CLEANING_IN_PROGRESS", timeout=5000
    )
    stop(qtbot, window, server)
    assert cli_main(["--db", str(db), "restore", str(backup)]) == 0
    start(qtbot, window, server)
    banner = window.restored_banner
    qtbot.waitUntil(lambda: banner.isVisibleTo(window) and window.session.is_live(), timeout=10000)
    qtbot.waitUntil(  # back in time: the fresh snapshot replaced the board
        lambda: window.rooms.room(number)["room_status"] == "CHECKOUT_DIRTY", timeout=5000
    )
    qtbot.waitUntil(lambda: "Its data is from 09:00" in banner.text.text(), timeout=5000)
    assert banner.text.text().startswith("The server's data went back to an earlier time")
    window.grab().save("/tmp/looks/restored.png")
    # it stays until someone has read it
    stop(qtbot, window, server)
    start(qtbot, window, server)
    assert banner.isVisibleTo(window)
    qtbot.mouseClick(banner.read_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisibleTo(window)


def stop(qtbot: Any, window: MainWindow, server: ServerThread) -> None:
    server.stop()
    qtbot.waitUntil(lambda: not window.session.is_live(), timeout=10000)


def start(qtbot: Any, window: MainWindow, server: ServerThread) -> None:
    server.start()
    window.session.reconnect_now()
    qtbot.waitUntil(window.session.is_live, timeout=10000)


def guest_cells_cut(window: MainWindow) -> list[str]:
    """Names in the Today panel's Guest column that do not fit their cell."""
    cut = []
    for view in window.res_panel.views.values():
        fm = view.fontMetrics()
        width = view.columnWidth(1)
        model = view.model()
        for row in range(model.rowCount()):
            name = str(model.index(row, 1).data() or "")
            if fm.horizontalAdvance(name) + 8 > width:  # the cell's own margins
                cut.append(f"{name} ({fm.horizontalAdvance(name)} px in {width})")
    return cut


def test_guest_names_are_whole_in_the_today_panel_at_1366x768(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "frontdesk")
    window.resize(1366, 768)
    window.side_tabs.setCurrentIndex(1)
    for i in range(3):
        window.res_panel.tabs.setCurrentIndex(i)
        qtbot.wait(20)
        window.grab().save(f"/tmp/looks/today-{i}.png")
    assert guest_cells_cut(window) == []


def test_the_window_works_at_1280_by_720(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "manager")
    # the longest the header gets: a reconnecting connection with its offline time
    window.conn_label.setText("Reconnecting (attempt 3, next try in 4 s) · offline since 10:31:40")
    assert window.minimumSizeHint().width() <= 1280
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.width() == 1280 and window.height() == 720, timeout=5000)
    qtbot.wait(50)
    window.grab().save("/tmp/looks/window-1280.png")
    right = window.width()
    header_widgets = [window.ops_button, window.reconnect_button, window.settings_button]
    for w in [*header_widgets, window.logout_button, window.hotel_label, window.conn_label]:
        assert w.isVisibleTo(window)
        assert w.mapTo(window, w.rect().topRight()).x() <= right, w
    for w in (window.ops_button, window.logout_button):  # buttons whole, never squeezed
        assert w.width() >= w.sizeHint().width()
    for tile in window.tiles.values():
        assert tile.isVisibleTo(window)
        assert tile.mapTo(window, tile.rect().topRight()).x() <= right
        fm = tile.label.fontMetrics()
        assert tile.label.width() >= fm.horizontalAdvance(tile.label.text()), tile.label.text()
    # the legend wraps: every mark on a line of its own height, nothing below the window
    legend = window.legend
    assert legend.isVisibleTo(window) and legend.height() >= legend.minimumHeight()
    assert legend.mapTo(window, legend.rect().bottomLeft()).y() <= window.height()
    # an elided header label still says it whole when hovered
    assert window.conn_label.is_elided() == (
        window.conn_label.fontMetrics().horizontalAdvance(window.conn_label.text())
        > window.conn_label.contentsRect().width()
    )


# --- the two maintenance tiles -----------------------------------------------------------


def test_the_two_maintenance_tiles_say_plainly_how_they_differ(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "manager")
    reported = window.tiles["maintenance"]  # the maintenance flag: a repair is reported
    unusable = window.tiles[RoomStatus.MAINTENANCE_REQUIRED.value]  # the status
    r_title, u_title = reported.label.text(), unusable.label.text()
    r_tip, u_tip = reported.toolTip(), unusable.toolTip()
    # the words on the tiles differ, and say which one is about rooms out of use
    assert r_title == "Repair reported" and u_title == "Unusable (repair)"
    assert "unusable" not in r_title.lower() and "reported" not in u_title.lower()
    # the tooltips say what each counts: a repair reported, the room still in use...
    assert r_tip != u_tip
    assert "repair was reported and is not done yet" in r_tip
    assert "may still be in use" in r_tip and "unusable until" not in r_tip
    # ...or the status that makes the room unusable until the repair is done
    assert f"Status {STATUS_LABELS[RoomStatus.MAINTENANCE_REQUIRED]}" in u_tip
    assert "unusable until maintenance clears it" in u_tip and "still be in use" not in u_tip
    # and how the two counts overlap: every unusable room is among the repairs reported
    assert "Includes the rooms unusable for repair" in r_tip
    assert f"also counts in {r_title}" in u_tip
    # what the tiles count on the demo board is what their words say
    rooms = list(window.rooms.rooms())
    flagged = {r["room_number"] for r in rooms if r.get("maintenance_required")}
    out_of_use = {
        r["room_number"] for r in rooms if r["room_status"] == RoomStatus.MAINTENANCE_REQUIRED
    }
    assert out_of_use and out_of_use < flagged  # some repairs leave the room usable
    qtbot.waitUntil(
        lambda: (
            (reported.value.text(), unusable.value.text())
            == (str(len(flagged)), str(len(out_of_use)))
        ),
        timeout=5000,
    )
    # a repair flagged on a ready room counts in one tile, a problem that makes a room
    # unusable in both
    ready = [
        r["room_number"]
        for r in rooms
        if r["room_status"] == RoomStatus.READY_FOR_GUEST and not r.get("maintenance_required")
    ]
    for number, action in zip(ready, ("flag_maintenance", "report_maintenance"), strict=False):
        reply = act(
            server,
            "maintenance",
            "room.action",
            room_number=number,
            action=action,
            priority="HIGH",
            notes="Shower drips",
            expected_version=window.rooms.room(number)["version"],
        )
        assert reply["type"] == "ack", reply
    qtbot.waitUntil(
        lambda: (
            (reported.value.text(), unusable.value.text())
            == (str(len(flagged) + 2), str(len(out_of_use) + 1))
        ),
        timeout=5000,
    )
    assert window.rooms.room(ready[0])["room_status"] == RoomStatus.READY_FOR_GUEST
    assert window.rooms.room(ready[1])["room_status"] == RoomStatus.MAINTENANCE_REQUIRED


def test_the_legend_has_the_oos_and_overdue_marks(qapp: Any) -> None:
    legend = Legend()
    words = [text for text, _draw in legend._items()]
    assert any(text.startswith("out of service") for text in words), words
    assert "guest past departure time" in words
    legend.resize(1280, 60)
    image = legend.grab()
    assert not image.isNull()


# --- an overdue departure on the board --------------------------------------------------

DUBLIN = ZoneInfo("Europe/Dublin")
T0 = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)  # 11:00 in Dublin in winter


def overdue_room(**extra: Any) -> dict[str, Any]:
    return {
        "room_number": "101",
        "floor": 1,
        "room_status": "OCCUPIED_DIRTY",
        "is_occupied": True,
        "occupancy_status": "overdue",
        "time_until_free": None,
        "free_at": None,
        "next_available": "",
        "next_available_at": "",
        "overdue_since": "2026-01-15T11:00:00Z",
        "overdue_minutes": 0,
        "next_arrival_at": "2026-01-15T11:30:00Z",
        "current_attendees": 2,
        "reservations_today": 2,
        **extra,
    }


def board_of(rooms: list[dict[str, Any]], clock: ManualClock) -> RoomModel:
    model = RoomModel(clock.now)
    model.set_viewer(None, DUBLIN)
    model.set_rooms(rooms)
    return model


def test_an_overdue_room_on_the_board_counts_up_and_names_who_waits(qapp: Any) -> None:
    clock = ManualClock(T0 + timedelta(minutes=45))
    model = board_of([overdue_room()], clock)
    idx = model.index(0)
    assert idx.data(Roles.Occupancy) == "overdue"
    assert idx.data(Roles.MinutesToFree) == -1  # no countdown: nobody knows when
    assert idx.data(Roles.OverdueLine) == "45 min late · next waiting"
    tip = idx.data(Qt.ItemDataRole.ToolTipRole)
    assert "Overdue: due out at 11:00 (45 min late), still checked in" in tip
    assert "next guests were due at 11:30 and are waiting — the room is still occupied" in tip
    assert "free in" not in tip.lower()
    assert "2 guest(s) in the room" in tip  # never the two bookings added up
    assert model.stats["overdue"] == 1 and model.stats["ending_soon"] == 0
    clock.advance(30 * 60)
    assert idx.data(Roles.OverdueLine) == "1 h 15 min late · next waiting"
    later = board_of([overdue_room(next_arrival_at="2026-01-15T14:00:00Z")], clock)
    assert later.index(0).data(Roles.OverdueLine) == "1 h 15 min late · next 14:00"


def test_a_departure_passing_between_heartbeats_is_overdue_at_once(qapp: Any) -> None:
    clock = ManualClock(T0 - timedelta(minutes=5))
    ending = overdue_room(
        occupancy_status="ending_soon",
        time_until_free=5,
        free_at="2026-01-15T11:00:00Z",
        next_available="11:00",
        overdue_since=None,
        next_arrival_at=None,
    )
    model = board_of([ending], clock)
    idx = model.index(0)
    assert idx.data(Roles.Occupancy) == "ending_soon" and idx.data(Roles.MinutesToFree) == 5
    clock.advance(5 * 60)  # 11:00: the guest has not left; the next heartbeat is a while off
    assert idx.data(Roles.Occupancy) == "overdue"
    assert idx.data(Roles.OverdueLine) == "0 min late · due 11:00"
    # a booking that was not checked in ends instead: the room is not overdue
    model2 = board_of([{**ending, "is_occupied": False}], clock)
    assert model2.index(0).data(Roles.Occupancy) == "ending_soon"


def test_an_overdue_card_says_overdue_in_words(qapp: Any) -> None:
    clock = ManualClock(T0 + timedelta(minutes=45))
    model = board_of([overdue_room()], clock)
    d = RoomCardDelegate()
    d.fit(936, GAP)
    size = d.card_size()
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(QColor("#FFFFFF"))
    painter = QPainter(image)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, size.width(), size.height())
    option.font = QFont()
    d.paint(painter, option, model.index(0))
    painter.end()
    image.save("/tmp/looks/overdue-card.png")
    assert d.card_size().width() > 0


# --- discrepancy ages ----------------------------------------------------------------------


def test_a_discrepancys_age_is_live_and_said_once(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock
) -> None:
    ops = open_ops(qtbot, window, server, "frontdesk")
    tab = ops.discrepancies
    raised = clock.now() - timedelta(minutes=5)
    tab.set_items(
        [
            {
                "id": 9001,
                "kind": "due_out_still_occupied",
                "label": "Due out, still occupied",
                "room_number": "101",
                "message": "A. Byrne was due out of room 101 at 08:55 and is still checked in.",
                "details": {"due_out": to_iso(raised)},
                "roles": ["front_desk", "manager"],
                "state": "open",
                "raised_at": to_iso(raised),
            }
        ]
    )
    row = next(r for r in range(tab.table.rowCount()) if tab.table.item(r, 0).text() == "101")

    def age() -> str:
        return tab.table.item(row, 3).text()

    assert age() == "5 min"
    clock.advance(10 * 60)
    ops._refresh_times()  # what its half-minute timer does
    assert age() == "15 min"
    clock.advance(60 * 60)
    ops._refresh_times()
    assert age() == "1 h 15 min"
    assert "ago" not in tab.table.item(row, 4).text()  # no second, frozen age beside it
