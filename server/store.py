"""The store thread: every database call runs here, one at a time, in submission order.

One writer means no lock contention inside SQLite and a simple guarantee: journal events
are handed to the publisher in exactly the order they were committed. What another process
(the command line) commits to the same file is handed over too, in order, before this
thread's later events: see server/publish.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from server import db as m
from server.engine import StoreAt
from server.journal import Outcome, StoredEvent
from server.publish import JournalTail
from server.services import Services
from server.startup import check_store
from shared.clock import Clock

log = logging.getLogger("roomrack.store")
P = ParamSpec("P")
T = TypeVar("T")


class Store:
    def __init__(
        self,
        path: StoreAt,
        clock: Clock,
        synchronous: str = "FULL",
        crash_after_commit: bool = False,
    ) -> None:
        self.path = path
        self.clock = clock
        self.synchronous = synchronous
        self.services = Services(clock)
        self.tail = JournalTail(self.services)  # commits of other processes (server/publish.py)
        self.file_lock = m.StoreLock(path)  # SQLite: one server per file
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="roomrack-db")
        self.epoch = ""
        # fault injection for the durability test: die between the commit of a client's
        # change and its publication
        self.crash_after_commit = crash_after_commit
        self.on_commit: Callable[[list[StoredEvent]], None] | None = None
        self._lock = threading.Lock()
        self._queue: list[tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any]]]
        self._queue = []
        self._draining = False
        self.max_group = 64
        self.largest_group = 0  # the most writes one commit has carried so far

    async def open(self) -> None:
        """Open the store; raises `m.StoreInUse` if another server (or a restore) has it, and
        `StartError` if the file is damaged or not a Roomrack store."""
        self.file_lock.acquire()
        try:
            await self.call(check_store, self.path)  # damaged: StartError, in words
            self.epoch = await self.call(m.open_db, self.path, self.synchronous)
            await self.call(self.tail.prime)
        except BaseException:
            self.file_lock.release()
            raise

    async def close(self) -> None:
        try:
            # as it is: a connection that was lost is not made again only to be closed
            await asyncio.get_running_loop().run_in_executor(self._pool, m.close_db)
            self._pool.shutdown(wait=True)
        finally:
            self.file_lock.release()

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read (or any call that emits no events) on the store thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: _connected(fn, *args, **kwargs))

    async def write(self, fn: Callable[..., Outcome], *args: Any) -> Outcome:
        """Run a service write. Its events are handed to `on_commit` right after the commit,
        on the event loop, before this call returns.

        Writes that queue up while the store is busy are committed together (group commit):
        each runs in its own savepoint, so a refusal rolls back only itself, and one commit
        (one fsync) makes the whole group durable before anyone is answered."""
        return await self.grouped(fn, *args)

    async def grouped(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a write in the next group commit (see `write`) and return what it returns; an
        `Outcome`'s events are published. For small writes that many connections make at
        once (a thousand desks resuming their sessions): one fsync for all of them."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        with self._lock:
            self._queue.append((fn, args, fut))
            start = not self._draining
            self._draining = True
        if start:
            self._pool.submit(self._drain, loop)
        return await fut

    async def notice_external(self) -> int:
        """Publish what other processes committed since the last look (see server/publish.py);
        returns how many events that was."""
        loop = asyncio.get_running_loop()
        return await self.call(self._notice_external, loop)

    def _notice_external(self, loop: asyncio.AbstractEventLoop) -> int:
        with m.db.atomic():
            events = self.tail.take()
        if events and self.on_commit is not None:
            loop.call_soon_threadsafe(self.on_commit, events)
        return len(events)

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            group, self._queue = self._queue[: self.max_group], self._queue[self.max_group :]
        self.largest_group = max(self.largest_group, len(group))
        results: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        external: list[StoredEvent] = []
        try:
            m.ensure_connected()
            with m.write_lock():  # take the write lock at once, not mid-group
                external = self.tail.take()  # what others committed goes out first
                for fn, args, fut in group:
                    try:
                        with m.db.atomic():  # a savepoint each
                            results.append((fut, fn(*args), None))
                    except Exception as exc:  # refused or failed: only this savepoint undone
                        results.append((fut, None, exc))
        except Exception as failure:  # the commit itself failed: nobody's change happened
            log.exception("commit failed")
            results = [(fut, None, failure) for _, _, fut in group]
        events = [ev for _, out, _ in results if isinstance(out, Outcome) for ev in out.events]
        self.tail.note(events)
        events = external + events
        asked = any(isinstance(o, Outcome) and o.reply.get("request_id") for _, o, _ in results)
        if events and asked and self.crash_after_commit:
            log.critical("fault injection: exiting right after a commit")
            os._exit(70)
        if events and self.on_commit is not None:
            loop.call_soon_threadsafe(self.on_commit, events)
        for fut, out, err in results:
            loop.call_soon_threadsafe(_settle, fut, out, err)
        with self._lock:
            if self._queue:
                self._pool.submit(self._drain, loop)
            else:
                self._draining = False


def _connected(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    m.ensure_connected()
    return fn(*args, **kwargs)


def _settle(fut: asyncio.Future[Any], out: Any, exc: BaseException | None) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(out)
