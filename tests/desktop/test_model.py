"""The room model: one reset per snapshot, row-exact coalesced updates, filters, sorting."""

from __future__ import annotations

from typing import Any

from desktop.model import Roles, RoomFilter, RoomModel, SortMode, compute_stats
from shared.clock import ManualClock
from shared.rules import RoomStatus
from shared.timeutil import to_iso

STATUSES = list(RoomStatus)


def make_rooms(n: int = 40, per_floor: int = 10) -> list[dict[str, Any]]:
    rooms = []
    for i in range(n):
        floor = i // per_floor + 1
        status = STATUSES[i % len(STATUSES)]
        rooms.append(
            {
                "room_number": f"{floor}{i % per_floor + 1:02d}",
                "floor": floor,
                "room_status": status.value,
                "room_type": "Suite" if i % 4 == 0 else "Twin Room",
                "is_occupied": i % 3 == 0,
                "is_out_of_order": status is RoomStatus.OUT_OF_ORDER,
                "maintenance_required": i % 5 == 0,
                "maintenance_priority": "HIGH" if i % 5 == 0 else None,
                "maintenance_notes": "Leaking tap" if i % 5 == 0 else None,
                "occupancy_status": "occupied" if i % 3 == 0 else "free",
                "version": 1,
            }
        )
    return rooms


def test_model_passes_qtmodeltester(qtmodeltester: Any, clock: ManualClock) -> None:
    model = RoomModel(clock.now)
    model.set_rooms(make_rooms())
    qtmodeltester.check(model, force_py=True)
    proxy = RoomFilter()
    proxy.setSourceModel(model)
    proxy.set_filters(status="READY_FOR_GUEST")
    qtmodeltester.check(proxy, force_py=True)


def test_updates_are_coalesced_and_change_only_their_rows(qtbot: Any, clock: ManualClock) -> None:
    model = RoomModel(clock.now, flush_ms=5)
    model.set_rooms(make_rooms())
    changed: list[tuple[int, int]] = []
    resets: list[int] = []
    model.dataChanged.connect(lambda a, b, roles=None: changed.append((a.row(), b.row())))
    model.modelReset.connect(lambda: resets.append(1))
    for i in range(1000):  # a burst of 1000 changes to two rooms
        model.queue("101", {"room_status": STATUSES[i % 5].value, "version": i})
        model.queue("305", {"guests_in_room": i % 3})
    assert changed == []  # nothing painted before the flush
    with qtbot.waitSignal(model.rooms_changed, timeout=2000):
        pass
    assert sorted(changed) == [(model.row_of("101"),) * 2, (model.row_of("305"),) * 2]
    assert model.room("101")["version"] == 999
    assert resets == [] and model.flushes == 1


def test_events_and_heartbeats_update_rooms(clock: ManualClock) -> None:
    model = RoomModel(clock.now)
    model.set_rooms(make_rooms())
    model.apply_event(
        {
            "type": "room_updated",
            "payload": {"room_number": "102", "room_status": "CLEANING_IN_PROGRESS", "version": 2},
        }
    )
    free_at = to_iso(clock.now().replace(microsecond=0)) or ""
    model.apply_event(
        {
            "type": "room.update",
            "payload": {
                "room_number": "103",
                "occupancy_status": "occupied",
                "free_at": free_at,
                "time_until_free": 0,
                "current_attendees": 4,
                "is_occupied": True,
            },
        }
    )
    assert model.flush() == ["102", "103"]
    idx = model.index(model.row_of("102") or 0)
    assert idx.data(Roles.Status) == "CLEANING_IN_PROGRESS"
    idx3 = model.index(model.row_of("103") or 0)
    assert idx3.data(Roles.Guests) == 4
    assert idx3.data(Roles.Occupancy) == "ending_soon"  # free within 15 min, counted locally
    n = model.apply_heartbeat([{"room_number": "105", "occupancy_status": "occupied"}])
    assert n == 1 and model.flush() == ["105"]
    assert model.apply_heartbeat([{"room_number": "105", "occupancy_status": "occupied"}]) == 0


def test_filters_search_and_sort_follow_live_changes(clock: ManualClock) -> None:
    model = RoomModel(clock.now)
    model.set_rooms(make_rooms())
    proxy = RoomFilter()
    proxy.setSourceModel(model)

    def shown() -> list[str]:
        return [proxy.index(r, 0).data(Roles.Number) for r in range(proxy.rowCount())]

    proxy.set_filters(status="READY_FOR_GUEST")
    ready = shown()
    assert ready and all(model.room(n)["room_status"] == "READY_FOR_GUEST" for n in ready)
    model.queue(ready[0], {"room_status": "CHECKOUT_DIRTY"})
    model.flush()
    assert ready[0] not in shown()  # the filter keeps applying as events arrive
    proxy.set_filters(status=None, floor=2)
    assert {model.room(n)["floor"] for n in shown()} == {2}
    proxy.set_filters(floor=None, maintenance=True, room_type="Suite")
    assert all(model.room(n)["maintenance_required"] for n in shown())
    proxy.set_filters(maintenance=None, room_type=None, occupancy="occupied")
    assert all(model.room(n)["occupancy_status"] != "free" for n in shown())
    proxy.set_filters(occupancy=None, text="leaking")
    assert shown() and all(model.room(n)["maintenance_notes"] for n in shown())
    proxy.set_filters(text="305")
    assert shown() == ["305"]
    proxy.set_filters(text="")
    proxy.set_sort_mode(SortMode.STATUS)
    ranks = [model.room(n)["room_status"] for n in shown()]
    assert ranks[0] == "CHECKOUT_DIRTY" and ranks[-1] == "OUT_OF_ORDER"
    proxy.set_sort_mode(SortMode.NUMBER)
    assert shown()[:3] == ["101", "102", "103"]


def test_statistics(clock: ManualClock) -> None:
    rooms = make_rooms()
    stats = compute_stats(rooms, clock.now())
    assert stats["total"] == 40
    assert sum(stats[s.value] for s in RoomStatus) == 40
    assert stats["occupied"] == sum(1 for r in rooms if r["occupancy_status"] != "free")
    assert stats["maintenance"] == 8
