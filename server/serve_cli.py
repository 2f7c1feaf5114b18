"""`roomrack-server serve`: its options, the checks before anything is created, and the
running server; also where the store is when no --db says."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import platformdirs

from server import db as m
from server import staff_admin, startup
from server.app import RoomrackServer
from server.backup import BackupError, DailyBackup, parse_hhmm
from server.config import Config
from server.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_STAFF, DemoSpec, load_demo
from server.engine import Postgres, StoreAt, store_argument, store_at
from server.startup import StartError, port_number
from shared.clock import SystemClock

log = logging.getLogger("roomrack")
DEFAULTS = Config()  # serve's defaults are the server's own


def default_db_path() -> StoreAt:
    env = os.environ.get("ROOMRACK_DB")
    if env:
        return store_at(env)
    return per_user_db_path()


def per_user_db_path() -> Path:
    """The store's place when neither --db nor ROOMRACK_DB says: the only one whose missing
    folder is created (a mistyped path must not become a new, empty store)."""
    return Path(platformdirs.user_data_dir("roomrack", appauthor=False)) / "roomrack.db"


def open_store(db_path: StoreAt) -> None:
    """Open the store for a command, saying in words (StartError) what is wrong with its
    folder or the file. A missing folder is created only for the per-user default place."""
    startup.check_data_folder(db_path, create=db_path == per_user_db_path())
    startup.check_store(db_path)
    m.open_db(db_path)


def time_of_day(text: str) -> Any:
    """argparse type for --backup-at (HH:MM)."""
    try:
        return parse_hhmm(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def at_least_one(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of 1 or more")
    return n


def ensure_demo(db_path: StoreAt) -> bool:
    """Load the demo hotel unless it is already in the store. True if it was loaded.
    Raises StoreInUse, touching nothing, when a server is running on the store."""
    lock = m.StoreLock(db_path)
    lock.acquire()
    m.open_db(db_path)
    try:
        if m.Hotel.get_or_none(m.Hotel.slug == DEMO_SLUG) is not None:
            return False
        load_demo(SystemClock().now(), DemoSpec())
        return True
    finally:
        m.close_db()
        lock.release()


def add_backup_options(s: argparse.ArgumentParser) -> None:
    """`serve`'s daily backup; each option can also come from the environment."""
    env = os.environ.get
    s.add_argument(
        "--backup-dir",
        type=Path,
        default=env("ROOMRACK_BACKUP_DIR") or None,
        metavar="FOLDER",
        help="back the store up once a day into this existing folder, as "
        "roomrack-daily-YYYY-MM-DD-HHMM.db (or set ROOMRACK_BACKUP_DIR; default: no daily "
        "backup)",
    )
    s.add_argument(
        "--backup-keep",
        type=at_least_one,
        default=env("ROOMRACK_BACKUP_KEEP") or str(DEFAULTS.backup_keep),
        metavar="N",
        help="keep the newest N daily backups, deleting older ones it made (never other "
        "files; or set ROOMRACK_BACKUP_KEEP)",
    )
    s.add_argument(
        "--backup-at",
        type=time_of_day,
        default=env("ROOMRACK_BACKUP_AT") or f"{DEFAULTS.backup_at:%H:%M}",
        metavar="HH:MM",
        help="when the daily backup is made, by this PC's clock and time zone; a day missed "
        "while the server was off is made up at start (or set ROOMRACK_BACKUP_AT)",
    )


