"""The one object that owns the connection to the server.

It runs a `websockets` asyncio client on the qasync loop, logs in, subscribes to the hotel's
channels, keeps the last sequence number, resumes after a drop (on the next server, when it
was given a cluster's several addresses: desktop/members.py), and turns every frame into a
Qt signal. Widgets never touch the socket: they call `command()` and listen to signals.

Opening a connection with its certificate checked, and pairing, are in desktop/session_tls.py
(a mixin of Session); the failures and their words in desktop/session_errors.py, whose public
names are named here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, Signal
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from desktop.backoff import Backoff
from desktop.members import Members
from desktop.pinning import PinStore
from desktop.session_errors import OFFLINE_CODE as OFFLINE_CODE
from desktop.session_errors import REQUEST_TIMEOUT as REQUEST_TIMEOUT
from desktop.session_errors import TIMEOUT_CODE as TIMEOUT_CODE
from desktop.session_errors import (
    AuthLost,
    Resync,
    SessionOver,
    offline_reply,
    short_error,
    timeout_reply,
)
from desktop.session_errors import LoginError as LoginError
from desktop.session_errors import UntrustedServer as UntrustedServer
from desktop.session_errors import error_text as error_text
from desktop.session_errors import normalise_url as normalise_url
from desktop.session_tls import TlsMixin
from shared import protocol
from shared.accounts import CLOSE_SESSION_ENDED, SESSION_OVER_CODES
from shared.clock import Clock, SystemClock
from shared.errors import ErrorCode

log = logging.getLogger("roomrack.desktop")


class State(StrEnum):
    OFFLINE = "offline"  # not started, logged out or stopped
    CONNECTING = "connecting"  # first connection of this session
    LIVE = "live"
    RECONNECTING = "reconnecting"


class Session(TlsMixin, QObject):
    state_changed = Signal(str)
    logged_in = Signal(dict)  # the login result: staff, hotel, epoch, channels
    auth_lost = Signal(str)  # the kept token is no longer valid: ask for a login
    rooms_snapshot = Signal(object, int)
    reservations_snapshot = Signal(object, int)
    reservation_replayed = Signal(object)  # newer than a reloaded list: apply on top of it
    event_received = Signal(object)
    heartbeat_received = Signal(object)
    resumed = Signal(int)  # events replayed after a reconnect
    # the server's store is another timeline (restored from a backup, or replaced) than the
    # one this board followed: {"head_seq", "reason"} of the fresh snapshot that follows
    store_replaced = Signal(dict)
    presence_changed = Signal(object)  # who is online where, and which room each one views
    command_done = Signal(str, str, bool, dict)  # request id, label, ok, reply
    certificate_refused = Signal(object)  # an UntrustedServer while reconnecting: stopped

    def __init__(
        self,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        workstation: str | None = None,
        parent: QObject | None = None,
        pins: PinStore | None = None,
        allow_insecure: bool = False,
    ) -> None:
        super().__init__(parent)
        self.pins = pins or PinStore()  # a window gives it its settings' pins, unless given
        self.pins_given = pins is not None
        self.allow_insecure = allow_insecure  # plain ws:// only when asked for by name
        self._batching = False  # the server offers batched events (its hello says so)
        self.fingerprint: str | None = None  # SHA-256 of the certificate of this connection
        self.clock: Clock = clock or SystemClock()
        self.backoff = backoff or Backoff()
        self.workstation = workstation or socket.gethostname()[:60]
        self.url = ""  # the server in use: one of `members`
        self.members = Members()  # its address, or the addresses of a cluster's members
        self.token: str | None = None
        self.staff: dict[str, Any] = {}
        self.hotel: dict[str, Any] = {}
        self.channels: list[str] = []
        self.epoch: str | None = None
        self.last_seq: int | None = None
        self.state = State.OFFLINE
        self.offline_since: datetime | None = None
        self.live_since: datetime | None = None
        self.last_heartbeat: datetime | None = None
        self.last_frame: float = 0.0
        self.heartbeat_interval = 60.0
        self.retry_at: float | None = None  # monotonic time of the next attempt
        self.attempts = 0
        self.frames = 0
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._prefix = "d" + uuid.uuid4().hex[:16]  # request ids are never reused
        self.mine: deque[str] = deque(maxlen=500)
        self.presence: list[dict[str, Any]] = []
        # the business day and its counters, as of the last overview snapshot
        self.business_day: dict[str, Any] | None = None
        # reservation events seen while a reservations list is on its way (reload_reservations)
        self._collecting: list[list[dict[str, Any]]] = []
        # the hotel's date (by the server's clock) of the last reservations list
        self.reservations_date: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._seen_head: int | None = None
        self._resync = False
        self._retry_now = False
        self._session_over: str | None = None  # why the server ended the session, if it did

    # --- public API ------------------------------------------------------------------------

    @property
    def role(self) -> str:
        return str(self.staff.get("role", ""))

    @property
    def slug(self) -> str:
        return str(self.hotel.get("slug", ""))

    def is_live(self) -> bool:
        return self.state is State.LIVE

    async def login(self, url: str | Sequence[str], login: str, password: str) -> dict[str, Any]:
        """Log in with a password at the first of these addresses that answers (one, or
        several separated by commas or spaces); on success the session goes live and keeps
        reconnecting. Raises LoginError with words for the person at the keyboard."""
        await self.stop()
        # a password login starts a new board (the window has emptied its own): never resume
        self.forget_stream()
        self._session_over = None
        self._use(url)
        self._set_state(State.CONNECTING)
        try:
            ws = await self._open_first()
        except LoginError:
            self._set_state(State.OFFLINE)
            raise
        reader = self._spawn(self._read(ws))
        try:
            reply = await self._request(
                ws, "auth.login", login=login, password=password, workstation=self.workstation
            )
        except (ConnectionClosed, OSError, TimeoutError) as exc:
            await self._close(ws, reader)
            self._set_state(State.OFFLINE)
            raise LoginError(
                OFFLINE_CODE, f"The connection to the server was lost ({exc})."
            ) from exc
        if reply.get("type") != "ack":
            await self._close(ws, reader)
            self._set_state(State.OFFLINE)
            raise LoginError(str(reply.get("code")), error_text(reply))
        self._accept_login(reply["result"], fresh=True)
        self._stopping = False
        self._task = asyncio.ensure_future(self._run(ws, reader))
        result: dict[str, Any] = reply["result"]
        return result

    def forget_stream(self) -> None:
        """Forget where the stream stood (epoch and last seq): the next subscribe loads fresh
        snapshots instead of resuming. For whenever the rooms on screen are thrown away."""
        self.epoch, self.last_seq = None, None
        self._seen_head = None

    def resume(self, url: str | Sequence[str], token: str) -> None:
        """Start with a kept token: the board appears and fills in once connected."""
        self._use(url)
        self.token = token
        self._stopping = False
        self._set_state(State.CONNECTING)
        self._task = asyncio.ensure_future(self._run(None, None))

    async def logout(self) -> None:
        """Revoke the token on the server, then forget it. The revocation is sent on the
        logged-in connection even while it is still loading its snapshot; when there is none
        (offline, reconnecting), a short connection of its own carries it."""
        token, ws = self.token, self._ws
        self.token = None  # forgotten first: nothing may reconnect with it while closing
        revoked = False
        if ws is not None:
            with contextlib.suppress(Exception):
                reply = await asyncio.wait_for(self._request(ws, "auth.logout"), 3)
                revoked = reply.get("type") == "ack"
        if not revoked and token and self.url:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._revoke(token), 3)
        await self.stop()
        self.staff, self.hotel = {}, {}
        self.forget_stream()

    async def _revoke(self, token: str) -> None:
        ws = await self._open_first()
        reader = self._spawn(self._read(ws))
        try:
            reply = await self._request(ws, "auth.token", token=token, workstation=self.workstation)
            if reply.get("type") == "ack":
                await self._request(ws, "auth.logout")
        finally:
            await self._close(ws, reader)

    async def stop(self) -> None:
        """Close the connection and stop reconnecting."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for t in list(self._tasks):
            t.cancel()
        self._fail_pending()
        self._set_state(State.OFFLINE)

    def reconnect_now(self) -> None:
        """The manual reconnect button: try again at once (and drop a live connection)."""
        if self._stopping or self._task is None:
            return
        self.backoff.reset()
        self._retry_now = True
        if self.state is State.LIVE and self._ws is not None:
            self._spawn(self._ws.close(1000, "manual reconnect"))
        self._wake.set()

    def command(self, kind: str, label: str, /, **fields: Any) -> str:
        """Send a command; `command_done` reports its reply. Returns the request id."""
        rid = f"{self._prefix}-{next(self._ids)}"
        self.mine.append(rid)
        self._spawn(self._command(rid, kind, label, fields))
        return rid

    def tell(self, kind: str, /, **fields: Any) -> None:
        """Send a request whose reply nobody waits for (e.g. which room this person views)."""
        if self.state is State.LIVE:
            self._spawn(self.call(kind, **fields))

    async def call(self, kind: str, /, **fields: Any) -> dict[str, Any]:
        """Send a request and return its reply (ack or error) to the caller. `kind` is
        positional-only, so a request may carry a field named `kind` (block.create)."""
        ws = self._ws
        if ws is None or self.state is not State.LIVE:
            return offline_reply(None)
        rid = f"{self._prefix}-{next(self._ids)}"
        self.mine.append(rid)  # events this request causes are this person's own
        try:
            return await self._request(ws, kind, request_id=rid, **fields)
        except (ConnectionClosed, ConnectionError, OSError):
            return offline_reply(rid)
        except TimeoutError:
            return timeout_reply(rid)

    async def reload_reservations(self) -> bool:
        """Ask for the reservations list again (the hotel's day moved on: the server lists
        only the day's) with `reservations.list`, on this connection and without leaving any
        channel, so the stream goes on unbroken. The list is handed on as a
        `reservations_snapshot`, then the reservation events that arrived while it was on its
        way and are newer than it, as `reservation_replayed`. False when it could not be
        asked (offline, refused)."""
        ws = self._ws
        if ws is None or self.state is not State.LIVE:
            return False
        newer: list[dict[str, Any]] = []
        self._collecting.append(newer)
        try:
            reply = await self._request(ws, "reservations.list")
        except (ConnectionClosed, ConnectionError, OSError, TimeoutError):
            return False  # the reconnect loads the list again anyway
        finally:  # by identity: two lists holding the same events are still two
            self._collecting = [c for c in self._collecting if c is not newer]
        if reply.get("type") != "ack":
            log.warning("could not reload the reservations: %s", error_text(reply))
            return False
        result = reply["result"]
        seq = int(result.get("seq", 0))
        self.reservations_date = result.get("date")
        self.reservations_snapshot.emit(list(result.get("reservations") or []), seq)
        for msg in newer:
            if int(msg["meta"].get("seq") or 0) > seq:
                self.reservation_replayed.emit(msg)
        return True

    # --- internals: the connection loop -------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _set_state(self, state: State) -> None:
        if state is State.LIVE:
            self.live_since = self.clock.now()
            self.offline_since = None
            self.retry_at = None
        elif state is not State.OFFLINE and self.offline_since is None:
            self.offline_since = self.clock.now()
        if state is State.OFFLINE:
            self.retry_at = None
        if state is not self.state:
            self.state = state
            self.state_changed.emit(state.value)

    def _accept_login(self, result: dict[str, Any], fresh: bool) -> None:
        token = result.get("token")
        if token:
            self.token = token
        self.staff = dict(result.get("staff") or {})
        self.hotel = dict(result.get("hotel") or {})
        self.channels = list(result.get("channels") or [])
        if fresh and result.get("epoch") != self.epoch:
            self.last_seq = None
        self.logged_in.emit(result)

    async def _run(self, ws: ClientConnection | None, reader: asyncio.Task[None] | None) -> None:
        resync = False
        while not self._stopping:
            try:
                if ws is None:
                    self.attempts += 1
                    ws = await self._open()
                    reader = self._spawn(self._read(ws))
                    if self.token is None:  # logged out while connecting
                        await self._close(ws, reader)
                        break
                    reply = await self._request(
                        ws, "auth.token", token=self.token, workstation=self.workstation
                    )
                    if reply.get("type") != "ack":
                        code = reply.get("code")
                        if code in SESSION_OVER_CODES or code == ErrorCode.AUTH_FAILED:
                            raise AuthLost(error_text(reply))
                        raise LoginError(str(reply.get("code")), error_text(reply))
                    self._accept_login(reply["result"], fresh=False)
                assert reader is not None
                self._ws = ws
                await self._subscribe(ws)
                self.backoff.reset()
                self.members.connected()
                self.attempts = 0
                self._retry_now = False
                self._set_state(State.LIVE)
                watchdog = self._spawn(self._watchdog(ws))
                try:
                    await reader
                finally:
                    watchdog.cancel()
                if self._session_over is not None:  # ended by the server: back to the login
                    raise AuthLost(self._session_over)
                resync, self._resync = self._resync, False
            except UntrustedServer as exc:
                await self._close(ws, reader)
                self._ws = None
                self._stopping = True
                self._set_state(State.OFFLINE)
                self.certificate_refused.emit(exc)
                return
            except AuthLost as exc:
                self._session_over = None
                await self._close(ws, reader)
                self._ws = None
                self.token = None
                self.forget_stream()  # whoever logs in next starts from fresh snapshots
                self._stopping = True
                self._set_state(State.OFFLINE)
                self.auth_lost.emit(exc.message)
                return
            except asyncio.CancelledError:
                await self._close(ws, reader)
                raise
            except (LoginError, ConnectionClosed, OSError, TimeoutError, ValueError) as exc:
                log.info("connection to %s failed: %s", self.url, short_error(exc))
            except Exception:  # never let the loop die: log and try again
                log.exception("unexpected error in the connection loop")
            await self._close(ws, reader)
            ws, reader, self._ws = None, None, None
            self._fail_pending()
            if self._stopping:
                break
            self._set_state(State.RECONNECTING)
            delay = 0.0 if resync else self._fail_over()  # the next member, if there are several
            resync = False
            await self._pause(delay)
        self._set_state(State.OFFLINE)

    async def _pause(self, delay: float) -> None:
        """Wait `delay` seconds on the clock, or less if `reconnect_now` is called."""
        self._wake.clear()
        if delay <= 0 or self._retry_now:
            self._retry_now = False
            return
        self.retry_at = self.clock.monotonic() + delay
        sleeper = asyncio.ensure_future(self.clock.sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
            self.retry_at = None

    async def _subscribe(self, ws: ClientConnection) -> None:
        fields: dict[str, Any] = {"channels": self.channels}
        if self.epoch is not None and self.last_seq is not None:
            fields["since"] = {"epoch": self.epoch, "seq": self.last_seq}
        if self._batching:  # events that go out together come in one frame
            fields["batch"] = True
        reply = await self._request(ws, "subscribe", **fields)
        if reply.get("type") != "ack":
            raise LoginError(str(reply.get("code")), error_text(reply))
        result = reply["result"]
        followed, self.epoch = self.epoch, self._hello_epoch
        if "since" in fields and followed != self.epoch:
            self.store_replaced.emit(
                {"head_seq": result.get("head_seq"), "reason": result.get("reason")}
            )
        if result.get("mode") == "resume":
            self.resumed.emit(int(result.get("replayed", 0)))

    async def _watchdog(self, ws: ClientConnection) -> None:
        """No frame at all for a long while (heartbeats stopped): the server is gone."""
        limit = max(30.0, self.heartbeat_interval * 2.5)
        while True:
            await self.clock.sleep(limit / 3)
            if self.clock.monotonic() - self.last_frame > limit:
                log.warning("no heartbeat for %.0f s; reconnecting", limit)
                await ws.close(1000, "no heartbeat")
                return

    async def _close(self, ws: ClientConnection | None, reader: asyncio.Task[None] | None) -> None:
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 3)
        if reader is not None and not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("connection lost"))
                fut.exception()  # whoever awaits it still gets it; nobody else must log it

    async def _request(self, ws: ClientConnection, kind: str, /, **fields: Any) -> dict[str, Any]:
        rid = str(fields.pop("request_id", None) or f"{self._prefix}-{next(self._ids)}")
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            await ws.send(protocol.dumps({"type": kind, "request_id": rid, **fields}))
            return await asyncio.wait_for(fut, REQUEST_TIMEOUT)
        finally:
            self._pending.pop(rid, None)

    async def _command(self, rid: str, kind: str, label: str, fields: dict[str, Any]) -> None:
        ws = self._ws
        if ws is None or self.state is not State.LIVE:
            reply = offline_reply(rid)
        else:
            try:
                reply = await self._request(ws, kind, request_id=rid, **fields)
            except (ConnectionClosed, ConnectionError, OSError):
                reply = offline_reply(rid)
            except TimeoutError:
                reply = timeout_reply(rid)
        self.command_done.emit(rid, label, reply.get("type") == "ack", reply)

    # --- internals: frames ----------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                self.last_frame = self.clock.monotonic()
                self.frames += 1
                try:
                    msg = protocol.parse_server_frame(frame)
                except ValueError:
                    log.warning("ignored a frame that is not JSON with a type")
                    continue
                try:
                    self._on_frame(msg)
                except Resync:
                    self._resync = True
                    await ws.close(1000, "resync")
                    return
                except SessionOver as over:
                    self._session_over = over.message
                    await ws.close(1000, "session ended")
                    return
                except Exception:
                    log.exception("error while handling a %s frame", msg.get("type"))
        except ConnectionClosed:
            pass
        finally:
            if ws.close_code == CLOSE_SESSION_ENDED and self._session_over is None:
                self._session_over = error_text({"code": ws.close_reason})  # no frame came
            self._fail_pending()

    def _on_frame(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind in ("ack", "error"):
            fut = self._pending.get(str(msg.get("request_id")))
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return
        if "category" in msg and "meta" in msg:
            self._on_event(msg)
        elif kind == "events":  # several events at once, in seq order (batched)
            for event in msg.get("events") or ():
                if isinstance(event, dict) and "category" in event and "meta" in event:
                    self._on_event(event)
        elif kind == "heartbeat":
            self.last_heartbeat = self.clock.now()
            head = msg.get("head_seq")
            if isinstance(head, int) and self.last_seq is not None and head > self.last_seq:
                # an event may still be on its way; a second heartbeat still ahead is a gap
                if self._seen_head is not None and self._seen_head > self.last_seq:
                    self._seen_head = None
                    raise Resync()
                self._seen_head = head
            else:
                self._seen_head = None
            self.heartbeat_received.emit(msg)
        elif kind == "session.ended":
            raise SessionOver(error_text(msg))
        elif kind == "presence":
            self.presence = list(msg.get("online") or [])
            self.presence_changed.emit(self.presence)
        elif kind == "rooms.status":
            self.last_seq = int(msg.get("seq", 0))
            day = msg.get("day")
            self.business_day = dict(day) if isinstance(day, dict) else None
            self.rooms_snapshot.emit(list(msg.get("rooms") or []), self.last_seq)
        elif kind == "reservations.status":
            self.last_seq = int(msg.get("seq", 0))
            self.reservations_date = msg.get("date")
            self.reservations_snapshot.emit(list(msg.get("reservations") or []), self.last_seq)

    def _on_event(self, msg: dict[str, Any]) -> None:
        seq = msg["meta"].get("seq")
        if isinstance(seq, int) and self.last_seq is not None:
            if seq <= self.last_seq:
                return  # already seen (replay overlap)
            if seq > self.last_seq + 1:
                log.warning("missed events %d..%d; resuming", self.last_seq + 1, seq - 1)
                raise Resync()
        if isinstance(seq, int):
            self.last_seq = seq
        if msg.get("category") == "reservations":
            for newer in self._collecting:
                newer.append(msg)
        self.event_received.emit(msg)
