"""What the board's speed-ups touch, checked for correctness (never timed): the statistics
kept room by room equal a full recount, and the filter, sort and sections stay right, after
long random sequences of events of every kind."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from PySide6.QtCore import QtMsgType, qInstallMessageHandler
from PySide6.QtTest import QAbstractItemModelTester

from desktop.board import Board
from desktop.filtering import RoomFilter, SortMode
from desktop.model import Roles, RoomModel, compute_stats
from shared.clock import ManualClock
from shared.rules import RoomStatus
from shared.timeutil import to_iso

STATUSES = [s.value for s in RoomStatus]
ATTENDANTS = [None, {"staff_id": 7, "name": "Aoife"}, {"staff_id": 8, "name": "Brid"}]


def make_rooms(rnd: random.Random, n: int, clock: ManualClock) -> list[dict[str, Any]]:
    return [room(rnd, f"{i // 20 + 1}{i % 20 + 1:02d}", i // 20 + 1, clock) for i in range(n)]


def room(rnd: random.Random, number: str, floor: int, clock: ManualClock) -> dict[str, Any]:
    occupied = rnd.random() < 0.5
    return {
        "room_number": number,
        "floor": floor,
        "room_status": rnd.choice(STATUSES),
        "room_type": rnd.choice(["Suite", "Twin Room", "Double"]),
        "is_occupied": occupied,
        "is_out_of_order": rnd.random() < 0.05,
        "maintenance_required": rnd.random() < 0.2,
        "maintenance_priority": "HIGH",
        "maintenance_notes": rnd.choice([None, "Leaking tap", "Bulb"]),
        "occupancy_status": rnd.choice(["occupied", "free"]) if occupied else "free",
        "free_at": to_iso(clock.now() + timedelta(minutes=rnd.randint(0, 120)))
        if occupied
        else None,
        "assigned_to": rnd.choice(ATTENDANTS),
        "version": 1,
    }


def random_event(rnd: random.Random, model: RoomModel, clock: ManualClock) -> dict[str, Any]:
    rooms = model.rooms()
    target = dict(rnd.choice(rooms))
    kind = rnd.random()
    if kind < 0.6:  # a room_updated with the whole room, a few fields moved
        moved = rnd.sample(
            ["room_status", "maintenance_required", "assigned_to", "is_out_of_order"],
            rnd.randint(1, 2),
        )
        for f in moved:
            target[f] = {
                "room_status": lambda: rnd.choice(STATUSES),
                "maintenance_required": lambda: rnd.random() < 0.3,
                "assigned_to": lambda: rnd.choice(ATTENDANTS),
                "is_out_of_order": lambda: rnd.random() < 0.1,
            }[f]()
        target["version"] = int(target.get("version") or 0) + 1
        return {"type": "room_updated", "payload": {**target, "changed_fields": moved}}
    if kind < 0.85:  # occupancy (room.update)
        occupied = rnd.random() < 0.5
        return {
            "type": "room.update",
            "payload": {
                "room_number": target["room_number"],
                "is_occupied": occupied,
                "occupancy_status": rnd.choice(["occupied", "free"]) if occupied else "free",
                "free_at": to_iso(clock.now() + timedelta(minutes=rnd.randint(0, 90))),
            },
        }
    if kind < 0.93 and len(rooms) > 20:  # a room leaves the board
        return {"type": "room_retired", "payload": {"room_number": target["room_number"]}}
    number = f"{rnd.randint(1, 12)}{rnd.randint(21, 60):02d}"  # a new room, or one back
    new = room(rnd, number, int(number[:-2]), clock)
    return {"type": "room_created", "payload": new}


def expected_order(proxy: RoomFilter, model: RoomModel) -> list[str]:
    shown = [r for r in model.rooms() if proxy.accepts(r)]
    shown.sort(key=proxy.key)
    return [r["room_number"] for r in shown]


def proxy_order(proxy: RoomFilter) -> list[str]:
    rooms = proxy.source().rooms()
    return [
        rooms[proxy.mapToSource(proxy.index(i, 0)).row()]["room_number"]
        for i in range(proxy.rowCount())
    ]


def test_statistics_kept_room_by_room_equal_a_full_recount(qapp: Any, clock: ManualClock) -> None:
    rnd = random.Random(11)
    model = RoomModel(clock.now, flush_ms=10_000)
    model.set_rooms(make_rooms(rnd, 120, clock))
    assert model.stats == compute_stats(model.rooms(), clock.now())
    for i in range(10_000):
        model.apply_event(random_event(rnd, model, clock))
        if rnd.random() < 0.2:  # bursts of several events coalesce into one flush
            model.flush()
            assert model.stats == compute_stats(model.rooms(), clock.now()), i
    model.flush()
    assert model.stats == compute_stats(model.rooms(), clock.now())
    clock.advance(3600)  # the countdowns moved: the minute's tick counts afresh
    model.tick()
    assert model.stats == compute_stats(model.rooms(), clock.now())


def test_filters_sort_and_order_stay_right_after_every_event(qapp: Any, clock: ManualClock) -> None:
    rnd = random.Random(12)
    model = RoomModel(clock.now, flush_ms=10_000)
    model.set_rooms(make_rooms(rnd, 100, clock))
    proxy = RoomFilter()
    proxy.setSourceModel(model)
    settings: list[dict[str, Any]] = [
        {},
        {"status": "CHECKOUT_DIRTY"},
        {"maintenance": True},
        {"occupancy": "occupied"},
        {"text": "tap"},
    ]
    for step in range(40):
        # the viewer: a manager (no rooms of their own), or an attendant whose rooms come first
        model.set_viewer(rnd.choice([None, 7]), model.tz)
        proxy.set_sort_mode(rnd.choice(list(SortMode)))
        cleared: dict[str, Any] = {"status": None, "maintenance": None, "occupancy": None}
        proxy.set_filters(**{**cleared, "text": "", **rnd.choice(settings)})
        assert proxy_order(proxy) == expected_order(proxy, model), step
        for _ in range(50):
            model.apply_event(random_event(rnd, model, clock))
            if rnd.random() < 0.5:
                model.flush()
                assert proxy_order(proxy) == expected_order(proxy, model), step
        model.flush()
        assert proxy_order(proxy) == expected_order(proxy, model), step
    # the model's own order (which the board shows unsorted by floor) is by floor and number
    floors = [(int(r["floor"]), r["room_number"]) for r in model.rooms()]
    assert [f for f, _ in floors] == sorted(f for f, _ in floors)


def board_sections(board: Board) -> list[tuple[str, list[str]]]:
    out = []
    for sec in board.sections:
        rows = sec.proxy
        out.append(
            (sec.title, [str(rows.index(i, 0).data(Roles.Number)) for i in range(rows.rowCount())])
        )
    return out


def expected_sections(
    board: Board, proxy: RoomFilter, model: RoomModel
) -> list[tuple[str, list[str]]]:
    """What a board built afresh shows: the filter's rows, in its order, grouped."""
    order = expected_order(proxy, model)
    rooms = {r["room_number"]: r for r in model.rooms()}
    out = []
    for sec, values in zip(board.sections, section_values(proxy, model), strict=True):
        role, value = values
        numbers = [n for n in order if role is None or model.value(rooms[n], role) == value]
        out.append((sec.title, numbers))
    return out


