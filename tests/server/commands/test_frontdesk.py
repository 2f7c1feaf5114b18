"""The front desk end to end: a reservation's life and the occupancy events it brings,
check-in and check-out, the rules about dates and off-sale rooms."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from shared.timeutil import from_iso, to_iso
from tests.server.live import RES, act, is_event, overview, pick, run
from tests.support import LiveServer, Peer, rooms_by_number


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


def test_reservation_lifecycle_and_occupancy_events(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk, RES)
            await desk.until(lambda f: f["type"] == "reservations.status")
            free_room = next(r for r in snap["rooms"] if r["room_number"] == "M04")
            now = clock.now()
            start = now.isoformat().replace("+00:00", "Z")
            end = (now + __import__("datetime").timedelta(minutes=10)).isoformat()
            created = await desk.request(
                "reservation.create",
                room_number="M04",
                guest_name="Quiz night",
                start=start,
                end=end,
                guests=6,
                confirmed=False,
            )
            assert created["type"] == "ack", created
            rid = created["result"]["reservation"]["id"]
            ev = await desk.until(is_event("reservation.created"))
            assert ev["category"] == "reservations"
            assert ev["payload"]["event_type"] == "created"
            assert ev["payload"]["reservation_id"] == rid
            assert ev["payload"]["room_id"] == free_room["room_id"]
            upd = await desk.until(is_event("room.update", "M04"))
            assert (
                upd["payload"]["occupancy_status"] == "occupied"
                or upd["payload"]["reservations_today"] >= 1
            )
            # pending does not hold the room; confirming it does (ending within 15 min)
            assert (await desk.request("reservation.confirm", reservation_id=rid))["type"] == "ack"
            await desk.until(is_event("reservation.confirmed"))
            upd = await desk.until(is_event("room.update", "M04"))
            assert upd["payload"]["occupancy_status"] == "ending_soon"
            assert upd["payload"]["time_until_free"] == 10
            assert upd["payload"]["current_attendees"] == 6
            # a clash is refused
            clash = await desk.request(
                "reservation.create", room_number="M04", guest_name="Other", start=start, end=end
            )
            assert clash["code"] == "conflict"
            cancelled = await desk.request(
                "reservation.cancel", reservation_id=rid, expected_version=2
            )
            assert cancelled["type"] == "ack"
            await desk.until(is_event("reservation.cancelled"))
            upd = await desk.until(is_event("room.update", "M04"))
            assert upd["payload"]["occupancy_status"] == "free"
            stale = await desk.request("reservation.delete", reservation_id=rid, expected_version=1)
            assert stale["code"] == "stale_version"
            assert (await desk.request("reservation.delete", reservation_id=rid))["type"] == "ack"
            gone = await desk.until(is_event("reservation.deleted"))
            assert gone["payload"]["reservation"]["state"] == "deleted"

    run(scenario)


def test_check_in_needs_a_ready_room_and_check_out_makes_it_dirty(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk, RES)
            res = await desk.until(lambda f: f["type"] == "reservations.status")
            rooms = rooms_by_number(snap)
            arrivals = [
                r
                for r in res["reservations"]
                if r["state"] in ("confirmed", "pending")
                and not rooms[r["room_number"]]["is_occupied"]
            ]
            assert arrivals, "the demo hotel has arrivals today"
            arrival = arrivals[0]
            room = rooms[arrival["room_number"]]
            t = __import__("datetime").timedelta
            clock.advance(
                (
                    __import__("shared.timeutil", fromlist=["x"]).from_iso(arrival["start"])
                    - clock.now()
                    + t(minutes=1)
                ).total_seconds()
            )
            if room["room_status"] != "READY_FOR_GUEST":
                refused = await desk.request(
                    "room.check_in",
                    room_number=room["room_number"],
                    expected_version=room["version"],
                )
                assert refused["code"] == "room_not_ready"
                # make it ready the proper way: clean and inspect
                mgr = await Peer.open(srv.url, "manager")
                version = room["version"]
                if room["room_status"] == "MAINTENANCE_REQUIRED":
                    r = await mgr.request(
                        "room.action",
                        room_number=room["room_number"],
                        action="clear_maintenance",
                        expected_version=version,
                    )
                    version = r["result"]["version"]
                for action in ("start_cleaning", "finish_cleaning", "inspect"):
                    r = await mgr.request(
                        "room.action",
                        room_number=room["room_number"],
                        action=action,
                        expected_version=version,
                    )
                    if r["type"] == "ack":
                        version = r["result"]["version"]
                room = {**room, "version": version}
            ok = await desk.request(
                "room.check_in", room_number=room["room_number"], expected_version=room["version"]
            )
            assert ok["type"] == "ack", ok
            ev = await desk.until(is_event("room_updated", room["room_number"]))
            assert ev["payload"]["is_occupied"] is True
            assert ev["payload"]["changed_fields"] == ["is_occupied", "guests_in_room"]
            await desk.until(is_event("reservation.checked_in"))
            occ = await desk.until(is_event("room.update", room["room_number"]))
            assert occ["payload"]["is_occupied"] is True
            again = await desk.request(
                "room.check_in",
                room_number=room["room_number"],
                expected_version=ev["payload"]["version"],
            )
            assert again["code"] == "room_occupied"
            out = await desk.request(
                "room.check_out",
                room_number=room["room_number"],
                expected_version=ev["payload"]["version"],
            )
            assert out["type"] == "ack", out
            ev = await desk.until(is_event("room_updated", room["room_number"]))
            assert ev["payload"]["room_status"] == "CHECKOUT_DIRTY"
            assert ev["payload"]["is_occupied"] is False
            assert "room_status" in ev["payload"]["changed_fields"]
            done = await desk.until(is_event("reservation.checked_out"))
            assert done["payload"]["reservation"]["state"] == "checked_out"
            none = await desk.request(
                "room.check_out",
                room_number=room["room_number"],
                expected_version=ev["payload"]["version"],
            )
            assert none["code"] == "no_reservation"

    run(scenario)
