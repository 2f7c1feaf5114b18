"""`roomrack-server`: run the server and look after its store.

roomrack-server serve [--demo]            start the server (loads the demo hotel if asked)
roomrack-server demo                      load the demo hotel into the store
roomrack-server create-hotel SLUG NAME    add a hotel
roomrack-server create-staff LOGIN ...    add a staff account
roomrack-server backup FILE               copy the store while the server runs
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import platformdirs

from server import db as m
from server.app import Config, RoomrackServer
from server.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_STAFF, DemoSpec, SetupError, load_demo
from server.services import Services
from shared.audit import to_csv
from shared.clock import SystemClock
from shared.rules import Role
from shared.timeutil import from_iso

log = logging.getLogger("roomrack")


def default_db_path() -> Path:
    env = os.environ.get("ROOMRACK_DB")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("roomrack", appauthor=False)) / "roomrack.db"


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)


def ensure_demo(db_path: Path) -> bool:
    """Load the demo hotel unless it is already in the store. True if it was loaded."""
    m.open_db(db_path)
    try:
        if m.Hotel.get_or_none(m.Hotel.slug == DEMO_SLUG) is not None:
            return False
        load_demo(SystemClock().now(), DemoSpec())
        return True
    finally:
        m.close_db()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="roomrack-server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--db",
        type=Path,
        default=None,
        help=f"store file (default: {default_db_path()}; or set ROOMRACK_DB)",
    )
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="start the server")
    s.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; 0.0.0.0 for every workstation on the LAN "
        "(default: 127.0.0.1, this PC only)",
    )
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--demo", action="store_true", help="load the demo hotel first if missing")
    s.add_argument("--heartbeat-overview", type=float, default=60.0, metavar="SECONDS")
    s.add_argument("--heartbeat-room", type=float, default=30.0, metavar="SECONDS")
    s.add_argument(
        "--retention-days",
        type=float,
        default=7.0,
        help="how long the journal keeps events for resuming clients",
    )
    s.add_argument(
        "--rate-limit",
        type=float,
        default=20.0,
        help="commands per second per connection (0: no limit)",
    )
    s.add_argument("--rate-burst", type=int, default=60)
    s.add_argument(
        "--login-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="close connections that have not logged in by then (0: never)",
    )
    s.add_argument(
        "--synchronous",
        choices=["FULL", "NORMAL"],
        default="FULL",
        help="FULL survives power loss; NORMAL survives a crash of the process",
    )

    sub.add_parser(
        "demo",
        help=f"load the demo hotel '{DEMO_SLUG}' (logins: "
        f"{', '.join(s[0] for s in DEMO_STAFF)}; password "
        f"'{DEMO_PASSWORD}')",
    )

    h = sub.add_parser("create-hotel", help="add a hotel")
    h.add_argument("slug")
    h.add_argument("name")
    h.add_argument("--timezone", default="UTC", help="e.g. Europe/Dublin")

    st = sub.add_parser("create-staff", help="add a staff account")
    st.add_argument("login")
    st.add_argument("--hotel", required=True, help="hotel slug")
    st.add_argument("--name", required=True)
    st.add_argument("--role", required=True, choices=[r.value for r in Role])
    st.add_argument("--password", help="asked for if not given (safer)")

    b = sub.add_parser("backup", help="copy the store to FILE; safe while the server runs")
    b.add_argument("target", type=Path)

    a = sub.add_parser("audit", help="who did what between two times, as CSV")
    a.add_argument("--hotel", required=True, help="hotel slug")
    a.add_argument("--since", required=True, help="ISO time, e.g. 2026-01-15T06:00+00:00")
    a.add_argument("--until", help="ISO time (default: now)")
    a.add_argument("--out", type=Path, help="CSV file to write (default: standard output)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    db_path: Path = args.db or default_db_path()
    try:
        if args.command == "serve":
            return serve(args, db_path)
        m.open_db(db_path)
        now = SystemClock().now()
        if args.command == "demo":
            load_demo(now)
            print(f"Demo hotel '{DEMO_SLUG}' loaded into {db_path}.")
            print(f"Logins: {', '.join(s[0] for s in DEMO_STAFF)}; password: {DEMO_PASSWORD}")
        elif args.command == "create-hotel":
            from server.demo import create_hotel

            create_hotel(args.slug, args.name, args.timezone, now)
            print(f"Hotel '{args.slug}' created.")
        elif args.command == "create-staff":
            from server.demo import create_staff

            password = args.password
            if password is None:
                password = getpass.getpass(f"Password for {args.login}: ")
                if getpass.getpass("Again: ") != password:
                    print("The passwords differ; nothing was created.", file=sys.stderr)
                    return 1
            create_staff(args.hotel, args.login, args.name, args.role, password, now)
            print(f"Account '{args.login}' ({args.role}) created for {args.hotel}.")
        elif args.command == "audit":
            return audit(args, now)
        elif args.command == "backup":
            epoch = m.backup_to(args.target)
            print(f"Backed up {db_path} to {args.target} (the copy's epoch is {epoch}).")
        return 0
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        m.close_db()


def audit(args: argparse.Namespace, now: datetime) -> int:
    hotel = m.Hotel.get_or_none(m.Hotel.slug == args.hotel)
    if hotel is None:
        raise SetupError(f"There is no hotel '{args.hotel}'.")
    try:
        since = from_iso(args.since)
        until = from_iso(args.until) if args.until else now
    except ValueError:
        raise SetupError("--since and --until are ISO times, e.g. 2026-01-15T06:00Z.") from None
    services = Services(SystemClock())
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = services.journal_range(hotel.id, since, until, 5000, after)
        events.extend(page["events"])
        if not page["truncated"]:
            break
        after = events[-1]["meta"]["seq"]
    text = to_csv(events, ZoneInfo(hotel.timezone))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"{len(events)} events written to {args.out}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def serve(args: argparse.Namespace, db_path: Path) -> int:
    if args.demo and ensure_demo(db_path):
        log.info(
            "demo hotel loaded; logins %s, password '%s'",
            ", ".join(s[0] for s in DEMO_STAFF),
            DEMO_PASSWORD,
        )
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
    )

    async def run() -> None:
        server = RoomrackServer(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await server.start()
        print(f"Roomrack server ready on ws://{config.host}:{server.port}", flush=True)
        try:
            await stop.wait()
        finally:
            await server.stop()

    try:
        asyncio.run(run())
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
