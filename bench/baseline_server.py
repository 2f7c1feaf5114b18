"""The bare baseline for bench/realtime.py: the ceiling of this stack on this machine.

A minimal `websockets` broadcast server that, for every update, commits one row to a SQLite
file in WAL mode and broadcasts the update to every subscriber, and does nothing else. It
speaks the small subset of the Roomrack protocol the load generator uses:

    server -> {"type": "hello"}
    {"type": "auth.login" | "auth.token", "request_id"}   -> ack (nobody is checked)
    {"type": "subscribe", "request_id", "channels"}       -> ack, then an empty snapshot
    {"type": "unsubscribe", "request_id"}                 -> ack
    {"type": "room.action", "request_id", "room_number", "action", "expected_version"}
        -> one row committed, one event to every subscriber, then an ack

Like Roomrack it runs the database on one worker thread (so a commit never blocks the event
loop), processes up to 32 commands of a connection at once, and sends with compression off.
The event frame is padded to `--frame-bytes` so both servers push frames of the same size.

    python -m bench.baseline_server --db /tmp/base.db --port 0 --synchronous FULL
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import signal
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

MAX_INFLIGHT = 32


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Baseline:
    def __init__(self, db_path: Path, synchronous: str, frame_bytes: int) -> None:
        self.db = sqlite3.connect(str(db_path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS updates (seq INTEGER PRIMARY KEY, room_number TEXT,"
            " action TEXT, request_id TEXT, ts INTEGER, frame TEXT)"
        )
        self.pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="baseline-db")
        self.subscribers: set[ServerConnection] = set()
        self.seq = 0
        self.frame_bytes = frame_bytes
        self.epoch = uuid.uuid4().hex

    def commit(self, cmd: dict[str, Any]) -> tuple[str, int]:
        """On the database thread: one row, one commit. Returns (event frame, version)."""
        self.seq += 1
        room = str(cmd.get("room_number", ""))
        version = int(cmd.get("expected_version") or 0) + 1
        event: dict[str, Any] = {
            "category": "rooms",
            "type": "room_updated",
            "payload": {"room_number": room, "action": cmd.get("action"), "version": version},
            "meta": {
                "seq": self.seq,
                "event_id": str(uuid.uuid4()),
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "request_id": cmd.get("request_id"),
            },
        }
        frame = dumps(event)
        if len(frame) < self.frame_bytes:
            event["payload"]["padding"] = "x" * (self.frame_bytes - len(frame) - 13)
            frame = dumps(event)
        self.db.execute("BEGIN")
        self.db.execute(
            "INSERT INTO updates (seq, room_number, action, request_id, ts, frame)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (self.seq, room, cmd.get("action"), cmd.get("request_id"), time.time_ns(), frame),
        )
        self.db.execute("COMMIT")
        return frame, version

    async def handle(self, ws: ServerConnection) -> None:
        inflight = asyncio.Semaphore(MAX_INFLIGHT)
        tasks: set[asyncio.Task[None]] = set()
        try:
            await ws.send(dumps({"type": "hello", "server": "baseline", "epoch": self.epoch}))
            async for message in ws:
                await inflight.acquire()
                task = asyncio.create_task(self.one(ws, message))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(lambda _: inflight.release())
        except ConnectionClosed:
            pass
        finally:
            self.subscribers.discard(ws)
            for t in list(tasks):
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await t

    async def one(self, ws: ServerConnection, message: str | bytes) -> None:
        cmd = json.loads(message)
        rid = cmd.get("request_id")
        kind = cmd.get("type")
        result: dict[str, Any] = {}
        if kind == "room.action":
            loop = asyncio.get_running_loop()
            frame, version = await loop.run_in_executor(self.pool, self.commit, cmd)
            broadcast(self.subscribers, frame)
            result = {"room_number": cmd.get("room_number"), "version": version}
        elif kind in ("auth.login", "auth.token"):
            result = {"token": "baseline", "epoch": self.epoch}
        elif kind == "subscribe":
            self.subscribers.add(ws)
            result = {"channels": cmd.get("channels", []), "mode": "snapshot"}
        elif kind == "unsubscribe":
            self.subscribers.discard(ws)
        else:
            with contextlib.suppress(ConnectionClosed):
                await ws.send(dumps({"type": "error", "request_id": rid, "code": "bad_request"}))
            return
        with contextlib.suppress(ConnectionClosed):
            await ws.send(dumps({"type": "ack", "request_id": rid, "result": result}))
            if kind == "subscribe":
                await ws.send(dumps({"type": "rooms.status", "seq": self.seq, "rooms": []}))

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.db.close()


async def run(args: argparse.Namespace) -> None:
    base = Baseline(args.db, args.synchronous, args.frame_bytes)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with serve(
            base.handle,
            args.host,
            args.port,
            compression=None,
            max_size=1024 * 1024,
            max_queue=64,
            ping_interval=20,
            ping_timeout=20,
        ) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            print(f"Baseline server ready on ws://{args.host}:{port}", flush=True)
            await stop.wait()
    finally:
        base.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", type=Path, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    p.add_argument("--frame-bytes", type=int, default=1000, help="pad event frames to this size")
    args = p.parse_args(argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
