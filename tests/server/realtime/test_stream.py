"""End to end, the stream: a change seen by every subscriber with its envelope, a snapshot
and the live events meeting without gap or double, nothing published for what rolls back,
heartbeats."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shared.clock import ManualClock
from tests.server.live import ROOMS, act, is_event, overview, pick, run
from tests.support import SLUG, LiveServer, Peer, rooms_by_number


def test_a_change_by_one_client_is_seen_by_the_other_with_the_envelope(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            hk = await Peer.open(srv.url, "housekeeping")
            snap = await overview(desk)
            room = pick(snap, room_status="CHECKOUT_DIRTY")
            reply = await act(hk, room, "start_cleaning")
            assert reply["type"] == "ack"
            assert reply["result"]["version"] == room["version"] + 1
            ev = await desk.until(is_event("room_updated", room["room_number"]))
            assert ev["category"] == "rooms"
            p = ev["payload"]
            for name in (
                "room_number",
                "room_status",
                "is_occupied",
                "is_out_of_order",
                "maintenance_required",
                "maintenance_priority",
                "maintenance_notes",
                "last_cleaned_at",
                "last_inspected_at",
                "changed_fields",
                "room_type",
                "max_occupancy",
                "guests_in_room",
            ):
                assert name in p
            assert p["room_status"] == "CLEANING_IN_PROGRESS"
            assert p["changed_fields"] == ["room_status"]
            meta = ev["meta"]
            assert meta["hotel_slug"] == SLUG
            assert meta["scope"] == {"room_number": room["room_number"]}
            assert meta["seq"] == snap["seq"] + 1
            assert meta["source"] == "housekeeping"
            assert meta["actor"]["name"] == "Aoife Murphy"
            assert meta["ts"].endswith("Z") and len(meta["event_id"]) == 36

            # finish: the document's changed fields, who cleaned it
            room = {**room, "version": p["version"]}
            await act(hk, room, "finish_cleaning")
            ev = await desk.until(is_event("room_updated", room["room_number"]))
            assert ev["payload"]["changed_fields"] == [
                "room_status",
                "last_cleaned_at",
                "cleaned_by_staff",
            ]
            assert ev["payload"]["cleaned_by_staff"] == "Aoife Murphy"
            assert ev["meta"]["seq"] == snap["seq"] + 2

    run(scenario)


def test_snapshot_and_live_stream_meet_without_gap_or_double(
    demo_db: Path, clock: ManualClock
) -> None:
    """Subscribe while another client is writing: every event after the snapshot's seq
    arrives exactly once, and snapshot + events equals the final state."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, rate_per_second=0) as srv:
            mgr = await Peer.open(srv.url, "manager")
            snap0 = await overview(mgr)
            rooms = [dict(r) for r in snap0["rooms"]]
            writes = 300
            progress = asyncio.Event()

            async def writer() -> None:
                for i in range(writes):
                    r = rooms[i % len(rooms)]
                    action = "clear_dnd" if r["do_not_disturb"] else "set_dnd"
                    reply = await act(mgr, r, action)
                    assert reply["type"] == "ack", reply
                    r["version"] = reply["result"]["version"]
                    r["do_not_disturb"] = not r["do_not_disturb"]
                    if i == 40:
                        progress.set()

            task = asyncio.create_task(writer())
            await progress.wait()
            watcher = await Peer.open(srv.url, "supervisor")
            snap = await overview(watcher)
            final_seq = snap0["seq"] + writes
            assert snap0["seq"] + 40 < snap["seq"] < final_seq, "subscribed mid-stream"
            state = rooms_by_number(snap)
            seqs = []
            while not seqs or seqs[-1] < final_seq:
                ev = await watcher.until(lambda f: f.get("type") == "room_updated")
                seqs.append(ev["meta"]["seq"])
                state[ev["payload"]["room_number"]].update(ev["payload"])
            await task
            assert seqs == list(range(snap["seq"] + 1, final_seq + 1))
            fresh = await Peer.open(srv.url, "manager")
            truth = rooms_by_number(await overview(fresh))
            for number, room in truth.items():
                assert state[number]["version"] == room["version"]
                assert state[number]["do_not_disturb"] == room["do_not_disturb"]

    run(scenario)


