"""Per-message compression (docs/protocol.md, *Transport*): negotiated with any client that
offers it, every message compressed on its own, large ones only, the same bytes for every
desk of a window size; the limits apply to what a message inflates to."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)
from websockets.frames import Frame, Opcode

from server import wire
from server.demo import DemoSpec
from shared import deflate, protocol
from shared.clock import ManualClock
from tests.server.live import ROOMS, overview, run
from tests.server.test_batching import collect, dirty_rooms, flatten
from tests.support import LiveServer, Peer, make_store, stalled_peer, unverified_tls


class Watched(Peer):
    """A peer whose connection offers compression; notes, for every data frame that came,
    whether it was compressed and its size on the wire."""

    seen: list[tuple[bool, int, bytes]]

    @classmethod
    async def offering(
        cls, url: str, login: str | None = None, factory: Any = None, **connect_args: Any
    ) -> Watched:
        tls = unverified_tls() if url.startswith("wss://") else None
        ws = await connect(
            url,
            ssl=tls,
            compression=None,
            extensions=[factory or ClientPerMessageDeflateFactory()],
            max_size=2**24,
            max_queue=None,
            **connect_args,
        )
        peer = cls(ws)
        peer.seen = []
        ext = peer.extension
        original = ext.decode

        def decode(frame: Frame, *, max_size: int | None = None) -> Frame:
            out = original(frame, max_size=max_size)
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                peer.seen.append((frame.rsv1, len(frame.data), bytes(out.data)))
            return out

        ext.decode = decode  # type: ignore[method-assign]
        peer.hello = await peer.recv()
        if login is not None:
            reply = await peer.request("auth.login", login=login, password="demo")
            assert reply["type"] == "ack", reply
            peer.login = reply["result"]
        return peer

    @property
    def extension(self) -> PerMessageDeflate:
        (ext,) = self.ws.protocol.extensions
        assert isinstance(ext, PerMessageDeflate)
        return ext

    def arrived(self, starts: bytes) -> list[tuple[bool, int, bytes]]:
        return [s for s in self.seen if s[2].startswith(starts)]


async def mark_dirty(peer: Peer, rooms: list[dict[str, Any]]) -> int:
    """The rooms marked dirty in one `rooms.batch` (one commit, one event each): its seq."""
    items = [
        {"room_number": r["room_number"], "action": "mark_dirty", "expected_version": r["version"]}
        for r in rooms
    ]
    done = await peer.request("rooms.batch", items=items)
    assert done["type"] == "ack", done
    return int(done["result"]["seq"])


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_large_messages_come_compressed_and_say_the_same(
    demo_db: Path, clock: ManualClock, scheme: str
) -> None:
    """A snapshot and a tick's batch come compressed to a desk that offered compression
    (with context takeover asked for: the server answers that neither side keeps one), hold
    exactly what an uncompressed desk gets, and the login's answer with its token comes as
    it is."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, insecure=scheme == "ws") as srv:
            zipped = await Watched.offering(srv.url, "manager")
            plain = await Peer.open(srv.url, "supervisor")
            ext = zipped.extension
            assert ext.local_no_context_takeover and ext.remote_no_context_takeover
            assert plain.ws.protocol.extensions == []
            ((was_compressed, _, login_text),) = zipped.arrived(b'{"type":"ack"')
            assert b'"token"' in login_text and not was_compressed
            ack = await zipped.request("subscribe", channels=[ROOMS], batch=True)
            assert ack["type"] == "ack", ack
            snap = await zipped.until(lambda f: f["type"] == "rooms.status")
            theirs = await overview(plain)
            assert snap == theirs  # the same snapshot, at the same seq
            ((compressed, size, text),) = zipped.arrived(b'{"type":"rooms.status"')
            assert compressed and size * 5 < len(text), (size, len(text))
            rooms = dirty_rooms(snap)[:6]
            sender = await Peer.open(srv.url, "supervisor")
            head = await mark_dirty(sender, rooms)
            got = await collect(zipped, head)
            assert flatten(got) == flatten(await collect(plain, head))
            assert [e["meta"]["seq"] for e in flatten(got)] == list(
                range(int(snap["seq"]) + 1, head + 1)
            )
            ((compressed, size, text),) = zipped.arrived(b'{"type":"events"')
            assert compressed and size * 5 < len(text), (size, len(text))
            for f in got:
                protocol.check_server_frame(f)
            # small messages go as they are: a ping's answer
            assert (await zipped.request("ping"))["type"] == "ack"
            assert not zipped.seen[-1][0]
            for p in (zipped, plain, sender):
                await p.close()

    run(scenario)


