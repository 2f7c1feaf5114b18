"""What the board's speed-ups touch, checked for correctness (never timed): the statistics
kept room by room equal a full recount, and the filter, sort and sections stay right, after
long random sequences of events of every kind."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from desktop.filtering import RoomFilter, SortMode
from desktop.model import RoomModel, compute_stats
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
