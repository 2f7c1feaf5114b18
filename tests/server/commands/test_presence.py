"""Presence: who is online at which workstation, and who is looking at which room."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from tests.server.live import overview, run
from tests.support import LiveServer, Peer


def is_presence(f: dict[str, Any]) -> bool:
    return f.get("type") == "presence"


def test_presence_follows_logins_views_and_disconnects(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            sup = await Peer.open(srv.url)
            await sup.request("auth.login", login="supervisor", password="demo", workstation="HK")
            await overview(sup)
            first = await sup.until(is_presence)
            assert [(e["name"], e["workstation"]) for e in first["online"]] == [
                ("Sean Byrne", "HK")
            ]

            desk = await Peer.open(srv.url)
            await desk.request(
                "auth.login", login="frontdesk", password="demo", workstation="Desk 1"
            )
            both = await sup.until(is_presence)
            assert {e["name"] for e in both["online"]} == {"Sean Byrne", "Niamh Kelly"}
            niamh = next(e for e in both["online"] if e["name"] == "Niamh Kelly")
            assert niamh == {
                "staff_id": niamh["staff_id"],
                "name": "Niamh Kelly",
                "role": "front_desk",
                "workstation": "Desk 1",
                "since": "2026-01-15T09:00:00Z",
                "viewing": None,
            }

            assert (await desk.request("presence.viewing", room_number="101"))["type"] == "ack"
            looking = await sup.until(is_presence)
            assert [e["viewing"] for e in looking["online"] if e["name"] == "Niamh Kelly"] == [
                "101"
            ]
            assert (await desk.request("presence.viewing", room_number="999"))[
                "code"
            ] == "unknown_room"
            await desk.request("presence.viewing")  # closes the details: viewing nothing
            idle = await sup.until(is_presence)
            assert all(e["viewing"] is None for e in idle["online"])

            await desk.close()
            gone = await sup.until(is_presence)
            assert [e["name"] for e in gone["online"]] == ["Sean Byrne"]

            # other hotels' people are never listed, anonymous connections neither
            anon = await Peer.open(srv.url)
            assert (await anon.request("ping"))["type"] == "ack"
            assert not [f for f in sup.skipped if is_presence(f)]

    run(scenario)


def test_a_burst_of_presence_changes_goes_out_as_one_list(
    demo_db: Path, clock: ManualClock
) -> None:
    """Many changes close together (every workstation reconnecting after a restart) send the
    hotel's list once per interval, not once per change to everyone."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, presence_interval=1.5) as srv:
            watcher = await Peer.open(srv.url, "manager")
            await overview(watcher)
            await watcher.until(is_presence)  # the list that follows the snapshot
            peers = [await Peer.open(srv.url, login) for login in ("frontdesk", "supervisor")]
            rooms = [f"10{i}" for i in range(1, 9)]
            for i, number in enumerate(rooms):  # eight changes, one after the other
                reply = await peers[i % 2].request("presence.viewing", room_number=number)
                assert reply["type"] == "ack"
            loop = asyncio.get_running_loop()
            start = loop.time()
            seen: list[dict[str, Any]] = []
            with contextlib.suppress(TimeoutError):
                while True:  # everything that comes within two intervals
                    left = start + 3.0 - loop.time()
                    if left <= 0:
                        break
                    seen.append(await watcher.until(is_presence, wait=left))
            # two logins and eight views: at most a leading and a trailing list per interval
            assert 1 <= len(seen) <= 3, [len(f["online"]) for f in seen]
            viewing = {e["name"]: e["viewing"] for e in seen[-1]["online"]}
            assert viewing == {"Ciara O'Brien": None, "Niamh Kelly": "107", "Sean Byrne": "108"}

    run(scenario)
