"""What a client written from docs/protocol.md alone relies on, over real connections:
reservation lists name their room by id, request ids are checked exactly, which refusal wins
when a request has several problems, and the body of an HTTP 401."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from shared.errors import EXPLANATIONS, ErrorCode
from tests.server.live import RES, act, overview, pick, run
from tests.support import LiveServer, Peer


def test_reservation_lists_carry_the_real_room_id_as_the_events_do(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            ids = {r["room_number"]: r["room_id"] for r in (await overview(desk))["rooms"]}
            await desk.subscribe(RES)
            snap = await desk.until(lambda f: f["type"] == "reservations.status")
            listed = (await desk.request("reservations.list"))["result"]["reservations"]
            assert snap["reservations"] and listed
            for entry in [*snap["reservations"], *listed]:
                assert entry["room_id"] == ids[entry["room_number"]], entry
            # the same reservation, as an event, is the same dict
            first = listed[0]
            confirm = "reservation.confirm" if first["state"] == "pending" else None
            if confirm is None:
                return
            assert (await desk.request(confirm, reservation_id=first["id"]))["type"] == "ack"
            ev = await desk.until(lambda f: f.get("type") == "reservation.confirmed")
            again = next(
                r
                for r in (await desk.request("reservations.list"))["result"]["reservations"]
                if r["id"] == first["id"]
            )
            assert ev["payload"]["reservation"] == again
            assert ev["payload"]["room_id"] == again["room_id"] == ids[first["room_number"]]

    run(scenario)


def test_a_request_id_outside_the_documented_characters_is_refused_even_at_the_end(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            p = await Peer.open(srv.url, "manager")
            for rid in ("id\n", "id\r\n", "\nid", "id ", "ïd", "x" * 101, ""):
                await p.send({"type": "ping", "request_id": rid})
                reply = await p.until(lambda f: f["type"] in ("ack", "error"))
                assert reply["type"] == "error" and reply["code"] == "bad_request", (rid, reply)
                assert reply["request_id"] is None  # it could not be read as an id
            ok = await p.request("ping", request_id="A-z_0.9:" + "x" * 92)
            assert ok["type"] == "ack"
            # a channel name is matched whole as well
            bad = await p.subscribe("hotel-killarney.rooms\n")
            assert bad["code"] == "unknown_channel"

    run(scenario)


async def first_refusal(peer: Peer, frame: dict[str, Any] | str) -> str:
    await peer.send(frame)
    reply = await peer.until(lambda f: f["type"] in ("ack", "error"))
    assert reply["type"] == "error", reply
    return str(reply["code"])


def test_when_a_request_has_several_problems_the_documented_first_one_wins(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            anon = await Peer.open(srv.url)
            # JSON before everything, type before fields, fields before the id's characters,
            # the id before the login
            assert await first_refusal(anon, '{"type": "ping", "request_id": "a"') == "bad_request"
            assert await first_refusal(anon, {"type": "nope", "x": 1}) == "unknown_type"
            unread = {"type": "room.action", "request_id": "bad id", "room_number": 5}
            assert await first_refusal(anon, unread) == "bad_request"
            assert await first_refusal(anon, {"type": "blocks.list", "request_id": "ok"}) == (
                "not_authenticated"
            )
            hk = await Peer.open(srv.url, "housekeeping")
            snap = await overview(hk)
            ready = pick(snap, room_status="READY_FOR_GUEST", is_occupied=False)
            # the role before the room, the version and the rules
            wrong_role = {
                "type": "room.action",
                "request_id": "w1",
                "room_number": "no-such",
                "action": "set_out_of_order",
                "expected_version": -1,
            }
            assert await first_refusal(hk, wrong_role) == "forbidden"
            # a value before the room
            bad_value = {**wrong_role, "request_id": "w2", "action": "fly"}
            assert await first_refusal(hk, bad_value) == "bad_request"
            # the room before the version
            unknown = {**wrong_role, "request_id": "w3", "action": "start_cleaning"}
            assert await first_refusal(hk, unknown) == "unknown_room"
            # the version before the rules: a move that is not possible, on an old version
            stale = {
                **unknown,
                "request_id": "w4",
                "room_number": ready["room_number"],
                "expected_version": ready["version"] - 1,
            }
            assert await first_refusal(hk, stale) == "stale_version"
            assert (await act(hk, ready, "start_cleaning"))["code"] == "invalid_transition"
            # maintenance may block, but not override, whatever the room and its version
            mnt = await Peer.open(srv.url, "maintenance")
            override = {
                "type": "block.create",
                "request_id": "b1",
                "room_number": "no-such",
                "kind": "out_of_order",
                "reason": "Leak",
                "end": "2999-01-01T00:00:00Z",
                "expected_version": 0,
                "override": True,
            }
            assert await first_refusal(mnt, override) == "forbidden"
            assert await first_refusal(
                mnt, {**override, "request_id": "b2", "override": False}
            ) == (
                "bad_request"  # the end is too far away: a value, checked before the room
            )
            # reservations: the role before the reservation
            assert (
                await first_refusal(
                    hk, {"type": "reservation.cancel", "request_id": "c1", "reservation_id": 999999}
                )
                == "forbidden"
            )

    run(scenario)


def test_the_http_status_endpoint_answers_401_with_the_documented_error_object(
    demo_db: Path, clock: ManualClock
) -> None:
    def get(url: str, auth: str | None) -> tuple[int, Any, str]:
        req = urllib.request.Request(url)
        if auth is not None:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read()), resp.headers["Content-Type"]
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read()), exc.headers["Content-Type"]

    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            url = f"http://127.0.0.1:{srv.server.port}/api/rooms/status"
            expected = {
                "type": "error",
                "request_id": None,
                "code": "not_authenticated",
                "message": EXPLANATIONS[ErrorCode.NOT_AUTHENTICATED],
                "details": {},
            }
            for auth in (None, "Bearer ", "Bearer forged", "Basic bWFuYWdlcjpkZW1v"):
                status, body, kind = await asyncio.to_thread(get, url, auth)
                assert (status, body, kind) == (401, expected, "application/json"), auth

    run(scenario)
