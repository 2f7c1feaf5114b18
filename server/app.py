"""The Roomrack server: one WebSocket port (plus two plain HTTP paths) for the hotel LAN.

Connection handlers stay thin: parse with `shared.protocol`, check the session and role, call
one service on the store thread, reply once. Committed events reach `Hub.publish` in journal
order and are serialised once for every subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State

from server import db as m
from server import rooms_admin, tls
from server.accounts import Accounts
from server.backup import BackupError, DailyBackup
from server.discovery import Announcer
from server.guard import LoginGuard, LoginLimits, TokenBucket
from server.journal import Outcome, StaffInfo, StoredEvent
from server.staff_commands import StaffCommands, address_of
from server.startup import StartError, listen_words
from server.store import Store
from shared import access, protocol
from shared.clock import Clock, SystemClock
from shared.errors import ErrorCode, ProtocolError
from shared.pairing import pairing_proof
from shared.timeutil import from_iso, to_iso

log = logging.getLogger("roomrack.server")

CLOSE_SLOW_CONSUMER = 4008
CLOSE_RESUME_AGAIN = 4009
CLOSE_LOGGED_OUT = 4001
CLOSE_LOGIN_TIMEOUT = 4002
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
REPLAY_PAGE = 1000  # journal rows read per store call while resuming


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8765
    db_path: Path = Path("roomrack.db")
    heartbeat_overview: float = 60.0
    heartbeat_room: float = 30.0
    retention_days: float = 7.0
    replay_limit: int = 50_000
    token_ttl_days: float = 30.0
    rate_per_second: float = 20.0  # commands per connection; 0 turns the limit off
    rate_burst: int = 60
    login_attempts: int = 5  # per connection, refilled one per `login_refill` seconds
    login_failures: int = 10  # failed logins per address, likewise (server.guard)
    login_refill: float = 30.0
    login_failures_account: int = 5  # failed logins per login name and address, likewise
    lockout_addresses: int = 3  # an account locks after failures from this many addresses
    lockout_failures: int = 10  # ...this many in all, within `lockout_window` seconds
    lockout_window: float = 900.0
    lockout_minutes: float = 15.0  # how long a lockout lasts (a manager lifts it sooner)
    session_idle_minutes: float = 720.0  # a session unused this long expires; 0: never
    session_check: float = 5.0  # seconds between checks of live sessions against the store
    max_inflight: int = 32  # commands of one connection being processed at once
    max_buffer: int = 4 * 1024 * 1024  # bytes waiting for a slow client before it is dropped
    hard_max_frame: int = 1024 * 1024  # larger frames close the connection (1009)
    synchronous: str = "FULL"
    crash_after_commit: bool = False  # fault injection for tests (ROOMRACK_CRASH_AFTER_COMMIT)
    presence_interval: float = 1.0  # "who is online" at most this often per hotel (seconds)
    login_timeout: float = 60.0  # a connection that has not logged in by then is closed; 0: never
    backup_dir: Path | None = None  # the daily backup's folder (None: no daily backup)
    backup_keep: int = 14  # how many of its daily backups it keeps
    backup_at: time = time(4, 0)  # when, by the clock of `backup_tz`
    backup_tz: tzinfo | None = None  # None: the server PC's own time zone
    # how often to look for commits of other processes (the command line), in seconds of real
    # time (a look at a file, like a socket's keep-alive, not the hotel's clock); 0: only at
    # each write and each clock round (server/tail.py)
    external_poll: float = 1.0
    # transport (server/tls.py, server/discovery.py): TLS unless asked for plain ws by name
    insecure: bool = False
    tls_dir: Path | None = None  # default: `roomrack-tls` beside the store
    discovery: bool = False  # announce on the LAN (`roomrack-server serve` turns it on)
    discovery_interfaces: tuple[str, ...] | None = None  # None: every interface


@dataclass(eq=False)
class Client:
    ws: ServerConnection
    peer: str
    commands: TokenBucket
    logins: TokenBucket
    staff: StaffInfo | None = None
    token: str | None = None
    session_id: int | None = None  # the store's row of its session (to end it at once)
    channels: set[str] = field(default_factory=set)
    # while a subscribe is being answered, events wait here (in order), at most `max_buffer`
    # bytes of them (`pending_bytes`): past that the client is dropped like a slow reader
    pending: list[StoredEvent] | None = None
    pending_bytes: int = 0
    last_seq: int = 0
    dropped: bool = False
    # session and subscription requests of one connection run one at a time
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    online_since: str | None = None  # presence: when this workstation logged in
    viewing: str | None = None  # presence: the room whose details it has open

    def label(self) -> str:
        who = f"{self.staff.login}@{self.staff.hotel_slug}" if self.staff else "anonymous"
        return f"{who} from {self.peer}"


class Hub:
    """Subscriptions and fan-out. Runs on the event loop only."""

    def __init__(self, max_buffer: int, presence_interval: float = 0.0) -> None:
        self.max_buffer = max_buffer
        self.presence_interval = presence_interval
        self._presence_sent: dict[str, float] = {}  # hotel slug -> loop time of the last list
        self._presence_due: dict[str, asyncio.TimerHandle] = {}
        self.subs: dict[str, set[Client]] = defaultdict(set)
        self.clients: set[Client] = set()
        self.hotel_of: dict[str, int] = {}  # hotel slug -> id, for heartbeats
        self.delivered = 0

    def add(self, client: Client, channels: list[str]) -> None:
        for ch in channels:
            self.subs[ch].add(client)
            client.channels.add(ch)

    def remove(self, client: Client, channels: list[str] | None = None) -> None:
        for ch in list(client.channels if channels is None else channels):
            subs = self.subs.get(ch)
            if subs is not None:
                subs.discard(client)
                if not subs:
                    del self.subs[ch]
            client.channels.discard(ch)

    def presence_frame(self, slug: str, now: str | None) -> bytes:
        online = [
            {
                "staff_id": c.staff.staff_id,
                "name": c.staff.name,
                "role": c.staff.role.value,
                "workstation": c.staff.workstation,
                "since": c.online_since,
                "viewing": c.viewing,
            }
            for c in self.clients
            if c.staff is not None and c.staff.hotel_slug == slug and not c.dropped
        ]
        online.sort(key=lambda e: (e["name"], e["workstation"] or "", e["since"] or ""))
        frame = {"type": "presence", "hotel_slug": slug, "server_time": now, "online": online}
        return protocol.dumps(frame).encode()

    def announce(self, slug: str, now: Callable[[], str | None]) -> None:
        """Tell the hotel's overview subscribers who is online and what they are viewing: at
        once, or, if the list went out less than `presence_interval` ago, once that much time
        has passed (every change in between goes out in that one list). When all the
        workstations reconnect after a restart, each does not send the whole list to all."""
        if slug in self._presence_due:
            return  # a list is due already; it will carry this change too
        loop = asyncio.get_running_loop()
        last = self._presence_sent.get(slug)
        wait = 0.0 if last is None else last + self.presence_interval - loop.time()
        if wait <= 0:
            self._announce_now(slug, now)
        else:
            self._presence_due[slug] = loop.call_later(wait, self._announce_due, slug, now)

    def _announce_due(self, slug: str, now: Callable[[], str | None]) -> None:
        del self._presence_due[slug]
        self._announce_now(slug, now)

    def cancel_announcements(self) -> None:
        for handle in self._presence_due.values():
            handle.cancel()
        self._presence_due.clear()

    def _announce_now(self, slug: str, now: Callable[[], str | None]) -> None:
        self._presence_sent[slug] = asyncio.get_running_loop().time()
        subs = self.subs.get(protocol.overview_channel(slug))
        if not subs:
            return
        data = self.presence_frame(slug, now())
        for c in list(subs):
            if c.pending is None:
                self.send(c, data)

    def publish(self, events: list[StoredEvent]) -> None:
        """Fan out one commit's events. Each client's frames of this commit go out in one
        write (one TLS record, one system call), in order: nothing else is written to a
        client between here and the end of this call."""
        outgoing: dict[Client, list[tuple[bytes, bytes]]] = {}
        for ev in events:
            chans = list(ev.channels)
            if len(chans) == 1:
                targets: set[Client] = self.subs.get(chans[0], set())
            else:
                targets = set()
                for ch in chans:
                    s = self.subs.get(ch)
                    if s:
                        targets |= s
            if not targets:
                continue
            data = ev.frame.encode()
            # a server's frames are not masked: with no extension (compression is off) the bytes
            # on the wire are the same for every subscriber, so the event is framed once
            wire = Frame(Opcode.TEXT, data).serialize(mask=False)
            for c in list(targets):
                if c.pending is not None:
                    c.pending.append(ev)
                    c.pending_bytes += len(data)
                    if c.pending_bytes > self.max_buffer:
                        # its snapshot or replay is not being read fast enough to catch up
                        self.drop(c)
                elif ev.seq > c.last_seq:
                    c.last_seq = ev.seq
                    outgoing.setdefault(c, []).append((data, wire))
        for c, frames in outgoing.items():
            if len(frames) == 1:
                self.send(c, *frames[0])
            else:
                self.send_many(c, frames)

    def send_many(self, c: Client, frames: list[tuple[bytes, bytes]]) -> None:
        """Several (data, wire) frames for one client: one write when the framed bytes can
        go as they are (see `send`), else one by one."""
        ws = c.ws
        transport, proto = ws.transport, ws.protocol
        if (
            not c.dropped
            and transport is not None
            and not transport.is_closing()
            and proto.state is State.OPEN
            and not proto.extensions
            and not proto.writes
        ):
            if transport.get_write_buffer_size() > self.max_buffer:
                self.drop(c)
                return
            try:
                transport.write(b"".join(wire for _, wire in frames))
            except Exception:  # the connection is closing; the handler cleans up
                return
            self.delivered += len(frames)
            return
        for data, wire in frames:
            self.send(c, data, wire)

    def send(self, c: Client, data: bytes, wire: bytes | None = None) -> bool:
        """Queue one text frame for a client without waiting. A client whose unsent data
        passes `max_buffer` is dropped: it reconnects and resumes from the journal.

        `wire` is `data` already framed: written as it is while the connection is open, has
        no extension and nothing of its own waiting to be written (so order is kept)."""
        if c.dropped:
            return False
        ws = c.ws
        transport = ws.transport
        if transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > self.max_buffer:
            self.drop(c)
            return False
        proto = ws.protocol
        try:
            if (
                wire is not None
                and proto.state is State.OPEN
                and not proto.extensions
                and not proto.writes
            ):
                transport.write(wire)
            else:
                proto.send_text(data)
                ws.send_data()
        except Exception:  # the connection is closing; the handler cleans up
            return False
        self.delivered += 1
        return True

    def drop(self, c: Client) -> None:
        """Disconnect a client that does not keep up. It resumes from the last event it
        processed, so nothing is lost; what waited for it is let go at once."""
        c.dropped = True
        self.remove(c)
        if c.pending is not None:
            c.pending, c.pending_bytes = [], 0
        log.warning("dropping %s: it is not reading fast enough (it will resume)", c.label())
        with contextlib.suppress(Exception):
            c.ws.protocol.fail(CLOSE_SLOW_CONSUMER, "slow consumer; reconnect and resume")
            c.ws.send_data()
        if c.ws.transport is not None:
            c.ws.transport.abort()


Handler = Callable[[Client, Any], Awaitable[dict[str, Any] | None]]


class RoomrackServer:
    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.store = Store(
            config.db_path, self.clock, config.synchronous, config.crash_after_commit
        )
        self.hub = Hub(config.max_buffer, config.presence_interval)
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
        if config.backup_dir is not None:
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
        self._handlers: dict[type[protocol.Command], Handler] = {
            protocol.Login: self._login,
            protocol.TokenLogin: self._token_login,
            protocol.Logout: self._logout,
            protocol.Subscribe: self._subscribe,
            protocol.Unsubscribe: self._unsubscribe,
            protocol.RoomAction: self._write(lambda s, st, c: s.room_action(st, c)),
            protocol.RoomsBatch: self._write(lambda s, st, c: s.rooms_batch(st, c)),
            protocol.RoomCheckIn: self._write(lambda s, st, c: s.room_check_in(st, c)),
            protocol.RoomRush: self._write(lambda s, st, c: s.room_rush(st, c)),
            protocol.RoomRushCancel: self._write(lambda s, st, c: s.room_rush_cancel(st, c)),
            protocol.RoomsAssign: self._write(lambda s, st, c: s.rooms_assign(st, c)),
            protocol.RoomsAssignSplit: self._write(lambda s, st, c: s.rooms_assign_split(st, c)),
            protocol.StaffList: self._hotel_read(lambda s, h: s.staff_list(h), "staff"),
            protocol.BlockCreate: self._write(lambda s, st, c: s.block_create(st, c)),
            protocol.BlockEnd: self._write(lambda s, st, c: s.block_end(st, c)),
            protocol.BlocksList: self._hotel_read(lambda s, h: s.blocks_list(h), "blocks"),
            protocol.RoomObserve: self._write(lambda s, st, c: s.room_observe(st, c)),
            protocol.DiscrepancyResolve: self._write(lambda s, st, c: s.discrepancy_resolve(st, c)),
            protocol.DiscrepanciesList: self._hotel_read(
                lambda s, h: s.discrepancies_list(h), "discrepancies"
            ),
            protocol.RoomCheckOut: self._write(lambda s, st, c: s.room_check_out(st, c)),
            protocol.ReservationCreate: self._write(lambda s, st, c: s.reservation_create(st, c)),
            protocol.RoomHistory: self._history,
            protocol.RoomsStatus: self._hotel_read(lambda s, h: s.status_list(h), "rooms"),
            protocol.ReservationsList: self._reservations_list,
            protocol.BoardAt: self._board_at,
            protocol.PresenceViewing: self._viewing,
            protocol.JournalRange: self._journal_range,
            protocol.HotelConfigure: self._write(lambda s, st, c: s.hotel_configure(st, c)),
            protocol.Ping: self._ping,
            protocol.PairProve: self._pair_prove,
        }
        # setting the hotel up: room types and rooms (server/rooms_admin.py)
        for cls in rooms_admin.WORK:
            self._handlers[cls] = self._write(rooms_admin.write)
        self._handlers[protocol.RoomTypesList] = self._room_types
        for cls in protocol.COMMANDS.values():
            if issubclass(cls, protocol.ReservationCommand):
                self._handlers[cls] = self._write(lambda s, st, c: s.reservation_action(st, c))
        self.staff_commands = StaffCommands(self)
        self._handlers.update(self.staff_commands.handlers())

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
                max_size=self.config.hard_max_frame,
                max_queue=64,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=3,
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
            self.config.db_path,
            self.store.epoch,
        )
        if self.config.discovery:
            await self._announce_on_lan()

    @property
    def scheme(self) -> str:
        return "ws" if self.tls is None else "wss"

    @property
    def fingerprint_code(self) -> str | None:
        """The served certificate's readable code (None over plain ws)."""
        cert = self.tls.current() if self.tls else None
        return cert.code if cert else None

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

    async def stop(self) -> None:
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

    # --- HTTP on the same port ---------------------------------------------------------------

    async def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            head = {
                "status": "ok",
                "server": "roomrack",
                "protocol": protocol.PROTOCOL_VERSION,
                "epoch": self.store.epoch,
                "time": to_iso(self.clock.now()),
                "connections": len(self.hub.clients),
                "backup": self.backup_health(),
            }
            return _json_response(http.HTTPStatus.OK, head)
        if path == "/api/rooms/status":
            auth = request.headers.get("Authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            staff = (
                await self.store.call(self.store.services.staff_for_token, token, None)
                if token
                else None
            )
            if staff is None:
                return _json_response(
                    http.HTTPStatus.UNAUTHORIZED, protocol.error(None, ErrorCode.NOT_AUTHENTICATED)
                )
            rooms = await self.store.call(self.store.services.status_list, staff.hotel_id)
            return _json_response(http.HTTPStatus.OK, rooms)
        return _json_response(
            http.HTTPStatus.NOT_FOUND,
            {
                "error": "not found",
                "paths": ["/healthz", "/api/rooms/status"],
                "websocket": "connect with a WebSocket client on this port",
            },
        )

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

    # --- auth ----------------------------------------------------------------------------

    def _session_result(self, staff: StaffInfo, token: str, expires: str | None) -> dict[str, Any]:
        slug = staff.hotel_slug
        return {
            "token": token,
            "expires_at": expires,
            "staff": staff.public(),
            "hotel": {"slug": slug, "name": staff.hotel_name, "timezone": staff.timezone},
            "epoch": self.store.epoch,
            "channels": [protocol.overview_channel(slug), protocol.reservations_channel(slug)],
        }

    async def _login(self, client: Client, cmd: protocol.Login) -> dict[str, Any]:
        address = address_of(client.peer)
        if not self.guard.allowed(cmd.login, address) or not client.logins.take():
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, "Too many login attempts; wait a little and try again."
            )
        return await self.staff_commands.login(client, cmd, address)

    async def _token_login(self, client: Client, cmd: protocol.TokenLogin) -> dict[str, Any]:
        if not client.logins.take():
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, "Too many login attempts; wait a little and try again."
            )
        staff, session_id = await self.store.call(self.accounts.resume, cmd.token, cmd.workstation)
        self._bind(client, staff, cmd.token, session_id)
        log.info("%s resumed a session (%s)", client.label(), staff.role.value)
        return protocol.ack(cmd.request_id, self._session_result(staff, cmd.token, None))

    def _bind(self, client: Client, staff: StaffInfo, token: str, session_id: int) -> None:
        previous = client.staff
        self._end_stream(client)  # a new session starts a new stream (seqs are per hotel)
        client.staff, client.token, client.session_id = staff, token, session_id
        client.online_since = to_iso(self.clock.now())
        if previous is not None and previous.hotel_slug != staff.hotel_slug:
            self._announce(previous.hotel_slug)
        self._announce(staff.hotel_slug)

    def _end_stream(self, client: Client) -> None:
        """Forget everything of the connection's stream: its subscriptions, the last seq it
        was sent, what it is viewing. Sequence numbers are per hotel, so a stream cannot
        carry over from one session to the next (above all not into another hotel). Runs
        under the client's lock, so no subscribe of this connection is being answered."""
        self.hub.remove(client)
        client.pending, client.pending_bytes = None, 0
        client.last_seq = 0
        client.viewing = None
        client.online_since = None

    def _announce(self, slug: str) -> None:
        self.hub.announce(slug, lambda: to_iso(self.clock.now()))

    async def _logout(self, client: Client, cmd: protocol.Logout) -> dict[str, Any]:
        await self.store.call(self.accounts.logout, client.session_id)
        self._end_stream(client)
        log.info("%s logged out", client.label())
        for other in list(self.hub.clients):  # the token stops working everywhere
            if other is not client and other.token is not None and other.token == client.token:
                other.staff = other.token = other.session_id = None
                self.hub.remove(other)  # it is closed: its stream ends with it
                self._spawn(other.ws.close(CLOSE_LOGGED_OUT, "logged out elsewhere"))
        staff, client.staff, client.token = client.staff, None, None
        client.session_id = None
        if staff is not None:
            self._announce(staff.hotel_slug)
        return protocol.ack(cmd.request_id, {})

    async def _viewing(self, client: Client, cmd: protocol.PresenceViewing) -> dict[str, Any]:
        staff = client.staff
        assert staff is not None
        number = cmd.room_number
        if number is not None and not await self.store.call(
            self.store.services.room_exists, staff.hotel_id, number
        ):
            raise ProtocolError(ErrorCode.UNKNOWN_ROOM, f"There is no room {number[:16]}.")
        if client.viewing != number:
            client.viewing = number
            self._announce(staff.hotel_slug)
        return protocol.ack(cmd.request_id, {"viewing": number})

    # --- subscriptions -------------------------------------------------------------------

    async def _subscribe(self, client: Client, cmd: protocol.Subscribe) -> dict[str, Any] | None:
        staff = client.staff
        assert staff is not None
        if not cmd.channels:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "Name at least one channel.")
        services = self.store.services
        since_seq: int | None = None
        if cmd.since is not None:
            epoch, seq = cmd.since.get("epoch"), cmd.since.get("seq")
            if (
                not isinstance(epoch, str)
                or not isinstance(seq, int)
                or isinstance(seq, bool)
                or set(cmd.since) != {"epoch", "seq"}
            ):
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST, '\'since\' is {"epoch": text, "seq": number}.'
                )
            if client.channels:
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST,
                    "Resume with 'since' on the first subscribe of a connection.",
                )
            since_seq = seq
        wanted: list[tuple[str, str, str | None]] = []
        for name in dict.fromkeys(cmd.channels):
            slug, kind, room = protocol.parse_channel(name)
            if slug != staff.hotel_slug:
                raise ProtocolError(
                    ErrorCode.UNKNOWN_CHANNEL, f"There is no channel '{name}' for your hotel."
                )
            if name not in client.channels:
                wanted.append((name, kind, room))
        rooms = [r for _, _, r in wanted if r is not None]
        if rooms:
            missing = await self.store.call(services.missing_rooms, staff.hotel_id, rooms)
            if missing:
                raise ProtocolError(ErrorCode.UNKNOWN_ROOM, f"There is no room {missing[0]}.")
        if not wanted:
            return protocol.ack(
                cmd.request_id, {"channels": sorted(client.channels), "mode": "none"}
            )
        names = [w[0] for w in wanted]
        kinds = [(k, r) for _, k, r in wanted]
        old_last = client.last_seq
        plan: tuple[int, int] | str | None = None
        if since_seq is not None:
            if cmd.since is not None and cmd.since.get("epoch") != self.store.epoch:
                plan = "the server's store was replaced or restored"
            else:
                plan = await self.store.call(
                    services.resume_plan,
                    staff.hotel_id,
                    since_seq,
                    self.config.replay_limit,
                    kinds,
                )
        # From here until the end, this client's events wait in `pending`, in order.
        client.pending, client.pending_bytes = [], 0
        self.hub.hotel_of[staff.hotel_slug] = staff.hotel_id
        self.hub.add(client, names)
        try:
            if isinstance(plan, tuple):
                base = await self._replay(client, cmd, staff, since_seq or 0, plan, kinds, names)
            else:
                base = await self._snapshot(client, cmd, staff, kinds, names, old_last, plan)
        except BaseException:
            # undo: the new channels go, and what came for the old ones is still delivered
            self.hub.remove(client, names)
            waiting, client.pending = client.pending or [], None
            self._flush(client, waiting, old_last, client.channels)
            raise
        waiting, client.pending = client.pending, None
        client.last_seq = max(old_last, base)
        self._flush(client, [e for e in waiting if e.seq > base], client.last_seq, client.channels)
        if protocol.overview_channel(staff.hotel_slug) in client.channels:
            now = to_iso(self.clock.now())
            self.hub.send(client, self.hub.presence_frame(staff.hotel_slug, now))
        return None

    async def _snapshot(
        self,
        client: Client,
        cmd: protocol.Subscribe,
        staff: StaffInfo,
        kinds: list[tuple[str, str | None]],
        names: list[str],
        old_last: int,
        refused: str | None,
    ) -> int:
        """Reply, then the events of channels held before up to the snapshot, then the
        snapshots (all at one seq). Returns that seq."""
        snaps = await self.store.call(self.store.services.snapshot, staff.hotel_id, kinds)
        base = int(snaps[0]["seq"])
        result: dict[str, Any] = {
            "channels": sorted(client.channels),
            "mode": "snapshot",
            "head_seq": base,
        }
        if refused is not None:
            result.update(resumed=False, reason=refused)
        await client.ws.send(protocol.dumps(protocol.ack(cmd.request_id, result)))
        held = client.channels - set(names)
        assert client.pending is not None
        earlier = [e for e in client.pending if e.seq <= base]
        client.pending = [e for e in client.pending if e.seq > base]
        client.pending_bytes = sum(len(e.frame) for e in client.pending)
        for ev in earlier:
            if ev.seq > old_last and ev.channels & held:
                await client.ws.send(ev.frame)
        for snap in snaps:
            await client.ws.send(protocol.dumps(snap))
        return base

    async def _replay(
        self,
        client: Client,
        cmd: protocol.Subscribe,
        staff: StaffInfo,
        since: int,
        plan: tuple[int, int],
        kinds: list[tuple[str, str | None]],
        names: list[str],
    ) -> int:
        """Reply, then every missed event, page by page, at the pace the client reads them
        (so a long absence is not mistaken for a slow client). Returns the last seq sent."""
        head, count = plan
        result = {
            "channels": sorted(client.channels),
            "mode": "resume",
            "resumed": True,
            "from_seq": since,
            "head_seq": head,
            "replayed": count,
        }
        await client.ws.send(protocol.dumps(protocol.ack(cmd.request_id, result)))
        after = since
        while after < head:
            page = await self.store.call(
                self.store.services.replay_page, staff.hotel_id, after, head, kinds, REPLAY_PAGE
            )
            if page is None:  # the journal was pruned under us: start again, told why
                await client.ws.close(CLOSE_RESUME_AGAIN, "journal moved on; resume again")
                raise ConnectionClosedOK(None, None)
            if not page:
                break
            for ev in page:
                await client.ws.send(ev.frame)
            after = page[-1].seq
        return head

    def _flush(
        self, client: Client, events: list[StoredEvent], after: int, channels: set[str]
    ) -> None:
        for ev in events:
            if ev.seq > after and ev.channels & channels:
                client.last_seq = max(client.last_seq, ev.seq)
                self.hub.send(client, ev.frame.encode())

    async def _unsubscribe(self, client: Client, cmd: protocol.Unsubscribe) -> dict[str, Any]:
        self.hub.remove(client, cmd.channels)
        return protocol.ack(cmd.request_id, {"channels": sorted(client.channels)})

    # --- commands ------------------------------------------------------------------------

    def _write(self, call: Callable[[Any, StaffInfo, Any], Outcome]) -> Handler:
        async def handler(client: Client, cmd: Any) -> dict[str, Any]:
            staff = client.staff
            assert staff is not None
            outcome = await self.store.write(call, self.store.services, staff, cmd)
            return outcome.reply

        return handler

    async def _history(self, client: Client, cmd: protocol.RoomHistory) -> dict[str, Any]:
        staff = client.staff
        assert staff is not None
        if not await self.store.call(
            self.store.services.room_exists, staff.hotel_id, cmd.room_number
        ):
            raise ProtocolError(ErrorCode.UNKNOWN_ROOM, f"There is no room {cmd.room_number}.")
        events = await self.store.call(
            self.store.services.history, staff.hotel_id, cmd.room_number, cmd.limit
        )
        return protocol.ack(cmd.request_id, {"room_number": cmd.room_number, "events": events})

    def _hotel_read(self, read: Callable[[Any, int], Any], key: str) -> Handler:
        """A handler that answers `{key: read(services, hotel id), "seq": head}` for the caller's
        hotel; `seq` is the journal head the list is consistent with (read in the same turn of
        the store's thread), so a client knows which events are newer than the list."""

        def read_with_head(services: Any, hotel_id: int) -> tuple[Any, int]:
            return read(services, hotel_id), services.head_seq(hotel_id)

        async def handler(client: Client, cmd: Any) -> dict[str, Any]:
            staff = client.staff
            assert staff is not None
            found, head = await self.store.call(read_with_head, self.store.services, staff.hotel_id)
            return protocol.ack(cmd.request_id, {key: found, "seq": head})

        return handler

    async def _reservations_list(
        self, client: Client, cmd: protocol.ReservationsList
    ) -> dict[str, Any]:
        staff = client.staff
        assert staff is not None
        found = await self.store.call(self.store.services.reservations_list, staff.hotel_id)
        return protocol.ack(cmd.request_id, found)

    async def _board_at(self, client: Client, cmd: protocol.BoardAt) -> dict[str, Any]:
        staff = client.staff
        assert staff is not None
        at = _parse_time("at", cmd.at)
        board = await self.store.call(self.store.services.board_at, staff.hotel_id, at)
        return protocol.ack(cmd.request_id, board)

    async def _journal_range(self, client: Client, cmd: protocol.JournalRange) -> dict[str, Any]:
        staff = client.staff
        assert staff is not None
        since, until = _parse_time("since", cmd.since), _parse_time("until", cmd.until)
        if until <= since:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "'until' must be after 'since'.")
        found = await self.store.call(
            self.store.services.journal_range,
            staff.hotel_id,
            since,
            until,
            cmd.limit,
            cmd.after_seq,
        )
        return protocol.ack(cmd.request_id, found)

    async def _room_types(self, client: Client, cmd: protocol.RoomTypesList) -> dict[str, Any]:
        staff = client.staff
        assert staff is not None
        found = await self.store.call(rooms_admin.room_types, self.store.services, staff, cmd)
        return protocol.ack(cmd.request_id, found)

    async def _ping(self, client: Client, cmd: protocol.Ping) -> dict[str, Any]:
        return protocol.ack(cmd.request_id, {"server_time": to_iso(self.clock.now())})

    async def _pair_prove(self, client: Client, cmd: protocol.PairProve) -> dict[str, Any]:
        """Answer a desktop's nonce with the proof of the waiting pairing code over the
        certificate served now (shared/pairing.py); each answer uses the code up once."""
        if not client.logins.take():
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, "Too many attempts; wait a little and try again."
            )
        cert = self.tls.current() if self.tls else None
        if cert is None or not 8 <= len(cmd.nonce) <= 128:
            raise ProtocolError(
                ErrorCode.PAIRING_UNAVAILABLE if cert is None else ErrorCode.BAD_REQUEST,
                "This server runs without TLS (--insecure): there is nothing to pair."
                if cert is None
                else "'nonce' must be 8 to 128 characters.",
            )
        code = self.tls.take_pairing(self.clock.now()) if self.tls else None
        if code is None:
            raise ProtocolError(ErrorCode.PAIRING_UNAVAILABLE)
        log.info("pairing proof given to %s", client.label())
        proof = pairing_proof(code, cert.sha256, cmd.nonce)
        return protocol.ack(cmd.request_id, {"proof": proof, "fingerprint": cert.sha256})

    async def certificate_now(self) -> bool:
        """Serve the next certificate once a rotation's grace period is over (new connections
        get it; live ones keep theirs). True if it switched."""
        if self.tls is None or not self.tls.switch_if_due(self.clock.now()):
            return False
        log.info("now serving the next certificate, %s", self.fingerprint_code)
        if self.announcer is not None:
            with contextlib.suppress(Exception):
                await self.announcer.update(self.fingerprint_code)
        return True

    # --- heartbeats and housekeeping of the journal ----------------------------------------

    async def _heartbeat_loop(self, kind: str, interval: float) -> None:
        while True:
            await self.clock.sleep(interval)
            try:
                await self.heartbeat(kind)
            except Exception:
                log.exception("heartbeat failed")

    async def heartbeat(self, kind: str) -> int:
        """Send one round of `kind` heartbeats ("overview" or "room"); returns frames sent."""
        by_hotel: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        for ch, subs in self.hub.subs.items():
            if not subs:
                continue
            slug, k, room = protocol.parse_channel(ch)
            if k == kind:
                by_hotel[slug].append((ch, room))
        sent = 0
        for slug, chans in by_hotel.items():
            try:  # one hotel's trouble must not silence the others
                sent += await self._heartbeat_hotel(self.hub.hotel_of[slug], chans)
            except Exception:
                log.exception("heartbeat for hotel %s failed", slug)
        return sent

    async def _heartbeat_hotel(self, hid: int, chans: list[tuple[str, str | None]]) -> int:
        services = self.store.services
        head = await self.store.call(services.head_seq, hid)
        now = to_iso(self.clock.now())
        sent = 0
        for ch, room in chans:
            frame: dict[str, Any] = {
                "type": "heartbeat",
                "channel": ch,
                "head_seq": head,
                "server_time": now,
                "timestamp": now,
            }
            if room is None:
                frame["rooms"] = await self.store.call(services.status_list, hid)
            else:
                frame["status"] = await self.store.call(services.room_status_entry, hid, room)
            data = protocol.dumps(frame).encode()
            for c in list(self.hub.subs.get(ch, ())):
                if c.pending is None and self.hub.send(c, data):
                    sent += 1
        return sent

    async def _clock_loop(self) -> None:
        """Live sessions are checked against the store every `session_check` seconds (an
        account disabled from the command line ends its desks at once); the clock's round
        runs every 60 s."""
        every = min(60.0, self.config.session_check) if self.config.session_check > 0 else 60.0
        last_round = self.clock.monotonic()
        while True:
            await self.clock.sleep(every)
            await self.staff_commands.check_sessions()
            if self.clock.monotonic() - last_round >= 60:
                last_round = self.clock.monotonic()
                await self.clock_round()

    async def clock_round(self) -> None:
        """What the server's clock drives, once a minute and once before serving: the night
        roll-over, blocks starting and ending, discrepancies raised and cleared."""
        for what, step in (
            ("publishing commits of other processes", self.external_now),
            ("night roll-over", self.rollover_now),
            ("starting or ending blocks", self.blocks_now),
            ("looking for discrepancies", self.discrepancies_now),
            ("starting the daily backup", self._start_backup_if_due),
            ("switching the certificate", self.certificate_now),
        ):
            try:
                await step()
            except Exception:
                log.exception("%s failed", what)

    async def external_now(self) -> int:
        """Publish what other processes (the command line) committed; returns how many."""
        return await self.store.notice_external()

    async def _external_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.external_poll)  # real time on purpose: see Config
            try:
                await self.external_now()
            except Exception:
                log.exception("looking for commits of other processes failed")

    async def blocks_now(self) -> int:
        """Start and end the blocks whose time has come; returns how many hotels had some."""
        services = self.store.services
        hotels = await self.store.call(services.blocks_due)
        for hotel_id in hotels:
            outcome = await self.store.write(services.block_tick, hotel_id)
            for ev in outcome.events:
                log.info("blocks: hotel %s event %s", hotel_id, ev.seq)
        return len(hotels)

    async def discrepancies_now(self) -> int:
        """Look for discrepancies in every hotel; returns how many were raised or cleared."""
        services = self.store.services
        changes = 0
        for hotel_id in await self.store.call(services.hotel_ids):
            outcome = await self.store.write(services.discrepancy_scan, hotel_id)
            changes += len(outcome.events)
        return changes

    async def rollover_now(self) -> int:
        """Roll over every hotel whose roll-over hour has come; returns how many did."""
        services = self.store.services
        due = await self.store.call(services.rollovers_due)
        for hotel_id, day in due:
            outcome = await self.store.write(services.rollover, hotel_id, day)
            rooms = len(outcome.events) - 1 if outcome.events else 0
            log.info(
                "night roll-over: hotel %s is now on %s (%d rooms need service)",
                hotel_id,
                day,
                rooms,
            )
        return len(due)

    async def backup_if_due(self) -> None:
        """Make the daily backup if its time has come, or wait for the one under way."""
        await self._start_backup_if_due()
        if self._backup_task is not None:
            await asyncio.shield(self._backup_task)

    async def _backup_finished(self) -> None:
        """Let a daily backup under way finish (or fail) before the store is let go of."""
        if self._backup_task is not None:
            with contextlib.suppress(Exception):
                await self._backup_task

    def backup_health(self) -> dict[str, Any] | None:
        """The daily backup as `/healthz` reports it (None: there is none)."""
        if self.backups is None:
            return None
        last, failed = self.backups.last_made, self.backups.failed_at
        return {
            "last_made": to_iso(last) if last else None,
            "last_failed": to_iso(failed) if failed else None,
        }

    async def _start_backup_if_due(self) -> int:
        """Start the daily backup in a thread of its own if it is due and none is running
        (the clock round does not wait for it); returns 1 if one was started."""
        running = self._backup_task is not None and not self._backup_task.done()
        if self.backups is None or running or not self.backups.due(self.clock.now()):
            return 0
        self._backup_task = asyncio.create_task(self._daily_backup(self.backups))
        return 1

    async def _daily_backup(self, backups: DailyBackup) -> None:
        try:
            made, removed = await asyncio.to_thread(backups.run, self.clock.now())
        except BackupError as exc:
            log.error("daily backup failed: %s Next try in an hour.", exc)
            return
        except Exception:
            log.exception("daily backup failed; next try in an hour")
            return
        log.info(
            "daily backup: wrote %s (%s, checked)%s",
            made.path,
            made.size_words,
            f"; removed {len(removed)} older: {', '.join(p.name for p in removed)}"
            if removed
            else "",
        )

    async def _prune_loop(self) -> None:
        while True:
            await self.clock.sleep(3600)
            try:
                n = await self.store.call(
                    self.store.services.prune, timedelta(days=self.config.retention_days)
                )
                if n:
                    log.info(
                        "journal: removed %d events older than %s days",
                        n,
                        self.config.retention_days,
                    )
            except Exception:
                log.exception("journal pruning failed")


def _tls_dir(config: Config) -> Path:
    return config.tls_dir or tls.default_dir(config.db_path)


def _parse_time(name: str, text: str) -> datetime:
    try:
        return from_iso(text)
    except ValueError:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"'{name}' must be an ISO 8601 time.") from None


def _json_response(status: http.HTTPStatus, body: Any) -> Response:
    data = json.dumps(body).encode()
    headers = Headers(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
        ]
    )
    return Response(status.value, status.phrase, headers, data)
