"""A connection's stream belongs to its session: logging out, or in again (perhaps as someone
of another hotel, whose sequence numbers are their own), starts the stream afresh."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from server import db as m
from server.demo import DemoSpec, load_demo
from shared.clock import ManualClock
from tests.support import SLUG, LiveServer, Peer

A_ROOMS = f"{SLUG}.rooms"
B_ROOMS = "hotel-b.rooms"


@pytest.fixture
def two_hotels(fresh_store: Path, tmp_path: Path, clock: ManualClock) -> Path:
    path = fresh_store
    m.open_db(path)
    try:
        load_demo(clock.now(), DemoSpec())
        load_demo(clock.now(), DemoSpec(slug="hotel-b", name="Hotel B", floors=1))
    finally:
        m.close_db()
    return path


async def toggle_dnd(peer: Peer, channel: str, times: int) -> int:
    """Flip do-not-disturb of the first room `times` times; the last seq."""
    ack = await peer.subscribe(channel)
    assert ack["type"] == "ack", ack
    snap = await peer.until(lambda f: f["type"] == "rooms.status")
    room = dict(snap["rooms"][0])
    seq = 0
    for _ in range(times):
        action = "clear_dnd" if room["do_not_disturb"] else "set_dnd"
        reply = await peer.request(
            "room.action",
            room_number=room["room_number"],
            action=action,
            expected_version=room["version"],
        )
        assert reply["type"] == "ack", reply
        room["version"] = reply["result"]["version"]
        room["do_not_disturb"] = not room["do_not_disturb"]
        seq = reply["result"]["seq"]
    return seq


def test_a_connection_that_changes_hotel_gets_the_new_hotels_events(
    two_hotels: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(two_hotels, clock) as srv:
            via_logout = await Peer.open(srv.url, "frontdesk")
            direct = await Peer.open(srv.url, "supervisor")
            for p in (via_logout, direct):
                assert (await p.subscribe(A_ROOMS))["type"] == "ack"
                await p.until(lambda f: f["type"] == "rooms.status")
            # hotel A is far ahead of hotel B: both connections were sent A's seq 8
            a_head = await toggle_dnd(await Peer.open(srv.url, "manager"), A_ROOMS, 8)
            for p in (via_logout, direct):
                ev = await p.until(
                    lambda f: f.get("type") == "room_updated" and f["meta"]["seq"] == a_head
                )
                assert ev["meta"]["hotel_slug"] == SLUG
                assert (await p.request("presence.viewing", room_number="101"))["type"] == "ack"
            for p in (via_logout, direct):
                p.skipped.clear()  # hotel A's earlier events, read on the way
            assert (await via_logout.request("auth.logout"))["type"] == "ack"
            login = {"password": "demo"}
            for p, who in ((via_logout, "frontdesk@hotel-b"), (direct, "supervisor@hotel-b")):
                reply = await p.request("auth.login", login=who, **login)
                assert reply["type"] == "ack", reply
                assert reply["result"]["hotel"]["slug"] == "hotel-b"
                ack = await p.subscribe(B_ROOMS)
                assert ack["result"]["mode"] == "snapshot" and ack["result"]["head_seq"] == 0
                await p.until(lambda f: f["type"] == "rooms.status")
            b_head = await toggle_dnd(await Peer.open(srv.url, "manager@hotel-b"), B_ROOMS, 3)
            assert b_head == 3 < a_head
            for p in (via_logout, direct):
                seqs = []
                while len(seqs) < 3:
                    ev = await p.until(lambda f: f.get("type") == "room_updated")
                    assert ev["meta"]["hotel_slug"] == "hotel-b"
                    seqs.append(ev["meta"]["seq"])
                assert seqs == [1, 2, 3]
            # nobody in hotel B is shown viewing hotel A's room 101
            hub = srv.server.hub
            for c in hub.clients:
                if c.staff is not None and c.staff.hotel_slug == "hotel-b":
                    assert c.viewing is None

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_logging_in_again_as_the_same_person_starts_the_stream_afresh(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            p = await Peer.open(srv.url, "frontdesk")
            assert (await p.subscribe(A_ROOMS))["type"] == "ack"
            await p.until(lambda f: f["type"] == "rooms.status")
            token = p.login["token"]
            again = await p.request("auth.token", token=token)
            assert again["type"] == "ack"
            client: Any = next(c for c in srv.server.hub.clients if c.staff and c.token == token)
            assert client.channels == set() and client.last_seq == 0
            # subscribing again (even resuming) works as on a fresh connection
            ack = await p.subscribe(A_ROOMS, since={"epoch": p.login["epoch"], "seq": 0})
            assert ack["result"]["mode"] == "resume", ack

    asyncio.run(asyncio.wait_for(scenario(), 60))
