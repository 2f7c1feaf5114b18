"""Every kind of frame the server sends has the documented shape: checked on examples, and on
every frame one client receives from a real server during a working session."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared import protocol
from shared.clock import ManualClock
from shared.timeutil import to_iso
from tests.server.live import pick, run
from tests.support import LiveServer, Peer

SLUG = "hotel-killarney"

EVENT = protocol.event(
    "rooms",
    "room_updated",
    {"room_number": "101"},
    protocol.EventMeta(SLUG, "e1", "2026-01-15T09:00:00Z", 4, "system", None),
)

EXAMPLES: dict[str, dict[str, Any]] = {
    "hello": {
        "type": "hello",
        "server": "roomrack",
        "protocol": 1,
        "epoch": "6f1c",
        "limits": {"max_frame_bytes": 65536},
        "heartbeat": {"overview": 60, "room": 30},
        "tls": None,
        "features": ["batch"],
    },
    "ack": protocol.ack("r1", {"ok": True}),
    "error": protocol.error("r1", protocol.ErrorCode.STALE_VERSION),
    "heartbeat": {
        "type": "heartbeat",
        "channel": f"{SLUG}.rooms",
        "head_seq": 3,
        "server_time": "2026-01-15T09:01:00Z",
        "timestamp": "2026-01-15T09:01:00Z",
        "rooms": [],
    },
    "rooms.status": {
        "type": "rooms.status",
        "channel": f"{SLUG}.rooms",
        "seq": 3,
        "timestamp": "2026-01-15T09:01:00Z",
        "rooms": [],
        "day": {"business_date": "2026-01-15", "counts": {}},
    },
    "room.status": {
        "type": "room.status",
        "channel": f"{SLUG}.rooms.101",
        "seq": 3,
        "timestamp": "2026-01-15T09:01:00Z",
        "status": {},
    },
    "reservations.status": {
        "type": "reservations.status",
        "channel": f"{SLUG}.reservations",
        "seq": 3,
        "timestamp": "2026-01-15T09:01:00Z",
        "reservations": [],
        "date": "2026-01-15",
    },
    "presence": {
        "type": "presence",
        "hotel_slug": SLUG,
        "server_time": "2026-01-15T09:01:00Z",
        "online": [],
    },
    "events": {"type": "events", "events": [EVENT, EVENT]},
    "session.ended": {
        "type": "session.ended",
        "code": "account_disabled",
        "reason": "disabled",
        "message": "Your account has been disabled, so you were logged out. Ask a manager.",
    },
}


def test_every_kind_has_an_example() -> None:
    assert set(EXAMPLES) == set(protocol.SERVER_FRAMES)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_examples_round_trip_and_a_missing_field_is_caught(kind: str) -> None:
    frame = EXAMPLES[kind]
    parsed = protocol.parse_server_frame(protocol.dumps(frame))
    assert parsed == frame and protocol.check_server_frame(parsed) == kind
    for name in protocol.SERVER_FRAMES[kind]:
        broken = {k: v for k, v in frame.items() if k != name}
        with pytest.raises(ValueError, match=name):
            protocol.check_server_frame(broken)


def test_events_are_checked_by_their_envelope() -> None:
    meta = protocol.EventMeta(SLUG, "e1", "2026-01-15T09:00:00Z", 4, "system", None)
    ev = protocol.event("rooms", "room_updated", {"room_number": "101"}, meta)
    assert protocol.check_server_frame(protocol.parse_server_frame(protocol.dumps(ev))) == (
        "room_updated"
    )
    with pytest.raises(ValueError, match="seq"):
        protocol.check_server_frame(
            {**ev, "meta": {k: v for k, v in ev["meta"].items() if k != "seq"}}
        )
    with pytest.raises(ValueError, match="unknown"):
        protocol.check_server_frame({"type": "surprise"})
    with pytest.raises(ValueError, match="not an event"):
        protocol.check_server_frame({"type": "events", "events": [EXAMPLES["presence"]]})
    with pytest.raises(ValueError, match="not a list"):
        protocol.check_server_frame({"type": "events", "events": []})
    with pytest.raises(ValueError, match="seq"):
        broken = {**ev, "meta": {k: v for k, v in ev["meta"].items() if k != "seq"}}
        protocol.check_server_frame({"type": "events", "events": [ev, broken]})
    with pytest.raises(ValueError, match="rooms or status"):
        protocol.check_server_frame(
            {k: v for k, v in EXAMPLES["heartbeat"].items() if k != "rooms"}
        )


class RecordingPeer(Peer):
    """A client that keeps every frame it receives."""

    frames: list[dict[str, Any]]

    async def recv(self, wait: float = 10) -> dict[str, Any]:
        msg = await super().recv(wait)
        if not hasattr(self, "frames"):
            self.frames = []
        self.frames.append(msg)
        return msg


def test_every_frame_of_a_working_session_has_its_documented_shape(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await RecordingPeer.open(srv.url, "frontdesk")
            assert (await desk.subscribe(protocol.overview_channel(SLUG)))["type"] == "ack"
            snap = await desk.until(lambda f: f["type"] == "rooms.status")
            room = pick(snap, room_status="READY_FOR_GUEST", is_occupied=False)
            number = room["room_number"]
            extra = (protocol.room_channel(SLUG, number), protocol.reservations_channel(SLUG))
            # batched events from here on: several events at once come in one `events` frame
            assert (await desk.request("subscribe", channels=list(extra), batch=True))[
                "type"
            ] == "ack"
            await desk.until(lambda f: f["type"] == "room.status")
            await desk.until(lambda f: f["type"] == "reservations.status")
            other = await Peer.open(srv.url, "manager")  # someone else comes online
            await desk.until(lambda f: f["type"] == "presence" and len(f["online"]) >= 2)
            done = await desk.request(
                "room.action",
                room_number=number,
                action="mark_dirty",
                expected_version=room["version"],
            )
            assert done["type"] == "ack", done
            made = await desk.request(
                "reservation.create",
                room_number=pick(snap, room_status="CHECKOUT_DIRTY", is_occupied=False)[
                    "room_number"
                ],
                guest_name="Ms Daly",
                start=to_iso(clock.now() + timedelta(days=30)),
                end=to_iso(clock.now() + timedelta(days=31)),
            )
            assert made["type"] == "ack", made
            stale = await desk.request(
                "room.action", room_number=number, action="mark_dirty", expected_version=0
            )
            assert stale["type"] == "error"
            two = [
                r
                for r in snap["rooms"]
                if r["room_status"] == "READY_FOR_GUEST"
                and not r["is_occupied"]
                and r["room_number"] != number
                and r["block"] is None
            ][:2]
            items = [
                {
                    "room_number": r["room_number"],
                    "action": "mark_dirty",
                    "expected_version": r["version"],
                }
                for r in two
            ]
            assert (await desk.request("rooms.batch", items=items))["type"] == "ack"
            wanted = [r["room_number"] for r in two]
            batch = await desk.until(
                lambda f: (
                    f["type"] == "events"
                    and f["events"][0]["payload"].get("room_number") == wanted[0]
                )
            )
            assert [e["payload"]["room_number"] for e in batch["events"]] == wanted
            seqs = [e["meta"]["seq"] for e in batch["events"]]
            assert seqs == list(range(seqs[0], seqs[0] + len(two)))
            assert await srv.server.heartbeat("overview") >= 1
            assert await srv.server.heartbeat("room") >= 1
            await desk.until(lambda f: f["type"] == "heartbeat" and "status" in f)
            # (the booking's events came together, batched)
            await desk.until(
                lambda f: (
                    f["type"] == "events"
                    and "reservation.created" in [e["type"] for e in f["events"]]
                )
            )
            # last: a manager ends the desk's session, which is told so before it is closed
            ended = await other.request("staff.end_sessions", staff_id=desk.login["staff"]["id"])
            assert ended["type"] == "ack", ended
            await desk.until(lambda f: f["type"] == "session.ended")
            await other.close()
            kinds = {protocol.check_server_frame(f) for f in [desk.hello, *desk.frames]}
            kinds |= {e["type"] for f in desk.frames if f["type"] == "events" for e in f["events"]}
            assert set(protocol.SERVER_FRAMES) <= kinds
            assert {"room_updated", "reservation.created"} <= kinds

    run(scenario)
