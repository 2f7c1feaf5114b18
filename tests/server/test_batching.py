"""What the speed-ups of the stream touch, checked for correctness (never timed): batched
events carry every event once and in order; a snapshot is reused only at the same seq and
for a moment; the cached "who is online" list follows every change."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from server import tlswrite
from server.hub import BATCH_BYTES, batch_frames
from server.wire import PLAIN
from shared import protocol
from shared.clock import ManualClock
from tests.server.live import ROOMS, overview, run
from tests.support import LiveServer, Peer


def flatten(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of a list of frames, batches unpacked, in the order received."""
    out: list[dict[str, Any]] = []
    for f in frames:
        if f.get("type") == "events":
            out.extend(f["events"])
        elif "meta" in f:
            out.append(f)
    return out


async def collect(peer: Peer, upto: int) -> list[dict[str, Any]]:
    """Every frame the peer received (kept ones first) until it has seen event `upto`."""
    frames = list(peer.skipped)
    peer.skipped.clear()
    while not any(e["meta"]["seq"] >= upto for e in flatten(frames)):
        frames.append(await peer.recv())
    return frames


def dirty_rooms(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r
        for r in snapshot["rooms"]
        if r["room_status"] in ("READY_FOR_GUEST", "INSPECTED")
        and not r["is_occupied"]
        and r["block"] is None
        and r["rush"] is None
    ]


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_batched_frames_carry_every_event_once_in_order(
    demo_db: Path, clock: ManualClock, scheme: str
) -> None:
    """Over TLS too, where the fan-out writes past asyncio's TLS transport
    (server/tlswrite.py) while acks and presence go through it."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, insecure=scheme == "ws") as srv:
            batching = await Peer.open(srv.url, "manager")
            plain = await Peer.open(srv.url, "supervisor")
            ack = await batching.request("subscribe", channels=[ROOMS], batch=True)
            assert ack["type"] == "ack", ack
            snap = await batching.until(lambda f: f["type"] == "rooms.status")
            await overview(plain)
            start = int(snap["seq"])
            rooms = dirty_rooms(snap)[:12]
            assert len(rooms) == 12
            senders = [await Peer.open(srv.url, "supervisor") for _ in range(8)]
            # a rooms.batch (one commit, four events) and eight commands from eight
            # connections at once (group commits): many events go out together
            batch = await senders[0].request(
                "rooms.batch",
                items=[
                    {
                        "room_number": r["room_number"],
                        "action": "mark_dirty",
                        "expected_version": r["version"],
                    }
                    for r in rooms[:4]
                ],
            )
            assert batch["type"] == "ack", batch
            replies = await asyncio.gather(
                *(
                    senders[i].request(
                        "room.action",
                        request_id=f"burst-{i}",
                        room_number=r["room_number"],
                        action="mark_dirty",
                        expected_version=r["version"],
                    )
                    for i, r in enumerate(rooms[4:])
                )
            )
            assert all(r["type"] == "ack" for r in replies), replies
            head = max(int(r["result"]["seq"]) for r in [batch, *replies])
            got = await collect(batching, head)
            want = flatten(await collect(plain, head))
            events = flatten(got)
            assert any(f.get("type") == "events" for f in got)  # the rooms.batch, at least
            assert all(len(f["events"]) >= 2 for f in got if f.get("type") == "events")
            seqs = [e["meta"]["seq"] for e in events]
            assert seqs == list(range(start + 1, head + 1))  # each once, in order, no gap
            assert events == want  # the same events as a client that did not ask
            for f in got:
                protocol.check_server_frame(f)
            for p in (batching, plain, *senders):
                await p.close()

    run(scenario)


def test_a_resume_comes_batched_and_complete(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "supervisor")
            snap = await overview(desk)
            token, epoch, last = desk.login["token"], desk.hello["epoch"], int(snap["seq"])
            await desk.close()
            boss = await Peer.open(srv.url, "manager")
            rooms = dirty_rooms(snap)[:5]
            for r in rooms:
                done = await boss.request(
                    "room.action",
                    room_number=r["room_number"],
                    action="mark_dirty",
                    expected_version=r["version"],
                )
                assert done["type"] == "ack", done
            back = await Peer.open(srv.url)
            assert (await back.request("auth.token", token=token))["type"] == "ack"
            ack = await back.request(
                "subscribe", channels=[ROOMS], since={"epoch": epoch, "seq": last}, batch=True
            )
            assert ack["result"]["mode"] == "resume" and ack["result"]["replayed"] == 5, ack
            frames = await collect(back, last + 5)
            assert [f["type"] for f in frames if "meta" in f or f["type"] == "events"] == ["events"]
            assert [e["meta"]["seq"] for e in flatten(frames)] == list(range(last + 1, last + 6))
            for p in (back, boss):
                await p.close()

    run(scenario)


def events_in(frames: list[dict[str, Any]]) -> list[int]:
    return [e["meta"]["seq"] for e in flatten(frames)]


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_a_command_is_answered_after_its_own_events_not_after_every_desks(
    demo_db: Path, clock: ManualClock, scheme: str
) -> None:
    """The commanding connection gets its events and then its answer while the fan-out tick
    to the other desks is still due; that tick sends them once and skips the commander."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, insecure=scheme == "ws") as srv:
            desk = await Peer.open(srv.url, "supervisor")
            other = await Peer.open(srv.url, "manager")
            snap = await overview(desk)
            await overview(other)
            hub = srv.server.hub
            assert all(tlswrite.direct(c.ws.transport) == (scheme == "wss") for c in hub.clients)
            # the last tick took long, so the next one is due a minute after it
            hub.fanout_tick = hub._last_cost = 60.0
            hub._last_tick = asyncio.get_running_loop().time()
            rooms = dirty_rooms(snap)[:2]
            for i, r in enumerate(rooms):
                await desk.send(
                    {
                        "type": "room.action",
                        "request_id": f"own-{i}",
                        "room_number": r["room_number"],
                        "action": "mark_dirty",
                        "expected_version": r["version"],
                    }
                )
            seq = int(snap["seq"])
            frames: list[dict[str, Any]] = []
            while sum(f["type"] == "ack" for f in frames) < 2:
                frames.append(await desk.recv())
            acks = [f for f in frames if f["type"] == "ack"]
            assert {a["request_id"] for a in acks} == {"own-0", "own-1"}, frames
            for a in acks:  # each answer comes after its own event on this connection
                at = frames.index(a)
                assert a["result"]["seq"] in events_in(frames[:at]), frames
            assert events_in(frames) == [seq + 1, seq + 2]
            pong = await other.request("ping")  # the other desk has had nothing yet
            assert pong["type"] == "ack" and events_in(other.skipped) == [], other.skipped
            hub._fan_out_tick()  # the tick that was due
            await other.until(lambda f: events_in([f]) != [] and max(events_in([f])) == seq + 2)
            assert events_in(other.skipped) == [seq + 1], other.skipped
            # and nothing twice for the commander: its next frame is a ping's answer
            assert (await desk.request("ping"))["type"] == "ack"
            assert events_in(desk.skipped) == [], desk.skipped
            for p in (desk, other):
                await p.close()

    run(scenario)


