"""What the operations add to the main board: an attendant's own rooms first, blocks and when
they end on the cards, the rush border and the Operations button's count."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from desktop.mainwindow import MainWindow
from desktop.model import Roles, SortMode
from shared.clock import ManualClock
from shared.timeutil import to_iso
from tests.desktop.conftest import act, logged_in, login, run
from tests.support import ServerThread

pytestmark = pytest.mark.gui


def card(win: MainWindow, number: str, role: Roles) -> Any:
    row = win.rooms.row_of(number)
    assert row is not None
    return win.rooms.index(row).data(role)


def section_rooms(win: MainWindow, title: str) -> list[str]:
    sec = next(s for s in win.board.sections if s.title == title)
    return [str(sec.proxy.index(i, 0).data(Roles.Number)) for i in range(sec.proxy.rowCount())]


def test_an_attendant_sees_their_rooms_first(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "housekeeping")
    # the demo gives floors 1 and 2 to Aoife (logged in here) and 3 and 4 to Tomasz
    mine = section_rooms(window, "My rooms")
    assert len(mine) == 32 and {n[0] for n in mine} == {"1", "2"}
    assert section_rooms(window, "Floor 1") == []  # no card is shown twice
    assert len(section_rooms(window, "Floor 3")) == 16
    staff = act(server, "supervisor", "staff.list")["result"]["staff"]
    me = next(s["id"] for s in staff if s["login"] == "housekeeping")
    other = next(s["id"] for s in staff if s["login"] == "attendant2")
    items = [{"room_number": "305", "staff_id": me}, {"room_number": "102", "staff_id": other}]
    assert act(server, "supervisor", "rooms.assign", items=items)["type"] == "ack"
    qtbot.waitUntil(lambda: "305" in section_rooms(window, "My rooms"), timeout=5000)
    qtbot.waitUntil(lambda: section_rooms(window, "Floor 1") == ["102"], timeout=5000)
    assert "305" not in section_rooms(window, "Floor 3")
    assert card(window, "305", Roles.Mine) is True
    assert card(window, "102", Roles.Attendant) == "Tomasz Nowak"
    assert "Attendant: Tomasz Nowak" in card(window, "102", Qt.ItemDataRole.ToolTipRole)
    # sorted by number, their rooms still come first
    window.filter.set_sort_mode(SortMode.NUMBER)
    window.board.rebuild()
    order = [window.filter.index(i, 0).data(Roles.Number) for i in range(window.filter.rowCount())]
    assert order[:2] == ["101", "103"] and order[31] == "305" and order[32] == "102"
    # search finds rooms by attendant
    window.filter.set_filters(text="tomasz")
    found = {window.filter.index(i, 0).data(Roles.Number) for i in range(window.filter.rowCount())}
    assert "102" in found and "305" not in found and "101" not in found
    # taking a room back moves it to its floor again
    back = [{"room_number": "305", "staff_id": None}]
    assert act(server, "supervisor", "rooms.assign", items=back)["type"] == "ack"
    window.filter.set_filters(text="")
    window.filter.set_sort_mode(SortMode.FLOOR)
    window.board.rebuild()
    qtbot.waitUntil(lambda: "305" in section_rooms(window, "Floor 3"), timeout=5000)
    assert "305" not in section_rooms(window, "My rooms")


def test_a_block_shows_on_the_card_and_in_the_details(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock
) -> None:
    login(qtbot, window, server, "manager")
    room = next(
        r
        for r in window.rooms.rooms()
        if not r.get("is_occupied") and not r.get("is_out_of_order") and r["floor"] == 2
    )
    number = room["room_number"]
    end = clock.now() + timedelta(hours=3)
    reply = act(
        server,
        "maintenance",
        "block.create",
        room_number=number,
        kind="out_of_order",
        reason="Shower leak",
        end=to_iso(end),
        expected_version=room["version"],
    )
    assert reply["type"] == "ack", reply
    qtbot.waitUntil(lambda: bool(card(window, number, Roles.Block)), timeout=5000)
    local = end.astimezone(window.tz)
    same_day = local.date() == clock.now().astimezone(window.tz).date()
    expected = f"OOO until {local:%H:%M}" if same_day else f"OOO until {local:%a %H:%M}"
    assert card(window, number, Roles.Block) == expected
    assert card(window, number, Roles.OutOfOrder) is True
    window.board.select([number])
    qtbot.waitUntil(lambda: window.details.number == number, timeout=3000)
    text = window.details.values["block"].text()
    assert "Out of order until" in text and "Shower leak" in text
    # the Operations window opens on its blocks tab, listing this one
    window.open_operations("blocks")
    ops = window.operations
    assert ops.isVisible()
    qtbot.waitUntil(lambda: ops.blocks_tab.table.rowCount() >= 1, timeout=5000)


def test_a_rushed_room_stands_out_and_counts_on_the_operations_button(
    qtbot: Any, qloop: Any, clock: ManualClock, tmp_path: Path, server: ServerThread
) -> None:
    hk = logged_in(qtbot, clock, tmp_path, server, "supervisor", "hk.ini")
    before = hk.operations.attention()
    room = next(
        r for r in hk.rooms.rooms() if r["room_status"] == "CHECKOUT_DIRTY" and not r.get("rush")
    )
    number = room["room_number"]
    reply = act(
        server, "frontdesk", "room.rush", room_number=number, expected_version=room["version"]
    )
    assert reply["type"] == "ack", reply
    qtbot.waitUntil(lambda: card(hk, number, Roles.Rush) is True, timeout=5000)
    qtbot.waitUntil(lambda: hk.operations.attention()[1] == before[1] + 1, timeout=5000)
    n = sum(hk.operations.attention())
    assert hk.ops_button.text() == f"Operations ({n})"
    hk.board.select([number])
    qtbot.waitUntil(lambda: "Wanted by" in hk.details.values["rush"].text(), timeout=3000)
    # said in words too, not by the border's colour alone
    assert "RUSH: wanted by" in card(hk, number, Qt.ItemDataRole.ToolTipRole)
    run(qtbot, hk.session.stop())
