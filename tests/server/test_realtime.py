"""End to end: a real server on a free port, real websocket clients, a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from server import db as m
from server.demo import DemoSpec, load_demo
from shared.clock import ManualClock
from tests.support import SLUG, LiveServer, Peer, rooms_by_number

ROOMS = f"{SLUG}.rooms"
RES = f"{SLUG}.reservations"


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 60))


async def overview(peer: Peer, *extra: str) -> dict[str, Any]:
    ack = await peer.subscribe(ROOMS, *extra)
    assert ack["type"] == "ack", ack
    return await peer.until(lambda f: f["type"] == "rooms.status")


def pick(snapshot: dict[str, Any], **want: Any) -> dict[str, Any]:
    """The first room with these fields; unless asked for, one with no block and no rush."""
    want.setdefault("block", None)
    want.setdefault("rush", None)
    for room in snapshot["rooms"]:
        if all(room.get(k) == v for k, v in want.items()):
            return room
    raise AssertionError(f"no room with {want}")


async def act(peer: Peer, room: dict[str, Any], action: str, **extra: Any) -> dict[str, Any]:
    return await peer.request(
        "room.action",
        room_number=room["room_number"],
        action=action,
        expected_version=room["version"],
        **extra,
    )


def is_event(kind: str, room: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda f: (
        f.get("type") == kind and (room is None or f["payload"].get("room_number") == room)
    )


# --- the stream ----------------------------------------------------------------------------


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


def test_resume_returns_exactly_the_missed_events(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk, RES)
            epoch, last = desk.login["epoch"], snap["seq"]
            await desk.close()
            mgr = await Peer.open(srv.url, "manager")
            rooms = [r for r in snap["rooms"] if not r["do_not_disturb"]][:5]
            for r in rooms:
                assert (await act(mgr, r, "set_dnd"))["type"] == "ack"
            desk = await Peer.open(srv.url, "frontdesk")
            ack = await desk.subscribe(ROOMS, RES, since={"epoch": epoch, "seq": last})
            assert ack["result"]["mode"] == "resume"
            assert ack["result"]["replayed"] == 5
            got = [await desk.until(is_event("room_updated")) for _ in rooms]
            assert [e["meta"]["seq"] for e in got] == list(range(last + 1, last + 6))
            assert [e["payload"]["room_number"] for e in got] == [r["room_number"] for r in rooms]
            # then live again, with nothing doubled in between
            await act(mgr, {**rooms[0], "version": rooms[0]["version"] + 1}, "clear_dnd")
            live = await desk.until(is_event("room_updated"))
            assert live["meta"]["seq"] == last + 6
            assert not [f for f in desk.skipped if f.get("type") == "room_updated"]

    run(scenario)


def test_resume_that_cannot_be_served_says_so_and_sends_a_snapshot(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, retention_days=7) as srv:
            mgr = await Peer.open(srv.url, "manager")
            snap = await overview(mgr)
            epoch = mgr.login["epoch"]
            # another timeline (a restored store): refused
            p = await Peer.open(srv.url, "frontdesk")
            ack = await p.subscribe(ROOMS, since={"epoch": "elsewhere", "seq": 3})
            assert ack["result"]["mode"] == "snapshot" and ack["result"]["resumed"] is False
            assert "replaced or restored" in ack["result"]["reason"]
            assert (await p.until(lambda f: f["type"] == "rooms.status"))["seq"] == snap["seq"]
            # a future sequence number: refused
            p = await Peer.open(srv.url, "frontdesk")
            ack = await p.subscribe(ROOMS, since={"epoch": epoch, "seq": snap["seq"] + 99})
            assert ack["result"]["resumed"] is False
            # events older than the retention are gone: refused
            room = pick(snap, do_not_disturb=False)
            await act(mgr, room, "set_dnd")
            clock.advance(8 * 86400)  # wakes the hourly pruning, the roll-over and the scans
            await clock.wait_for_sleepers(4)  # ...and lets them finish
            p = await Peer.open(srv.url, "frontdesk")
            ack = await p.subscribe(ROOMS, since={"epoch": epoch, "seq": snap["seq"]})
            assert ack["result"]["resumed"] is False
            assert "no longer" in ack["result"]["reason"]
            fresh = await p.until(lambda f: f["type"] == "rooms.status")
            assert rooms_by_number(fresh)[room["room_number"]]["do_not_disturb"] is True
            # resuming from the head after pruning is fine
            p = await Peer.open(srv.url, "frontdesk")
            ack = await p.subscribe(ROOMS, since={"epoch": epoch, "seq": fresh["seq"]})
            assert ack["result"]["mode"] == "resume" and ack["result"]["replayed"] == 0

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


# --- commands --------------------------------------------------------------------------


def test_a_repeated_request_id_does_not_apply_twice(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            mgr = await Peer.open(srv.url, "manager")
            snap = await overview(mgr)
            room = pick(snap, do_not_disturb=False)
            first = await act(mgr, room, "set_dnd", request_id="same-id")
            again = await act(mgr, room, "set_dnd", request_id="same-id")
            assert first["type"] == again["type"] == "ack"
            assert again["result"]["duplicate"] is True
            assert again["result"]["version"] == first["result"]["version"]
            await mgr.request("ping")
            events = [f for f in mgr.skipped if f.get("type") == "room_updated"]
            assert len(events) == 1

    run(scenario)


def test_concurrent_changes_one_wins_the_other_is_stale(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            a = await Peer.open(srv.url, "housekeeping")
            b = await Peer.open(srv.url, "attendant2")
            room = pick(await overview(a), room_status="CHECKOUT_DIRTY")
            ra, rb = await asyncio.gather(
                act(a, room, "start_cleaning"), act(b, room, "start_cleaning")
            )
            assert sorted([ra["type"], rb["type"]]) == ["ack", "error"]
            err = ra if ra["type"] == "error" else rb
            assert err["code"] == "stale_version"
            assert err["details"]["current_version"] == room["version"] + 1

    run(scenario)


def test_every_kind_of_bad_input_gets_its_code_and_the_connection_stays(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            p = await Peer.open(srv.url)
            assert p.hello["type"] == "hello" and p.hello["protocol"] == 1

            async def expect(frame: Any, code: str, rid: str | None = None) -> None:
                await p.send(frame)
                reply = await p.until(lambda f: f["type"] in ("ack", "error"))
                assert reply["type"] == "error", reply
                assert reply["code"] == code, reply
                assert reply["message"]
                assert reply["request_id"] == rid

            await expect("{not json", "bad_request")
            await expect(b"\xff\xfe\x00", "bad_request")
            await expect({"type": "teleport", "request_id": "t1"}, "unknown_type", "t1")
            await expect({"type": "rooms.status", "request_id": "n1"}, "not_authenticated", "n1")
            await expect(
                {"type": "auth.login", "request_id": "l1", "login": "manager", "password": "wrong"},
                "auth_failed",
                "l1",
            )
            await expect(
                {"type": "auth.login", "request_id": "l2", "login": "nobody", "password": "demo"},
                "auth_failed",
                "l2",
            )
            await expect(
                {"type": "auth.token", "request_id": "l3", "token": "forged"}, "token_invalid", "l3"
            )
            big = json.dumps({"type": "ping", "request_id": "big", "pad": "x" * 100_000})
            await expect(big, "frame_too_large")
            assert (await p.request("auth.login", login="housekeeping", password="demo"))[
                "type"
            ] == "ack"
            snap = await overview(p)
            dirty = pick(snap, room_status="CHECKOUT_DIRTY")
            cleaning = pick(snap, room_status="CLEANING_IN_PROGRESS")
            await expect(
                {
                    "type": "room.action",
                    "request_id": "u1",
                    "room_number": "999",
                    "action": "start_cleaning",
                    "expected_version": 1,
                },
                "unknown_room",
                "u1",
            )
            await expect(
                {
                    "type": "room.action",
                    "request_id": "f1",
                    "room_number": dirty["room_number"],
                    "action": "set_out_of_order",
                    "expected_version": dirty["version"],
                },
                "forbidden",
                "f1",
            )
            await expect(
                {
                    "type": "room.action",
                    "request_id": "i1",
                    "room_number": cleaning["room_number"],
                    "action": "start_cleaning",
                    "expected_version": cleaning["version"],
                },
                "invalid_transition",
                "i1",
            )
            await expect(
                {
                    "type": "room.action",
                    "request_id": "s1",
                    "room_number": dirty["room_number"],
                    "action": "start_cleaning",
                    "expected_version": dirty["version"] - 1,
                },
                "stale_version",
                "s1",
            )
            await expect(
                {
                    "type": "room.action",
                    "request_id": "a1",
                    "room_number": dirty["room_number"],
                    "action": "fly",
                    "expected_version": dirty["version"],
                },
                "bad_request",
                "a1",
            )
            await expect(
                {"type": "subscribe", "request_id": "c1", "channels": ["other-hotel.rooms"]},
                "unknown_channel",
                "c1",
            )
            await expect(
                {"type": "subscribe", "request_id": "c2", "channels": [f"{SLUG}.rooms.999"]},
                "unknown_room",
                "c2",
            )
            await expect(  # the role is checked before the reservation is looked for
                {"type": "reservation.cancel", "request_id": "r1", "reservation_id": 99999},
                "forbidden",
                "r1",
            )
            await expect(
                {
                    "type": "reservation.create",
                    "request_id": "r2",
                    "room_number": "101",
                    "guest_name": "X",
                    "start": "2026-01-15T10:00Z",
                    "end": "2026-01-15T11:00Z",
                },
                "forbidden",
                "r2",
            )
            # after all that, the connection still works and nothing was written
            assert (await p.request("ping"))["type"] == "ack"
            ok = await act(p, dirty, "start_cleaning")
            assert ok["type"] == "ack"
            assert ok["result"]["seq"] == snap["seq"] + 1

    run(scenario)


def test_an_oversized_frame_closes_only_that_connection(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            other = await Peer.open(srv.url, "manager")
            p = await Peer.open(srv.url, "manager")
            await p.send("x" * (2 * 1024 * 1024))
            with pytest.raises(ConnectionClosed) as info:
                await p.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1009
            assert (await other.request("ping"))["type"] == "ack"
            assert (await (await Peer.open(srv.url, "manager")).request("ping"))["type"] == "ack"

    run(scenario)


def test_a_connection_that_never_logs_in_is_closed(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, login_timeout=60) as srv:
            await clock.wait_for_sleepers(1)  # the server's own rounds
            base = clock.sleepers
            idle = await Peer.open(srv.url)  # connects, says nothing
            worker = await Peer.open(srv.url, "frontdesk")  # logs in at once
            await clock.wait_for_sleepers(base + 2)  # both connections' deadlines
            clock.advance(59)
            assert (await idle.request("ping"))["type"] == "ack"  # still open before
            clock.advance(2)
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await idle.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 4002
            assert info.value.rcvd.reason == "log in first"
            assert (await worker.request("rooms.status"))["type"] == "ack"  # untouched

    run(scenario)


def test_commands_are_rate_limited_per_connection(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, rate_per_second=1, rate_burst=3) as srv:
            p = await Peer.open(srv.url, "manager")
            replies = [await p.request("rooms.status") for _ in range(4)]
            assert [r["type"] for r in replies] == ["ack", "ack", "ack", "error"]
            assert replies[-1]["code"] == "rate_limited"
            other = await Peer.open(srv.url, "frontdesk")  # others are not affected
            assert (await other.request("rooms.status"))["type"] == "ack"
            clock.advance(2)
            assert (await p.request("rooms.status"))["type"] == "ack"

    run(scenario)


def test_login_attempts_are_limited(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, login_attempts=3, login_refill=10) as srv:
            p = await Peer.open(srv.url)
            codes = [
                (await p.request("auth.login", login="manager", password="x"))["code"]
                for _ in range(4)
            ]
            assert codes == ["auth_failed", "auth_failed", "auth_failed", "rate_limited"]
            clock.advance(10)
            ok = await p.request("auth.login", login="manager", password="demo")
            assert ok["type"] == "ack"

    run(scenario)


def test_token_login_and_logout(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            p = await Peer.open(srv.url, "frontdesk")
            token = p.login["token"]
            assert p.login["staff"]["role"] == "front_desk"
            assert p.login["hotel"]["slug"] == SLUG
            assert p.login["channels"] == [ROOMS, RES]
            q = await Peer.open(srv.url)
            again = await q.request("auth.token", token=token, workstation="Desk 2")
            assert again["type"] == "ack" and again["result"]["staff"]["login"] == "frontdesk"
            assert (await q.request("auth.logout"))["type"] == "ack"
            assert (await q.request("rooms.status"))["code"] == "not_authenticated"
            r = await Peer.open(srv.url)
            assert (await r.request("auth.token", token=token))["code"] == "token_invalid"

    run(scenario)


def test_a_client_that_disconnects_mid_command_corrupts_nothing(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            mgr = await Peer.open(srv.url, "manager")
            snap = await overview(mgr)
            room = pick(snap, do_not_disturb=False)
            quitter = await Peer.open(srv.url, "frontdesk")
            await quitter.send(
                {
                    "type": "room.action",
                    "request_id": "gone",
                    "room_number": room["room_number"],
                    "action": "set_dnd",
                    "expected_version": room["version"],
                }
            )
            assert quitter.ws.transport is not None
            quitter.ws.transport.abort()
            # the change either happened once, with its event, or not at all
            await mgr.request("ping")
            fresh = rooms_by_number(await overview(await Peer.open(srv.url, "manager")))
            now = fresh[room["room_number"]]
            history = await mgr.request("room.history", room_number=room["room_number"])
            dnd_events = [
                e for e in history["result"]["events"] if e["meta"].get("request_id") == "gone"
            ]
            if now["version"] == room["version"]:
                assert dnd_events == []
            else:
                assert now["version"] == room["version"] + 1 and now["do_not_disturb"]
                assert len(dnd_events) == 1
            assert (await mgr.request("ping"))["type"] == "ack"

    run(scenario)


def test_room_history_shows_who_did_what_from_where(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            hk = await Peer.open(srv.url)
            await hk.request(
                "auth.login", login="housekeeping", password="demo", workstation="HK office"
            )
            room = pick(await overview(hk), room_status="CHECKOUT_DIRTY")
            await act(hk, room, "start_cleaning")
            clock.advance(600)
            await act(hk, {**room, "version": room["version"] + 1}, "finish_cleaning")
            h = await hk.request("room.history", room_number=room["room_number"], limit=10)
            events = h["result"]["events"]
            assert [e["payload"]["room_status"] for e in events] == [
                "CLEANED_UNINSPECTED",
                "CLEANING_IN_PROGRESS",
            ]
            assert events[0]["meta"]["actor"] == {
                "staff_id": 1,
                "name": "Aoife Murphy",
                "role": "housekeeping",
                "workstation": "HK office",
            }
            assert events[0]["meta"]["ts"] == "2026-01-15T09:10:00Z"

    run(scenario)


# --- reservations and occupancy ---------------------------------------------------------


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


# --- hotels are isolated ----------------------------------------------------------------


def test_another_hotels_channels_do_not_exist_for_a_connection(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "two.db"
    m.open_db(path)
    load_demo(clock.now(), DemoSpec())
    load_demo(clock.now(), DemoSpec(slug="hotel-b", name="Hotel B", floors=1))
    m.close_db()

    async def scenario() -> None:
        async with LiveServer(path, clock) as srv:
            a = await Peer.open(srv.url, "manager")
            b = await Peer.open(srv.url, "manager@hotel-b")
            assert b.login["hotel"]["slug"] == "hotel-b"
            refused = await b.subscribe(ROOMS)
            assert refused["code"] == "unknown_channel"
            refused = await b.subscribe(f"{SLUG}.rooms.101")
            assert refused["code"] == "unknown_channel"
            assert (await b.subscribe("hotel-b.rooms"))["type"] == "ack"
            snap_b = await b.until(lambda f: f["type"] == "rooms.status")
            assert {r["room_number"] for r in snap_b["rooms"]} <= {
                f"1{i:02d}" for i in range(1, 17)
            } | {f"M0{i}" for i in range(1, 5)}
            snap_a = await overview(a)
            # hotel A's room 101 cannot be touched from hotel B, and B hears nothing of A
            room = pick(snap_a, room_number="101")
            assert (await act(a, room, "set_dnd" if not room["do_not_disturb"] else "clear_dnd"))[
                "type"
            ] == "ack"
            await a.until(is_event("room_updated"))
            assert (await b.request("ping"))["type"] == "ack"
            assert not [f for f in b.skipped if f.get("type") == "room_updated"]
            # sequence numbers are per hotel
            b_room = snap_b["rooms"][0]
            r = await act(b, b_room, "set_dnd" if not b_room["do_not_disturb"] else "clear_dnd")
            assert r["result"]["seq"] == 1

    run(scenario)


# --- slow consumers -----------------------------------------------------------------------


def test_a_stalled_client_is_dropped_and_resumes_with_nothing_lost(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, max_buffer=64 * 1024, rate_per_second=0) as srv:
            # a client that stops reading, with a tiny receive window
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", srv.server.port))
            from websockets.asyncio.client import connect

            ws = await connect(srv.url, sock=sock, compression=None, max_queue=1)
            stalled = Peer(ws)
            stalled.hello = await stalled.recv()
            await stalled.request("auth.login", login="frontdesk", password="demo")
            snap = await overview(stalled)
            epoch, last = stalled.login.get("epoch") or stalled.hello["epoch"], snap["seq"]
            assert ws.transport is not None
            ws.transport.pause_reading()

            healthy = await Peer.open(srv.url, "supervisor")
            await overview(healthy)
            mgr = await Peer.open(srv.url, "manager")
            rooms = [dict(r) for r in snap["rooms"]]
            sent = 0
            for _ in range(300):  # bounded: far more than the buffer can hold
                items = []
                for r in rooms:
                    items.append(
                        {
                            "room_number": r["room_number"],
                            "action": "clear_dnd" if r["do_not_disturb"] else "set_dnd",
                            "expected_version": r["version"],
                        }
                    )
                reply = await mgr.request("rooms.batch", items=items[:60])
                assert reply["type"] == "ack", reply
                for r, res in zip(rooms[:60], reply["result"]["rooms"], strict=True):
                    r["version"] = res["version"]
                    r["do_not_disturb"] = not r["do_not_disturb"]
                sent += 60
                if not any(
                    c.staff and c.staff.login == "frontdesk"
                    for c in srv.server.hub.clients
                    if not c.dropped
                ):
                    break
            else:
                raise AssertionError("the stalled client was never dropped")
            # the healthy client got everything, in order
            head = last + sent
            seen = [f["meta"]["seq"] for f in healthy.skipped if f.get("type") == "room_updated"]
            while not seen or seen[-1] < head:
                seen.append((await healthy.until(is_event("room_updated")))["meta"]["seq"])
            assert seen == list(range(last + 1, head + 1))
            # the dropped client comes back and resumes: nothing lost
            back = await Peer.open(srv.url, "frontdesk")
            ack = await back.subscribe(ROOMS, since={"epoch": epoch, "seq": last})
            assert ack["result"]["mode"] == "resume"
            assert ack["result"]["replayed"] == sent
            got = [(await back.until(is_event("room_updated")))["meta"]["seq"] for _ in range(sent)]
            assert got == list(range(last + 1, head + 1))

    run(scenario)


# --- plain HTTP on the same port -----------------------------------------------------------


def test_http_status_endpoint_and_health(demo_db: Path, clock: ManualClock) -> None:
    def get(url: str, token: str | None = None) -> tuple[int, Any]:
        req = urllib.request.Request(url)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            base = f"http://127.0.0.1:{srv.server.port}"
            status, body = await asyncio.to_thread(get, base + "/healthz")
            assert status == 200 and body["status"] == "ok"
            status, body = await asyncio.to_thread(get, base + "/api/rooms/status")
            assert status == 401 and body["code"] == "not_authenticated"
            p = await Peer.open(srv.url, "frontdesk")
            status, rooms = await asyncio.to_thread(
                get, base + "/api/rooms/status", p.login["token"]
            )
            assert status == 200 and len(rooms) == 68
            keys = {
                "room_id",
                "room_name",
                "building",
                "floor",
                "capacity",
                "is_occupied",
                "occupancy_status",
                "time_until_free",
                "reservations_today",
                "next_available",
                "current_attendees",
            }
            assert keys <= set(rooms[0])
            status, _ = await asyncio.to_thread(get, base + "/nowhere")
            assert status == 404

    run(scenario)


def test_group_commit_keeps_each_command_apart(demo_db: Path, clock: ManualClock) -> None:
    """Pipelined commands are committed together, but a refused one undoes only itself, even
    a batch that had already written its first rooms when its last one was refused."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, rate_per_second=0) as srv:
            mgr = await Peer.open(srv.url, "manager")
            snap = await overview(mgr)
            rooms = snap["rooms"][:40]
            dirty = [r for r in snap["rooms"][40:] if r["room_status"] == "CHECKOUT_DIRTY"][:2]
            for i, r in enumerate(rooms):
                action = "clear_dnd" if r["do_not_disturb"] else "set_dnd"
                version = r["version"] if i % 2 == 0 else r["version"] + 5  # odd ones: stale
                await mgr.send(
                    {
                        "type": "room.action",
                        "request_id": f"g{i}",
                        "room_number": r["room_number"],
                        "action": action,
                        "expected_version": version,
                    }
                )
                if i == 20:  # a batch whose second item is refused after the first wrote
                    await mgr.send(
                        {
                            "type": "rooms.batch",
                            "request_id": "gb",
                            "items": [
                                {
                                    "room_number": dirty[0]["room_number"],
                                    "action": "start_cleaning",
                                    "expected_version": dirty[0]["version"],
                                },
                                {
                                    "room_number": dirty[1]["room_number"],
                                    "action": "inspect",
                                    "expected_version": dirty[1]["version"],
                                },
                            ],
                        }
                    )
            replies = [await mgr.reply_to(f"g{i}") for i in range(len(rooms))]
            batch = await mgr.reply_to("gb")
            assert batch["code"] == "invalid_transition" and batch["details"]["index"] == 1
            assert [r["type"] for r in replies] == ["ack", "error"] * 20
            assert all(r["code"] == "stale_version" for r in replies[1::2])
            seqs = sorted(r["result"]["seq"] for r in replies[::2])
            assert seqs == list(range(snap["seq"] + 1, snap["seq"] + 21))
            truth = rooms_by_number(await overview(await Peer.open(srv.url, "manager")))
            for i, r in enumerate(rooms):
                now = truth[r["room_number"]]
                assert now["version"] == r["version"] + (1 if i % 2 == 0 else 0)
                assert now["do_not_disturb"] == (r["do_not_disturb"] ^ (i % 2 == 0))
            for r in dirty:
                assert truth[r["room_number"]]["version"] == r["version"]
                assert truth[r["room_number"]]["room_status"] == "CHECKOUT_DIRTY"

    run(scenario)


