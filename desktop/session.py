"""The one object that owns the connection to the server.

It runs a `websockets` asyncio client on the qasync loop, logs in, subscribes to the hotel's
channels, keeps the last sequence number, resumes after a drop, and turns every frame into a
Qt signal. Widgets never touch the socket: they call `command()` and listen to signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import socket
import uuid
from collections import deque
from datetime import datetime
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, Signal
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from desktop.backoff import Backoff
from desktop.pinning import PinStore, Verdict, client_context, peer_certificate
from shared import pairing, protocol
from shared.accounts import CLOSE_SESSION_ENDED, SESSION_OVER_CODES
from shared.clock import Clock, SystemClock
from shared.errors import EXPLANATIONS, ErrorCode

log = logging.getLogger("roomrack.desktop")

OFFLINE_CODE = "offline"
TIMEOUT_CODE = "timeout"
REQUEST_TIMEOUT = 20.0


class State(StrEnum):
    OFFLINE = "offline"  # not started, logged out or stopped
    CONNECTING = "connecting"  # first connection of this session
    LIVE = "live"
    RECONNECTING = "reconnecting"


class LoginError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class UntrustedServer(LoginError):
    """The server's certificate is not the pinned one (`changed`), or nothing is pinned for
    its address yet (`unknown`). Nothing was sent to it."""

    def __init__(self, url: str, verdict: Verdict, sha256: str, pinned: str | None) -> None:
        code = "certificate_changed" if verdict is Verdict.CHANGED else "certificate_unknown"
        words = (
            "The server's certificate has changed since this desk last connected."
            if verdict is Verdict.CHANGED
            else "This desk has not connected to this server before."
        )
        super().__init__(code, words)
        self.url, self.verdict, self.sha256, self.pinned = url, verdict, sha256, pinned


class _AuthLost(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _SessionOver(Exception):
    """The server ended this session (a manager, a password change, the idle time)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Resync(Exception):
    """A gap in the sequence numbers: reconnect at once and resume."""


def normalise_url(text: str, insecure: bool = False) -> str:
    """'hotel-pc:8765' -> 'wss://hotel-pc:8765' ('ws://…' when asked for `insecure`)."""
    text = text.strip().rstrip("/")
    if not text:
        return text
    if "://" not in text:
        text = ("ws://" if insecure else "wss://") + text
    if text.startswith("http://"):
        text = "ws://" + text[7:]
    elif text.startswith("https://"):
        text = "wss://" + text[8:]
    return text


def error_text(reply: dict[str, Any]) -> str:
    """The words a person understands for an error reply."""
    message = str(reply.get("message") or "")
    try:
        code = ErrorCode(str(reply.get("code")))
    except ValueError:
        return message or "Something went wrong."
    return message or EXPLANATIONS[code]


