"""End to end, subscriptions: pipelined subscribes, a second subscribe beside a live
stream, and no channel of another hotel."""

from __future__ import annotations

import asyncio
from pathlib import Path

from server import db as m
from server.demo import DemoSpec, load_demo
from shared.clock import ManualClock
from tests.server.live import RES, ROOMS, act, is_event, overview, pick, run
from tests.support import SLUG, LiveServer, Peer


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


def test_another_hotels_channels_do_not_exist_for_a_connection(
    fresh_store: Path, tmp_path: Path, clock: ManualClock
) -> None:
    path = fresh_store
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
