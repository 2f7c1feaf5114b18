"""What the tests against a live server share: running a scenario, the overview's
snapshot, a room picked from it, a room action, an event to wait for."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tests.support import SLUG, Peer

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
