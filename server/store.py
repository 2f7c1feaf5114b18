"""The store thread: every database call runs here, one at a time, in submission order.

One writer means no lock contention inside SQLite and a simple guarantee: journal events
are handed to the publisher in exactly the order they were committed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from server import db as m
from server.services import Outcome, Services, StoredEvent
from shared.clock import Clock

log = logging.getLogger("roomrack.store")
P = ParamSpec("P")
T = TypeVar("T")


class Store:
    def __init__(
        self,
        path: str | Path,
        clock: Clock,
        synchronous: str = "FULL",
        crash_after_commit: bool = False,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self.synchronous = synchronous
        self.services = Services(clock)
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="roomrack-db")
        self.epoch = ""
        # fault injection for the durability test: die between commit and publish
        self.crash_after_commit = crash_after_commit
        self.on_commit: Callable[[list[StoredEvent]], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.epoch = await self.call(m.open_db, self.path, self.synchronous)

    async def close(self) -> None:
        await self.call(m.close_db)
        self._pool.shutdown(wait=True)

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read (or any call that emits no events) on the store thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    async def write(self, fn: Callable[..., Outcome], *args: Any) -> Outcome:
        """Run a service write; its events are handed to `on_commit` right after the commit,
        on the event loop, before this call returns."""
        loop = asyncio.get_running_loop()

        def run() -> Outcome:
            outcome = fn(*args)
            if outcome.events and self.crash_after_commit:
                log.critical("fault injection: exiting right after a commit")
                os._exit(70)
            if outcome.events and self.on_commit is not None:
                loop.call_soon_threadsafe(self.on_commit, outcome.events)
            return outcome

        return await loop.run_in_executor(self._pool, run)
