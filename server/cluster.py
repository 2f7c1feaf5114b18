"""Several servers on one PostgreSQL database: how each hears what the others did.

The journal table is the truth; notifications are only the wake-up. Each server keeps one
extra connection that LISTENs on two channels:
- `roomrack_journal`: a commit journalled events (server/journal.py sends it inside the
  writer's transaction, so it arrives only if that commits). The server then reads the
  journal past what it has published (`Store.notice_external`, server/publish.py) and sends
  it on, in journal order. A notification that is lost costs nothing but time: the same
  reading runs every `Config.external_poll` seconds, and at once whenever the listening
  connection is (re)made.
- `roomrack_cluster`: what lives in a server's memory but concerns them all, as small JSON
  notes `{"kind", "server", ...}` from `ClusterBus.send`:
  - `presence`: a server's "who is online here" changed for a hotel; the others read that
    server's row of the `presence` table (written first) and list its desks with their own.
    Each server rewrites its rows every `PRESENCE_REFRESH` seconds; a row older than
    `PRESENCE_STALE` (a server killed without a goodbye) is not listed and is removed. Both
    ages are read by the database's clock, which all servers share.
  - `login_failed`: a failed login (login name, address), so that the slowing down of
    guessing and the lockout count every server's failures (server/guard.py).
  - `guard_forget`: a manager lifted a lockout.
  - `sessions`: sessions were ended (a manager, a password change): every server checks its
    live connections against the store at once, so that desk returns to its login dialog.
A note from this server itself is ignored (each note names its server).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from server import db as m
from server.engine import Postgres
from shared.timeutil import to_iso

if TYPE_CHECKING:
    from server.app import RoomrackServer

log = logging.getLogger("roomrack.cluster")

JOURNAL = "roomrack_journal"
CLUSTER = "roomrack_cluster"
PRESENCE_DELAY = 0.2  # seconds: presence changes of one moment are stored together
PRESENCE_REFRESH = 15.0  # seconds between rewrites of this server's presence rows
PRESENCE_STALE = 60.0  # a row not rewritten this long is a server that is gone
RETRY = 2.0  # seconds before listening again after the connection was lost


class ClusterBus:
    """One server's link to the others on its PostgreSQL database (see the module's top)."""

    def __init__(self, server: RoomrackServer, url: Postgres) -> None:
        self.server = server
        self.url = url
        self.id = uuid.uuid4().hex[:12]  # this server, in notes and presence rows
        self.listening = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._dirty: set[str] = set()
        self._flush: asyncio.Task[None] | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "presence": self._on_presence,
            "login_failed": self._on_login_failed,
            "guard_forget": self._on_guard_forget,
            "sessions": self._on_sessions,
        }

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        for work in (self._listen(), self._catch_up(), self._refresh_presence()):
            self._tasks.append(loop.create_task(work))

    async def stop(self) -> None:
        if self._flush is not None:
            self._tasks.append(self._flush)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.server.store.call(_forget_presence, self.id)
            await self.send("presence", hotel_slug="*")

    # --- sending ---------------------------------------------------------------------------

    async def send(self, kind: str, **fields: Any) -> None:
        note = json.dumps({"kind": kind, "server": self.id, **fields})
        await self.server.store.call(_notify, note)

    def send_soon(self, kind: str, **fields: Any) -> None:
        """`send` from code that does not wait for it (a failed login, a lockout lifted)."""
        self.server._spawn(self.send(kind, **fields))

    def tell_guard(self, kind: str, login: str, address: str) -> None:
        self.send_soon(kind, login=login, address=address)

    def presence_changed(self, slug: str) -> None:
        """This server's list for the hotel changed (Hub.on_presence): the changes of the
        next moment are stored and told together."""
        self._dirty.add(slug)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().create_task(self._flush_presence())

    async def _flush_presence(self) -> None:
        await asyncio.sleep(PRESENCE_DELAY)  # real time: a wait, not a heartbeat
        slugs, self._dirty, self._flush = self._dirty, set(), None
        for slug in sorted(slugs):
            try:
                await self.write_presence(slug)
            except Exception:
                log.exception("telling the other servers who is online failed")

    async def write_presence(self, slug: str) -> None:
        """Store this server's list for the hotel, then tell the others."""
        entries = self.server.hub.local_presence(slug)
        await self.server.store.call(_write_presence, self.id, slug, entries)
        await self.send("presence", hotel_slug=slug)

    # --- listening -------------------------------------------------------------------------

    async def _listen(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    str(self.url), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {JOURNAL}")
                    await conn.execute(f"LISTEN {CLUSTER}")
                    self.listening.set()
                    self._wake.set()  # what was committed while nobody listened
                    async for note in conn.notifies():
                        await self._heard(note.channel, note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listening.clear()
                log.warning("listening to the other servers failed (%s); again shortly", exc)
                await asyncio.sleep(RETRY)

    async def _heard(self, channel: str, payload: str) -> None:
        if channel == JOURNAL:
            self._wake.set()
            return
        try:
            note = json.loads(payload)
        except ValueError:
            return
        if not isinstance(note, dict) or note.get("server") == self.id:
            return
        handler = self._handlers.get(str(note.get("kind")))
        if handler is not None:
            try:
                await handler(note)
            except Exception:
                log.exception("a note from another server could not be followed: %s", payload)

    async def _catch_up(self) -> None:
        """Publish the journal's new rows whenever a notification (or several) came."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.server.store.notice_external()
            except Exception:
                log.exception("reading the other servers' commits failed")

    # --- what the notes do -----------------------------------------------------------------

    async def _on_presence(self, note: dict[str, Any]) -> None:
        slug = str(note.get("hotel_slug"))
        slugs = list(self.server.hub.hotel_of) if slug == "*" else [slug]
        for one in slugs:
            await self.reload_presence(one)

    async def reload_presence(self, slug: str) -> None:
        others = await self.server.store.call(_read_presence, self.id, slug)
        clock = self.server.clock
        self.server.hub.set_remote_presence(slug, others, lambda: to_iso(clock.now()))

    async def _on_login_failed(self, note: dict[str, Any]) -> None:
        login, address = str(note.get("login")), str(note.get("address"))
        self.server.guard.failed(login, address, heard=True)

    async def _on_guard_forget(self, note: dict[str, Any]) -> None:
        self.server.guard.forget(str(note.get("login")), heard=True)

    async def _on_sessions(self, note: dict[str, Any]) -> None:
        await self.server.staff_commands.check_sessions()

    async def _refresh_presence(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_REFRESH)  # real time, as Config.external_poll
            try:
                for slug in list(self.server.hub.hotel_of):
                    await self.write_presence(slug)
                    await self.reload_presence(slug)
            except Exception:
                log.exception("refreshing presence across servers failed")


# --- on the store thread ---------------------------------------------------------------------


def _notify(note: str) -> None:
    m.execute(f"SELECT pg_notify('{CLUSTER}', ?)", (note,))


def _database_now() -> datetime:
    """The database's clock: the one all servers share, whatever their own say."""
    value = m.execute("SELECT now()").fetchone()[0]
    return value if isinstance(value, datetime) else datetime.now(UTC)


def _write_presence(server: str, slug: str, entries: list[dict[str, Any]]) -> None:
    now = _database_now()
    hotel = m.Hotel.get_or_none(m.Hotel.slug == slug)
    if hotel is None:
        return
    with m.db.atomic():
        m.Presence.delete().where(
            (m.Presence.server == server) & (m.Presence.hotel == hotel.id)
        ).execute()
        if entries:
            m.Presence.create(server=server, hotel=hotel.id, online=json.dumps(entries), at=now)


def _read_presence(server: str, slug: str) -> list[dict[str, Any]]:
    """The desks that the other servers list for the hotel (gone servers' rows removed)."""
    stale = _database_now() - timedelta(seconds=PRESENCE_STALE)
    m.Presence.delete().where(m.Presence.at < stale).execute()
    rows = (
        m.Presence.select(m.Presence.online)
        .join(m.Hotel)
        .where((m.Hotel.slug == slug) & (m.Presence.server != server))
    )
    found: list[dict[str, Any]] = []
    for row in rows:
        found.extend(json.loads(row.online))
    return found


def _forget_presence(server: str) -> None:
    m.Presence.delete().where(m.Presence.server == server).execute()
