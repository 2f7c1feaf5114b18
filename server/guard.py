"""Login limits that slow a guesser without locking the real person out.

Failed logins are counted per address (every login name tried from it) and per login name
and address: a guesser on one address is slowed to a trickle, and the same person's own desk,
at another address, is not touched. An account locks only when it fails from several
addresses within a while (a guesser spread over machines); even then a desk the account has
logged in from lately still gets in with the right password (see `server.app` `_login`).
Everything here is in memory and takes the server's clock; the lock itself is kept in the
store (`Staff.locked_until`), so the command line can see and lift it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from shared.clock import Clock


class TokenBucket:
    def __init__(self, clock: Clock, rate: float, burst: int) -> None:
        self.clock, self.rate, self.burst = clock, rate, burst
        self.tokens = float(burst)
        self.at = clock.monotonic()

    def _refill(self) -> None:
        now = self.clock.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def ready(self) -> bool:
        """Is there a token, without taking it?"""
        if self.rate <= 0:
            return True
        self._refill()
        return self.tokens >= 1

    def take(self) -> bool:
        if not self.ready():
            return False
        if self.rate > 0:
            self.tokens -= 1
        return True


class FailureLimiter:
    """Failed logins per login name and per address, across connections: a few tries, then
    one more now and then. Bounded: the oldest entries are forgotten past `size`."""

    def __init__(self, clock: Clock, burst: int, every: float, size: int = 10_000) -> None:
        self.clock, self.burst, self.every, self.size = clock, burst, every, size
        self.buckets: dict[str, TokenBucket] = {}

    def _bucket(self, key: str) -> TokenBucket:
        bucket = self.buckets.pop(key, None) or TokenBucket(self.clock, 1 / self.every, self.burst)
        self.buckets[key] = bucket  # most recent last
        while len(self.buckets) > self.size:
            del self.buckets[next(iter(self.buckets))]
        return bucket

    def allowed(self, *keys: str) -> bool:
        return all(self._bucket(k).ready() for k in keys)

    def failed(self, *keys: str) -> None:
        for k in keys:
            self._bucket(k).take()


@dataclass(frozen=True)
class LoginLimits:
    per_address: int = 10  # failed logins from one address, any login name...
    per_account_address: int = 5  # ...and of one login name from one address
    refill: float = 30.0  # then one more try every `refill` seconds, for both
    lock_addresses: int = 3  # an account locks when this many addresses...
    lock_failures: int = 10  # ...failed it this many times in all (at most 4 from each)...
    lock_window: float = 900.0  # ...within this many seconds
    lock_seconds: float = 900.0  # for this long, or until a manager unlocks it


class LoginGuard:
    def __init__(self, clock: Clock, limits: LoginLimits, size: int = 10_000) -> None:
        self.clock, self.limits, self.size = clock, limits, size
        self.by_address = FailureLimiter(clock, limits.per_address, limits.refill, size)
        self.by_account = FailureLimiter(clock, limits.per_account_address, limits.refill, size)
        self.recent: dict[str, deque[tuple[float, str]]] = {}  # login -> (time, address)
        # several servers on one database: told of each failure and unlock made here, so
        # that the others count it too (server/cluster.py); (kind, login, address)
        self.tell: Callable[[str, str, str], None] | None = None

    @staticmethod
    def _account(login: str, address: str) -> str:
        return f"{login[:100].lower()}@{address}"

    def allowed(self, login: str, address: str) -> bool:
        """May this address try this login name now?"""
        return self.by_address.allowed(address) and self.by_account.allowed(
            self._account(login, address)
        )

    def failed(self, login: str, address: str, heard: bool = False) -> bool:
        """Count a failed login; True when the account should lock now (failures from enough
        addresses within the window). Its count starts again after that. `heard`: it was
        made on another server (which tells the others itself)."""
        if self.tell is not None and not heard:
            self.tell("login_failed", login, address)
        self.by_address.failed(address)
        self.by_account.failed(self._account(login, address))
        key = login[:100].lower()
        now = self.clock.monotonic()
        seen = self.recent.pop(key, None) or deque()
        self.recent[key] = seen  # most recent last
        seen.append((now, address))
        while seen and seen[0][0] <= now - self.limits.lock_window:
            seen.popleft()
        while len(seen) > self.limits.lock_failures * 4:
            seen.popleft()
        while len(self.recent) > self.size:
            del self.recent[next(iter(self.recent))]
        if self.counted(seen) >= self.limits.lock_failures:
            del self.recent[key]
            return True
        return False

    def counted(self, seen: deque[tuple[float, str]]) -> int:
        """The failures that count towards a lockout: none unless they come from at least
        `lock_addresses` addresses, and at most lock_failures / lock_addresses (rounded up)
        from any one address, so one noisy address plus a colleague's typo is not enough."""
        lim = self.limits
        per: dict[str, int] = {}
        for _, address in seen:
            per[address] = per.get(address, 0) + 1
        if len(per) < lim.lock_addresses:
            return 0
        cap = -(-lim.lock_failures // max(1, lim.lock_addresses))
        return sum(min(cap, n) for n in per.values())

    def forget(self, login: str, heard: bool = False) -> None:
        """A manager unlocked the account: its failures start again from none."""
        if self.tell is not None and not heard:
            self.tell("guard_forget", login, "")
        self.recent.pop(login[:100].lower(), None)
        suffix = f"{login[:100].lower()}@"
        for key in [k for k in self.by_account.buckets if k.startswith(suffix)]:
            del self.by_account.buckets[key]
