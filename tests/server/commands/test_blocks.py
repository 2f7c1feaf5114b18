"""Out-of-order and out-of-service blocks: dated, ending on their own, watched by two desks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from shared.timeutil import from_iso
from tests.server.live import is_event, overview, pick, run
from tests.support import LiveServer, Peer, rooms_by_number


def later(clock: ManualClock, minutes: float) -> str:
    """`minutes` after the clock's now, as ISO text."""
    return (clock.now() + timedelta(minutes=minutes)).isoformat()


async def block(
    peer: Peer, clock: ManualClock, room: dict[str, Any], kind: str, minutes: float, **extra: Any
) -> dict[str, Any]:
    return await peer.request(
        "block.create",
        room_number=room["room_number"],
        kind=kind,
        reason="Leak under the sink",
        end=later(clock, minutes),
        expected_version=room["version"],
        **extra,
    )


async def block_ids(peer: Peer) -> set[int]:
    return {b["id"] for b in (await peer.request("blocks.list"))["result"]["blocks"]}


async def added_blocks(peer: Peer, before: set[int]) -> list[str]:
    """Rooms of the blocks listed now that were not there before (the demo has its own)."""
    listed = (await peer.request("blocks.list"))["result"]["blocks"]
    return [b["room_number"] for b in listed if b["id"] not in before]


