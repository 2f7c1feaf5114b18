"""The subscriber worker process: N connections subscribed to the overview channel, read with
a plain epoll loop that notes the arrival of every benchmark event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import socket
import time
from array import array
from multiprocessing.connection import Connection
from typing import Any

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension is missing
    from websockets.utils import apply_mask
from bench.machine import cpu_seconds
from bench.store import order_digest
from bench.tlspipe import TlsPipe
from bench.wsclient import BenchWS, inflate, masked_frame, one_frame, open_ws, upgrade_request

MARK = b'"request_id":"b'  # every benchmark command's request id is "b<index>"
MARK_LEN = len(MARK)


def subscriber_main(
    pipe: Connection,
    host: str,
    ports: list[int],
    token: str,
    channel: str,
    tls: bool = False,
    deflate: bool = False,
) -> None:
    """Process entry: open and subscribe a connection to each of `ports` (the server each
    one uses; asyncio; over TLS, blocking TLS sockets), then read them with a plain epoll
    loop, which costs a fraction of asyncio's per-read overhead. With `deflate` they offer
    compression, as the desktop does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    readers: list[FastReader] = []
    try:
        if tls:
            readers = _subscribe_all_tls(host, ports, token, channel, deflate)
        else:
            readers = asyncio.run(_subscribe_all(host, ports, token, channel, deflate))
        pipe.send({"ready": len(readers)})
        result = _measure(pipe, readers)
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        for r in readers:
            with contextlib.suppress(OSError):
                r.sock.close()
    with contextlib.suppress(OSError):
        pipe.send(result)


async def _pipe_recv(pipe: Connection, within: float) -> Any:
    def wait() -> Any:
        if not pipe.poll(within):
            raise TimeoutError("no word from the orchestrator")
        return pipe.recv()

    return await asyncio.to_thread(wait)


class Seen:
    """What a worker's readers received, in arrival order: the command index of each event,
    its arrival time and the reader it came in on."""

    def __init__(self) -> None:
        self.idx: array[int] = array("q")
        self.when: array[int] = array("q")
        self.who: array[int] = array("i")
        self.readers: list[FastReader] = []

    def orders(self) -> dict[str, int]:
        """How many readers got each sequence of events (by its `order_digest`): with
        nothing lost, doubled or reordered, every reader has the journal's."""
        each: list[array[int]] = [array("q") for _ in self.readers]
        for k, i in zip(self.who, self.idx, strict=True):
            each[k].append(i)
        out: dict[str, int] = {}
        for got in each:
            d = order_digest(got)
            out[d] = out.get(d, 0) + 1
        return out


class FastReader:
    """Reads one subscribed connection outside asyncio: finds the benchmark request id in
    each text frame and notes (index, arrival time, which reader) in the worker's arrays;
    answers pings."""

    def __init__(self, sock: socket.socket, leftover: bytes, seen: Seen):
        self.sock = sock
        self.buf = bytearray(leftover)
        self.seen = seen
        self.idx, self.when, self.who = seen.idx, seen.when, seen.who
        self.k = len(seen.readers)
        seen.readers.append(self)
        self.closed = False

    def feed(self, data: bytes, now: int) -> None:
        buf = self.buf
        if buf:
            buf += data
        else:
            buf = bytearray(data)
        pos, n = 0, len(buf)
        while n - pos >= 2:
            b0 = buf[pos]
            ln = buf[pos + 1] & 0x7F
            start = pos + 2
            if ln == 126:
                if n - pos < 4:
                    break
                ln = (buf[pos + 2] << 8) | buf[pos + 3]
                start = pos + 4
            elif ln == 127:
                if n - pos < 10:
                    break
                ln = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + ln
            if end > n:
                break
            op = b0 & 0x0F
            if op == 1:
                # an event, or a batch of them (Roomrack's `events` frame): each one's id
                text: bytes | bytearray = buf
                a, z = start, end
                if b0 & 0x40:  # compressed
                    text = inflate(bytes(buf[start:end]))
                    a, z = 0, len(text)
                i = text.find(MARK, a, z)
                while i >= 0:
                    j = text.find(b'"', i + MARK_LEN, z)
                    self.idx.append(int(text[i + MARK_LEN : j]))
                    self.when.append(now)
                    self.who.append(self.k)
                    i = text.find(MARK, j, z)
            elif op == 9:  # ping: answer with a masked pong
                payload = bytes(buf[start:end])
                mask = os.urandom(4)
                with contextlib.suppress(OSError):
                    self.sock.send(
                        bytes((0x8A, 0x80 | len(payload))) + mask + apply_mask(payload, mask)
                    )
            elif op == 8:
                self.closed = True
            pos = end
        self.buf = buf[pos:] if pos < n else bytearray()


def _subscribe(channel: str, batch: bool) -> dict[str, Any]:
    """The overview subscription; with `batch`, events that go out together come in one
    frame (docs/protocol.md, *Batched events*; the bare baseline ignores the flag)."""
    frame: dict[str, Any] = {"type": "subscribe", "request_id": "s", "channels": [channel]}
    if batch:
        frame["batch"] = True
    return frame


