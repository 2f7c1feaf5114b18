"""The Operations window against a real server (offscreen): discrepancies, the rush queue,
blocks, attendants and their sheets, rewinding the board, the audit export, who is online."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from desktop.mainwindow import MainWindow
from desktop.model import Roles
from desktop.operations import history as history_module
from desktop.operations import make_operations, open_operations
from desktop.operations.attendants import attendant_order
from desktop.operations.blocks import BlockDialog, explain_block_error
from desktop.operations.common import to_qdatetime
from desktop.operations.rush import rush_queue
from desktop.operations.sheets import pdf_page_count
from shared.audit import COLUMNS
from shared.clock import ManualClock
from tests.desktop.conftest import act, login, start_cleaning
from tests.desktop.ops_support import advance_server, dark_share, open_ops, scan_discrepancies
from tests.support import ServerThread
from tools.operations_screenshots import render_pdf_pages

pytestmark = pytest.mark.gui


def cell(table: Any, row: int, col: int) -> str:
    item = table.item(row, col)
    return "" if item is None else str(item.text())


def column(table: Any, col: int) -> list[str]:
    return [cell(table, r, col) for r in range(table.rowCount())]


def rooms_in(window: MainWindow, status: str) -> list[str]:
    return [r["room_number"] for r in window.rooms.rooms() if r["room_status"] == status]


def click_ok(qtbot: Any, dialog: BlockDialog) -> None:
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton
    )


def test_discrepancies_are_listed_and_resolving_one_removes_it(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    ops = open_ops(qtbot, window, server, "manager")
    listed = act(server, "manager", "discrepancies.list")["result"]["discrepancies"]
    assert listed, "the demo hotel starts with open discrepancies"
    tab = ops.discrepancies
    qtbot.waitUntil(lambda: tab.table.rowCount() == len(listed), timeout=5000)
    assert sorted(column(tab.table, 0)) == sorted(d["room_number"] for d in listed)
    assert "Discrepancies (" in ops.tabs.tabText(0)
    first = tab.ordered()[0]
    tab.table.selectRow(0)
    assert tab.resolve_button.isEnabled()  # the manager is concerned by every kind
    tab.note.setText("Spoke to the guest")
    qtbot.mouseClick(tab.resolve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.table.rowCount() == len(listed) - 1, timeout=5000)
    assert first["id"] not in tab.items
    still = act(server, "manager", "discrepancies.list")["result"]["discrepancies"]
    assert first["id"] not in {d["id"] for d in still}
    # who resolved it is recorded in the journal
    trail = act(
        server,
        "manager",
        "journal.range",
        since="2026-01-15T08:00:00Z",
        until="2026-01-15T10:00:00Z",
    )["result"]["events"]
    resolved = [e for e in trail if e["type"] == "discrepancy.resolved"]
    assert resolved[-1]["payload"]["discrepancy"]["resolved_by"] == "Ciara O'Brien"
    assert resolved[-1]["payload"]["discrepancy"]["note"] == "Spoke to the guest"
    # presence: this workstation is on the Online tab
    qtbot.waitUntil(lambda: ops.online.table.rowCount() >= 1, timeout=5000)
    assert any("(you)" in name for name in column(ops.online.table, 0))
    # the header button opens the same window again; its attention count follows the list
    assert make_operations(window.session, window) is ops
    assert ops.attention() == (len(listed) - 1, len(rush_queue(window.rooms.rooms())))
    # logging out hides it and leaves nothing of this person on screen
    assert ops.isVisible()
    window.logout()
    qtbot.waitUntil(lambda: not ops.isVisible(), timeout=5000)
    assert ops.discrepancies.table.rowCount() == 0 and ops.online.table.rowCount() == 0


def test_a_raised_discrepancy_is_toasted_to_the_roles_concerned(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    ops = open_ops(qtbot, window, server, "supervisor")
    tab = ops.discrepancies
    qtbot.waitUntil(lambda: tab.table.rowCount() > 0, timeout=5000)
    before = tab.table.rowCount()
    # a vacant room that housekeeping finds occupied: a possible sleeper
    room = next(
        r
        for r in window.rooms.rooms()
        if not r.get("is_occupied") and r.get("hk_occupancy") is None and r["floor"] > 0
    )
    reply = act(
        server,
        "housekeeping",
        "room.observe",
        room_number=room["room_number"],
        occupancy="occupied",
        expected_version=room["version"],
    )
    assert reply["type"] == "ack", reply
    scan_discrepancies(server)
    qtbot.waitUntil(lambda: tab.table.rowCount() == before + 1, timeout=5000)
    assert room["room_number"] in column(tab.table, 0)
    titles = [t for _k, t, _x in window.toasts.history]
    assert any("disagree" in t and room["room_number"] in t for t in titles), titles
    # the supervisor may resolve a mismatch, but not a due-out (front desk and managers only)
    for row in range(tab.table.rowCount()):
        d = tab.items[tab.table.item(row, 0).data(Qt.ItemDataRole.UserRole)]
        tab.table.clearSelection()
        tab.table.selectRow(row)
        assert tab.resolve_button.isEnabled() == ("supervisor" in d["roles"])


def test_a_rush_from_the_desk_joins_the_queue_and_housekeeping_is_told(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    ops = open_ops(qtbot, window, server, "supervisor")
    assert ops.rush.cancel_button.isVisibleTo(ops.rush)  # a supervisor may cancel
    assert not ops.rush.rush_button.isVisibleTo(ops.rush)  # but not ask
    # the demo hotel starts with one room the desk is waiting for
    already = [r["room_number"] for r in rush_queue(window.rooms.rooms())]
    assert len(already) == 1
    dirty = [
        r
        for r in window.rooms.rooms()
        if r["room_status"] == "CHECKOUT_DIRTY" and r["room_number"] not in already
    ]
    first, second = dirty[0], dirty[1]
    for room, note in ((first, "Mr Ryan in the lobby"), (second, "")):
        reply = act(
            server,
            "frontdesk",
            "room.rush",
            room_number=room["room_number"],
            expected_version=room["version"],
            **({"note": note} if note else {}),
        )
        assert reply["type"] == "ack", reply
    qtbot.waitUntil(lambda: ops.rush.table.rowCount() == 3, timeout=5000)
    # longest waiting first
    assert column(ops.rush.table, 0) == [*already, first["room_number"], second["room_number"]]
    assert cell(ops.rush.table, 1, 3).startswith("Niamh Kelly")
    assert cell(ops.rush.table, 1, 4) == "Mr Ryan in the lobby"
    assert ops.tabs.tabText(1) == "Rush queue (3)"
    assert ops.attention()[1] == 3
    titles = [t for _k, t, _x in window.toasts.history]
    assert f"Rush: room {first['room_number']} is wanted for a waiting guest" in titles
    # the supervisor cancels the second one from the queue
    ops.rush.table.selectRow(2)
    qtbot.mouseClick(ops.rush.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ops.rush.table.rowCount() == 2, timeout=5000)
    assert [r["room_number"] for r in rush_queue(window.rooms.rooms())] == [
        *already,
        first["room_number"],
    ]


def test_the_block_dialog_creates_blocks_and_explains_an_override(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    ops = open_ops(qtbot, window, server, "manager")
    tab = ops.blocks_tab
    # the demo hotel has blocks in force and one to come
    qtbot.waitUntil(lambda: tab.table.rowCount() > 0, timeout=5000)
    base = tab.table.rowCount()
    blocked = {b["room_number"] for b in tab.blocks.values()}
    vacant = next(
        r
        for r in window.rooms.rooms()
        if not r.get("is_occupied")
        and not r.get("is_out_of_order")
        and r["floor"] > 0
        and r["room_number"] not in blocked
    )
    dialog = tab.open_dialog(vacant["room_number"])
    assert dialog.override.isVisibleTo(dialog)  # a manager sees the override
    dialog.kind.setCurrentIndex(dialog.kind.findData("out_of_service"))
    dialog.reason.setText("Carpet shampoo")
    dialog.returns.setCurrentIndex(dialog.returns.findData("CLEANED_UNINSPECTED"))
    click_ok(qtbot, dialog)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: tab.table.rowCount() == base + 1, timeout=5000)
    row = column(tab.table, 0).index(vacant["room_number"])
    assert cell(tab.table, row, 1) == "Out of service"
    assert cell(tab.table, row, 6) == "Cleaned, to inspect"
    assert cell(tab.table, row, 7) == "In force"
    qtbot.waitUntil(
        lambda: window.rooms.room(vacant["room_number"]).get("is_out_of_service") is True,
        timeout=5000,
    )
    # out of order over a guest in house: refused in words, then overridden by the manager
    guest = next(
        r
        for r in window.rooms.rooms()
        if r.get("is_occupied")
        and not r.get("is_out_of_order")
        and r["floor"] > 0
        and r["room_number"] not in blocked
    )
    dialog = tab.open_dialog(guest["room_number"])
    dialog.reason.setText("Burst pipe")
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: dialog.error.isVisibleTo(dialog), timeout=5000)
    text = dialog.error.text()
    assert "guest in house" in text and "Override" in text, text
    assert dialog.isVisible()
    dialog.override.setChecked(True)
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: tab.table.rowCount() == base + 2, timeout=5000)
    qtbot.waitUntil(
        lambda: window.rooms.room(guest["room_number"])["room_status"] == "OUT_OF_ORDER",
        timeout=5000,
    )
    assert any("(override)" in s for s in column(tab.table, 7))
    # ending it early from the list
    row = column(tab.table, 0).index(guest["room_number"])
    tab.table.selectRow(row)
    qtbot.mouseClick(tab.end_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.table.rowCount() == base + 1, timeout=5000)
    # someone who may not override is told to ask a manager
    words = explain_block_error({"code": "override_required"}, "maintenance", "204")
    assert "ask a manager" in words and "Override" not in words


def test_blocks_and_assignment_are_shaped_by_role(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    ops = open_ops(qtbot, window, server, "housekeeping")
    assert not ops.blocks_tab.new_button.isVisibleTo(ops.blocks_tab)
    assert not ops.attendants.assign_box.isVisibleTo(ops.attendants)
    assert ops.attendants.mine_button.isVisibleTo(ops.attendants)
    me = ops.staff_id
    assert me is not None
    rooms = [
        {"room_number": "101", "floor": 1, "assigned_to": None},
        {"room_number": "301", "floor": 3, "assigned_to": {"staff_id": me, "name": "me"}},
        {
            "room_number": "302",
            "floor": 3,
            "assigned_to": {"staff_id": me, "name": "me"},
            "rush": {"requested_at": "2026-01-15T09:00:00Z"},
        },
    ]
    assert [r["room_number"] for r in attendant_order(rooms, me)] == ["302", "301", "101"]
    # toasts: only discrepancies that concern housekeeping; the night roll-over
    before = len(window.toasts.history)

    def raised(i: int, roles: list[str]) -> dict[str, Any]:
        d = {
            "id": 900 + i,
            "kind": "x",
            "label": "Test finding",
            "room_number": "101",
            "message": "Something is off.",
            "roles": roles,
            "state": "open",
            "raised_at": "2026-01-15T09:00:00Z",
        }
        return {
            "type": "discrepancy.raised",
            "category": "hotel",
            "payload": {"discrepancy": d},
            "meta": {"seq": None, "source": "system"},
        }

    ops._on_event(raised(1, ["front_desk", "manager"]))
    assert len(window.toasts.history) == before
    ops._on_event(raised(2, ["housekeeping", "manager"]))
    assert window.toasts.history[-1][:2] == ("warning", "Test finding: room 101")
    assert {900 + 1, 900 + 2} <= set(ops.discrepancies.items)
    ops._on_event(
        {
            "type": "hotel.rollover",
            "category": "hotel",
            "payload": {
                "business_date": "2026-01-16",
                "previous_business_date": "2026-01-15",
                "rooms_needing_service": ["101", "204"],
            },
            "meta": {"seq": None, "source": "system"},
        }
    )
    assert window.toasts.history[-1][1] == "New business day: 2026-01-16"
    assert "2 occupied room(s)" in window.toasts.history[-1][2]


def test_made_when_the_main_window_starts_it_fills_in_on_login(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    ops = make_operations(window.session, window, window.rooms, window.toasts)
    assert not ops.isVisible()
    login(qtbot, window, server, "frontdesk")
    qtbot.waitUntil(lambda: ops.discrepancies.table.rowCount() > 0, timeout=5000)
    qtbot.waitUntil(lambda: bool(ops.attendants.staff), timeout=5000)
    assert "Niamh Kelly (Front desk)" in ops.heading.text()
    assert ops.rush.rush_button.isVisibleTo(ops.rush) and ops.rush.room_combo.count() > 0
    assert not ops.blocks_tab.new_button.isVisibleTo(ops.blocks_tab)
    assert open_operations(window.session, window, tab="Rush") is ops
    assert ops.isVisible() and ops.tabs.currentWidget() is ops.rush
    # the desk rushes a room from the queue's own controls
    number = ops.rush.room_combo.currentData()
    ops.rush.note.setText("Guest in the bar")
    queued = ops.rush.table.rowCount()  # the demo's own rushed room
    qtbot.mouseClick(ops.rush.rush_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ops.rush.table.rowCount() == queued + 1, timeout=5000)
    assert cell(ops.rush.table, queued, 0) == number  # the newest waits least: last
    assert cell(ops.rush.table, queued, 4) == "Guest in the bar"
    assert ("success", "Done", f"Rush room {number}") in window.toasts.history


def test_rewind_shows_the_board_as_it_was_before_a_later_change(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock
) -> None:
    ops = open_ops(qtbot, window, server, "manager")
    start = clock.now()
    number = next(
        r["room_number"] for r in window.rooms.rooms() if r["room_status"] == "CHECKOUT_DIRTY"
    )
    advance_server(server, 120)
    start_cleaning(server, window, number)
    qtbot.waitUntil(
        lambda: window.rooms.room(number)["room_status"] == "CLEANING_IN_PROGRESS", timeout=5000
    )
    hist = ops.history
    ops.show_tab("History")
    hist.set_moment(start + timedelta(seconds=60))
    qtbot.mouseClick(hist.show_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: hist.past.rowCount() == window.rooms.rowCount(), timeout=5000)
    past = hist.past_room(number)
    assert past is not None and past["room_status"] == "CHECKOUT_DIRTY"
    assert window.rooms.room(number)["room_status"] == "CLEANING_IN_PROGRESS"
    assert hist.banner.isVisibleTo(hist)
    assert hist.banner.text().startswith("PAST — the board as at")
    assert "09:01:00" in hist.banner.text()  # 09:01 UTC is 09:01 in Dublin in January
    # its card on the past board says so too
    found = hist.board.view_of(number)
    assert found is not None
    assert found[1].data(Roles.Status) == "CHECKOUT_DIRTY"
    # the room's timeline marks the change that came after the chosen moment
    hist.board.select([number])
    qtbot.waitUntil(lambda: hist.timeline.topLevelItemCount() > 0, timeout=5000)
    newest = hist.timeline.topLevelItem(0)
    assert newest.text(0).startswith("later")
    assert "Cleaning" in newest.text(1) and "Aoife Murphy" in newest.text(2)
    # a moment before the journal begins is refused in words
    hist.set_moment(start - timedelta(days=30))
    hist.load_board()
    qtbot.waitUntil(lambda: hist.message.text().startswith("Cannot rewind"), timeout=5000)


def test_attendant_sheets_are_one_page_per_attendant(
    qtbot: Any, window: MainWindow, server: ServerThread, tmp_path: Path
) -> None:
    ops = open_ops(qtbot, window, server, "supervisor")
    tab = ops.attendants
    # by default the split is between the housekeeping accounts (the two attendants)
    ticked = [sid for sid, box in tab.split_checks.items() if box.isChecked()]
    assert len(ticked) == 2
    qtbot.mouseClick(tab.split_floor, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: all(r.get("assigned_to") for r in window.rooms.rooms()), timeout=5000)
    counts: dict[int, int] = {}
    for r in window.rooms.rooms():
        sid = r["assigned_to"]["staff_id"]
        counts[sid] = counts.get(sid, 0) + 1
    assert (
        sorted(counts) == sorted(ticked) and abs(max(counts.values()) - min(counts.values())) <= 1
    )
    # by hand: one room to the supervisor
    number = window.rooms.rooms()[5]["room_number"]
    tab.assign([number], ops.staff_id)
    qtbot.waitUntil(
        lambda: window.rooms.room(number)["assigned_to"]["staff_id"] == ops.staff_id,
        timeout=5000,
    )
    pdf = tmp_path / "sheets.pdf"
    assert tab.print_sheets(pdf) == 3
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf_page_count(pdf) == 3
    report = tmp_path / "report.pdf"
    assert tab.print_report(report) >= 1
    assert pdf_page_count(report) >= 1
    own = tmp_path / "mine.pdf"
    assert tab.print_sheets(own, ops.staff_id) == 1 and pdf_page_count(own) == 1
    # the pages as images: three pages of black text on white, one room per line
    pages = render_pdf_pages(pdf, dpi=60)
    assert len(pages) == 3
    for page in pages:
        assert page.width() > 400 and page.height() > page.width()  # A4 portrait
        assert 0.002 < dark_share(page) < 0.5, "a page with text, readable in black and white"
    # the supervisor's page (one room) has less on it than an attendant's (about 30 rooms)
    assert dark_share(pages[1]) < dark_share(pages[0]) / 2
    report_pages = render_pdf_pages(report, dpi=60)
    assert report_pages and dark_share(report_pages[0]) > 0.01


def test_the_audit_export_writes_who_did_what(
    qtbot: Any,
    window: MainWindow,
    server: ServerThread,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ops = open_ops(qtbot, window, server, "manager")
    numbers = [
        r["room_number"] for r in window.rooms.rooms() if r["room_status"] == "CHECKOUT_DIRTY"
    ][:3]
    for number in numbers:
        reply = act(
            server,
            "housekeeping",
            "room.action",
            room_number=number,
            action="start_cleaning",
            expected_version=window.rooms.room(number)["version"],
        )
        assert reply["type"] == "ack", reply
    journal = act(
        server,
        "manager",
        "journal.range",
        since="2026-01-15T08:00:00Z",
        until="2026-01-15T10:00:00Z",
        limit=5000,
    )["result"]["events"]
    monkeypatch.setattr(history_module, "PAGE", 2)  # several pages, joined by after_seq
    hist = ops.history
    hist.since.setDateTime(to_qdatetime(clock.now() - timedelta(hours=1), ops.tz))
    hist.until.setDateTime(to_qdatetime(clock.now() + timedelta(hours=1), ops.tz))
    path = tmp_path / "audit.csv"
    task = hist.export(path)
    qtbot.waitUntil(task.done, timeout=10000)
    assert task.result() == len(journal)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[0] == COLUMNS
    body = [dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]]
    assert [int(r["seq"]) for r in body] == [e["meta"]["seq"] for e in journal]
    cleaning = [r for r in body if r["event"] == "room_updated" and r["staff"] == "Aoife Murphy"]
    assert [r["room"] for r in cleaning] == numbers
    assert all(r["role"] == "housekeeping" and r["changed"] == "room_status" for r in cleaning)
    assert "written" in hist.export_status.text()


def test_card_marks_for_blocks_and_own_rooms() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from desktop.marks import block_mark, mine_first

    tz = ZoneInfo("Europe/Dublin")
    now = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)  # a Thursday
    room: dict[str, Any] = {"room_number": "204", "block": None}
    assert block_mark(room, tz, now) == ""
    room["block"] = {"kind": "out_of_order", "end": "2026-01-15T14:00:00Z"}
    assert block_mark(room, tz, now) == "OOO until 14:00"
    room["block"] = {"kind": "out_of_service", "end": "2026-01-16T11:30:00Z"}
    assert block_mark(room, tz, now) == "OOS until Fri 11:30"
    room["block"] = {"kind": "out_of_order", "end": "2026-02-20T11:30:00Z"}
    assert block_mark(room, tz, now) == "OOO until 20 Feb"
    mine = {"assigned_to": {"staff_id": 1, "name": "Aoife Murphy"}}
    assert mine_first(mine, 1) == 0 and mine_first(mine, 2) == 1 and mine_first({}, 1) == 1
