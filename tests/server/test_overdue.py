"""An overdue departure end to end: a checked-in guest past their departure time is
`overdue` on the wire (not `ending_soon` "free in 0 min"), the booking waiting for the room
is not added to the guests in it, and the discrepancy scan says the same at the same moment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from shared.timeutil import from_iso
from tests.server.live import overview, run
from tests.support import LiveServer, Peer, rooms_by_number


def stays_of(reservations: list[dict[str, Any]], room: str) -> dict[str, dict[str, Any]]:
    return {r["state"]: r for r in reservations if r["room_number"] == room}


def test_a_guest_past_departure_is_overdue_and_the_next_booking_waits(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk, "hotel-killarney.reservations")
            listed = await desk.until(lambda f: f["type"] == "reservations.status")
            # the demo's meeting room M01: a workshop in it, a board meeting right after
            stays = stays_of(listed["reservations"], "M01")
            inside, nxt = stays["checked_in"], stays["confirmed"]
            assert inside["end"] == nxt["start"]
            before = rooms_by_number(snap)["M01"]
            assert before["occupancy_status"] == "ending_soon"
            assert before["current_attendees"] == inside["guests"]

            clock.set(from_iso(inside["end"]))  # the very minute of the departure
            late = await room_status(srv, "M01")
            assert late["occupancy_status"] == "overdue"
            assert late["overdue_since"] == inside["end"] and late["overdue_minutes"] == 0

            clock.advance(45 * 60)
            late = await room_status(srv, "M01")
            assert late["occupancy_status"] == "overdue" and late["is_occupied"] is True
            assert late["overdue_minutes"] == 45
            assert late["time_until_free"] is None and late["free_at"] is None
            assert late["next_available"] == "" and late["next_available_at"] == ""
            # the workshop's guests are in the room; the board meeting's wait outside
            assert late["current_attendees"] == inside["guests"]
            assert late["next_arrival_at"] == nxt["start"]
            # the discrepancy scan says so at the same moment
            await srv.server.discrepancies_now()
            found = (await desk.request("discrepancies.list"))["result"]["discrepancies"]
            due_out = [
                d
                for d in found
                if d["kind"] == "due_out_still_occupied" and d["room_number"] == "M01"
            ]
            assert due_out and due_out[0]["details"]["due_out"] == late["overdue_since"]

            # checked out late: the room goes to the waiting booking
            out = await desk.request("reservation.check_out", reservation_id=inside["id"])
            assert out["type"] == "ack", out
            after = await room_status(srv, "M01")
            assert after["occupancy_status"] in ("occupied", "ending_soon")
            assert after["current_attendees"] == nxt["guests"]
            assert after["overdue_since"] is None and after["overdue_minutes"] == 0

    run(scenario)


async def room_status(srv: LiveServer, number: str) -> dict[str, Any]:
    """The room's status entry as a new subscriber of its channel sees it now."""
    peer = await Peer.open(srv.url, "manager")
    try:
        await peer.subscribe(f"hotel-killarney.rooms.{number}")
        snap = await peer.until(lambda f: f["type"] == "room.status")
        status: dict[str, Any] = snap["status"]
        return status
    finally:
        await peer.close()
