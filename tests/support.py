"""Test support: a real Roomrack server on a free port with a real SQLite file.

`ServerThread` runs the server on its own event loop in a background thread, so GUI tests
(whose loop is Qt's) and plain tests can both talk to it over real sockets. `LiveServer` runs
it on the caller's loop, with a `ManualClock` the test can move.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import keyring.backend
import keyring.errors
from websockets.asyncio.client import ClientConnection, connect

from server import db as m
from server.app import RoomrackServer
from server.config import Config
from server.demo import DemoSpec, load_demo
from server.engine import StoreAt
from server.hub import Client
from shared.clock import Clock, ManualClock, SystemClock

T = TypeVar("T")
SLUG = "hotel-killarney"


def make_store(path: StoreAt, clock: Clock, spec: DemoSpec | None = None) -> None:
    """Create a store with the demo hotel at `path` (closed again afterwards)."""
    m.open_db(path)
    try:
        load_demo(clock.now(), spec or DemoSpec())
    finally:
        m.close_db()


def server_config(db_path: StoreAt, **overrides: Any) -> Config:
    """A test server's settings: plain ws unless `insecure=False` is given (the transport has
    its own tests in tests/server/test_tls.py and tests/desktop/test_trust.py)."""
    # no login deadline by default: its sleeping watchdog would count among the clock's
    # sleepers that tests wait for (test_a_connection_that_never_logs_in_is_closed in
    # tests/server/realtime/test_login.py turns it on)
    cfg = Config(
        host="127.0.0.1",
        port=0,
        db_path=db_path,
        synchronous="NORMAL",
        login_timeout=0,
        insecure=True,
        # a test's desktop is not answering while the test stops its server: do not wait 3 s
        close_timeout=0.2,
    )
    return replace(cfg, **overrides)


def tls_config(db_path: Path, **overrides: Any) -> Config:
    """A test server with TLS, its certificate in `roomrack-tls` beside the store."""
    return server_config(db_path, insecure=False, **overrides)


def unverified_tls() -> ssl.SSLContext:
    """What a client that checks the pin itself uses (desktop/pinning.py)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _scheme(config: Config) -> str:
    return "ws" if config.insecure else "wss"


