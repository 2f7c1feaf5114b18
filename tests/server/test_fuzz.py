"""Thousands of broken frames against a real server: each is answered with the documented
code (or close code), the connection stays usable where the document says it does, and at
the end the server is alive and not one room or journal entry has changed.

Seeded and bounded: the same frames every run, sent one at a time (no timing)."""

from __future__ import annotations

import json
import random
import types
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest
from websockets.exceptions import ConnectionClosed

from shared import protocol
from shared.clock import ManualClock
from shared.errors import ErrorCode
from tests.server.live import overview, run
from tests.support import SLUG, LiveServer, Peer

SEED = 20261203
FRAMES = 2400
LIMIT = protocol.MAX_FRAME_BYTES
CODES = {c.value for c in ErrorCode} - {ErrorCode.INTERNAL_ERROR.value}


class Case:
    """One frame and what the document says about its answer."""

    def __init__(self, frame: str | bytes, code: str | set[str], rid: str | None, why: str) -> None:
        self.frame, self.rid, self.why = frame, rid, why
        self.codes = {code} if isinstance(code, str) else code


def hints(cls: type[protocol.Command]) -> dict[str, Any]:
    return get_type_hints(cls)


def required(cls: type[protocol.Command]) -> list[str]:
    from dataclasses import MISSING

    return [
        f.name
        for f in fields(cls)
        if f.default is MISSING and f.default_factory is MISSING and f.name != "request_id"
    ]


def optional(hint: Any) -> tuple[bool, Any]:
    if get_origin(hint) in (Union, types.UnionType):
        inner = [a for a in get_args(hint) if a is not type(None)]
        return type(None) in get_args(hint), inner[0]
    return False, hint


def good_value(hint: Any) -> Any:
    """A value of the right type (not necessarily a meaningful one)."""
    _, hint = optional(hint)
    if hint is bool:
        return False
    if hint is int:
        return 1
    if hint is str:
        return "ZZ9"
    if get_origin(hint) is list:
        return []
    return {}


def wrong_values(hint: Any, rnd: random.Random) -> list[Any]:
    """Values of the wrong type for a field: null, bool, float and text where a number is
    expected, and so on; too long, too big and too many as well."""
    nullable, hint = optional(hint)
    null = [] if nullable else [None]
    if hint is bool:
        return [*null, 0, 1, "true", 1.0, [], {}]
    if hint is int:
        return [*null, True, False, 1.5, 1e3, "1", [1], {"n": 1}, 2**60, -(2**60), float("1e308")]
    if hint is str:
        return [
            *null,
            1,
            True,
            2.5,
            ["x"],
            {"x": 1},
            "x" * (protocol.MAX_TEXT + rnd.randint(1, 500)),
        ]
    if get_origin(hint) is list:
        (item,) = get_args(hint)
        bad_items = [v for v in wrong_values(item, rnd) if v is not None] or [1]
        return [*null, "x", 1, {}, [rnd.choice(bad_items)], [good_value(item)] * 201]
    return [*null, [], "x", 1, True]  # an object is expected


def good_rid(rnd: random.Random) -> str:
    chars = "abcXYZ019_.:-"
    return "".join(rnd.choice(chars) for _ in range(rnd.randint(1, 40)))


BAD_RIDS = ["id\n", "", " id", "x" * 101, "ïd", "a/b", "a b"]


def shaped(cls: type[protocol.Command], rnd: random.Random, rid: Any) -> dict[str, Any]:
    """A frame of `cls` with every required field of the right type."""
    h = hints(cls)
    body: dict[str, Any] = {"type": cls.type, "request_id": rid}
    for name in required(cls):
        body[name] = good_value(h[name])
    for f in fields(cls):  # some optional ones too
        if f.name not in body and rnd.random() < 0.3:
            body[f.name] = good_value(h[f.name])
    return body


def dump(obj: Any, rnd: random.Random) -> str | bytes:
    text = json.dumps(obj)
    return text.encode() if rnd.random() < 0.2 else text  # binary frames are read as JSON


