"""Realtime fan-out benchmark: Roomrack against a bare websockets + SQLite baseline.

For every target (the bare baseline of bench/baseline_server.py, then Roomrack), every number
of subscribers N and every mode, one run:

1. starts the server as a subprocess on 127.0.0.1 (a free port, a fresh store);
2. connects N subscribers to the hotel's overview channel from K worker processes
   (each holds about N/K connections on one asyncio loop);
3. a commander process pushes room commands through the server, as the manager:
   paced (`--rate` per second for `--duration` seconds) or burst (as many as `--inflight`
   commands in flight allow, for `--duration` seconds);
4. every subscriber notes the arrival of every event; the event is matched to its command by
   the request id the server echoes in it, and the latency is arrival minus the moment the
   commander wrote the command to its socket (CLOCK_MONOTONIC, shared by every process of
   the machine);
5. prints delivered events per second, latency (p50, p99, max), events lost, the server's
   CPU and peak memory, and the load generator's CPU.

The subscribers connect and subscribe on asyncio, then read their sockets with a plain epoll
loop and a minimal frame parser (no per-frame JSON parse, no per-frame callback chain), so
that the load generator costs as little as a Python process can. Before each run the script
waits for the machine to be idle; a run during which other programs used more than a quarter
of a CPU is done once more; with --repeat the median run is reported.

    python -m bench.realtime --repeat 3           # the full run (about 20 minutes)
    python -m bench.realtime --quick              # a smoke run
    python -m bench.realtime --n 200 --modes burst --targets roomrack --markdown
    python -m bench.realtime --n 200 --targets roomrack,roomrack-tls --repeat 3 --markdown
                                                  # what TLS costs (plain ws against wss)

Targets: `baseline`, `roomrack` (plain ws, `serve --insecure`) and `roomrack-tls` (wss with
the server's own certificate, as it runs by default). With both Roomrack targets the report
adds a table of TLS against plain.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import json
import math
import multiprocessing as mp
import os
import platform
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension is missing
    from websockets.utils import apply_mask

HOST = "127.0.0.1"
MARK = b'"request_id":"b'  # every benchmark command's request id is "b<index>"
MARK_LEN = len(MARK)
TARGETS = ("baseline", "roomrack", "roomrack-tls")
MODES = ("paced", "burst")
MAX_BURST_COMMANDS = 200_000
ROOT = Path(__file__).resolve().parent.parent


# --- a minimal WebSocket client ------------------------------------------------------------


def client_tls() -> ssl.SSLContext:
    """TLS as the desktop does it: no certificate authority (the desktop checks a pin)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def masked_frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    return head + mask + apply_mask(payload, mask)


def upgrade_request(host: str, port: int) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\nUser-Agent: roomrack-bench\r\n\r\n"
    ).encode()


def one_frame(buf: bytearray) -> tuple[int, bytes, int] | None:
    """The first whole frame in `buf`: (opcode, payload, bytes used), or None."""
    n = len(buf)
    if n < 2:
        return None
    ln, start = buf[1] & 0x7F, 2
    if ln == 126:
        if n < 4:
            return None
        ln, start = (buf[2] << 8) | buf[3], 4
    elif ln == 127:
        if n < 10:
            return None
        ln, start = int.from_bytes(buf[2:10], "big"), 10
    if start + ln > n:
        return None
    return buf[0] & 0x0F, bytes(buf[start : start + ln]), start + ln


