"""What a server is started with (`roomrack-server serve` fills it from its options)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, tzinfo
from pathlib import Path

from server.engine import StoreAt


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8765
    db_path: StoreAt = Path("roomrack.db")  # an SQLite file, or a PostgreSQL URL
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
    session_check: float = 1.0  # seconds between checks of live sessions against the store
    max_inflight: int = 32  # commands of one connection being processed at once
    max_buffer: int = 4 * 1024 * 1024  # bytes waiting for a slow client before it is dropped
    hard_max_frame: int = 1024 * 1024  # larger frames close the connection (1009)
    # seconds a closing connection waits for the desk's answer before the server hangs up
    close_timeout: float = 3.0
    synchronous: str = "FULL"
    crash_after_commit: bool = False  # fault injection for tests (ROOMRACK_CRASH_AFTER_COMMIT)
    presence_interval: float = 1.0  # "who is online" at most this often per hotel (seconds)
    # fan-out ticks at most this often (seconds of real time): under load, the commits of that
    # moment go out together (server/hub.py); an idle server sends at once
    fanout_tick: float = 0.003
    login_timeout: float = 60.0  # a connection that has not logged in by then is closed; 0: never
    backup_dir: Path | None = None  # the daily backup's folder (None: no daily backup)
    backup_keep: int = 14  # how many of its daily backups it keeps
    backup_at: time = time(4, 0)  # when, by the clock of `backup_tz`
    backup_tz: tzinfo | None = None  # None: the server PC's own time zone
    # how often to look for commits of other processes (the command line), in seconds of real
    # time (a look at a file, like a socket's keep-alive, not the hotel's clock); 0: only at
    # each write and each clock round (server/publish.py)
    external_poll: float = 1.0
    # transport (server/tls.py, server/discovery.py): TLS unless asked for plain ws by name
    insecure: bool = False
    tls_dir: Path | None = None  # default: `roomrack-tls` beside the store
    discovery: bool = False  # announce on the LAN (`roomrack-server serve` turns it on)
    discovery_interfaces: tuple[str, ...] | None = None  # None: every interface
    # per-message compression for the clients that offer it (shared/deflate.py)
    compression: bool = True
