"""The front desk's rules about dates and off-sale rooms, end to end."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from shared.timeutil import from_iso, to_iso
from tests.server.test_realtime import act, overview, pick, run
from tests.support import LiveServer, Peer


async def desk_and_a_free_room(srv: LiveServer) -> tuple[Peer, dict[str, Any]]:
    """The front desk's connection and a ready room with no guest and no booking today."""
    desk = await Peer.open(srv.url, "frontdesk")
    snap = await overview(desk)
    room = pick(snap, room_status="READY_FOR_GUEST", is_occupied=False, reservations_today=0)
    return desk, room


def test_check_in_only_on_the_day_of_arrival_and_check_out_never_ends_before_start(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk, room = await desk_and_a_free_room(srv)
            now = clock.now()

            async def book(start: timedelta, end: timedelta) -> int:
                made = await desk.request(
                    "reservation.create",
                    room_number=room["room_number"],
                    guest_name="Ms Byrne",
                    start=to_iso(now + start),
                    end=to_iso(now + end),
                )
                assert made["type"] == "ack", made
                rid: int = made["result"]["reservation"]["id"]
                return rid

            future = await book(timedelta(days=40), timedelta(days=42))
            refused = await desk.request("reservation.check_in", reservation_id=future)
            assert refused["code"] == "not_due", refused
            assert "check-in opens" in refused["message"]
            refused = await desk.request(
                "room.check_in",
                room_number=room["room_number"],
                expected_version=room["version"],
                reservation_id=future,
            )
            assert refused["code"] == "not_due"
            over = await book(timedelta(days=-3), timedelta(days=-1))
            refused = await desk.request("reservation.check_in", reservation_id=over)
            assert refused["code"] == "not_due" and "over" in refused["message"]
            # later today (09:00 now, 12:00 arrival): early check-in; the stay starts now
            today = await book(timedelta(hours=3), timedelta(days=1, hours=2))
            ok = await desk.request("reservation.check_in", reservation_id=today)
            assert ok["type"] == "ack", ok
            stay = ok["result"]["reservation"]
            assert from_iso(stay["start"]) == now
            clock.advance(30 * 60)
            out = await desk.request("reservation.check_out", reservation_id=today)
            assert out["type"] == "ack", out
            stay = out["result"]["reservation"]
            assert from_iso(stay["start"]) < from_iso(stay["end"]) == clock.now()

    run(scenario)


def test_early_check_in_is_refused_while_someone_else_holds_the_room_until_then(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk, room = await desk_and_a_free_room(srv)
            now = clock.now()
            ids = []
            for start, end in ((1, 3), (4, 30)):  # a day use, then tonight's guest
                made = await desk.request(
                    "reservation.create",
                    room_number=room["room_number"],
                    guest_name="Mr Ryan",
                    start=to_iso(now + timedelta(hours=start)),
                    end=to_iso(now + timedelta(hours=end)),
                )
                ids.append(made["result"]["reservation"]["id"])
            refused = await desk.request("reservation.check_in", reservation_id=ids[1])
            assert refused["code"] == "conflict" and refused["details"]["reservation_id"] == ids[0]

    run(scenario)


def test_a_room_out_of_order_by_hand_cannot_be_booked_until_cleared(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            mnt = await Peer.open(srv.url, "maintenance")
            snap = await overview(desk)
            room = pick(
                snap, room_status="READY_FOR_GUEST", is_occupied=False, reservations_today=0
            )
            ooo = await act(mnt, room, "set_out_of_order", reason="Broken window")
            assert ooo["type"] == "ack", ooo
            now = clock.now()
            for start, end in ((timedelta(0), timedelta(days=1)), (timedelta(days=30), None)):
                refused = await desk.request(
                    "reservation.create",
                    room_number=room["room_number"],
                    guest_name="Walk-in",
                    start=to_iso(now + start),
                    end=to_iso(now + (end or start + timedelta(days=2))),
                )
                assert refused["code"] == "conflict", refused
                assert refused["details"]["out_of_order"] is True
            back = await act(
                mnt, {**room, "version": ooo["result"]["version"]}, "clear_out_of_order"
            )
            assert back["type"] == "ack", back
            made = await desk.request(
                "reservation.create",
                room_number=room["room_number"],
                guest_name="Walk-in",
                start=to_iso(now),
                end=to_iso(now + timedelta(days=1)),
            )
            assert made["type"] == "ack", made

    run(scenario)


def test_reservations_list_gives_the_days_list_again_with_its_seq(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            ack = await desk.subscribe("hotel-killarney.reservations")
            assert ack["type"] == "ack", ack
            first = await desk.until(lambda f: f["type"] == "reservations.status")
            listed = await desk.request("reservations.list")
            assert listed["type"] == "ack", listed
            assert listed["result"]["seq"] == first["seq"]
            assert listed["result"]["date"] == first["date"] == clock.now().date().isoformat()
            key = sorted(r["id"] for r in first["reservations"])
            assert sorted(r["id"] for r in listed["result"]["reservations"]) == key
            # a booking for today: in the next list, whose seq is the booking's event or later
            snap = await overview(await Peer.open(srv.url, "manager"))
            room = pick(
                snap, room_status="READY_FOR_GUEST", is_occupied=False, reservations_today=0
            )
            now = clock.now()
            made = await desk.request(
                "reservation.create",
                room_number=room["room_number"],
                guest_name="Mr Walsh",
                start=to_iso(now + timedelta(hours=1)),
                end=to_iso(now + timedelta(hours=20)),
            )
            assert made["type"] == "ack", made
            created = await desk.until(lambda f: f.get("type") == "reservation.created")
            again = (await desk.request("reservations.list"))["result"]
            assert again["seq"] >= created["meta"]["seq"]
            rid = made["result"]["reservation"]["id"]
            assert rid in {r["id"] for r in again["reservations"]}

    run(scenario)


def test_a_reservation_check_in_with_a_stale_room_version_changes_nothing(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk, room = await desk_and_a_free_room(srv)
            now = clock.now()
            made = await desk.request(
                "reservation.create",
                room_number=room["room_number"],
                guest_name="Ms Nolan",
                start=to_iso(now),
                end=to_iso(now + timedelta(days=1)),
            )
            rid = made["result"]["reservation"]["id"]
            # housekeeping marks the room dirty meanwhile: the desk's picture is stale
            hk = await Peer.open(srv.url, "housekeeping")
            dirty = await hk.request(
                "room.action",
                room_number=room["room_number"],
                action="mark_dirty",
                expected_version=room["version"],
            )
            assert dirty["type"] == "ack", dirty
            stale = await desk.request(
                "reservation.check_in", reservation_id=rid, room_version=room["version"]
            )
            assert stale["code"] == "stale_version"
            assert stale["details"] == {"current_version": room["version"] + 1, "of": "room"}
            again = await desk.request("reservation.check_in", reservation_id=rid)
            assert again["code"] == "room_not_ready"  # the rules still hold without a version

    run(scenario)