class BenchWS(asyncio.Protocol):
    """One client connection on asyncio, for logging in, subscribing and commanding: every
    text frame is decoded and handed to a queue (or to `on_message`)."""

    def __init__(self, on_message: Callable[[dict[str, Any]], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.handshaken = False
        self.opened: asyncio.Future[None] = loop.create_future()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.on_message = on_message
        self.closed = False
        self._frag: bytearray | None = None

    # transport callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("connection lost during the handshake"))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.handshaken:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self.handshaken = True
            self.opened.set_result(None)
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
            if op == 1 and b0 & 0x80 and self._frag is None:
                self._message(bytes(buf[start:end]))
            elif op in (0, 1, 2):  # a fragmented message (not sent by either server)
                if self._frag is None:
                    self._frag = bytearray()
                self._frag += buf[start:end]
                if b0 & 0x80:
                    whole = bytes(self._frag)
                    self._frag = None
                    self._message(whole)
            elif op == 9:  # ping
                self.send_frame(10, bytes(buf[start:end]))
            elif op == 8:  # close
                self.closed = True
                if self.transport is not None:
                    self.transport.close()
            pos = end
        if pos:
            del buf[:pos]

    def _message(self, data: bytes) -> None:
        if data.startswith(b'{"type":"presence"'):
            return  # who is online: not needed here, and large with many connections
        msg = json.loads(data)
        if self.on_message is not None:
            self.on_message(msg)
            return
        self.queue.put_nowait(msg)

    # sending

    def handshake(self, host: str, port: int) -> None:
        assert self.transport is not None
        self.transport.write(upgrade_request(host, port))

    def send_frame(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(masked_frame(opcode, payload))

    def send_json(self, obj: dict[str, Any]) -> None:
        self.send_frame(1, json.dumps(obj, separators=(",", ":")).encode())

    async def recv(self, within: float) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue.get(), within)

    async def request(self, obj: dict[str, Any], within: float) -> dict[str, Any]:
        self.send_json(obj)
        while True:
            msg = await self.recv(within)
            if msg.get("request_id") == obj["request_id"]:
                if msg.get("type") != "ack":
                    raise RuntimeError(f"{obj['type']} refused: {msg}")
                return msg

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.send_frame(8, (1000).to_bytes(2, "big"))
            self.transport.close()


async def open_ws(
    host: str, port: int, proto: Callable[[], BenchWS], within: float, tls: bool = False
) -> BenchWS:
    loop = asyncio.get_running_loop()
    connecting = loop.create_connection(
        proto, host, port, ssl=client_tls() if tls else None, server_hostname=host if tls else None
    )
    _, ws = await asyncio.wait_for(connecting, within)
    ws.handshake(host, port)
    await asyncio.wait_for(ws.opened, within)
    hello = await ws.recv(within)
    if hello.get("type") != "hello":
        raise RuntimeError(f"expected hello, got {hello}")
    return ws


# --- subscriber worker process ---------------------------------------------------------------


def subscriber_main(
    pipe: Connection,
    host: str,
    port: int,
    token: str,
    channel: str,
    nconns: int,
    tls: bool = False,
) -> None:
    """Process entry: open and subscribe `nconns` connections (asyncio; over TLS, blocking
    TLS sockets), then read them with a plain epoll loop, which costs a fraction of asyncio's
    per-read overhead."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    readers: list[FastReader] = []
    try:
        if tls:
            readers = _subscribe_all_tls(host, port, token, channel, nconns)
        else:
            readers = asyncio.run(_subscribe_all(host, port, token, channel, nconns))
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


class FastReader:
    """Reads one subscribed connection outside asyncio: finds the benchmark request id in
    each text frame and notes (index, arrival time); answers pings."""

    def __init__(self, sock: socket.socket, leftover: bytes, idx: array[int], when: array[int]):
        self.sock = sock
        self.buf = bytearray(leftover)
        self.idx, self.when = idx, when
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
                i = buf.find(MARK, start, end)
                if i >= 0:
                    j = buf.find(b'"', i + MARK_LEN, end)
                    self.idx.append(int(buf[i + MARK_LEN : j]))
                    self.when.append(now)
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


async def _subscribe_all(
    host: str, port: int, token: str, channel: str, nconns: int
) -> list[FastReader]:
    conns: list[BenchWS] = []
    gate = asyncio.Semaphore(32)

    async def one() -> None:
        async with gate:
            ws = await open_ws(host, port, lambda: BenchWS(), 60)
            conns.append(ws)
            await ws.request({"type": "auth.token", "request_id": "t", "token": token}, 60)
            await ws.request({"type": "subscribe", "request_id": "s", "channels": [channel]}, 300)
            snap = await ws.recv(300)
            if snap.get("type") != "rooms.status":
                raise RuntimeError(f"expected the overview snapshot, got {snap.get('type')}")

    idx: array[int] = array("q")
    when: array[int] = array("q")
    try:
        await asyncio.gather(*(one() for _ in range(nconns)))
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
            readers.append(FastReader(sock, bytes(ws.buf), idx, when))
        return readers
    finally:
        for ws in conns:
            if ws.transport is not None:
                ws.transport.abort()
        await asyncio.sleep(0)


def _subscribe_all_tls(
    host: str, port: int, token: str, channel: str, nconns: int
) -> list[FastReader]:
    """TLS subscribers on blocking sockets (asyncio's TLS state cannot be taken over by the
    epoll loop): each one upgrades, logs in with the token and subscribes, in turn."""
    idx: array[int] = array("q")
    when: array[int] = array("q")
    return [_tls_subscriber(host, port, token, channel, idx, when) for _ in range(nconns)]


class TlsPipe:
    """A TLS connection on a plain socket through memory BIOs: one `recv` system call takes
    in as many TLS records as the kernel holds, decrypted without more system calls (an
    SSLSocket reads one record per call: a wake-up and two reads per event)."""

    def __init__(self, host: str, port: int) -> None:
        self.raw = socket.create_connection((host, port), 60)
        self.raw.settimeout(300)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = client_tls().wrap_bio(self.inc, self.out, server_hostname=host)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._take(self.raw.recv(65536))
        self._flush()

    def fileno(self) -> int:
        return self.raw.fileno()

    def setblocking(self, flag: bool) -> None:
        self.raw.setblocking(flag)

    def _flush(self) -> None:
        data = self.out.read()
        if data:
            self.raw.sendall(data)

    def _take(self, chunk: bytes) -> None:
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.inc.write(chunk)

    def sendall(self, data: bytes) -> None:
        self.obj.write(data)
        self._flush()

    send = sendall

    def _plain(self) -> bytes:
        parts = []
        while True:
            try:
                parts.append(self.obj.read(262144))
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                return b"".join(parts)

    def recv(self, size: int) -> bytes:
        """Plaintext: b"" at the end of the connection; BlockingIOError (non-blocking) or a
        wait (blocking) while only part of a record has come."""
        while True:
            data = self._plain()
            if data:
                return data
            chunk = self.raw.recv(size)
            if not chunk:
                return b""
            self.inc.write(chunk)

    def close(self) -> None:
        self.raw.close()


def _tls_subscriber(
    host: str, port: int, token: str, channel: str, idx: array[int], when: array[int]
) -> FastReader:
    sock = TlsPipe(host, port)
    sock.sendall(upgrade_request(host, port))
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
    send({"type": "subscribe", "request_id": "s", "channels": [channel]})
    acked = snapshot = False
    while not (acked and snapshot):
        msg = message()
        acked = acked or msg.get("request_id") == "s"
        snapshot = snapshot or msg.get("type") == "rooms.status"
    sock.setblocking(False)
    return FastReader(sock, bytes(buf), idx, when)  # type: ignore[arg-type]


def _measure(pipe: Connection, readers: list[FastReader]) -> dict[str, Any]:
    idx, when = (readers[0].idx, readers[0].when) if readers else (array("q"), array("q"))
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
    }


# --- commander process -----------------------------------------------------------------------


@dataclass
class Plan:
    mode: str
    rate: float
    duration: float
    inflight: int
    conns: int
    max_commands: int


def commander_main(
    pipe: Connection,
    host: str,
    port: int,
    token: str,
    channel: str,
    plan: Plan,
    tls: bool = False,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result = asyncio.run(Commander(pipe, host, port, token, channel, plan, tls).run())
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    with contextlib.suppress(OSError):
        pipe.send(result)


class Commander:
    """Sends room commands (do-not-disturb on/off, which a manager may toggle on any room)
    with the version it last saw; a room has at most one command in flight."""

    def __init__(
        self,
        pipe: Connection,
        host: str,
        port: int,
        token: str,
        channel: str,
        plan: Plan,
        tls: bool = False,
    ) -> None:
        self.pipe, self.host, self.port, self.tls = pipe, host, port, tls
        self.token, self.channel, self.plan = token, channel, plan
        self.sent: array[int] = array("q", [-1]) * plan.max_commands
        self.rooms: dict[str, list[Any]] = {}  # number -> [version, dnd]
        self.free: asyncio.Queue[str] = asyncio.Queue()
        self.waiting: dict[int, tuple[str, asyncio.Future[None] | None]] = {}
        self.ack_lat: array[int] = array("q")
        self.acked = self.errors = self.n_sent = 0
        self.error_codes: dict[str, int] = {}
        self.conns: list[BenchWS] = []
        self.idle = asyncio.Event()
        self.idle.set()

    def on_reply(self, msg: dict[str, Any]) -> None:
        now = time.monotonic_ns()
        rid = msg.get("request_id")
        if not isinstance(rid, str) or not rid.startswith("b"):
            return
        i = int(rid[1:])
        entry = self.waiting.pop(i, None)
        if entry is None:
            return
        room, fut = entry
        if msg.get("type") == "ack":
            self.acked += 1
            self.ack_lat.append(now - self.sent[i])
            state = self.rooms[room]
            state[0] = msg["result"].get("version", state[0] + 1)
            state[1] = not state[1]
            self.free.put_nowait(room)
        else:
            self.errors += 1
            self.sent[i] = -1  # no event is expected for it
            code = str(msg.get("code"))
            self.error_codes[code] = self.error_codes.get(code, 0) + 1
            # the room's state is no longer known for sure: leave it out
        if fut is not None and not fut.done():
            fut.set_result(None)
        if not self.waiting:
            self.idle.set()

    def send(self, i: int, room: str, fut: asyncio.Future[None] | None) -> None:
        version, dnd = self.rooms[room]
        cmd = {
            "type": "room.action",
            "request_id": f"b{i}",
            "room_number": room,
            "action": "clear_dnd" if dnd else "set_dnd",
            "expected_version": version,
        }
        data = json.dumps(cmd, separators=(",", ":")).encode()
        self.waiting[i] = (room, fut)
        self.idle.clear()
        self.n_sent += 1
        self.sent[i] = time.monotonic_ns()
        self.conns[i % len(self.conns)].send_frame(1, data)

    async def run(self) -> dict[str, Any]:
        plan = self.plan
        try:
            for _ in range(plan.conns):
                ws = await open_ws(self.host, self.port, lambda: BenchWS(), 60, self.tls)
                self.conns.append(ws)
                await ws.request({"type": "auth.token", "request_id": "t", "token": self.token}, 60)
            first = self.conns[0]
            await first.request(
                {"type": "subscribe", "request_id": "s", "channels": [self.channel]}, 300
            )
            snap = await first.recv(300)
            await first.request(
                {"type": "unsubscribe", "request_id": "u", "channels": [self.channel]}, 60
            )
            for r in snap.get("rooms", []):
                self.rooms[r["room_number"]] = [r["version"], bool(r["do_not_disturb"])]
            if not self.rooms:  # the baseline keeps no rooms: invent a hotel's worth
                self.rooms = {str(100 + k): [1, False] for k in range(200)}
            for ws in self.conns:
                ws.on_message = self.on_reply
            for room in self.rooms:
                self.free.put_nowait(room)
            self.pipe.send({"ready": len(self.rooms)})
            msg = await _pipe_recv(self.pipe, 900)
            if msg != "go":
                return {"error": "stopped"}
            t0 = time.monotonic_ns()
            if plan.mode == "paced":
                await self.paced(t0)
            else:
                await self.burst(t0)
            t_end = time.monotonic_ns()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.idle.wait(), 60)
            lat = sorted(self.ack_lat)
            return {
                "sent": self.n_sent,
                "acked": self.acked,
                "errors": self.errors,
                "error_codes": self.error_codes,
                "unanswered": len(self.waiting),
                "t0": t0,
                "send_window": (t_end - t0) / 1e9,
                "ack_p50": pct(lat, 0.5),
                "ack_p99": pct(lat, 0.99),
                "send_ns": self.sent[: self.n_sent].tobytes(),
            }
        finally:
            for ws in self.conns:
                ws.close()
            await asyncio.sleep(0.1)

    async def paced(self, t0: int) -> None:
        plan = self.plan
        total = min(plan.max_commands, int(plan.rate * plan.duration))
        period = 1e9 / plan.rate
        for i in range(total):
            delay = (t0 + i * period - time.monotonic_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                room = await asyncio.wait_for(self.free.get(), 30)
            except TimeoutError:
                return
            self.send(i, room, None)

    async def burst(self, t0: int) -> None:
        plan = self.plan
        stop_at = t0 + int(plan.duration * 1e9)
        counter = iter(range(plan.max_commands))
        loop = asyncio.get_running_loop()

        async def lane() -> None:
            for i in counter:
                if time.monotonic_ns() >= stop_at:
                    return
                room = await asyncio.wait_for(self.free.get(), 30)
                fut: asyncio.Future[None] = loop.create_future()
                self.send(i, room, fut)
                await asyncio.wait_for(fut, 60)

        await asyncio.gather(*(lane() for _ in range(plan.inflight)))


# --- servers ---------------------------------------------------------------------------------


@dataclass
class Options:
    ns: list[int]
    modes: list[str]
    targets: list[str]
    duration: float
    rate: float
    inflight: int
    workers: int
    commander_conns: int
    floors: int
    rooms_per_floor: int
    synchronous: str
    frame_bytes: int
    markdown: bool
    keep: bool = False
    profile: Path | None = None
    quiet_wait: float = 120.0
    json: Path | None = None
    repeat: int = 1
    from_json: Path | None = None
    src: Path = ROOT


@dataclass
class ServerProc:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    token: str
    channel: str
    tls: bool = False


def make_hotel(db_path: Path, floors: int, rooms_per_floor: int, src: Path = ROOT) -> None:
    """A generated hotel with the demo staff (in a child process: it owns peewee's db)."""
    code = (
        "import sys\n"
        "from server import db as m\n"
        "from server.demo import DemoSpec, load_demo\n"
        "from shared.clock import SystemClock\n"
        "m.open_db(sys.argv[1])\n"
        "try:\n"
        "    load_demo(SystemClock().now(), DemoSpec(floors=int(sys.argv[2]),"
        " rooms_per_floor=int(sys.argv[3]), with_staff=True))\n"
        "finally:\n"
        "    m.close_db()\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(db_path), str(floors), str(rooms_per_floor)],
        check=True,
        cwd=src,
        timeout=120,
    )


def start_server(target: str, workdir: Path, opts: Options) -> ServerProc:
    db_path = workdir / f"{target}.db"
    log = workdir / f"{target}.log"
    if target.startswith("roomrack"):
        make_hotel(db_path, opts.floors, opts.rooms_per_floor, opts.src)
        cmd = [
            sys.executable,
            "-m",
            "server.cli",
            "--db",
            str(db_path),
            "--log-level",
            "WARNING",
            "serve",
            "--host",
            HOST,
            "--port",
            "0",
            "--rate-limit",
            "0",
            "--synchronous",
            opts.synchronous,
            "--heartbeat-overview",
            "3600",
            "--no-discovery",
        ]
        if target == "roomrack":
            cmd.append("--insecure")
    else:
        cmd = [
            sys.executable,
            "-m",
            "bench.baseline_server",
            "--db",
            str(db_path),
            "--host",
            HOST,
            "--port",
            "0",
            "--synchronous",
            opts.synchronous,
            "--frame-bytes",
            str(opts.frame_bytes),
        ]
    cwd = opts.src if target.startswith("roomrack") else ROOT
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=err)
    port = _read_port(proc, 60)
    if target.startswith("roomrack"):
        tls = target == "roomrack-tls"
        token, slug = asyncio.run(_login(port, tls))
        return ServerProc(proc, port, log, token, f"{slug}.rooms", tls)
    return ServerProc(proc, port, log, "baseline", "hotel-baseline.rooms")


def _read_port(proc: subprocess.Popen[bytes], timeout: float) -> int:
    box: list[bytes] = []

    def read() -> None:
        assert proc.stdout is not None
        box.append(proc.stdout.readline())

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(timeout)
    line = box[0].decode() if box else ""
    if "ready on ws://" not in line and "ready on wss://" not in line:
        raise RuntimeError(f"the server did not start (said {line!r})")
    return int(line.strip().rsplit(":", 1)[1])


async def _login(port: int, tls: bool = False) -> tuple[str, str]:
    ws = await open_ws(HOST, port, lambda: BenchWS(), 30, tls)
    try:
        reply = await ws.request(
            {"type": "auth.login", "request_id": "l", "login": "manager", "password": "demo"}, 60
        )
        result = reply["result"]
        return str(result["token"]), str(result["hotel"]["slug"])
    finally:
        ws.close()


def stop_server(sp: ServerProc) -> None:
    if sp.proc.poll() is None:
        sp.proc.send_signal(signal.SIGINT)
        try:
            sp.proc.wait(20)
        except subprocess.TimeoutExpired:
            sp.proc.kill()
            sp.proc.wait(10)
    if sp.proc.stdout is not None:
        sp.proc.stdout.close()


def start_profiler(opts: Options, pid: int, name: str) -> subprocess.Popen[bytes] | None:
    """py-spy (if asked for and installed) samples the server, every thread, for the commands'
    duration; it writes collapsed stacks to PROFILE/<name>.txt."""
    if opts.profile is None:
        return None
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        raise RuntimeError("--profile needs py-spy (pip install py-spy)")
    opts.profile.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "record", "--pid", str(pid), "--duration", str(math.ceil(opts.duration))]
    cmd += ["--rate", "250", "--threads", "--format", "raw", "--nonblocking"]
    cmd += ["--output", str(opts.profile / f"{name}.txt")]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def peak_rss(pid: int) -> int:
    """Peak resident memory of a process (VmHWM) in bytes."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return int(psutil.Process(pid).memory_info().rss)


def process_cpu() -> dict[tuple[int, str], float]:
    """CPU seconds of every process on the machine, by (pid, name)."""
    out: dict[tuple[int, str], float] = {}
    for p in psutil.process_iter(["pid", "name", "cpu_times"]):
        t = p.info["cpu_times"]
        if t is not None:
            out[(p.info["pid"], p.info["name"] or "?")] = float(t.user + t.system)
    return out


def cpu_seconds(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


# --- one run ---------------------------------------------------------------------------------


@dataclass
class RunResult:
    target: str
    n: int
    mode: str
    commands: int = 0
    cmd_rate: float = 0.0
    events_per_s: float = 0.0
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    lost: int = 0
    server_cpu: float = 0.0  # share of one core during the run
    server_peak_mb: float = 0.0
    subs_cpu: float = 0.0  # all subscriber workers together, share of one core
    subs_cpu_max: float = 0.0  # the busiest subscriber worker
    cmd_cpu: float = 0.0
    machine_busy: float = 0.0  # all CPUs of the machine, busy share
    softirq: float = 0.0
    steal: float = 0.0
    other_load: float = 0.0  # CPU used by processes outside the benchmark, in cores
    runs: int = 1
    spread: tuple[float, float] = (0.0, 0.0)  # events/s, lowest and highest of the runs
    lost_any: int = 0
    ack_p50_ms: float = math.nan
    ack_p99_ms: float = math.nan
    errors: int = 0
    dropped: int = 0
    window_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def pct(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return math.nan
    k = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[k] / 1e6


def _expect(pipe: Connection, timeout: float, what: str) -> dict[str, Any]:
    if not pipe.poll(timeout):
        raise RuntimeError(f"timed out waiting for {what}")
    msg: dict[str, Any] = pipe.recv()
    if "error" in msg:
        raise RuntimeError(f"{what}: {msg['error']}")
    return msg


def settle(pid: int, limit: float) -> None:
    """Wait until the server is idle (what the connections and subscriptions set off, such
    as snapshots and presence updates, has been sent), at most `limit` seconds."""
    proc = psutil.Process(pid)
    deadline = time.monotonic() + limit
    proc.cpu_percent()
    while time.monotonic() < deadline:
        if proc.cpu_percent(interval=0.5) < 5:
            return


def wait_quiet(limit: float) -> float:
    """Wait (at most `limit` seconds) until the machine is nearly idle; returns the busy share
    of the last second sampled. Other programs running at the same time skew every figure."""
    deadline = time.monotonic() + limit
    while True:
        busy = float(psutil.cpu_percent(interval=1.0)) / 100
        if busy < 0.15 or time.monotonic() >= deadline:
            return busy
        time.sleep(2)


def run_one(target: str, n: int, mode: str, opts: Options) -> RunResult:
    ctx = mp.get_context("spawn")
    res = RunResult(target, n, mode)
    busy = wait_quiet(opts.quiet_wait)
    if busy >= 0.15:
        res.notes.append(f"the machine was {busy:.0%} busy before the run")
    workdir = Path(tempfile.mkdtemp(prefix=f"roomrack-bench-{target}-"))
    procs: list[Any] = []
    sp: ServerProc | None = None
    spy: subprocess.Popen[bytes] | None = None
    try:
        sp = start_server(target, workdir, opts)
        k = max(1, min(opts.workers, n))
        sub_pipes: list[Connection] = []
        for w in range(k):
            share = n // k + (1 if w < n % k else 0)
            mine, theirs = ctx.Pipe()
            p = ctx.Process(
                target=subscriber_main,
                args=(theirs, HOST, sp.port, sp.token, sp.channel, share, sp.tls),
                daemon=True,
                name=f"bench-subscribers-{w}",
            )
            p.start()
            procs.append(p)
            sub_pipes.append(mine)
        connected = 0
        for pipe in sub_pipes:
            connected += int(_expect(pipe, 120 + n, "the subscribers")["ready"])
        if connected != n:
            raise RuntimeError(f"only {connected} of {n} subscribers connected")
        plan = Plan(
            mode,
            opts.rate,
            opts.duration,
            opts.inflight,
            opts.commander_conns,
            int(opts.rate * opts.duration) if mode == "paced" else MAX_BURST_COMMANDS,
        )
        cmd_pipe, theirs = ctx.Pipe()
        cp = ctx.Process(
            target=commander_main,
            args=(theirs, HOST, sp.port, sp.token, sp.channel, plan, sp.tls),
            daemon=True,
            name="bench-commander",
        )
        cp.start()
        procs.append(cp)
        _expect(cmd_pipe, 120, "the commander")
        settle(sp.proc.pid, 120)
        pids = [sp.proc.pid] + [p.pid for p in procs]
        cpu0 = {pid: cpu_seconds(pid) for pid in pids}
        sys0 = psutil.cpu_times()
        others0 = process_cpu()
        wall0 = time.monotonic()
        spy = start_profiler(opts, sp.proc.pid, f"{target}-{n}-{mode}")
        cmd_pipe.send("go")
        c = _expect(cmd_pipe, opts.duration + 180, "the commander's report")
        send_ns = c.pop("send_ns")
        for pipe in sub_pipes:
            pipe.send(("finish", send_ns, c["acked"], 30.0 + n / 50))
        drained = [_expect(pipe, 120 + n / 10, "the subscribers' drain") for pipe in sub_pipes]
        wall = time.monotonic() - wall0
        cpu = {pid: cpu_seconds(pid) - cpu0[pid] for pid in pids}
        sys1 = psutil.cpu_times()
        spent = {f: getattr(sys1, f) - getattr(sys0, f) for f in sys1._fields}
        total = sum(spent.values()) or 1.0
        res.machine_busy = 1 - (spent.get("idle", 0.0) + spent.get("iowait", 0.0)) / total
        busy_s = total - spent.get("idle", 0.0) - spent.get("iowait", 0.0)
        ours = sum(cpu.values()) + spent.get("softirq", 0.0)
        res.other_load = max(0.0, busy_s - ours) / wall
        if res.other_load > 0.25:
            others1 = process_cpu()
            busiest = sorted(
                ((t - others0.get(k, 0.0), k[1]) for k, t in others1.items() if k[0] not in cpu),
                reverse=True,
            )[:2]
            who = ", ".join(f"{name} {t / wall:.0%}" for t, name in busiest)
            res.notes.append(f"other programs used {res.other_load:.0%} of a CPU meanwhile ({who})")
        res.softirq = spent.get("softirq", 0.0) / total
        res.steal = spent.get("steal", 0.0) / total
        for p, d in zip(procs, drained, strict=False):
            cpu[p.pid] = float(d["drained"]) - cpu0[p.pid]
        if spy is not None:
            spy.wait(opts.duration + 60)
        reports = [_expect(pipe, 120 + n / 10, "a subscriber report") for pipe in sub_pipes]
        res.server_peak_mb = peak_rss(sp.proc.pid) / 2**20
        res.window_s = wall
        res.server_cpu = cpu[sp.proc.pid] / wall
        sub_cpu = [cpu[p.pid] / wall for p in procs[:-1]]
        res.subs_cpu = sum(sub_cpu)
        res.subs_cpu_max = max(sub_cpu)
        res.cmd_cpu = cpu[cp.pid] / wall
        res.commands = int(c["acked"])
        res.errors = int(c["errors"]) + int(c["unanswered"])
        if c["error_codes"]:
            res.notes.append(f"errors {c['error_codes']}")
        if c["unanswered"]:
            res.notes.append(f"{c['unanswered']} commands unanswered")
        res.cmd_rate = res.commands / c["send_window"] if c["send_window"] else 0.0
        res.ack_p50_ms, res.ack_p99_ms = c["ack_p50"], c["ack_p99"]
        lat: array[int] = array("q")
        received = 0
        last_ns = 0
        for r in reports:
            lat.frombytes(r["latencies"])
            received += int(r["received"])
            last_ns = max(last_ns, int(r["last_ns"]))
            res.dropped += int(r["closed"])
            if r["stray"]:
                res.notes.append(f"{r['stray']} events of unacknowledged commands")
        expected = res.commands * n
        res.lost = expected - received
        span = (last_ns - int(c["t0"])) / 1e9
        res.events_per_s = received / span if span > 0 else 0.0
        ordered = sorted(lat)
        res.p50_ms, res.p99_ms = pct(ordered, 0.5), pct(ordered, 0.99)
        res.max_ms = ordered[-1] / 1e6 if ordered else math.nan
        if res.dropped:
            res.notes.append(f"{res.dropped} subscribers were disconnected")
    except Exception as exc:
        res.notes.append(f"FAILED: {exc}")
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
            spy.wait(10)
        for p in procs:
            if p.is_alive():
                p.join(5)
            if p.is_alive():
                p.terminate()
                p.join(5)
            if p.is_alive():
                p.kill()
                p.join(5)
        if sp is not None:
            stop_server(sp)
            tail = sp.log.read_text(errors="replace").strip().splitlines()[-3:]
            if any("Traceback" in t or "ERROR" in t or "WARNING" in t for t in tail):
                res.notes.append("server log: " + " | ".join(tail))
        if not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return res


# --- reporting -------------------------------------------------------------------------------


COLUMNS = [
    ("target", "target"),
    ("N", "N"),
    ("mode", "mode"),
    ("cmds", "commands"),
    ("cmd/s", "cmd/s"),
    ("events/s", "events/s"),
    ("range", "events/s of all runs"),
    ("p50 ms", "p50 ms"),
    ("p99 ms", "p99 ms"),
    ("max ms", "max ms"),
    ("lost", "lost"),
    ("srv CPU", "server CPU"),
    ("srv peak MB", "server peak RSS MB"),
    ("gen CPU", "load gen CPU (subs+cmd)"),
    ("busiest sub", "busiest sub worker"),
]


def row_of(r: RunResult) -> list[str]:
    return [
        r.target,
        str(r.n),
        r.mode,
        str(r.commands),
        f"{r.cmd_rate:.0f}",
        f"{r.events_per_s:,.0f}",
        f"{r.spread[0] / 1000:.0f}k–{r.spread[1] / 1000:.0f}k" if r.runs > 1 else "",
        f"{r.p50_ms:.1f}",
        f"{r.p99_ms:.1f}",
        f"{r.max_ms:.1f}",
        str(max(r.lost, r.lost_any)),
        f"{r.server_cpu:.0%}",
        f"{r.server_peak_mb:.0f}",
        f"{r.subs_cpu:.0%}+{r.cmd_cpu:.0%}",
        f"{r.subs_cpu_max:.0%}",
    ]


def ratio_rows(results: list[RunResult]) -> list[list[str]]:
    base = {(r.n, r.mode): r for r in results if r.target == "baseline"}
    rows = []
    for r in results:
        b = base.get((r.n, r.mode))
        if r.target != "roomrack" or b is None:
            continue
        thr = r.events_per_s / b.events_per_s if b.events_per_s else math.nan
        p99 = r.p99_ms / b.p99_ms if b.p99_ms else math.nan
        lost = max(r.lost, r.lost_any)
        ok = thr >= 0.8 and p99 <= 2.0 and lost == 0 and max(b.lost, b.lost_any) == 0
        rows.append(
            [
                str(r.n),
                r.mode,
                f"{thr:.0%}",
                f"{p99:.2f}×",
                str(lost),
                "met" if ok else "MISSED",
            ]
        )
    return rows


RATIO_HEAD = ["N", "mode", "events/s vs baseline", "p99 vs baseline", "lost", "target"]


def tls_rows(results: list[RunResult]) -> list[list[str]]:
    """Roomrack over TLS against Roomrack over plain ws, case by case; the goal: TLS costs at
    most 15 % of the delivered events per second."""
    plain = {(r.n, r.mode): r for r in results if r.target == "roomrack"}
    rows = []
    for r in results:
        p = plain.get((r.n, r.mode))
        if r.target != "roomrack-tls" or p is None:
            continue
        thr = r.events_per_s / p.events_per_s if p.events_per_s else math.nan
        lost = max(r.lost, r.lost_any)
        rows.append(
            [
                str(r.n),
                r.mode,
                f"{p.events_per_s:,.0f}",
                f"{r.events_per_s:,.0f}",
                f"{thr:.0%}",
                f"{p.p99_ms:.1f} / {r.p99_ms:.1f}",
                f"{p.server_cpu:.0%} / {r.server_cpu:.0%}",
                str(lost),
                "met" if thr >= 0.85 and lost == 0 else "MISSED",
            ]
        )
    return rows


TLS_HEAD = [
    "N",
    "mode",
    "plain events/s",
    "TLS events/s",
    "TLS vs plain",
    "p99 ms plain / TLS",
    "server CPU plain / TLS",
    "lost",
    "TLS ≤ 15 % cost",
]


def render(head: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    out = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    out += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


def source_version(src: Path = ROOT) -> str:
    """The Roomrack commit measured, marked if server/ or shared/ have local changes."""
    stamp = src / "SOURCE_COMMIT"
    if stamp.exists():
        return stamp.read_text().strip() + f" (exported to {src})"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=src,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "server", "shared"],
            cwd=src,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (head or "unknown") + (" with local changes" if changed else "")


def machine_facts(opts: Options) -> str:
    from importlib.metadata import version

    return (
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Linux {platform.release()}, Python {platform.python_version()}, "
        f"websockets {version('websockets')}, SQLite synchronous={opts.synchronous} (WAL), "
        f"compression off, {opts.workers} subscriber processes + 1 commander "
        f"({opts.commander_conns} connections); Roomrack at {source_version(opts.src)}"
    )


def report(results: list[RunResult], opts: Options) -> str:
    head = [c[0] if not opts.markdown else c[1] for c in COLUMNS]
    parts = [render(head, [row_of(r) for r in results], opts.markdown)]
    ratios = ratio_rows(results)
    if ratios:
        parts.append(render(RATIO_HEAD, ratios, opts.markdown))
    tls = tls_rows(results)
    if tls:
        parts.append(render(TLS_HEAD, tls, opts.markdown))
    notes = [f"{r.target} N={r.n} {r.mode}: {'; '.join(r.notes)}" for r in results if r.notes]
    if notes:
        parts.append("\n".join(notes))
    return "\n\n".join(parts)


# --- command line ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(
        prog="python -m bench.realtime",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--n", default="50,200,1000", help="subscriber counts (default 50,200,1000)")
    p.add_argument("--modes", default="paced,burst", help="paced, burst or both")
    p.add_argument("--targets", default="baseline,roomrack", help="baseline, roomrack or both")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of commands per run")
    p.add_argument("--rate", type=float, default=200.0, help="paced: commands per second")
    p.add_argument("--inflight", type=int, default=32, help="burst: commands in flight")
    p.add_argument("--workers", type=int, default=2, help="subscriber processes")
    p.add_argument("--commander-conns", type=int, default=4, help="commander connections")
    p.add_argument("--floors", type=int, default=8)
    p.add_argument("--rooms-per-floor", type=int, default=25)
    p.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    p.add_argument(
        "--frame-bytes",
        type=int,
        default=900,
        help="the baseline pads its event frames to this size (about Roomrack's)",
    )
    p.add_argument(
        "--repeat", type=int, default=1, help="runs of each case; the median run is reported"
    )
    p.add_argument("--quick", action="store_true", help="a short smoke run (N=10,50; 3 s)")
    p.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    p.add_argument("--keep", action="store_true", help="keep the stores and server logs")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.add_argument(
        "--roomrack-src",
        type=Path,
        default=ROOT,
        metavar="DIR",
        help="run Roomrack from this source tree (e.g. an exported commit; default: this one)",
    )
    p.add_argument(
        "--from-json", type=Path, metavar="FILE", help="print the report of a --json file again"
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="before each run, wait up to this long for the machine to be idle (default 120)",
    )
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample the server with py-spy during each run (collapsed stacks in DIR)",
    )
    a = p.parse_args(argv)
    ns = [int(x) for x in a.n.split(",") if x.strip()]
    duration = a.duration
    if a.quick:
        ns, duration = [10, 50], 3.0
    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    targets = [t.strip() for t in a.targets.split(",") if t.strip()]
    for m in modes:
        if m not in MODES:
            p.error(f"unknown mode {m!r}")
    for t in targets:
        if t not in TARGETS:
            p.error(f"unknown target {t!r}")
    if any(n < 1 for n in ns) or a.rate <= 0 or a.inflight < 1 or duration <= 0:
        p.error("N, rate, in-flight and duration must be positive")
    return Options(
        ns=ns,
        modes=modes,
        targets=targets,
        duration=duration,
        rate=a.rate,
        inflight=a.inflight,
        workers=a.workers,
        commander_conns=a.commander_conns,
        floors=a.floors,
        rooms_per_floor=a.rooms_per_floor,
        synchronous=a.synchronous,
        frame_bytes=a.frame_bytes,
        markdown=a.markdown,
        keep=a.keep,
        profile=a.profile,
        quiet_wait=a.quiet_wait,
        json=a.json,
        repeat=max(1, a.repeat),
        from_json=a.from_json,
        src=a.roomrack_src.resolve(),
    )


def median_run(runs: list[RunResult]) -> RunResult:
    """One row for several runs of a case: the median of each figure, the worst loss, the
    highest peak memory, and the range of delivered events per second."""
    if len(runs) == 1:
        return runs[0]

    def med(get: Callable[[RunResult], float]) -> float:
        values = sorted(get(r) for r in runs)
        k = len(values)
        return values[k // 2] if k % 2 else (values[k // 2 - 1] + values[k // 2]) / 2

    first = runs[0]
    out = RunResult(first.target, first.n, first.mode)
    for f in dataclasses.fields(RunResult):
        value = getattr(first, f.name)
        if isinstance(value, float | int) and not isinstance(value, bool):
            name = f.name
            merged = med(lambda r: float(getattr(r, name)))  # noqa: B023
            setattr(out, f.name, round(merged) if isinstance(value, int) else merged)
    out.lost = out.lost_any = max(r.lost for r in runs)
    out.dropped = max(r.dropped for r in runs)
    out.server_peak_mb = max(r.server_peak_mb for r in runs)
    out.runs = len(runs)
    rates = sorted(r.events_per_s for r in runs)
    out.spread = (rates[0], rates[-1])
    out.notes = sorted({note for r in runs for note in r.notes})
    return out


def from_json(path: Path) -> tuple[str, list[RunResult]]:
    """Re-read a --json file: every run as it was printed; a run that other programs
    disturbed and that was then done once more is left out, as in the live report."""
    doc = json.loads(path.read_text())
    runs = []
    for row in doc["runs"]:
        row["spread"] = tuple(row.get("spread", (0.0, 0.0)))
        runs.append(RunResult(**row))
    kept: dict[tuple[str, int, str], list[RunResult]] = {}
    for i, r in enumerate(runs):
        nxt = runs[i + 1] if i + 1 < len(runs) else None
        redone = (
            nxt is not None
            and r.other_load > 0.25
            and (nxt.target, nxt.n, nxt.mode) == (r.target, r.n, r.mode)
        )
        if not redone:
            kept.setdefault((r.target, r.n, r.mode), []).append(r)
    return str(doc["machine"]), [median_run(v) for v in kept.values()]


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    if opts.from_json is not None:
        facts, medians = from_json(opts.from_json)
        print(facts)
        print()
        print(report(medians, opts))
        return 0
    facts = machine_facts(opts)
    print(facts, flush=True)
    print(
        f"paced: {opts.rate:g} commands/s for {opts.duration:g} s; "
        f"burst: {opts.inflight} in flight for {opts.duration:g} s; "
        f"hotel of {opts.floors * opts.rooms_per_floor} rooms",
        flush=True,
    )
    every: list[RunResult] = []
    results: list[RunResult] = []
    for n in opts.ns:
        for mode in opts.modes:
            runs: dict[str, list[RunResult]] = {t: [] for t in opts.targets}
            for rep in range(opts.repeat):
                for target in opts.targets:
                    for attempt in range(2):
                        t = time.monotonic()
                        r = run_one(target, n, mode, opts)
                        print(
                            f"  {target:12} N={n:<5} {mode:5} #{rep + 1}"
                            f" {r.events_per_s:>10,.0f} events/s  p50 {r.p50_ms:.1f} ms"
                            f"  p99 {r.p99_ms:.1f} ms  lost {r.lost}"
                            f"  server CPU {r.server_cpu:.0%}"
                            f"  gen CPU {r.subs_cpu:.0%}+{r.cmd_cpu:.0%}"
                            f"  machine {r.machine_busy:.0%} (softirq {r.softirq:.0%})"
                            f"  ({time.monotonic() - t:.0f} s)"
                            + ("  " + "; ".join(r.notes) if r.notes else ""),
                            flush=True,
                        )
                        every.append(r)
                        if r.other_load <= 0.25 or attempt == 1:
                            break
                        print("    (other programs were busy: once more)", flush=True)
                    runs[target].append(r)
            for target in opts.targets:
                results.append(median_run(runs[target]))
    print()
    print(report(results, opts))
    if opts.json is not None:
        doc = {
            "machine": facts,
            "medians": [dataclasses.asdict(r) for r in results],
            "runs": [dataclasses.asdict(r) for r in every],
        }
        opts.json.write_text(json.dumps(doc, indent=1))
    failed = any(any(n.startswith("FAILED") for n in r.notes) for r in every)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
