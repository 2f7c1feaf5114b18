"""The looks found on the way: the window at 1280 px, whole guest names at 1366x768, the
first rewind of a fresh demo, live discrepancy ages, the two maintenance tiles, the legend's
marks, an overdue departure on the board, the chime, and a store that went back in time."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from desktop.mainwindow import Legend, MainWindow
from server.cli import main as cli_main
from shared.clock import ManualClock
from tests.desktop.conftest import act, login
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
    version = window.rooms.room(number)["version"]
    reply = act(
        server,
        "housekeeping",
        "room.action",
        room_number=number,
        action="start_cleaning",
        expected_version=version,
    )
    assert reply["type"] == "ack", reply
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
    assert window.rooms.room(number)["room_status"] == "CHECKOUT_DIRTY"  # back in time
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


def test_the_legend_has_the_oos_and_overdue_marks(qapp: Any) -> None:
    legend = Legend()
    words = [text for text, _draw in legend._items()]
    assert any(text.startswith("out of service") for text in words), words
    assert "guest past departure time" in words
    legend.resize(1280, 60)
    image = legend.grab()
    assert not image.isNull()