class Session(QObject):
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
        self.url = ""
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

    async def login(self, url: str, login: str, password: str) -> dict[str, Any]:
        """Log in with a password; on success the session goes live and keeps reconnecting.
        Raises LoginError with words for the person at the keyboard."""
        await self.stop()
        # a password login starts a new board (the window has emptied its own): never resume
        self.forget_stream()
        self._session_over = None
        self.url = normalise_url(url, self.allow_insecure)
        self._set_state(State.CONNECTING)
        try:
            ws = await self._open()
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

    def resume(self, url: str, token: str) -> None:
        """Start with a kept token: the board appears and fills in once connected."""
        self.url = normalise_url(url, self.allow_insecure)
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
        ws = await self._open()
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
            return _offline_reply(None)
        rid = f"{self._prefix}-{next(self._ids)}"
        self.mine.append(rid)  # events this request causes are this person's own
        try:
            return await self._request(ws, kind, request_id=rid, **fields)
        except (ConnectionClosed, ConnectionError, OSError):
            return _offline_reply(rid)
        except TimeoutError:
            return _timeout_reply(rid)

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

    async def _open(self, trust_unknown: bool = False) -> ClientConnection:
        """Connect, check the certificate against the pin (before anything is sent), read the
        hello. `trust_unknown` lets an unpinned certificate through (pairing checks it)."""
        secure = self.url.startswith("wss://")
        if not secure and not self.allow_insecure and self.url.startswith("ws://"):
            raise LoginError(
                "insecure_refused",
                f"{self.url} is a plain, unencrypted address. Roomrack connects with TLS "
                "(wss://); to connect without encryption start it with --insecure.",
            )
        try:
            ws = await asyncio.wait_for(
                connect(
                    self.url,
                    ssl=client_context() if secure else None,
                    compression=None,
                    max_size=2**25,
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                    close_timeout=2,
                ),
                15,
            )
        except InvalidURI:
            raise LoginError("bad_address", f"'{self.url}' is not a server address.") from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise LoginError(
                OFFLINE_CODE, f"Cannot reach the server at {self.url} ({_short(exc)})."
            ) from exc
        self.fingerprint = None
        verified = False  # the certificate is the pinned one (or its pinned successor)
        if secure:
            der = peer_certificate(ws.transport)
            sha = pairing.fingerprint(der) if der else ""
            verdict = self.pins.check(self.url, sha)
            if verdict in (Verdict.UNKNOWN, Verdict.CHANGED) and not trust_unknown:
                await ws.close()
                pin = self.pins.get(self.url)
                raise UntrustedServer(self.url, verdict, sha, pin.fingerprint if pin else None)
            self.fingerprint = sha
            verified = verdict in (Verdict.PINNED, Verdict.NEXT)
        try:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except Exception as exc:
            await ws.close()
            raise LoginError(OFFLINE_CODE, "The server did not greet us.") from exc
        if hello.get("type") != "hello" or hello.get("server") != "roomrack":
            await ws.close()
            raise LoginError("bad_address", f"{self.url} is not a Roomrack server.")
        if verified:  # never from a server still being paired: it could name any successor
            self._note_next_certificate(hello.get("tls"))
        hb = hello.get("heartbeat") or {}
        self.heartbeat_interval = float(hb.get("overview", 60.0))
        self._hello_epoch = hello.get("epoch")
        features = hello.get("features")
        self._batching = isinstance(features, list) and "batch" in features
        self.last_frame = self.clock.monotonic()
        return ws

    def _note_next_certificate(self, info: Any) -> None:
        """A rotation is pending: pin the next certificate now, as the pinned connection
        announces it, so this desk accepts the server after the switch."""
        if not isinstance(info, dict) or self.fingerprint is None:
            return
        nxt = info.get("next")
        if info.get("fingerprint") == self.fingerprint and isinstance(nxt, dict):
            sha = nxt.get("fingerprint")
            if isinstance(sha, str) and len(sha) == 64 and self.pins.get(self.url) is not None:
                self.pins.pin_next(self.url, sha)

    async def pair(self, url: str, code: str) -> str:
        """Check the server at `url` with a pairing code (shared/pairing.py) and pin its
        certificate. Returns the pinned fingerprint; raises LoginError if the proof does not
        hold (a wrong code, or someone else's certificate: nothing is pinned then)."""
        self.url = normalise_url(url, self.allow_insecure)
        ws = await self._open(trust_unknown=True)
        sha = self.fingerprint
        try:
            if sha is None:
                raise LoginError("insecure", "A plain (--insecure) server cannot be paired.")
            nonce = pairing.new_nonce()
            rid = f"{self._prefix}-{next(self._ids)}"
            await ws.send(protocol.dumps({"type": "pair.prove", "request_id": rid, "nonce": nonce}))
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), REQUEST_TIMEOUT))
                if reply.get("request_id") == rid:
                    break
        except (ConnectionClosed, OSError, TimeoutError, ValueError) as exc:
            raise LoginError(OFFLINE_CODE, f"The pairing was cut off ({_short(exc)}).") from exc
        finally:
            with contextlib.suppress(Exception):
                await ws.close()
        if reply.get("type") != "ack":
            raise LoginError(str(reply.get("code")), error_text(reply))
        proof = str((reply.get("result") or {}).get("proof") or "")
        if not pairing.proof_matches(code, sha, nonce, proof):
            raise LoginError(
                "pairing_failed",
                "The pairing code does not match this server's certificate: check the code "
                "(or ask for a new one). Nothing was trusted.",
            )
        self.pins.pin(self.url, sha)
        return sha

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
                            raise _AuthLost(error_text(reply))
                        raise LoginError(str(reply.get("code")), error_text(reply))
                    self._accept_login(reply["result"], fresh=False)
                assert reader is not None
                self._ws = ws
                await self._subscribe(ws)
                self.backoff.reset()
                self.attempts = 0
                self._retry_now = False
                self._set_state(State.LIVE)
                watchdog = self._spawn(self._watchdog(ws))
                try:
                    await reader
                finally:
                    watchdog.cancel()
                if self._session_over is not None:  # ended by the server: back to the login
                    raise _AuthLost(self._session_over)
                resync, self._resync = self._resync, False
            except UntrustedServer as exc:
                await self._close(ws, reader)
                self._ws = None
                self._stopping = True
                self._set_state(State.OFFLINE)
                self.certificate_refused.emit(exc)
                return
            except _AuthLost as exc:
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
                log.info("connection to %s failed: %s", self.url, _short(exc))
            except Exception:  # never let the loop die: log and try again
                log.exception("unexpected error in the connection loop")
            await self._close(ws, reader)
            ws, reader, self._ws = None, None, None
            self._fail_pending()
            if self._stopping:
                break
            self._set_state(State.RECONNECTING)
            delay = 0.0 if resync else self.backoff.next()
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
            reply = _offline_reply(rid)
        else:
            try:
                reply = await self._request(ws, kind, request_id=rid, **fields)
            except (ConnectionClosed, ConnectionError, OSError):
                reply = _offline_reply(rid)
            except TimeoutError:
                reply = _timeout_reply(rid)
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
                except _Resync:
                    self._resync = True
                    await ws.close(1000, "resync")
                    return
                except _SessionOver as over:
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
                    raise _Resync()
                self._seen_head = head
            else:
                self._seen_head = None
            self.heartbeat_received.emit(msg)
        elif kind == "session.ended":
            raise _SessionOver(error_text(msg))
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
                raise _Resync()
        if isinstance(seq, int):
            self.last_seq = seq
        if msg.get("category") == "reservations":
            for newer in self._collecting:
                newer.append(msg)
        self.event_received.emit(msg)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 120 else text[:117] + "..."


def _offline_reply(rid: str | None) -> dict[str, Any]:
    return {
        "type": "error",
        "request_id": rid,
        "code": OFFLINE_CODE,
        "message": "Not connected to the server, so nothing was changed. "
        "Try again when the board is live.",
        "details": {},
    }


def _timeout_reply(rid: str | None) -> dict[str, Any]:
    return {
        "type": "error",
        "request_id": rid,
        "code": TIMEOUT_CODE,
        "message": "The server did not answer in time; check the board before trying again.",
        "details": {},
    }
