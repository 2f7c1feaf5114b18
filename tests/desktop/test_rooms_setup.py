"""Rooms set up while the board runs: a created room is a new card, a retired one leaves, with
no reset of the model; the manager's Rooms tab adds, edits and retires them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.model import RoomFilter, RoomModel
from shared.clock import ManualClock
from tests.desktop.conftest import logged_in
from tests.desktop.test_model import make_rooms
from tests.support import ServerThread


def event(kind: str, seq: int, **payload: Any) -> dict[str, Any]:
    return {"category": "rooms", "type": kind, "payload": payload, "meta": {"seq": seq}}


def created(number: str, floor: int, seq: int, **extra: Any) -> dict[str, Any]:
    fields = {
        "room_status": "READY_FOR_GUEST",
        "room_type": "Suite",
        "occupancy_status": "free",
        "version": 1,
        **extra,
    }
    return event("room_created", seq, room_number=number, floor=floor, **fields)


def test_created_and_retired_rooms_are_inserted_and_removed_without_a_reset(
    qtbot: Any, qtmodeltester: Any, clock: ManualClock
) -> None:
    model = RoomModel(clock.now, flush_ms=5)
    model.set_rooms(make_rooms(20))
    proxy = RoomFilter()
    proxy.setSourceModel(model)
    proxy.set_filters(room_type="Suite")
    # one tester watches one model: the source, through every insert and removal below
    qtmodeltester.check(model, force_py=True)
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    shown, total = proxy.rowCount(), model.stats["total"]
    ready = model.stats["READY_FOR_GUEST"]

    model.apply_event(created("150", 1, 1))
    model.apply_event(created("250", 2, 2, room_type="Twin Room"))
    with qtbot.waitSignal(model.rooms_changed, timeout=2000):
        pass
    # each in its place by floor and number (after 101-110 and after 201-210), as a
    # snapshot would have them
    assert model.row_of("150") == 10 and model.row_of("250") == 21
    for row, room in enumerate(model.rooms()):
        assert model.row_of(room["room_number"]) == row
    assert model.stats["total"] == total + 2 and model.stats["READY_FOR_GUEST"] == ready + 2
    assert proxy.rowCount() == shown + 1  # only the suite passes the filter

    for number in ("105", "150"):  # one from the snapshot, one just added
        model.apply_event(event("room_retired", 3, room_number=number))
    with qtbot.waitSignal(model.rooms_changed, timeout=2000) as got:
        pass
    assert sorted(got.args[0]) == ["105", "150"]
    assert model.room("105") is None and model.room("150") is None
    assert model.rowCount() == 20 and model.stats["total"] == total
    for row, room in enumerate(model.rooms()):  # the index still points at the right rows
        assert model.row_of(room["room_number"]) == row
    assert proxy.rowCount() == shown - 1  # 150 came and went; 105 (a suite) went
    model.apply_event(created("105", 1, 4))  # brought back
    model.apply_event(event("room_retired", 5, room_number="250"))
    model.apply_event(event("room_updated", 6, room_number="250", floor=3))  # too late: gone
    model.flush()
    assert model.room("105") is not None and model.room("250") is None
    assert resets == []
    suites = sorted(r["room_number"] for r in model.rooms() if r["room_type"] == "Suite")
    shown_now = [proxy.index(i, 0).data() for i in range(proxy.rowCount())]
    assert sorted(shown_now) == suites


def test_a_room_added_from_one_desktop_appears_on_another_and_leaves_when_retired(
    qtbot: Any, qloop: Any, clock: ManualClock, tmp_path: Path, server: ServerThread
) -> None:
    boss = logged_in(qtbot, clock, tmp_path, server, "manager", "boss.ini")
    desk = logged_in(qtbot, clock, tmp_path, server, "frontdesk", "desk.ini")
    before = desk.rooms.rowCount()
    boss.open_operations("rooms")
    ops = boss.operations
    tab = ops.rooms_tab
    qtbot.waitUntil(lambda: bool(tab.types), timeout=5000)
    dialog = tab.open_room_dialog()
    dialog.number.setText("950")
    dialog.room_type.setCurrentIndex(dialog.room_type.findData("Suite"))
    dialog.floor.setValue(9)
    dialog.section.setText("Roof")
    dialog.submit()
    qtbot.waitUntil(lambda: desk.rooms.room("950") is not None, timeout=5000)
    assert desk.rooms.rowCount() == before + 1
    assert desk.rooms.room("950")["section"] == "Roof"  # type: ignore[index]

    def floor_nine() -> list[Any]:
        return [sec for sec in desk.board.sections if sec.title == "Floor 9"]

    qtbot.waitUntil(lambda: bool(floor_nine()) and floor_nine()[0].proxy.rowCount() == 1)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)

    # an edit from the tab: the other desk's card follows
    tab.select("950")
    edit = tab.open_room_dialog("950")
    assert not edit.number.isEnabled()  # a room keeps its number
    edit.capacity.setValue(4)
    edit.submit()
    qtbot.waitUntil(lambda: (desk.rooms.room("950") or {}).get("capacity") == 4, timeout=5000)

    # the same number again: the server's refusal, in words, in the form
    again = tab.open_room_dialog()
    again.number.setText("950")
    again.submit()
    qtbot.waitUntil(lambda: "already" in again.error.text(), timeout=5000)
    assert again.isVisible() and again.error.text() == "There is a room 950 already."
    again.reject()

    # retired from the tab while the other desk has it selected: it leaves both boards
    desk.board.select(["950"])
    tab.select("950")
    tab.retire_room(confirm=False)
    qtbot.waitUntil(lambda: desk.rooms.room("950") is None, timeout=5000)
    qtbot.waitUntil(lambda: boss.rooms.room("950") is None, timeout=5000)
    assert desk.rooms.rowCount() == before
    assert not floor_nine()  # its floor's section went with it
    qtbot.waitUntil(lambda: tab.row_of("950") is None, timeout=5000)
    assert "Done: Retire room 950" in tab.status.text()
    # only a manager has the tab
    desk.open_operations()
    tabs = desk.operations.tabs
    assert not tabs.isTabVisible(tabs.indexOf(desk.operations.rooms_tab))
    assert ops.tabs.isTabVisible(ops.tabs.indexOf(tab))