def test_each_window_size_gets_frames_it_can_read(
    demo_db: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A desk that asks for a small compression window (512 bytes) gets frames made for it;
    two with the full window, the same events, from the same tick. A frame compressed with
    the wrong window would fail to inflate and close the connection. The snapshot and the
    tick's batch are each compressed once per window size, not once per desk."""
    made: Counter[tuple[str, int]] = Counter()  # (the message's type, window bits)
    real = wire.deflate

    def counted(data: bytes, window_bits: int) -> bytes:
        made[json.loads(data)["type"], window_bits] += 1
        return real(data, window_bits)

    monkeypatch.setattr(wire, "deflate", counted)

    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            small = await Watched.offering(
                srv.url, "manager", ClientPerMessageDeflateFactory(server_max_window_bits=9)
            )
            full = await Watched.offering(srv.url, "supervisor")
            also = await Watched.offering(srv.url, "housekeeping")
            assert small.extension.remote_max_window_bits == 9
            assert full.extension.remote_max_window_bits == 15
            hub = srv.server.hub
            assert sorted(c.kind for c in hub.clients if c.kind is not None) == [9, 15, 15]
            for p in (small, full, also):
                assert (await p.request("subscribe", channels=[ROOMS], batch=True))["type"] == "ack"
            snaps = [
                await p.until(lambda f: f["type"] == "rooms.status") for p in (small, full, also)
            ]
            assert snaps[0] == snaps[1] == snaps[2]
            assert made == {("rooms.status", 9): 1, ("rooms.status", 15): 1}, made
            rooms = dirty_rooms(snaps[0])[:5]
            sender = await Peer.open(srv.url, "supervisor")
            head = await mark_dirty(sender, rooms)
            got = [flatten(await collect(p, head)) for p in (small, full, also)]
            assert got[0] == got[1] == got[2] and len(got[0]) == 5
            for p in (small, full, also):
                batches = p.arrived(b'{"type":"events"')
                assert batches and all(compressed for compressed, _, _ in batches)
            assert made[("events", 9)] == made[("events", 15)] == 1, made
            for p in (small, full, also, sender):
                await p.close()

    run(scenario)


def test_compressed_commands_are_read_and_limits_apply_to_what_they_inflate_to(
    demo_db: Path, clock: ManualClock
) -> None:
    """A client that compresses its own messages is understood; a compressed message that
    inflates past 64 KiB is answered `frame_too_large` and the connection stays; one that
    inflates past 1 MiB closes the connection (1009), and the server goes on."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Watched.offering(srv.url, "manager")
            assert (await desk.request("ping"))["type"] == "ack"  # sent compressed
            padding = "x" * 100_000  # deflates to almost nothing
            await desk.send({"type": "ping", "request_id": "big", "pad": padding})
            refused = await desk.until(lambda f: f["type"] == "error")
            assert refused["code"] == "frame_too_large", refused  # (its id is not read)
            assert (await desk.request("ping"))["type"] == "ack"  # still connected
            bomb = json.dumps({"type": "ping", "request_id": "bomb", "pad": "y" * 2_000_000})
            await desk.ws.send(bomb)
            with pytest.raises(ConnectionClosed) as closed:
                await desk.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            other = await Peer.open(srv.url, "supervisor")
            assert (await other.request("ping"))["type"] == "ack"
            await other.close()

    run(scenario)


def test_a_desk_that_goes_while_its_snapshot_waits_is_no_internal_error(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A large snapshot (500 rooms) to a desk that stops reading, then resets: the server
    lets the desk go quietly (no internal error) and serves the next one."""
    store = tmp_path / "big.db"
    make_store(store, clock, DemoSpec(floors=10, rooms_per_floor=50))

    async def scenario() -> None:
        async with LiveServer(store, clock) as srv:
            desk, theirs = await stalled_peer(srv, "manager")
            ws = desk.ws
            assert ws.transport is not None
            await desk.send({"type": "subscribe", "request_id": "s", "channels": [ROOMS]})
            for _ in range(100):  # bounded: until the server waits for this desk
                await asyncio.sleep(0.02)
                if theirs.pending is not None and theirs.ws.transport.get_write_buffer_size():
                    break
            else:
                raise AssertionError("the snapshot never waited for the desk")
            sock = ws.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            ws.transport.abort()  # a reset, as when a desk's Wi-Fi goes
            for _ in range(100):
                await asyncio.sleep(0.02)
                if not any(c.pending is not None for c in srv.server.hub.clients):
                    break
            other = await Peer.open(srv.url, "supervisor")
            assert (await overview(other))["rooms"]
            await other.close()

    with caplog.at_level(logging.INFO, logger="roomrack"):
        run(scenario)
    assert "internal error" not in caplog.text


def test_a_server_started_without_compression_declines_it(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, compression=False) as srv:
            ws = await connect(srv.url, max_size=2**24)  # offers deflate by default
            assert ws.protocol.extensions == []
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "hello"
            clients = srv.server.hub.clients
            assert clients and all(c.kind == wire.PLAIN for c in clients)
            await ws.close()

    run(scenario)


def test_a_shared_frame_is_made_once_per_kind_and_inflates_to_its_message() -> None:
    data = json.dumps(
        {"type": "events", "events": [{"n": i, "pad": "abc" * 50} for i in range(40)]}
    )
    shared = wire.Shared(data.encode())
    plain = shared.wire(wire.PLAIN)
    assert plain[0] == 0x81 and plain.endswith(data.encode())
    for bits in (9, 15):
        frame = shared.wire(bits)
        assert shared.wire(bits) is frame  # made once
        assert frame[0] == 0xC1  # FIN, RSV1 (compressed), text
        length = int.from_bytes(frame[2:4], "big") if frame[1] == 126 else frame[1]
        body = frame[4:] if frame[1] == 126 else frame[2:]
        assert len(body) == length < len(data) // 5
        inflated = zlib.decompressobj(-bits).decompress(body + b"\x00\x00\xff\xff")
        assert inflated == data.encode()
    small = wire.Shared(b'{"type":"ack","request_id":"r1","result":{}}')
    assert small.wire(15) == small.wire(wire.PLAIN)  # under COMPRESS_MIN: as it is
    assert len(small.data) < deflate.COMPRESS_MIN
