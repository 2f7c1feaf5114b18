"""Connections and fan-out: who is subscribed to what, and sending each committed event
once, framed once, to every subscriber, without ever waiting for a slow one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosedError
from websockets.protocol import State

from server import tlswrite, wire
from server.guard import TokenBucket
from server.journal import StaffInfo, StoredEvent
from shared import protocol

log = logging.getLogger("roomrack.server")

# close codes of the server (docs/protocol.md)
CLOSE_LOGGED_OUT = 4001
CLOSE_LOGIN_TIMEOUT = 4002
CLOSE_SLOW_CONSUMER = 4008
CLOSE_RESUME_AGAIN = 4009


BATCH_BYTES = 256 * 1024  # a batch frame carries events up to about this size


def batch_frames(datas: list[bytes]) -> list[wire.Shared]:
    """Encoded events (in seq order) as `events` frames: as few as the size bound allows
    (an event larger than it goes alone in its own batch)."""
    out: list[wire.Shared] = []
    start, size = 0, 0
    for i, d in enumerate(datas):
        if i > start and size + len(d) > BATCH_BYTES:
            out.append(_batch(datas[start:i]))
            start, size = i, 0
        size += len(d) + 1
    out.append(_batch(datas[start:]))
    return out


def _batch(datas: list[bytes]) -> wire.Shared:
    return wire.Shared(b'{"type":"events","events":[' + b",".join(datas) + b"]}")


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
    batch: bool = False  # events that go out together come in one `events` frame
    online_since: str | None = None  # presence: when this workstation logged in
    viewing: str | None = None  # presence: the room whose details it has open
    # how frames made once for many connections reach this one (server/wire.py `kind_of`)
    kind: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.kind = wire.kind_of(self.ws.protocol)

    def label(self) -> str:
        who = f"{self.staff.login}@{self.staff.hotel_slug}" if self.staff else "anonymous"
        return f"{who} from {self.peer}"


class Hub:
    """Subscriptions and fan-out. Runs on the event loop only."""

    def __init__(
        self, max_buffer: int, presence_interval: float = 0.0, fanout_tick: float = 0.0
    ) -> None:
        self.max_buffer = max_buffer
        self.fanout_tick = fanout_tick
        self._last_tick = -1e9  # loop time at the end of the last fan-out tick
        self._last_cost = 0.0  # how long it took (seconds)
        self.presence_interval = presence_interval
        self._presence_sent: dict[str, float] = {}  # hotel slug -> loop time of the last list
        self._presence_due: dict[str, asyncio.TimerHandle] = {}
        # the list as last built, per hotel, until someone comes, goes or looks elsewhere: a
        # thousand desks subscribing one after another do not each build a thousand entries
        self._presence_built: dict[str, wire.Shared] = {}
        # several servers on one database (server/cluster.py): the desks the others list,
        # and who to tell when this server's own list changes
        self.remote_presence: dict[str, list[dict[str, Any]]] = {}
        self.on_presence: Callable[[str], None] | None = None
        self.subs: dict[str, set[Client]] = defaultdict(set)
        self.clients: set[Client] = set()
        self.hotel_of: dict[str, int] = {}  # hotel slug -> id, for heartbeats
        self.delivered = 0
        self._tick: list[StoredEvent] = []  # committed, waiting for the next fan-out tick

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

    def presence_frame(self, slug: str, now: str | None) -> wire.Shared:
        """The hotel's "who is online" frame: the one built last (its `server_time` says
        when), unless the list changed since (`announce`, `drop`)."""
        built = self._presence_built.get(slug)
        if built is None:
            built = self._presence_built[slug] = self._build_presence(slug, now)
        return built

    def _build_presence(self, slug: str, now: str | None) -> wire.Shared:
        online = self.local_presence(slug) + self.remote_presence.get(slug, [])
        online.sort(key=lambda e: (e["name"], e["workstation"] or "", e["since"] or ""))
        frame = {"type": "presence", "hotel_slug": slug, "server_time": now, "online": online}
        return wire.Shared(protocol.dumps(frame).encode())

    def local_presence(self, slug: str) -> list[dict[str, Any]]:
        """The presence entries of this server's own desks of the hotel."""
        return [
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

    def set_remote_presence(
        self, slug: str, entries: list[dict[str, Any]], now: Callable[[], str | None]
    ) -> None:
        """What the other servers list for the hotel changed (server/cluster.py)."""
        if self.remote_presence.get(slug, []) != entries:
            self.remote_presence[slug] = entries
            self.announce(slug, now, local=False)

    def announce(self, slug: str, now: Callable[[], str | None], local: bool = True) -> None:
        """Tell the hotel's overview subscribers who is online and what they are viewing: at
        once, or, if the list went out less than `presence_interval` ago, once that much time
        has passed (every change in between goes out in that one list). When all the
        workstations reconnect after a restart, each does not send the whole list to all."""
        self._presence_built.pop(slug, None)  # the list changed
        if local and self.on_presence is not None:
            self.on_presence(slug)
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
        """Take one commit's events (in seq order) for the next fan-out tick. Commits that
        reach the event loop before the tick runs go out together: each client gets its
        share of all of them in one write, and a client that asked for batches in one
        `events` frame (docs/protocol.md, *Batched events*). A command's own connection
        gets its share before the answer, without waiting for the tick (`send_own`)."""
        if not self._tick:
            loop = asyncio.get_running_loop()
            # a tick waits after the last one at most as long as that one took (and never
            # more than `fanout_tick`): an idle server sends at once, a busy one sends what
            # commits meanwhile together
            pause = min(self.fanout_tick, self._last_cost)
            wait = self._last_tick + pause - loop.time()
            if wait > 0:  # busy: what commits until then goes out with these
                loop.call_later(wait, self._fan_out_tick)
            else:
                loop.call_soon(self._fan_out_tick)
        self._tick.extend(events)

    def send_own(self, c: Client) -> None:
        """Send one client now its share of the events waiting for the next tick: a command
        is answered after its events on its own connection, but not after every other
        desk's (at a thousand desks a tick takes tens of milliseconds). The tick then skips
        what went out here (`last_seq`). A client still being sent its snapshot or replay
        gets them there, in order, as from the tick."""
        if not self._tick or c.pending is not None or c.dropped or not c.channels:
            return
        last, chans = c.last_seq, c.channels
        datas: list[bytes] = []
        for ev in self._tick:  # one hotel's events are in seq order
            if ev.seq > last and not chans.isdisjoint(ev.channels):
                datas.append(ev.frame.encode())
                last = ev.seq
        if datas:
            c.last_seq = last
            self.send_events(c, datas)

    def _fan_out_tick(self) -> None:
        events, self._tick = self._tick, []
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            self.fan_out(events)
        finally:
            self._last_tick = loop.time()
            self._last_cost = self._last_tick - start

    def fan_out(self, events: list[StoredEvent]) -> None:
        """Send events (in seq order) to their subscribers now. Each event is encoded and
        framed once (compressed once, for the connections that compress); each client's
        frames go out in one write (one TLS record, one system call), in order; a batch
        frame is built once for every client that gets the same events. Nothing else is
        written to a client between here and the end of this call."""
        framed: list[wire.Shared] = []
        outgoing: dict[Client, list[int]] = {}
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
            framed.append(wire.Shared(data))
            index = len(framed) - 1
            for c in list(targets):
                if c.pending is not None:
                    c.pending.append(ev)
                    c.pending_bytes += len(data)
                    if c.pending_bytes > self.max_buffer:
                        # its snapshot or replay is not being read fast enough to catch up
                        self.drop(c)
                elif ev.seq > c.last_seq:
                    c.last_seq = ev.seq
                    outgoing.setdefault(c, []).append(index)
        batches: dict[tuple[int, ...], list[wire.Shared]] = {}
        for c, picked in outgoing.items():
            if len(picked) == 1:
                self.send(c, framed[picked[0]])
            elif c.batch:
                key = tuple(picked)
                frames = batches.get(key)
                if frames is None:
                    frames = batches[key] = batch_frames([framed[i].data for i in picked])
                self.send_many(c, frames, len(picked))
            else:
                self.send_many(c, [framed[i] for i in picked])

    def send_events(self, c: Client, datas: list[bytes]) -> None:
        """Encoded events (in seq order) for one client, framed as it asked: one by one, or
        batched."""
        if len(datas) > 1 and c.batch:
            self.send_many(c, batch_frames(datas), len(datas))
        elif len(datas) > 1:
            self.send_many(c, [wire.Shared(d) for d in datas])
        elif datas:
            self.send(c, datas[0])

    def _writable(self, c: Client) -> int | None:
        """The client's kind (server/wire.py) if frames made for many connections can be
        written to it as they are now: open, an extension those frames are made for, and
        nothing of its own waiting to be written (so order is kept)."""
        proto = c.ws.protocol
        if c.kind is not None and proto.state is State.OPEN and not proto.writes:
            return c.kind
        return None

    def send_many(self, c: Client, frames: list[wire.Shared], events: int = 0) -> None:
        """Several frames for one client: one write when they can go as they are made (see
        `send`), else one by one. `events`: how many events they carry (if not one each)."""
        transport = c.ws.transport
        kind = self._writable(c)
        if (
            not c.dropped
            and transport is not None
            and not transport.is_closing()
            and kind is not None
        ):
            try:
                if not tlswrite.write_within(
                    transport, b"".join(f.wire(kind) for f in frames), self.max_buffer
                ):
                    self.drop(c)
                    return
            except Exception:  # the connection is closing; the handler cleans up
                return
            self.delivered += events or len(frames)
            return
        for f in frames:
            self.send(c, f)
        self.delivered += max(0, events - len(frames))

    def send(self, c: Client, message: bytes | wire.Shared) -> bool:
        """Queue one text frame for a client without waiting. A client whose unsent data
        passes `max_buffer` is dropped: it reconnects and resumes from the journal.

        A `wire.Shared` message is written as it was framed (and compressed) for many
        connections when the connection allows it (`_writable`), else through websockets."""
        if c.dropped:
            return False
        ws = c.ws
        transport = ws.transport
        if transport is None or transport.is_closing():
            return False
        if tlswrite.buffered(transport) > self.max_buffer:
            self.drop(c)
            return False
        try:
            kind = self._writable(c)
            if kind is not None:
                shared = message if isinstance(message, wire.Shared) else wire.Shared(message)
                tlswrite.write(transport, shared.wire(kind))
            else:
                ws.protocol.send_text(message.data if isinstance(message, wire.Shared) else message)
                ws.send_data()
        except Exception:  # the connection is closing; the handler cleans up
            return False
        self.delivered += 1
        return True

    async def send_now(self, c: Client, message: wire.Shared) -> None:
        """Send one message and wait until the connection has taken it (flow control), as
        `ws.send` does: written as it was framed for many connections when it can be (a
        snapshot is compressed once for every desk that asks for it at that seq). Through
        the transport's own `write`, whose flow control `drain` waits for."""
        ws = c.ws
        transport, kind = ws.transport, self._writable(c)
        if kind is None or transport is None or transport.is_closing():
            await ws.send(message.data, text=True)
            return
        try:
            transport.write(message.wire(kind))
            await ws.drain()
        except Exception as exc:  # the peer went (a reset while this waited): as `ws.send` says
            transport.abort()
            raise ConnectionClosedError(None, None) from exc

    def drop(self, c: Client) -> None:
        """Disconnect a client that does not keep up. It resumes from the last event it
        processed, so nothing is lost; what waited for it is let go at once."""
        c.dropped = True
        if c.staff is not None:
            self._presence_built.pop(c.staff.hotel_slug, None)  # no longer listed as online
        self.remove(c)
        if c.pending is not None:
            c.pending, c.pending_bytes = [], 0
        log.warning("dropping %s: it is not reading fast enough (it will resume)", c.label())
        with contextlib.suppress(Exception):
            c.ws.protocol.fail(CLOSE_SLOW_CONSUMER, "slow consumer; reconnect and resume")
            c.ws.send_data()
        if c.ws.transport is not None:
            c.ws.transport.abort()
