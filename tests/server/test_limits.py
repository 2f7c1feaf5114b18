"""Limits that protect the server from one slow client, with real sockets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from tests.support import SLUG, LiveServer, Peer, stalled_peer

ROOMS = f"{SLUG}.rooms"


async def flip_all(mgr: Peer, rooms: list[dict[str, Any]]) -> int:
    """One batch that flips do-not-disturb of the rooms; returns its last seq."""
    items = [
        {
            "room_number": r["room_number"],
            "action": "clear_dnd" if r["do_not_disturb"] else "set_dnd",
            "expected_version": r["version"],
        }
        for r in rooms
    ]
    reply = await mgr.request("rooms.batch", items=items)
    assert reply["type"] == "ack", reply
    for r, res in zip(rooms, reply["result"]["rooms"], strict=True):
        r["version"], r["do_not_disturb"] = res["version"], not r["do_not_disturb"]
    seq: int = reply["result"]["seq"]
    return seq


def test_events_waiting_behind_a_stalled_replay_are_bounded_and_nothing_is_lost(
    demo_db: Path, clock: ManualClock
) -> None:
    """While a resume is being replayed to a client that does not read, the live events wait
    for it; past `max_buffer` bytes of them it is dropped (4008), and resuming again from its
    last seq still brings every event."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, max_buffer=64 * 1024, rate_per_second=0) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            assert (await desk.subscribe(ROOMS))["type"] == "ack"
            snap = await desk.until(lambda f: f["type"] == "rooms.status")
            epoch, last = desk.login["epoch"], snap["seq"]
            await desk.close()
            mgr = await Peer.open(srv.url, "manager")
            rooms = [dict(r) for r in snap["rooms"][:60]]
            for _ in range(20):  # 1,200 missed events, ~1 MB: far more than the pipes hold
                await flip_all(mgr, rooms)

            # a client that resumes and then reads nothing
            stalled, client = await stalled_peer(srv, "frontdesk")
            await stalled.send(
                {
                    "type": "subscribe",
                    "request_id": "resume",
                    "channels": [ROOMS],
                    "since": {"epoch": epoch, "seq": last},
                }
            )
            for _ in range(500):  # the replay has started and is stuck on the full socket
                if client.pending is not None and client.ws.transport.get_write_buffer_size():
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the replay never stalled")
            for _ in range(50):  # bounded: each batch is ~55 kB of events
                head = await flip_all(mgr, rooms)
                assert client.pending is None or client.pending_bytes <= 64 * 1024
                if client.dropped:
                    break
            else:
                raise AssertionError("events piled up behind the stalled replay")
            assert not client.pending and client not in srv.server.hub.subs.get(ROOMS, ())

            # it comes back, resumes from where it was, and gets every event
            back = await Peer.open(srv.url, "frontdesk")
            ack = await back.subscribe(ROOMS, since={"epoch": epoch, "seq": last})
            assert ack["result"]["mode"] == "resume", ack
            seqs = []
            while len(seqs) < head - last:
                ev = await back.until(lambda f: f.get("type") == "room_updated")
                seqs.append(ev["meta"]["seq"])
            assert seqs == list(range(last + 1, head + 1))

    asyncio.run(asyncio.wait_for(scenario(), 90))
