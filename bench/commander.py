"""The commander process: room commands through the server, paced or in a burst, each one
stamped with the moment it was written to its socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from array import array
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bench.figures import pct
from bench.subscribers import _pipe_recv
from bench.wsclient import BenchWS, open_ws

MAX_BURST_COMMANDS = 200_000


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
    ports: list[int],
    token: str,
    channel: str,
    plan: Plan,
    tls: bool = False,
    deflate: bool = False,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        commander = Commander(pipe, host, ports, token, channel, plan, tls, deflate)
        result = asyncio.run(commander.run())
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    with contextlib.suppress(OSError):
        pipe.send(result)


class Commander:
    """Sends room commands (do-not-disturb on/off, which a manager may toggle on any room)
    with the version it last saw; a room has at most one command in flight. Its connections
    go to the servers of `ports` in turn (one server, or each of several)."""

    def __init__(
        self,
        pipe: Connection,
        host: str,
        ports: list[int],
        token: str,
        channel: str,
        plan: Plan,
        tls: bool = False,
        deflate: bool = False,
    ) -> None:
        self.pipe, self.host, self.ports, self.tls = pipe, host, ports, tls
        self.deflate = deflate
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
            for c in range(plan.conns):
                port = self.ports[c % len(self.ports)]
                ws = await open_ws(self.host, port, lambda: BenchWS(), 60, self.tls, self.deflate)
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