async def _subscribe_all(
    host: str, ports: list[int], token: str, channel: str, deflate: bool
) -> list[FastReader]:
    conns: list[BenchWS] = []
    gate = asyncio.Semaphore(32)

    async def one(port: int) -> None:
        async with gate:
            ws = await open_ws(host, port, lambda: BenchWS(), 60, deflate=deflate)
            conns.append(ws)
            await ws.request({"type": "auth.token", "request_id": "t", "token": token}, 60)
            try:
                await ws.request(_subscribe(channel, batch=True), 300)
            except RuntimeError:  # a release from before batched events: one by one
                await ws.request(_subscribe(channel, batch=False), 300)
            snap = await ws.recv(300)
            if snap.get("type") != "rooms.status":
                raise RuntimeError(f"expected the overview snapshot, got {snap.get('type')}")

    seen = Seen()
    try:
        await asyncio.gather(*(one(port) for port in ports))
        readers = []
        for ws in conns:
            # take the socket over: a duplicate descriptor keeps the connection open
            assert ws.transport is not None
            if ws.closed or ws.transport.is_closing():
                raise RuntimeError("the server closed a subscriber while subscribing")
            ws.transport.pause_reading()
            fd = ws.transport.get_extra_info("socket").fileno()
            sock = socket.socket(fileno=os.dup(fd))
            sock.setblocking(False)
            readers.append(FastReader(sock, bytes(ws.buf), seen))
        return readers
    finally:
        for ws in conns:
            if ws.transport is not None:
                ws.transport.abort()
        await asyncio.sleep(0)


def _subscribe_all_tls(
    host: str, ports: list[int], token: str, channel: str, deflate: bool
) -> list[FastReader]:
    """TLS subscribers on blocking sockets (asyncio's TLS state cannot be taken over by the
    epoll loop): each one upgrades, logs in with the token and subscribes, in turn."""
    seen = Seen()
    return [_tls_subscriber(host, port, token, channel, seen, deflate) for port in ports]


def _tls_subscriber(
    host: str, port: int, token: str, channel: str, seen: Seen, deflate: bool
) -> FastReader:
    sock = TlsPipe(host, port)
    sock.sendall(upgrade_request(host, port, deflate))
    buf = bytearray()
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        buf += chunk
    end = buf.find(b"\r\n\r\n")
    if b" 101 " not in bytes(buf[: buf.find(b"\r\n")]):
        raise ConnectionError(bytes(buf[:end]).decode(errors="replace"))
    del buf[: end + 4]

    def message() -> dict[str, Any]:
        while True:
            parsed = one_frame(buf)
            if parsed is None:
                chunk = sock.recv(262144)
                if not chunk:
                    raise ConnectionError("the server closed a subscriber while subscribing")
                buf.extend(chunk)
                continue
            op, payload, used = parsed
            del buf[:used]
            if op == 9:
                sock.sendall(masked_frame(10, payload))
            elif op == 8:
                raise ConnectionError("the server closed a subscriber while subscribing")
            elif op == 1 and not payload.startswith(b'{"type":"presence"'):
                msg: dict[str, Any] = json.loads(payload)
                return msg

    def send(obj: dict[str, Any]) -> None:
        sock.sendall(masked_frame(1, json.dumps(obj, separators=(",", ":")).encode()))

    if message().get("type") != "hello":
        raise RuntimeError("expected hello")
    send({"type": "auth.token", "request_id": "t", "token": token})
    while message().get("request_id") != "t":
        pass
    send(_subscribe(channel, batch=True))
    acked = snapshot = False
    while not (acked and snapshot):
        msg = message()
        if msg.get("request_id") == "s" and msg.get("type") == "error":
            send(_subscribe(channel, batch=False))  # a release from before batched events
            continue
        acked = acked or msg.get("request_id") == "s"
        snapshot = snapshot or msg.get("type") == "rooms.status"
    sock.setblocking(False)
    return FastReader(sock, bytes(buf), seen)  # type: ignore[arg-type]


def _measure(pipe: Connection, readers: list[FastReader]) -> dict[str, Any]:
    seen = readers[0].seen if readers else Seen()
    idx, when = seen.idx, seen.when
    ep = select.epoll()
    by_fd = {r.sock.fileno(): r for r in readers}
    for fd in by_fd:
        ep.register(fd, select.EPOLLIN)
    pfd = pipe.fileno()
    ep.register(pfd, select.EPOLLIN)
    finish: tuple[Any, ...] | None = None
    give_up = time.monotonic() + 900
    want = 0
    last, last_change = -1, time.monotonic()
    try:
        while time.monotonic() < give_up:
            ready = ep.poll(0.05)
            now = time.monotonic_ns()
            for fd, _ in ready:
                if fd == pfd:
                    finish = pipe.recv()
                    if finish[0] != "finish":
                        return {"error": "stopped"}
                    want = int(finish[2]) * len(readers)
                    give_up = time.monotonic() + float(finish[3])
                    ep.unregister(pfd)
                    continue
                r = by_fd[fd]
                try:
                    data = r.sock.recv(262144)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    r.closed = True
                    ep.unregister(fd)
                    continue
                r.feed(data, now)
            if finish is not None:
                # drain: every acknowledged event everywhere, or nothing new for 5 s
                got = len(idx)
                if got >= want:
                    break
                if got != last:
                    last, last_change = got, time.monotonic()
                elif time.monotonic() - last_change > 5:
                    break
    finally:
        ep.close()
    if finish is None:
        return {"error": "no word from the orchestrator"}
    pipe.send({"drained": cpu_seconds(os.getpid())})
    sent: array[int] = array("q")
    sent.frombytes(finish[1])
    lat: array[int] = array("q")
    stray = 0
    nsent = len(sent)
    for i, t in zip(idx, when, strict=True):
        s = sent[i] if 0 <= i < nsent else -1
        if s < 0:
            stray += 1
        else:
            lat.append(t - s)
    return {
        "received": len(lat),
        "stray": stray,
        "latencies": lat.tobytes(),
        "last_ns": max(when) if when else 0,
        "closed": sum(1 for r in readers if r.closed),
        "conns": len(readers),
        "orders": seen.orders(),
    }