def test_pipelined_subscribes_on_one_connection_each_get_one_reply_and_their_snapshot(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            p = await Peer.open(srv.url, "frontdesk")
            await p.send({"type": "subscribe", "request_id": "sA", "channels": [ROOMS]})
            await p.send({"type": "subscribe", "request_id": "sB", "channels": [RES]})
            await p.send({"type": "auth.logout", "request_id": "out"})
            a, b = await p.reply_to("sA"), await p.reply_to("sB")
            assert a["type"] == b["type"] == "ack"
            await p.until(lambda f: f["type"] == "rooms.status")
            await p.until(lambda f: f["type"] == "reservations.status")
            assert (await p.reply_to("out"))["type"] == "ack"
            # a subscribe queued behind a logout is refused, and holds nothing afterwards
            q = await Peer.open(srv.url, "frontdesk")
            await q.send({"type": "auth.logout", "request_id": "out"})
            await q.send({"type": "subscribe", "request_id": "late", "channels": [ROOMS]})
            assert (await q.reply_to("out"))["type"] == "ack"
            assert (await q.reply_to("late"))["code"] == "not_authenticated"
            mgr = await Peer.open(srv.url, "manager")
            room = pick(await overview(mgr), do_not_disturb=False)
            await act(mgr, room, "set_dnd")
            assert (await q.request("ping"))["type"] == "ack"
            assert not [f for f in q.skipped if f.get("type") == "room_updated"]
            assert not [f for f in p.skipped if f.get("type") == "room_updated"]

    run(scenario)


def test_a_second_subscribe_keeps_the_first_channels_stream_whole(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, rate_per_second=0) as srv:
            p = await Peer.open(srv.url, "frontdesk")
            snap = await overview(p)
            mgr = await Peer.open(srv.url, "manager")
            rooms = [dict(r) for r in snap["rooms"][:30]]

            async def writes() -> None:
                for r in rooms:
                    reply = await act(mgr, r, "clear_dnd" if r["do_not_disturb"] else "set_dnd")
                    assert reply["type"] == "ack"

            task = asyncio.create_task(writes())
            for r in rooms[:5]:  # subscribe to more channels while the overview is streaming
                ack = await p.subscribe(f"{SLUG}.rooms.{r['room_number']}")
                assert ack["type"] == "ack"
            await task
            seqs: list[int] = []
            while len(seqs) < len(rooms):
                ev = await p.until(lambda f: f.get("type") == "room_updated")
                seqs.append(ev["meta"]["seq"])
            assert seqs == list(range(snap["seq"] + 1, snap["seq"] + len(rooms) + 1))

    run(scenario)


def test_resuming_a_long_absence_is_not_mistaken_for_a_slow_client(
    demo_db: Path, clock: ManualClock
) -> None:
    """Far more missed events than the slow-client limit: the replay goes at the pace the
    client reads, and everything arrives."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, max_buffer=64 * 1024, rate_per_second=0) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk)
            epoch, last = desk.login["epoch"], snap["seq"]
            await desk.close()
            mgr = await Peer.open(srv.url, "manager")
            rooms = [dict(r) for r in snap["rooms"]]
            for _ in range(20):  # 20 batches of 60 changes: ~1 MB of events
                items = [
                    {
                        "room_number": r["room_number"],
                        "action": "clear_dnd" if r["do_not_disturb"] else "set_dnd",
                        "expected_version": r["version"],
                    }
                    for r in rooms[:60]
                ]
                reply = await mgr.request("rooms.batch", items=items)
                for r, res in zip(rooms, reply["result"]["rooms"], strict=False):
                    r["version"], r["do_not_disturb"] = res["version"], not r["do_not_disturb"]
            back = await Peer.open(srv.url, "frontdesk")
            ack = await back.subscribe(ROOMS, since={"epoch": epoch, "seq": last})
            assert ack["result"]["mode"] == "resume" and ack["result"]["replayed"] == 1200
            got = [(await back.until(is_event("room_updated")))["meta"]["seq"] for _ in range(1200)]
            assert got == list(range(last + 1, last + 1201))
            assert (await back.request("ping"))["type"] == "ack"

    run(scenario)


def test_far_dates_are_refused_and_cannot_poison_the_board(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            start = (clock.now() + __import__("datetime").timedelta(hours=1)).isoformat()
            for end in ("9999-12-31T23:30:00Z", "2030-01-01T00:00:00Z"):
                bad = await desk.request(
                    "reservation.create",
                    room_number="M04",
                    guest_name="Forever",
                    start=start,
                    end=end,
                )
                assert bad["code"] == "bad_request", bad
            assert (await desk.request("board.at", at="0001-01-01T00:00:00+01:00"))[
                "code"
            ] == "bad_request"
            assert (await desk.request("rooms.status"))["type"] == "ack"

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


def test_a_request_id_reused_for_another_request_is_refused(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            mgr = await Peer.open(srv.url, "manager")
            snap = await overview(mgr)
            a, b = [r for r in snap["rooms"] if not r["do_not_disturb"]][:2]
            assert (await act(mgr, a, "set_dnd", request_id="x1"))["type"] == "ack"
            reused = await act(mgr, b, "set_dnd", request_id="x1")
            assert reused["code"] == "bad_request" and "used before" in reused["message"]
            fresh = rooms_by_number(await overview(await Peer.open(srv.url, "manager")))
            assert fresh[b["room_number"]]["do_not_disturb"] is False

    run(scenario)


def test_logging_out_ends_the_token_on_every_connection(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            a = await Peer.open(srv.url, "frontdesk")
            b = await Peer.open(srv.url)
            assert (await b.request("auth.token", token=a.login["token"]))["type"] == "ack"
            await overview(b)
            assert (await a.request("auth.logout"))["type"] == "ack"
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await b.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 4001

    run(scenario)


def test_failed_logins_are_limited_across_connections(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, login_failures=3, login_refill=30) as srv:
            codes = []
            for _ in range(4):  # a new connection for every guess does not help
                p = await Peer.open(srv.url)
                codes.append((await p.request("auth.login", login="manager", password="x"))["code"])
            assert codes == ["auth_failed"] * 3 + ["rate_limited"]
            # the right password waits too, until the limit has refilled
            p = await Peer.open(srv.url)
            assert (await p.request("auth.login", login="manager", password="demo"))[
                "code"
            ] == "rate_limited"
            clock.advance(30)
            assert (await p.request("auth.login", login="manager", password="demo"))[
                "type"
            ] == "ack"

    run(scenario)
