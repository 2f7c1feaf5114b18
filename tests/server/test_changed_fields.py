"""`changed_fields` as a client reads it, for the changes that used to leave a field out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from shared.roomsetup import changed_fields
from tests.server.live import act, is_event, overview, pick, run
from tests.support import LiveServer, Peer


def test_changed_fields_names_what_differs_in_payload_order_but_not_the_version() -> None:
    before = {"room_status": "A", "maintenance_priority": "HIGH", "version": 3, "rush": None}
    after = {"room_status": "B", "maintenance_priority": None, "version": 4, "rush": None}
    assert changed_fields(before, after) == ["room_status", "maintenance_priority"]
    assert changed_fields(after, after) == []
    assert changed_fields({}, {"new_field": None}) == ["new_field"]


async def changed(peer: Peer, room: dict[str, Any], action: str, **args: Any) -> list[str]:
    reply = await act(peer, room, action, **args)
    assert reply["type"] == "ack", reply
    ev = await peer.until(is_event("room_updated", room["room_number"]))
    room.update(ev["payload"])
    names: list[str] = ev["payload"]["changed_fields"]
    return names


def test_clearing_maintenance_out_of_order_and_do_not_disturb_names_every_field_that_moved(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            mgr = await Peer.open(srv.url, "manager")
            snap = await overview(mgr)
            room = dict(
                pick(snap, room_status="READY_FOR_GUEST", is_occupied=False, reservations_today=0)
            )
            assert await changed(mgr, room, "set_dnd") == ["do_not_disturb", "dnd_since"]
            assert await changed(mgr, room, "clear_dnd") == ["do_not_disturb", "dnd_since"]
            assert await changed(mgr, room, "flag_maintenance", priority="HIGH", notes="AC") == [
                "maintenance_required",
                "maintenance_priority",
                "maintenance_notes",
            ]
            assert await changed(mgr, room, "update_maintenance", priority="HIGH") == []
            assert await changed(mgr, room, "clear_maintenance") == [
                "maintenance_required",
                "maintenance_priority",
                "maintenance_notes",
            ]
            assert await changed(mgr, room, "set_out_of_order", reason="Leak") == [
                "room_status",
                "is_out_of_order",
                "out_of_order_reason",
            ]
            assert await changed(mgr, room, "clear_out_of_order") == [
                "room_status",
                "is_out_of_order",
                "out_of_order_reason",
            ]
            observed = await mgr.request(
                "room.observe",
                room_number=room["room_number"],
                occupancy="vacant",
                expected_version=room["version"],
            )
            assert observed["type"] == "ack"
            ev = await mgr.until(is_event("room_updated", room["room_number"]))
            assert ev["payload"]["changed_fields"] == ["hk_occupancy", "hk_observed_at"]

    run(scenario)
