"""Presence: who is online at which workstation, and who is looking at which room."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from tests.server.test_realtime import overview, run
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