def broken_shapes(rnd: random.Random) -> Iterator[Case]:
    """Known types with one thing wrong: a missing, unknown or mistyped field, a bad id."""
    commands = sorted(protocol.COMMANDS.values(), key=lambda c: c.type)
    while True:
        cls = rnd.choice(commands)
        rid = good_rid(rnd)
        body = shaped(cls, rnd, rid)
        h = hints(cls)
        defect = rnd.choice(["missing", "unknown", "type", "type", "rid"])
        if defect == "missing" and required(cls):
            del body[rnd.choice(required(cls))]
        elif defect == "type" and len(body) > 2:
            name = rnd.choice([k for k in body if k not in ("type", "request_id")])
            body[name] = rnd.choice(wrong_values(h[name], rnd))
        elif defect == "rid":
            body["request_id"] = rnd.choice([*BAD_RIDS, None, 7, True, 1.5, [], {}])
            rid = None
        else:
            body[rnd.choice(["extra", "Type", "requestId", "room", "x" * 30])] = rnd.choice(
                [1, None, "x", [], {}]
            )
        frame = dump(body, rnd)
        # an id is read back when the frame is a readable object and the id is well formed
        yield Case(frame, "bad_request", rid, f"{cls.type}: {defect}")


def unreadable(rnd: random.Random) -> Iterator[Case]:
    """Frames that are not a request at all."""
    while True:
        pick = rnd.randrange(9)
        frame: str | bytes
        code = "bad_request"
        rid = None
        if pick == 0:  # random bytes (rarely valid UTF-8 JSON)
            frame = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 200)))
            frame = b"\xff" + frame
        elif pick == 1:  # invalid UTF-8 around valid JSON
            frame = b'{"type": "ping", "request_id": "u\xc3\x28"}'
        elif pick == 2:  # truncated JSON
            whole = json.dumps({"type": "ping", "request_id": good_rid(rnd)})
            frame = whole[: rnd.randint(1, len(whole) - 1)]
        elif pick == 3:  # JSON that is not an object
            frame = json.dumps(
                rnd.choice([[], [1, 2], 1, 1.5, "ping", None, True, [{"type": "ping"}]])
            )
        elif pick == 4:  # an object without a text type
            rid = good_rid(rnd)
            frame = json.dumps({"request_id": rid, "type": rnd.choice([None, 1, True, [], {}])})
            if rnd.random() < 0.3:
                frame = json.dumps({"request_id": rid})
        elif pick == 5:  # unknown types
            rid = good_rid(rnd)
            kind = rnd.choice(
                ["teleport", "room.fly", "", "PING", "ping ", "rooms.status\n", "x" * 500]
            )
            frame, code = json.dumps({"type": kind, "request_id": rid}), "unknown_type"
        elif pick == 6:  # deep values: the JSON reader gives up, the server does not
            opener, closer = rnd.choice([("[", "]"), ('{"a":', "}")])
            depth = rnd.randint(2_000, (LIMIT - 100) // len(opener + closer))
            frame = (
                '{"type": "ping", "request_id": "deep", "x": '
                + opener * depth
                + "1"
                + closer * depth
                + "}"
            )
        elif pick == 7:  # huge but readable: a long text in a field
            rid = good_rid(rnd)
            frame = json.dumps(
                {
                    "type": "room.history",
                    "request_id": rid,
                    "room_number": "y" * rnd.randint(3000, 60_000),
                }
            )
        else:  # JSON with odd tokens
            frame = rnd.choice(
                ['{"type": NaN}', "{'type': 'ping'}", '{"type": "ping",}', "\x00", "   "]
            )
        yield Case(frame, code, rid, f"unreadable #{pick}")


def refused_by_meaning(rnd: random.Random) -> Iterator[Case]:
    """Well-formed requests a housekeeper's connection must be refused (so nothing moves):
    another role's commands, unknown rooms and reservations, old versions."""
    while True:
        rid = good_rid(rnd)
        pick = rnd.randrange(6)
        body: dict[str, Any]
        if pick == 0:
            body = {
                "type": "block.create",
                "room_number": "101",
                "kind": "out_of_order",
                "reason": "x",
                "end": "2026-01-16T00:00:00Z",
                "expected_version": 1,
                "override": rnd.random() < 0.5,
            }
            codes: set[str] = {"forbidden"}
        elif pick == 1:
            body = {
                "type": rnd.choice(["reservation.cancel", "reservation.delete"]),
                "reservation_id": rnd.randint(-5, 10**6),
            }
            codes = {"forbidden"}
        elif pick == 2:
            body = {
                "type": "room.action",
                "room_number": rnd.choice(["ZZ9", "0", "nope-1"]),
                "action": rnd.choice(["start_cleaning", "set_dnd", "set_out_of_order"]),
                "expected_version": rnd.randint(-3, 3),
            }
            codes = {"unknown_room", "forbidden"}
        elif pick == 3:
            body = {
                "type": "room.action",
                "room_number": "101",
                "action": "start_cleaning",
                "expected_version": rnd.choice([-1, 0, 10**9]),
            }
            codes = {"stale_version"}
        elif pick == 4:
            body = {
                "type": "rooms.batch",
                "items": [
                    {"room_number": "101", "action": "set_dnd", "expected_version": -1},
                    {"room_number": "102", "action": "fly", "expected_version": 1},
                ],
            }
            codes = {"bad_request", "stale_version"}
        else:
            body = {
                "type": "subscribe",
                "channels": [rnd.choice(["other.rooms", f"{SLUG}.rooms.ZZ9", "x"])],
            }
            codes = {"unknown_channel", "unknown_room"}
        body["request_id"] = rid
        yield Case(dump(body, rnd), codes, rid, f"meaning #{pick}")


def before_login(rnd: random.Random) -> Iterator[Case]:
    """Well-formed requests on a connection that has not logged in."""
    commands = sorted(
        (c for c in protocol.COMMANDS.values() if c.type not in protocol.AUTH_COMMANDS),
        key=lambda c: c.type,
    )
    while True:
        rid = good_rid(rnd)
        body = shaped(rnd.choice(commands), rnd, rid)
        yield Case(dump(body, rnd), "not_authenticated", rid, f"anonymous {body['type']}")


def too_large(rnd: random.Random) -> Iterator[Case]:
    while True:
        size = rnd.randint(LIMIT + 1, 4 * LIMIT)
        pad = "z" * size
        frame = json.dumps({"type": "ping", "request_id": "big", "pad": pad})
        yield Case(
            frame.encode() if rnd.random() < 0.3 else frame, "frame_too_large", None, "large"
        )


async def answer(peer: Peer, case: Case) -> None:
    await peer.send(case.frame)
    reply = await peer.until(lambda f: f.get("type") in ("ack", "error"))
    assert reply["type"] == "error", (case.why, reply)
    assert reply["code"] in case.codes and reply["code"] in CODES, (case.why, reply)
    assert reply["request_id"] == case.rid, (case.why, reply)
    assert reply["message"] and protocol.check_server_frame(reply) == "error"
    peer.skipped.clear()


async def board(peer: Peer) -> tuple[int, list[dict[str, Any]]]:
    listed = await peer.request("rooms.status")
    at = await peer.request("board.at", at="2026-01-15T09:00:00Z")
    return listed["result"]["seq"], at["result"]["rooms"]


def test_thousands_of_broken_frames_change_nothing_and_break_nothing(
    demo_db: Path, clock: ManualClock
) -> None:
    rnd = random.Random(SEED)
    mixes: list[tuple[float, Callable[[random.Random], Iterator[Case]], str]] = [
        (0.45, broken_shapes, "hk"),
        (0.25, unreadable, "hk"),
        (0.12, refused_by_meaning, "hk"),
        (0.15, before_login, "anon"),
        (0.03, too_large, "hk"),
    ]
    streams = {gen.__name__: gen(random.Random(SEED + i)) for i, (_, gen, _) in enumerate(mixes)}

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, rate_per_second=0) as srv:
            watcher = await Peer.open(srv.url, "manager")
            snap = await overview(watcher)
            before = await board(watcher)
            hk = await Peer.open(srv.url, "housekeeping")
            anon = await Peer.open(srv.url)
            sent = 0
            for n in range(FRAMES):
                _, gen, who = rnd.choices(mixes, weights=[w for w, _, _ in mixes])[0]
                case = next(streams[gen.__name__])
                await answer(hk if who == "hk" else anon, case)
                sent += 1
                if n % 200 == 0:  # still usable after all that
                    assert (await hk.request("ping"))["type"] == "ack"
                    assert (await anon.request("ping"))["type"] == "ack"
            assert sent >= 2000
            # over 1 MiB: that connection is closed (1009), the others go on
            for _ in range(2):
                victim = await Peer.open(srv.url, "housekeeping")
                await victim.send("q" * (srv.server.config.hard_max_frame + rnd.randint(1, 999)))
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await victim.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            assert (await hk.request("ping"))["type"] == "ack"
            assert (await anon.request("ping"))["type"] == "ack"
            # alive, and nothing moved: not a room, not a journal entry, no event sent
            assert await board(watcher) == before
            assert before[0] == snap["seq"]
            assert not [f for f in watcher.skipped if "meta" in f]
            fresh = await Peer.open(srv.url, "frontdesk")
            assert (await fresh.request("ping"))["type"] == "ack"

    run(scenario)