def section_values(proxy: RoomFilter, model: RoomModel) -> list[tuple[int | None, Any]]:
    if proxy.sort_mode == SortMode.FLOOR:
        return [(int(Roles.Group), "mine")] + [(int(Roles.Group), f) for f in model.floors()]
    if proxy.sort_mode == SortMode.STATUS:
        return [(int(Roles.Status), s) for s in STATUSES]
    return [(None, None)]


class ModelChecks:
    """Qt's own checks of a model's signals (rows inserted where said, a layout change that
    keeps what it says) on every section of a board; what they find is collected."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.testers: list[QAbstractItemModelTester] = []
        self._previous = qInstallMessageHandler(self._on_message)

    def _on_message(self, kind: QtMsgType, context: Any, text: str) -> None:
        if "FAIL" in text or "QAbstractItemModelTester" in text:
            self.found.append(text)

    def watch(self, board: Board) -> None:
        mode = QAbstractItemModelTester.FailureReportingMode.Warning
        self.testers = [QAbstractItemModelTester(sec.proxy, mode) for sec in board.sections]

    def close(self) -> None:
        qInstallMessageHandler(self._previous)


def test_every_section_shows_its_rooms_in_order_after_every_event(
    qapp: Any, clock: ManualClock
) -> None:
    rnd = random.Random(13)
    model = RoomModel(clock.now, flush_ms=10_000)
    proxy = RoomFilter()
    proxy.setSourceModel(model)
    board = Board(proxy)
    board.resize(1200, 800)
    model.set_rooms(make_rooms(rnd, 160, clock))
    assert board_sections(board) == expected_sections(board, proxy, model)
    settings: list[dict[str, Any]] = [
        {},
        {"status": "CHECKOUT_DIRTY"},
        {"maintenance": False},
        {"occupancy": "free"},
        {"text": "tap"},
    ]
    cleared: dict[str, Any] = {"status": None, "maintenance": None, "occupancy": None}
    checks = ModelChecks()
    try:
        for step in range(60):
            if rnd.random() < 0.3:
                model.set_viewer(rnd.choice([None, 7, 8]), model.tz)
            if rnd.random() < 0.3:  # as the filter bar does: a new sort, then new sections
                proxy.set_sort_mode(rnd.choice(list(SortMode)))
                board.rebuild()
            if rnd.random() < 0.3:
                proxy.set_filters(**{**cleared, "text": "", **rnd.choice(settings)})
            if rnd.random() < 0.1:  # a snapshot again (a resync)
                model.set_rooms([dict(r) for r in model.rooms()])
            assert board_sections(board) == expected_sections(board, proxy, model), step
            checks.watch(board)
            # a few rooms selected: those that stay in their section stay selected, and no
            # other room is selected by the changes
            shown = [n for _, numbers in board_sections(board) for n in numbers]
            picked = rnd.sample(shown, min(12, len(shown)))
            board.select(picked)
            before = {t: set(ns) & set(picked) for t, ns in board_sections(board)}
            for _ in range(rnd.choice([1, 5, 40])):
                model.apply_event(random_event(rnd, model, clock))
            model.flush()
            after = board_sections(board)
            assert after == expected_sections(board, proxy, model), step
            still = {n for t, ns in after for n in ns if n in before.get(t, set())}
            assert set(board.selected_rooms()) == still, step
            assert checks.found == [], step
    finally:
        checks.close()
    # the board over the same filter built afresh shows the same
    again = Board(proxy)
    assert board_sections(again) == board_sections(board)


def repainted(board: Board) -> list[set[str]]:
    """Per section, the rooms its dataChanged signals covered (filled as they come)."""
    seen: list[set[str]] = []
    for sec in board.sections:
        got: set[str] = set()
        rows = sec.proxy

        def record(
            top: Any, bottom: Any, roles: Any = (), rows: Any = rows, got: Any = got
        ) -> None:
            got.update(r["room_number"] for r in rows.rooms[top.row() : bottom.row() + 1])

        rows.dataChanged.connect(record)
        seen.append(got)
    return seen


def test_a_room_changes_section_or_is_repainted_in_its_own(qapp: Any, clock: ManualClock) -> None:
    rnd = random.Random(14)
    model = RoomModel(clock.now, flush_ms=10_000)
    proxy = RoomFilter()
    proxy.setSourceModel(model)
    board = Board(proxy)
    rooms = make_rooms(rnd, 100, clock)
    for r in rooms:
        r["assigned_to"] = None
    model.set_rooms(rooms)
    # by floor: a status change repaints the card where it is, in its floor's section only
    seen = repainted(board)
    model.apply_event(
        {"type": "room_updated", "payload": {**rooms[25], "room_status": "OCCUPIED_DIRTY"}}
    )
    model.flush()
    floor_2 = next(i for i, s in enumerate(board.sections) if s.title == "Floor 2")
    assert "206" in seen[floor_2] and all(not s for i, s in enumerate(seen) if i != floor_2)
    # a burst over the whole board repaints every changed card
    seen = repainted(board)
    changed = [model.rooms()[0], *rnd.sample(model.rooms(), 60), model.rooms()[-1]]
    for r in changed:
        model.apply_event(
            {"type": "room_updated", "payload": {**r, "room_status": "READY_FOR_GUEST"}}
        )
    model.flush()
    assert {r["room_number"] for r in changed} <= set().union(*seen)
    # the viewer's rooms move to "My rooms" (no new sections: the same board)
    sections = list(board.sections)
    model.apply_event(
        {
            "type": "room_updated",
            "payload": {**rooms[3], "assigned_to": {"staff_id": 7, "name": "A"}},
        }
    )
    model.flush()
    model.set_viewer(7, model.tz)
    assert board.sections == sections
    assert board_sections(board)[0] == ("My rooms", ["104"])
    assert "104" not in board_sections(board)[1][1]
    # by status: a room whose new status keeps its place in the filter's order still moves
    proxy.set_sort_mode(SortMode.STATUS)
    board.rebuild()
    for target in rnd.sample(model.rooms(), 30):
        status = rnd.choice(STATUSES)
        model.apply_event({"type": "room_updated", "payload": {**target, "room_status": status}})
        model.flush()
        assert board_sections(board) == expected_sections(board, proxy, model)