def test_rollback_emits_nothing_and_changes_nothing(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            sup = await Peer.open(srv.url, "supervisor")
            watcher = await Peer.open(srv.url, "manager")
            snap = await overview(watcher)
            await overview(sup)
            dirty = pick(snap, room_status="CHECKOUT_DIRTY")
            ready = pick(snap, room_status="READY_FOR_GUEST")
            # the first item is fine, the second is not: the whole batch rolls back
            reply = await sup.request(
                "rooms.batch",
                items=[
                    {
                        "room_number": dirty["room_number"],
                        "action": "start_cleaning",
                        "expected_version": dirty["version"],
                    },
                    {
                        "room_number": ready["room_number"],
                        "action": "finish_cleaning",
                        "expected_version": ready["version"],
                    },
                ],
            )
            assert reply["type"] == "error"
            assert reply["code"] == "invalid_transition"
            assert reply["details"]["index"] == 1
            # nothing was published: the next frame the watcher gets is its own pong
            pong = await watcher.request("ping")
            assert pong["type"] == "ack"
            assert not [f for f in watcher.skipped if "meta" in f], "no event was published"
            fresh = rooms_by_number(await overview(await Peer.open(srv.url, "manager")))
            assert fresh[dirty["room_number"]]["version"] == dirty["version"]
            assert fresh[dirty["room_number"]]["room_status"] == "CHECKOUT_DIRTY"
            # and the journal did not move
            assert (await overview(await Peer.open(srv.url, "manager")))["seq"] == snap["seq"]

    run(scenario)


def test_batch_updates_apply_together(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            sup = await Peer.open(srv.url, "supervisor")
            snap = await overview(sup)
            dirty = [r for r in snap["rooms"] if r["room_status"] == "CHECKOUT_DIRTY"][:3]
            reply = await sup.request(
                "rooms.batch",
                items=[
                    {
                        "room_number": r["room_number"],
                        "action": "start_cleaning",
                        "expected_version": r["version"],
                    }
                    for r in dirty
                ],
            )
            assert reply["type"] == "ack", reply
            assert [x["room_status"] for x in reply["result"]["rooms"]] == [
                "CLEANING_IN_PROGRESS"
            ] * 3
            evs = [await sup.until(is_event("room_updated")) for _ in dirty]
            assert [e["meta"]["seq"] for e in evs] == [snap["seq"] + i for i in (1, 2, 3)]
            assert {e["meta"]["request_id"] for e in evs} == {reply["request_id"]}
            dup = await sup.request(
                "rooms.batch",
                items=[
                    {"room_number": "101", "action": "set_dnd", "expected_version": 1},
                    {"room_number": "101", "action": "set_dnd", "expected_version": 1},
                ],
            )
            assert dup["code"] == "bad_request"

    run(scenario)


def test_heartbeats_carry_head_and_time_and_follow_the_clock(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            p = await Peer.open(srv.url, "frontdesk")
            snap = await overview(p, f"{SLUG}.rooms.101")
            await p.until(lambda f: f["type"] == "room.status")
            await clock.wait_for_sleepers(4)  # heartbeats, pruner and roll-over asleep
            clock.advance(30)
            beat = await p.until(lambda f: f["type"] == "heartbeat")
            assert beat["channel"] == f"{SLUG}.rooms.101"
            assert beat["head_seq"] == snap["seq"]
            assert beat["status"]["room_number"] == "101"
            assert beat["server_time"] == "2026-01-15T09:00:30Z"
            assert not [f for f in p.skipped if f["type"] == "heartbeat"]
            await clock.wait_for_sleepers(4)
            clock.advance(30)
            beats = [await p.until(lambda f: f["type"] == "heartbeat") for _ in range(2)]
            overview_beat = next(b for b in beats if b["channel"] == ROOMS)
            assert len(overview_beat["rooms"]) == len(snap["rooms"])
            assert {
                "occupancy_status",
                "time_until_free",
                "next_available",
                "reservations_today",
                "current_attendees",
            } <= set(overview_beat["rooms"][0])
            assert overview_beat["head_seq"] == snap["seq"]

    run(scenario)


def test_snapshot_keeps_the_rooms_own_occupied_flag(demo_db: Path, clock: ManualClock) -> None:
    """A confirmed booking whose time has come makes occupancy 'occupied', but the room's
    own is_occupied (a guest checked in) stays what the rules look at."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            now = clock.now()
            made = await desk.request(
                "reservation.create",
                room_number="M04",
                guest_name="Board",
                guests=4,
                start=now.isoformat(),
                end=(now + __import__("datetime").timedelta(hours=2)).isoformat(),
            )
            assert made["type"] == "ack", made
            entry = rooms_by_number(await overview(desk))["M04"]
            assert entry["occupancy_status"] == "occupied"
            assert entry["current_attendees"] == 4
            assert entry["is_occupied"] is False and entry["guests_in_room"] == 0

    run(scenario)
