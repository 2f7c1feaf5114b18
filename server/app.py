"""The Roomrack server: one WebSocket port (plus two plain HTTP paths) for the hotel LAN.

The edges only: connections, frames, limits, the role check and dispatch. A frame is parsed
with `shared.protocol`, its sender's session and role are checked (shared/access.py), and its
command is looked up in the table of server/commands/registry.py: a WRITE runs on the store
thread inside the write transaction, a READ on the store thread, an EDGE here (a connection's
own commands: server/sessions.py; account commands: server/commands/staff.py). Exactly one
reply per request. Committed events reach `Hub.publish` (server/hub.py) in journal order
(server/publish.py) and are framed once for every subscriber. What the server does on its
clock is server/rounds.py; the two HTTP paths, server/http.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from server import db as m
from server import tls
from server.accounts import Accounts
from server.backup import DailyBackup
from server.cluster import ClusterBus
from server.commands.entry import READ, WRITE
from server.commands.registry import REGISTRY
from server.commands.staff import StaffCommands
from server.config import Config
from server.discovery import Announcer
from server.engine import Postgres, shown
from server.guard import LoginGuard, LoginLimits, TokenBucket
from server.http import HttpPaths
from server.hub import CLOSE_LOGIN_TIMEOUT, Client, Hub
from server.journal import Outcome
from server.rounds import ClockRounds
from server.sessions import ConnectionCommands
from server.startup import StartError, listen_words
from server.store import Store
from server.wire import ServerDeflateFactory
from shared import access, protocol
from shared.clock import Clock, SystemClock
from shared.errors import ErrorCode, ProtocolError

LISTEN_BACKLOG = 2048  # connections waiting to be accepted (the system may cap it lower)
log = logging.getLogger("roomrack.server")

SERIAL_COMMANDS = frozenset(
    {
        "auth.login",
        "auth.token",
        "auth.logout",
        "auth.change_password",
        "subscribe",
        "unsubscribe",
        "presence.viewing",
    }
)


Handler = Callable[[Client, Any], Awaitable[dict[str, Any] | None]]


class RoomrackServer(ConnectionCommands, ClockRounds, HttpPaths):
    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.store = Store(
            config.db_path, self.clock, config.synchronous, config.crash_after_commit
        )
        self.hub = Hub(config.max_buffer, config.presence_interval, config.fanout_tick)
        self.store.on_commit = self.hub.publish
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.guard = LoginGuard(
            self.clock,
            LoginLimits(
                per_address=config.login_failures,
                per_account_address=config.login_failures_account,
                refill=config.login_refill,
                lock_addresses=config.lockout_addresses,
                lock_failures=config.lockout_failures,
                lock_window=config.lockout_window,
                lock_seconds=config.lockout_minutes * 60,
            ),
        )
        idle = config.session_idle_minutes
        self.accounts = Accounts(self.clock.now, timedelta(minutes=idle) if idle > 0 else None)
        self._scrypt = asyncio.Semaphore(2)
        self._background: set[asyncio.Task[None]] = set()
        self.port = config.port
        self.backups: DailyBackup | None = None
        if config.backup_dir is not None and isinstance(config.db_path, Path):
            self.backups = DailyBackup(
                config.db_path,
                config.backup_dir,
                config.backup_keep,
                config.backup_at,
                config.backup_tz,
            )
        self._backup_task: asyncio.Task[None] | None = None
        self.tls = None if config.insecure else tls.TlsFolder(_tls_dir(config))
        self.announcer: Announcer | None = None
        self.cluster: ClusterBus | None = None
        self.staff_commands = StaffCommands(self)
        self._handlers = self._dispatch_table()

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store, catch up with the clock and listen. Raises StoreInUse, StartError
        (a damaged store, a port in use, ...) or BackupError (the backup folder), in words."""
        if self.backups is not None:
            await asyncio.to_thread(self.backups.check)
        await self.store.open()
        await self.store.call(self.store.services.prune, timedelta(days=self.config.retention_days))
        await self.clock_round()  # catch up on what fell due while the server was off
        try:
            self._server = await serve(
                self._handle,
                self.config.host,
                self.config.port,
                ssl=self.tls.context(self.clock.now()) if self.tls else None,
                process_request=self._process_request,
                compression=None,
                # every message compressed on its own, or not at all (shared/deflate.py)
                extensions=[ServerDeflateFactory()] if self.config.compression else None,
                max_size=self.config.hard_max_frame,
                max_queue=64,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=self.config.close_timeout,
                # every desk of a large property reconnects at once after a restart: a short
                # accept queue would turn away most of them for a second or more
                backlog=LISTEN_BACKLOG,
            )
        except OSError as exc:  # the port is taken, say: let go of the store
            await self._backup_finished()
            await self.store.close()
            raise StartError(listen_words(exc, self.config.host, self.config.port)) from exc
        except BaseException:
            await self._backup_finished()
            await self.store.close()
            raise
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]
        self._join_cluster()
        self._tasks = [
            asyncio.create_task(self._heartbeat_loop("overview", self.config.heartbeat_overview)),
            asyncio.create_task(self._heartbeat_loop("room", self.config.heartbeat_room)),
            asyncio.create_task(self._prune_loop()),
            asyncio.create_task(self._clock_loop()),
        ]
        if self.config.external_poll > 0:
            self._tasks.append(asyncio.create_task(self._external_loop()))
        log.info(
            "Roomrack server listening on %s://%s:%s (store %s, epoch %s)",
            self.scheme,
            self.config.host,
            self.port,
            shown(self.config.db_path),
            self.store.epoch,
        )
        if self.config.discovery:
            await self._announce_on_lan()

    async def _announce_on_lan(self) -> None:
        def hotels() -> list[tuple[str, str]]:
            return [(h.slug, h.name) for h in m.Hotel.select().order_by(m.Hotel.name)]

        names = await self.store.call(hotels)
        announcer = Announcer(
            self.config.host,
            self.port,
            names,
            self.fingerprint_code,
            self.config.discovery_interfaces,
            cluster=self.store.epoch[:12],
        )
        try:
            await announcer.start()
        except Exception as exc:  # a network without multicast must not stop the server
            log.warning("not announced on the LAN (%s); desktops type the address", exc)
            return
        self.announcer = announcer

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _join_cluster(self) -> None:
        """On PostgreSQL, hear the other servers of the database (server/cluster.py)."""
        if not isinstance(self.config.db_path, Postgres):
            return
        self.cluster = bus = ClusterBus(self, self.config.db_path)
        self.guard.tell = bus.tell_guard
        self.hub.on_presence = bus.presence_changed
        bus.start()

    def tell_cluster(self, kind: str) -> None:
        """Tell the other servers of the database (if any) what happened here."""
        if self.cluster is not None:
            self.cluster.send_soon(kind)

    async def stop(self) -> None:
        if self.cluster is not None:
            await self.cluster.stop()
            self.cluster = None
        if self.announcer is not None:
            await self.announcer.stop()
            self.announcer = None
        self.hub.cancel_announcements()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self._backup_finished()
        await self.store.close()
        log.info("Roomrack server stopped")

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Future()
        finally:
            await self.stop()

    # --- one connection ------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        peer = "%s:%s" % (ws.remote_address[:2] if ws.remote_address else ("?", "?"))
        cfg = self.config
        client = Client(
            ws=ws,
            peer=peer,
            commands=TokenBucket(self.clock, cfg.rate_per_second, cfg.rate_burst),
            logins=TokenBucket(self.clock, 1.0 / cfg.login_refill, cfg.login_attempts),
        )
        self.hub.clients.add(client)
        log.debug("connection from %s", peer)
        inflight = asyncio.Semaphore(cfg.max_inflight)
        tasks: set[asyncio.Task[None]] = set()
        watchdog = (
            asyncio.create_task(self._close_unless_logged_in(client))
            if cfg.login_timeout > 0
            else None
        )
        try:
            await ws.send(
                protocol.dumps(
                    protocol.hello(
                        self.store.epoch,
                        {
                            "max_frame_bytes": protocol.MAX_FRAME_BYTES,
                            "max_batch": protocol.MAX_BATCH,
                            "rate_per_second": cfg.rate_per_second,
                            "rate_burst": cfg.rate_burst,
                        },
                        {"overview": cfg.heartbeat_overview, "room": cfg.heartbeat_room},
                        self.tls.hello_info() if self.tls else None,
                    )
                )
            )
            async for frame in ws:
                await inflight.acquire()
                task = asyncio.create_task(self._one(client, frame))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(lambda _: inflight.release())
        except ConnectionClosed:
            pass
        finally:
            if watchdog is not None:
                watchdog.cancel()
            for t in list(tasks):
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await t
            self.hub.remove(client)
            self.hub.clients.discard(client)
            if client.staff is not None:
                self._announce(client.staff.hotel_slug)
            log.debug("%s disconnected", client.label())

    async def _close_unless_logged_in(self, client: Client) -> None:
        """A connection that does not log in within `login_timeout` holds a socket for nothing
        (a port scanner, a crashed client): it is closed, with a reason."""
        await self.clock.sleep(self.config.login_timeout)
        if client.staff is None:
            log.info("closing %s: no login within %g s", client.label(), self.config.login_timeout)
            with contextlib.suppress(Exception):
                await client.ws.close(CLOSE_LOGIN_TIMEOUT, "log in first")

    async def _one(self, client: Client, frame: str | bytes) -> None:
        rid: str | None = None
        reply: dict[str, Any] | None
        try:
            try:
                cmd = protocol.parse_command(frame)
            except ProtocolError:
                rid = (
                    protocol.request_id_of(frame)
                    if len(frame) <= protocol.MAX_FRAME_BYTES
                    else None
                )
                raise
            rid = cmd.request_id
            if client.staff is None and cmd.type not in protocol.AUTH_COMMANDS:
                raise ProtocolError(ErrorCode.NOT_AUTHENTICATED)
            if cmd.type not in protocol.AUTH_COMMANDS and not client.commands.take():
                raise ProtocolError(
                    ErrorCode.RATE_LIMITED,
                    "Too many requests; slow down and try again in a moment.",
                )
            if client.staff is not None:  # the role before anything is read from the store
                refused = access.refusal(cmd.type, client.staff.role)
                if refused is not None:
                    raise ProtocolError(ErrorCode.FORBIDDEN, refused)
            handler = self._handlers[type(cmd)]
            if cmd.type in SERIAL_COMMANDS:
                async with client.lock:
                    if client.staff is None and cmd.type not in protocol.AUTH_COMMANDS:
                        raise ProtocolError(ErrorCode.NOT_AUTHENTICATED)  # logged out meanwhile
                    reply = await handler(client, cmd)
            else:
                reply = await handler(client, cmd)
            if reply is None:  # the handler sent its own reply
                return
        except ProtocolError as exc:
            if exc.code not in (ErrorCode.STALE_VERSION, ErrorCode.INVALID_TRANSITION):
                log.info("refused %s: %s", client.label(), exc)
            reply = protocol.error_from(rid, exc)
        except ConnectionClosed:
            return
        except Exception:
            log.exception("internal error while serving %s", client.label())
            reply = protocol.error(rid, ErrorCode.INTERNAL_ERROR)
        if not client.dropped:
            with contextlib.suppress(ConnectionClosed):
                await client.ws.send(protocol.dumps(reply))

    # --- commands: the table of server/commands/registry.py -------------------------------

    def _edges(self) -> dict[str, Handler]:
        """The handlers of the commands that need the connection or the server (EDGE)."""
        own: dict[str, Handler] = {
            "auth.login": self._login,
            "auth.token": self._token_login,
            "auth.logout": self._logout,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "presence.viewing": self._viewing,
            "ping": self._ping,
            "pair.prove": self._pair_prove,
        }
        staff = {cls.type: h for cls, h in self.staff_commands.handlers().items()}
        return {**own, **staff}

    def _dispatch_table(self) -> dict[type[protocol.Command], Handler]:
        """Every command of the registry with the handler of its kind; a command without one
        (or an edge handler without its command) stops the server from starting."""
        edges = self._edges()
        table: dict[type[protocol.Command], Handler] = {}
        for name, entry in REGISTRY.items():
            if entry.kind == WRITE:
                table[entry.command] = self._write(entry.run)
            elif entry.kind == READ:
                table[entry.command] = self._read(entry.run)
            else:
                table[entry.command] = edges.pop(name)
        missing = set(protocol.COMMANDS) - set(REGISTRY)
        if missing or edges:
            raise RuntimeError(f"no handler for {sorted(missing)}; no command for {sorted(edges)}")
        return table

    def _write(self, run: Callable[..., Outcome] | None) -> Handler:
        assert run is not None

        async def handler(client: Client, cmd: Any) -> dict[str, Any]:
            staff = client.staff
            assert staff is not None
            outcome = await self.store.write(run, self.store.services, staff, cmd)
            if outcome.events:
                self.hub.send_own(client)  # its events go out before its answer
            return outcome.reply

        return handler

    def _read(self, run: Callable[..., dict[str, Any]] | None) -> Handler:
        assert run is not None

        async def handler(client: Client, cmd: Any) -> dict[str, Any]:
            staff = client.staff
            assert staff is not None
            found = await self.store.call(run, self.store.services, staff, cmd)
            return protocol.ack(cmd.request_id, found)

        return handler

    # --- heartbeats and housekeeping of the journal ----------------------------------------


def _tls_dir(config: Config) -> Path:
    return config.tls_dir or tls.default_dir(config.db_path)