class FileKeyring(keyring.backend.KeyringBackend):
    """A keyring backend in a JSON file, so tests never touch the machine's own keyring."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def _all(self) -> dict[str, str]:
        if not self.path.is_file():
            return {}
        data: dict[str, str] = json.loads(self.path.read_text())
        return data

    def get_password(self, service: str, username: str) -> str | None:
        return self._all().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._all()
        data[f"{service}/{username}"] = password
        self.path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._all()
        if f"{service}/{username}" not in data:
            raise keyring.errors.PasswordDeleteError(username)
        del data[f"{service}/{username}"]
        self.path.write_text(json.dumps(data))


class ServerThread:
    """A real server in a background thread. `port` stays the same across restart()."""

    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.server: RoomrackServer | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self.port = config.port

    def start(self) -> ServerThread:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            async def main() -> None:
                self.loop = asyncio.get_running_loop()
                self._stop = asyncio.Event()
                self.server = RoomrackServer(self.config, self.clock)
                try:
                    await self.server.start()
                except BaseException as exc:
                    errors.append(exc)
                    ready.set()
                    return
                self.port = self.server.port
                self.config = replace(self.config, port=self.port)
                ready.set()
                await self._stop.wait()
                await self.server.stop()

            asyncio.run(main())

        self._thread = threading.Thread(target=run, daemon=True, name="roomrack-test-server")
        self._thread.start()
        ready.wait(30)
        if errors:
            raise errors[0]
        return self

    def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine on the server's loop and wait for it."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(30)

    def stop(self) -> None:
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)
        self._thread = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def url(self) -> str:
        return f"{_scheme(self.config)}://127.0.0.1:{self.port}"


class LiveServer:
    """A real server on the running loop, driven by a ManualClock (async context manager)."""

    def __init__(self, db_path: Path, clock: ManualClock | None = None, **overrides: Any):
        self.clock = clock or ManualClock()
        self.config = server_config(db_path, **overrides)
        self.server = RoomrackServer(self.config, self.clock)

    async def __aenter__(self) -> LiveServer:
        await self.server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.stop()

    @property
    def url(self) -> str:
        return f"{_scheme(self.config)}://127.0.0.1:{self.server.port}"


class Peer:
    """A test client: a real websocket plus helpers to send commands and wait for frames."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.hello: dict[str, Any] = {}
        self.n = 0
        self.login: dict[str, Any] = {}

    @classmethod
    async def open(cls, url: str, login: str | None = None, password: str = "demo") -> Peer:
        tls = unverified_tls() if url.startswith("wss://") else None
        ws = await connect(url, ssl=tls, compression=None, max_size=2**24, max_queue=None)
        peer = cls(ws)
        peer.hello = await peer.recv()
        if login is not None:
            reply = await peer.request("auth.login", login=login, password=password)
            assert reply["type"] == "ack", reply
            peer.login = reply["result"]
        return peer

    async def close(self) -> None:
        await self.ws.close()

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    async def recv(self, wait: float = 10) -> dict[str, Any]:
        data = await asyncio.wait_for(self.ws.recv(), wait)
        result: dict[str, Any] = json.loads(data)
        return result

    async def request(self, kind: str, /, **fields: Any) -> dict[str, Any]:
        """Send a command and return its reply (ack or error), skipping other frames; the
        skipped frames are kept in `self.skipped`."""
        self.n += 1
        rid = fields.pop("request_id", f"r{self.n}")
        await self.send({"type": kind, "request_id": rid, **fields})
        return await self.reply_to(rid)

    async def reply_to(self, rid: str) -> dict[str, Any]:
        """The reply to request `rid` (already received, or still to come)."""
        return await self.until(
            lambda m: m.get("type") in ("ack", "error") and m.get("request_id") == rid
        )

    @property
    def skipped(self) -> list[dict[str, Any]]:
        if not hasattr(self, "_skipped"):
            self._skipped: list[dict[str, Any]] = []
        return self._skipped

    async def until(
        self, pred: Callable[[dict[str, Any]], bool], wait: float = 10
    ) -> dict[str, Any]:
        """The first frame (already skipped, or new) that satisfies `pred`."""
        for i, msg in enumerate(self.skipped):
            if pred(msg):
                del self.skipped[i]
                return msg
        while True:
            msg = await self.recv(wait)
            if pred(msg):
                return msg
            self.skipped.append(msg)

    async def subscribe(
        self, *channels: str, since: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {"channels": list(channels)}
        if since is not None:
            fields["since"] = since
        return await self.request("subscribe", **fields)


async def stalled_peer(srv: LiveServer, login: str) -> tuple[Peer, Client]:
    """A plain-ws desk, logged in, that has stopped reading, and the server's side of it: a
    tiny receive window on its side and a tiny send buffer on the server's, so what the
    server sends it waits in the server's transport."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", srv.server.port))
    ws = await connect(srv.url, sock=sock, compression=None, max_queue=1)
    peer = Peer(ws)
    peer.hello = await peer.recv()
    reply = await peer.request("auth.login", login=login, password="demo")
    assert reply["type"] == "ack", reply
    peer.login = reply["result"]
    port = sock.getsockname()[1]
    (theirs,) = (
        c for c in srv.server.hub.clients if c.ws.remote_address and c.ws.remote_address[1] == port
    )
    theirs.ws.transport.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
    )
    assert ws.transport is not None
    ws.transport.pause_reading()
    return peer, theirs


def rooms_by_number(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["room_number"]: r for r in snapshot["rooms"]}


class SyncPeer:
    """A blocking test client (for tests that are not coroutines, such as hypothesis
    state machines): a real websocket; frames that are not the awaited reply are kept in
    `frames`, in the order they came."""

    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect as sync_connect

        self.ws = sync_connect(url, compression=None, max_size=2**24, proxy=None, legacy=True)
        self.hello: dict[str, Any] = json.loads(self.ws.recv(10))
        self.frames: list[dict[str, Any]] = []
        self.n = 0
        self.login: dict[str, Any] = {}

    @classmethod
    def logged_in(cls, url: str, login: str | None = None, token: str | None = None) -> SyncPeer:
        """A connection logged in with a password (`login`, the demo's) or a kept `token`."""
        peer = cls(url)
        reply = (
            peer.request("auth.token", token=token)
            if token is not None
            else peer.request("auth.login", login=login, password="demo")
        )
        assert reply["type"] == "ack", reply
        peer.login = reply["result"]
        return peer

    def close(self) -> None:
        self.ws.close()

    def recv(self, wait: float = 10) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.ws.recv(wait))
        return result

    def request(self, kind: str, /, **fields: Any) -> dict[str, Any]:
        self.n += 1
        rid = fields.pop("request_id", f"s{self.n}")
        self.ws.send(json.dumps({"type": kind, "request_id": rid, **fields}))
        return self.reply_to(rid)

    def reply_to(self, rid: str | None) -> dict[str, Any]:
        while True:
            msg = self.recv()
            if msg.get("type") in ("ack", "error") and msg.get("request_id") == rid:
                return msg
            self.frames.append(msg)
