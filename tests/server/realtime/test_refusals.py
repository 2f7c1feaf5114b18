"""End to end, refusals: every kind of bad input gets its code and the connection stays,
an oversized frame closes only its connection, commands are rate limited, far dates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from shared.clock import ManualClock
from tests.server.live import act, overview, pick, run
from tests.support import SLUG, LiveServer, Peer


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