def test_batches_are_split_by_size_and_keep_order() -> None:
    datas = [b'{"n":%d,"pad":"%s"}' % (i, b"x" * 40_000) for i in range(20)]
    frames = batch_frames(datas)
    assert len(frames) > 1
    seen: list[int] = []
    for f in frames:
        data = f.data
        assert len(data) <= BATCH_BYTES + 64
        assert f.wire(PLAIN).endswith(data)
        seen.extend(e["n"] for e in protocol.parse_server_frame(data)["events"])
    assert seen == list(range(20))
    big = [b'{"n":0,"pad":"%s"}' % (b"x" * (BATCH_BYTES * 2))]
    assert len(batch_frames(big)) == 1  # an event larger than the bound goes alone


def test_a_snapshot_is_reused_only_at_the_same_seq_and_for_a_moment(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            first = await Peer.open(srv.url, "supervisor")
            a = await overview(first)
            second = await Peer.open(srv.url, "frontdesk")
            b = await overview(second)
            assert b == a  # the same seq, the same moment: the same snapshot
            clock.advance(2)  # older than the reuse bound: built again, at the new time
            third = await Peer.open(srv.url, "frontdesk")
            c = await overview(third)
            assert c["seq"] == a["seq"] and c["timestamp"] != a["timestamp"]
            room = dirty_rooms(a)[0]
            done = await first.request(
                "room.action",
                room_number=room["room_number"],
                action="mark_dirty",
                expected_version=room["version"],
            )
            assert done["type"] == "ack", done
            fourth = await Peer.open(srv.url, "frontdesk")
            d = await overview(fourth)  # a new seq: never the old snapshot
            assert d["seq"] == done["result"]["seq"]
            now = {r["room_number"]: r for r in d["rooms"]}[room["room_number"]]
            assert now["room_status"] == "CHECKOUT_DIRTY"
            for p in (first, second, third, fourth):
                await p.close()

    run(scenario)


def test_the_cached_presence_list_follows_arrivals_and_departures(
    demo_db: Path, clock: ManualClock
) -> None:
    def names(frame: dict[str, Any]) -> list[str]:
        return sorted(e["name"] for e in frame["online"])

    async def presence(peer: Peer) -> dict[str, Any]:
        await overview(peer)
        return await peer.until(lambda f: f["type"] == "presence")

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, presence_interval=0.0) as srv:
            one = await Peer.open(srv.url, "supervisor")
            first = await presence(one)
            two = await Peer.open(srv.url, "frontdesk")
            second = await presence(two)
            assert len(second["online"]) == len(first["online"]) + 1
            await two.close()
            await one.until(
                lambda f: f["type"] == "presence" and len(f["online"]) == len(first["online"])
            )
            three = await Peer.open(srv.url, "manager")
            third = await presence(three)  # built afresh: the front desk has gone
            assert names(third) == sorted([*names(first), three.login["staff"]["name"]])
            for p in (one, three):
                await p.close()

    run(scenario)
