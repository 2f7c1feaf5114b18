"""Clocks: everything that depends on time takes one, so tests never sleep.

`SystemClock` is the real one. `ManualClock` only moves when a test calls `advance`, and wakes
exactly the sleepers whose time has come.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock for tests: time stands still until `advance` is called."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
        self._mono = 1000.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._mono + max(0.0, seconds), fut))
        for want, waiter in self._waiters:
            if self.sleepers >= want and not waiter.done():
                waiter.set_result(None)
        try:
            await fut
        finally:
            self._sleepers = [(d, f) for d, f in self._sleepers if f is not fut]

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
        for deadline, fut in list(self._sleepers):
            if deadline <= self._mono and not fut.done():
                fut.set_result(None)

    def set(self, when: datetime) -> None:
        self.advance((when - self._now).total_seconds())

    async def wait_for_sleepers(self, count: int) -> None:
        """Return once `count` tasks are asleep on this clock (so an advance wakes them)."""
        if self.sleepers >= count:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((count, fut))
        try:
            await fut
        finally:
            self._waiters = [(c, f) for c, f in self._waiters if f is not fut]

    @property
    def sleepers(self) -> int:
        return sum(1 for _, f in self._sleepers if not f.done())