def serve(args: argparse.Namespace, db_path: StoreAt) -> int:
    try:
        check_serve(args, db_path)
        if args.demo and ensure_demo(db_path):
            log.info(
                "demo hotel loaded; logins %s, password '%s'",
                ", ".join(s[0] for s in DEMO_STAFF),
                DEMO_PASSWORD,
            )
    except (StartError, BackupError, m.StoreInUse) as exc:
        return cannot_start(exc)
    config = Config(
        host=args.host,
        port=args.port,
        db_path=db_path,
        heartbeat_overview=args.heartbeat_overview,
        heartbeat_room=args.heartbeat_room,
        retention_days=args.retention_days,
        rate_per_second=args.rate_limit,
        rate_burst=args.rate_burst,
        login_timeout=args.login_timeout,
        synchronous=args.synchronous,
        crash_after_commit=os.environ.get("ROOMRACK_CRASH_AFTER_COMMIT") == "1",
        backup_dir=args.backup_dir,
        backup_keep=args.backup_keep,
        backup_at=args.backup_at,
        **staff_admin.serve_config(args),
        insecure=args.insecure,
        tls_dir=args.tls_dir,
        discovery=not args.no_discovery,
        compression=not args.no_compression,
    )

    async def run() -> None:
        server = RoomrackServer(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await server.start()
        print(f"Roomrack server ready on {server.scheme}://{config.host}:{server.port}", flush=True)
        if server.fingerprint_code:
            print(f"Certificate code: {server.fingerprint_code}", flush=True)
        else:
            print(
                "NOT ENCRYPTED (--insecure): desktops must be started with --insecure", flush=True
            )
        try:
            await stop.wait()
        finally:
            await server.stop()

    try:
        asyncio.run(run())
    except (StartError, BackupError, m.StoreInUse) as exc:
        return cannot_start(exc)
    return 0


def check_serve(args: argparse.Namespace, db_path: StoreAt) -> None:
    """Everything `serve` needs, checked before anything is created: the store's folder, the
    store (there is one unless --demo; not in use; not damaged), the backup folder, the
    address and port. Raises StartError, BackupError or StoreInUse in words."""
    if isinstance(db_path, Postgres):
        check_serve_postgres(args, db_path)
        return
    startup.check_data_folder(db_path, create=db_path == per_user_db_path())
    if not db_path.exists() and not args.demo:
        raise StartError(
            f"There is no store {db_path}. Create the hotel first (roomrack-server "
            "create-hotel), or give the right store with --db or ROOMRACK_DB. "
            "Nothing was created."
        )
    if db_path.exists() and db_path.stat().st_size == 0 and not args.demo:
        raise StartError(
            f"The store {db_path} is empty (0 bytes): it holds no hotel. If it held one, "
            f"{startup.restore_hint(db_path, 'restore')}"
            "; for a new hotel, delete the empty file and run roomrack-server create-hotel. "
            "Nothing was started."
        )
    if db_path.exists():
        startup.check_store(db_path)  # before the lock: a damaged store is left as it was
        lock = m.StoreLock(db_path)
        lock.acquire()
        lock.release()
    if args.backup_dir is not None:
        DailyBackup(db_path, args.backup_dir, args.backup_keep, args.backup_at).check(quiet=True)
    startup.check_listen(args.host, args.port)


def check_serve_postgres(args: argparse.Namespace, url: Postgres) -> None:
    """`serve` on PostgreSQL: the database is reachable; daily backups are PostgreSQL's own."""
    if args.backup_dir is not None:
        raise StartError(
            "--backup-dir backs up an SQLite file; a PostgreSQL store is backed up with "
            "PostgreSQL's own tools (pg_dump, or its continuous archiving): see "
            "docs/deployment.md. Nothing was started."
        )
    startup.check_reachable(url)
    startup.check_listen(args.host, args.port)


def cannot_start(exc: Exception) -> int:
    print(f"roomrack-server: cannot start: {exc}", file=sys.stderr, flush=True)
    return 1


def add_parser(sub: Any) -> None:
    """`serve` and its options (every default is the server's own, from Config)."""
    s = sub.add_parser(
        "serve",
        help="start the server",
        description="Start the server on the store. It refuses to start, saying why, if the "
        "store is missing (unless --demo), damaged or in use by another server, or if the "
        "address or port cannot be used; nothing is created then. With --backup-dir it "
        "backs the store up once a day and keeps the newest --backup-keep of those copies.",
    )
    s.add_argument(
        "--database",
        type=store_argument,
        default=None,
        metavar="STORE",
        help="the store, as the main --db option: an SQLite file or "
        "postgresql://user:password@host:port/dbname (several servers may serve one "
        "PostgreSQL database: docs/deployment.md)",
    )
    s.add_argument(
        "--host",
        default=DEFAULTS.host,
        help="address to listen on; 0.0.0.0 for every workstation on the LAN "
        "(default: %(default)s, this PC only)",
    )
    s.add_argument(
        "--port",
        type=port_number,
        default=DEFAULTS.port,
        help="TCP port for the workstations (0: any free port)",
    )
    s.add_argument(
        "--demo",
        action="store_true",
        help="load the demo hotel first if missing (creates the store if there is none)",
    )
    s.add_argument(
        "--heartbeat-overview",
        type=float,
        default=DEFAULTS.heartbeat_overview,
        metavar="SECONDS",
        help="how often the board's channel gets a heartbeat",
    )
    s.add_argument(
        "--heartbeat-room",
        type=float,
        default=DEFAULTS.heartbeat_room,
        metavar="SECONDS",
        help="how often a single room's channel gets a heartbeat",
    )
    s.add_argument(
        "--retention-days",
        type=float,
        default=DEFAULTS.retention_days,
        metavar="DAYS",
        help="how long the journal keeps events for resuming clients",
    )
    s.add_argument(
        "--rate-limit",
        type=float,
        default=DEFAULTS.rate_per_second,
        metavar="PER_SECOND",
        help="commands per second per connection (0: no limit)",
    )
    s.add_argument(
        "--rate-burst",
        type=int,
        default=DEFAULTS.rate_burst,
        metavar="N",
        help="commands a connection may send at once before --rate-limit applies",
    )
    s.add_argument(
        "--login-timeout",
        type=float,
        default=DEFAULTS.login_timeout,
        metavar="SECONDS",
        help="close connections that have not logged in by then (0: never)",
    )
    s.add_argument(
        "--synchronous",
        choices=["FULL", "NORMAL"],
        default=DEFAULTS.synchronous,
        help="FULL survives power loss; NORMAL survives a crash of the process",
    )
    add_backup_options(s)
    staff_admin.add_serve_options(s)
    s.add_argument(
        "--insecure",
        action="store_true",
        help="plain ws:// without TLS: logins and guest names cross the network readable "
        "(desktops must be started with --insecure too)",
    )
    s.add_argument(
        "--no-discovery",
        action="store_true",
        help="do not announce the server on the LAN (mDNS), for networks that forbid multicast",
    )
    s.add_argument(
        "--no-compression",
        action="store_true",
        help="do not compress messages for the desktops that offer it (per-message deflate); "
        "large messages such as the board's snapshot then cross the network 10 to 20 "
        "times the size",
    )