def test_a_block_expires_by_itself_while_two_desks_watch(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            mnt = await Peer.open(srv.url, "maintenance")
            desk = await Peer.open(srv.url, "frontdesk")
            sup = await Peer.open(srv.url, "supervisor")
            pre = await block_ids(desk)  # the demo hotel's own blocks
            snap = await overview(desk)
            await overview(sup)
            room = pick(
                snap, room_status="READY_FOR_GUEST", is_occupied=False, reservations_today=0
            )
            number = room["room_number"]
            made = await block(
                mnt, clock, room, "out_of_order", 120, return_status="READY_FOR_GUEST"
            )
            assert made["type"] == "ack", made
            assert made["result"]["block"]["state"] == "active"
            for watcher in (desk, sup):
                created = await watcher.until(is_event("block.created"))
                assert created["payload"]["block"]["reason"] == "Leak under the sink"
                upd = await watcher.until(is_event("room_updated", number))
                assert upd["payload"]["room_status"] == "OUT_OF_ORDER"
                assert upd["payload"]["is_out_of_order"] is True
                assert upd["payload"]["block"]["end"] == made["result"]["block"]["end"]
                assert "block" in upd["payload"]["changed_fields"]
                started = await watcher.until(is_event("block.started"))
            # off sale: no reservation in that time, no check-in
            clash = await desk.request(
                "reservation.create",
                room_number=number,
                guest_name="Walk-in",
                start=later(clock, 10),
                end=later(clock, 60 * 20),
            )
            assert clash["code"] == "conflict"
            refused = await desk.request(
                "room.check_in", room_number=number, expected_version=upd["payload"]["version"]
            )
            assert refused["code"] == "room_not_ready"
            listed = await desk.request("blocks.list")
            assert await added_blocks(desk, pre) == [number]
            # the list says which journal head it is consistent with: the last event so far
            assert listed["result"]["seq"] == started["meta"]["seq"]
            # two hours later the server's clock ends it; both desks see the room come back
            await clock.wait_for_sleepers(4)
            clock.advance(121 * 60)
            for watcher in (desk, sup):
                back = await watcher.until(
                    lambda f: (
                        f.get("type") == "room_updated"
                        and f["payload"]["room_number"] == number
                        and f["payload"]["block"] is None
                    )
                )
                assert back["payload"]["room_status"] == "READY_FOR_GUEST"
                assert back["payload"]["is_out_of_order"] is False
                assert back["meta"]["source"] == "system"
                ended = await watcher.until(is_event("block.ended"))
                assert ended["payload"]["how"] == "expired"
                assert ended["payload"]["block"]["state"] == "ended"
            assert await added_blocks(desk, pre) == []

    run(scenario)


def test_out_of_order_over_a_guest_or_arrival_needs_a_managers_override(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            mnt = await Peer.open(srv.url, "maintenance")
            mgr = await Peer.open(srv.url, "manager")
            snap = await overview(mnt)
            occupied = pick(snap, is_occupied=True, room_status="READY_FOR_GUEST")
            asked = await block(mnt, clock, occupied, "out_of_order", 60)
            assert asked["code"] == "override_required"
            assert "guest is in the room" in asked["message"]
            assert (await block(mnt, clock, occupied, "out_of_order", 60, override=True))[
                "code"
            ] == "forbidden"
            # out of service keeps the room sellable and needs no override
            oos = await block(mnt, clock, occupied, "out_of_service", 60)
            assert oos["type"] == "ack", oos
            upd = await mnt.until(is_event("room_updated", occupied["room_number"]))
            assert upd["payload"]["is_out_of_service"] is True
            assert upd["payload"]["room_status"] == "READY_FOR_GUEST"
            # the manager can override, once the out-of-service block is over
            ended = await mgr.request("block.end", block_id=oos["result"]["block"]["id"])
            assert ended["type"] == "ack" and ended["result"]["block"]["state"] == "ended"
            fresh = rooms_by_number(await overview(mgr))[occupied["room_number"]]
            assert fresh["is_out_of_service"] is False
            forced = await block(mgr, clock, fresh, "out_of_order", 60, override=True)
            assert forced["type"] == "ack", forced
            assert forced["result"]["block"]["override"] is True

    run(scenario)


def test_scheduled_blocks_start_on_time_and_can_be_cancelled_or_cleared(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            mnt = await Peer.open(srv.url, "maintenance")
            snap = await overview(mnt)
            free = [
                r
                for r in snap["rooms"]
                if not r["is_occupied"]
                and r["reservations_today"] == 0
                and not r["is_out_of_order"]
                and r["block"] is None
                and r["floor"] > 0
            ]
            pre = await block_ids(mnt)  # the demo hotel's own blocks
            a, b = free[0], free[1]
            soon = await block(mnt, clock, a, "out_of_order", 180, start=later(clock, 60))
            assert soon["result"]["block"]["state"] == "scheduled", soon
            overlap = await block(mnt, clock, {**a, "version": a["version"]}, "out_of_service", 90)
            assert overlap["code"] == "conflict"
            cancel_me = await block(mnt, clock, b, "out_of_service", 180, start=later(clock, 30))
            cancelled = await mnt.request("block.end", block_id=cancel_me["result"]["block"]["id"])
            assert cancelled["result"]["block"]["state"] == "cancelled"
            gone = await mnt.until(is_event("block.ended"))
            assert gone["payload"]["how"] == "cancelled"
            again = await mnt.request("block.end", block_id=cancel_me["result"]["block"]["id"])
            assert again["code"] == "invalid_transition"
            clock.advance(61 * 60)
            assert await srv.server.blocks_now() == 1
            started = await mnt.until(is_event("block.started"))
            assert started["payload"]["block"]["room_number"] == a["room_number"]
            upd = await mnt.until(
                lambda f: (
                    f.get("type") == "room_updated"
                    and f["payload"]["room_number"] == a["room_number"]
                    and f["payload"]["room_status"] == "OUT_OF_ORDER"
                )
            )
            # clearing out of order by hand ends the block too
            cleared = await mnt.request(
                "room.action",
                room_number=a["room_number"],
                action="clear_out_of_order",
                expected_version=upd["payload"]["version"],
            )
            assert cleared["type"] == "ack", cleared
            over = await mnt.until(is_event("block.ended"))
            assert over["payload"]["how"] == "ended"
            assert over["payload"]["block"]["ended_by"] == "Liam Walsh"
            assert await added_blocks(mnt, pre) == []
            hk = await Peer.open(srv.url, "housekeeping")
            assert (await block(hk, clock, b, "out_of_service", 30))["code"] == "forbidden"

    run(scenario)


def test_out_of_order_by_hand_is_refused_with_an_arrival_due(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk)
            room = pick(
                snap,
                room_status="READY_FOR_GUEST",
                is_occupied=False,
                reservations_today=0,
                is_out_of_order=False,
            )
            made = await desk.request(
                "reservation.create",
                room_number=room["room_number"],
                guest_name="Arriving",
                start=later(clock, 120),
                end=later(clock, 60 * 30),
            )
            assert made["type"] == "ack", made
            mnt = await Peer.open(srv.url, "maintenance")
            refused = await mnt.request(
                "room.action",
                room_number=room["room_number"],
                action="set_out_of_order",
                reason="Leak",
                expected_version=room["version"],
            )
            assert refused["code"] == "override_required"
            assert "dated block" in refused["message"]

    run(scenario)


def test_a_later_block_on_a_room_occupied_now_needs_no_override(
    demo_db: Path, clock: ManualClock
) -> None:
    """The override is for a block that overlaps a guest's stay, not for any occupied room."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            mnt = await Peer.open(srv.url, "maintenance")
            snap = await overview(desk, "hotel-killarney.reservations")
            listing = await desk.until(lambda f: f["type"] == "reservations.status")
            rooms = rooms_by_number(snap)
            stay = next(
                r
                for r in listing["reservations"]
                if r["state"] == "checked_in"
                and r["end"] > later(clock, 24 * 60)
                and rooms[r["room_number"]]["block"] is None
                and not rooms[r["room_number"]]["room_number"].startswith("M")
            )
            room = rooms[stay["room_number"]]
            assert room["is_occupied"] is True
            departure = from_iso(stay["end"])
            during = await mnt.request(
                "block.create",
                room_number=room["room_number"],
                kind="out_of_order",
                reason="Repaint",
                start=(departure - timedelta(hours=2)).isoformat(),
                end=(departure + timedelta(days=1)).isoformat(),
                expected_version=room["version"],
            )
            assert during["code"] == "override_required", during
            after = await mnt.request(
                "block.create",
                room_number=room["room_number"],
                kind="out_of_order",
                reason="Repaint",
                start=(departure + timedelta(hours=1)).isoformat(),
                end=(departure + timedelta(days=1)).isoformat(),
                expected_version=room["version"],
            )
            assert after["type"] == "ack", after
            assert after["result"]["block"]["state"] == "scheduled"
            assert after["result"]["block"]["override"] is False

    run(scenario)
