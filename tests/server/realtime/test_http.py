"""Plain HTTP on the websocket port: the health check and the rooms' status."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from tests.server.live import run
from tests.support import LiveServer, Peer


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
