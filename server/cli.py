"""`roomrack-server`: run the server and look after its store.

roomrack-server serve [--demo]            start the server (loads the demo hotel if asked)
roomrack-server demo                      load the demo hotel into the store
roomrack-server create-hotel SLUG NAME    add a hotel
roomrack-server create-staff LOGIN ...    add a staff account
roomrack-server backup FILE               copy the store while the server runs
roomrack-server restore FILE              put a backup in place of the store (server stopped);
                                          it gets a new epoch, so clients start afresh
roomrack-server hotel-settings --hotel SLUG [--rollover-hour H] [--dnd-hours N]
                [--arrival-lead-minutes M]
                                          show or change a hotel's settings
roomrack-server fingerprint | pair | rotate-cert | install-service
                                          the certificate, pairing desktops, the service
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
from server import transport_cli
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
    p.add_argument(
        "--tls-dir",
        type=Path,
        default=None,
        help="the certificate folder (default: roomrack-tls beside the store)",
    )
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

    r = sub.add_parser(
        "restore",
        help="put the backup FILE in place of the store, under a new epoch (clients that "
        "knew the store get a fresh snapshot); stop the server first",
    )
    r.add_argument("backup", type=Path)

    hs = sub.add_parser(
        "hotel-settings",
        help="show a hotel's settings, or change those given (a running server follows "
        "within a minute)",
    )
    hs.add_argument("--hotel", required=True, help="hotel slug")
    hs.add_argument(
        "--rollover-hour",
        type=int,
        metavar="H",
        help="local hour (0-23) at which the business day moves on (night roll-over)",
    )
    hs.add_argument(
        "--dnd-hours",
        type=float,
        metavar="N",
        help="do-not-disturb held longer than this is a discrepancy",
    )
    hs.add_argument(
        "--arrival-lead-minutes",
        type=int,
        metavar="M",
        help="an arrival whose room is not ready this long before it is a discrepancy",
    )

    a = sub.add_parser("audit", help="who did what between two times, as CSV")
    a.add_argument("--hotel", required=True, help="hotel slug")
    a.add_argument("--since", required=True, help="ISO time, e.g. 2026-01-15T06:00+00:00")
    a.add_argument("--until", help="ISO time (default: now)")
    a.add_argument("--out", type=Path, help="CSV file to write (default: standard output)")
    transport_cli.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    db_path: Path = args.db or default_db_path()
    if args.command == "restore":
        return restore(args.backup, db_path)
    if args.command in transport_cli.COMMANDS:
        return transport_cli.run(args, db_path, args.tls_dir)
    if args.command in NEEDS_STORE and not db_path.is_file():
        print(
            f"error: there is no store {db_path} (give the right one with --db or "
            "ROOMRACK_DB); nothing was done.",
            file=sys.stderr,
        )
        return 1
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
        elif args.command == "hotel-settings":
            return hotel_settings(args)
        return 0
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        m.close_db()


# commands that read or change an existing store (a mistyped --db must not create one)
NEEDS_STORE = frozenset({"backup", "audit", "create-staff", "hotel-settings"})


def restore(backup: Path, db_path: Path) -> int:
    lock = m.StoreLock(db_path)
    try:
        lock.acquire()
    except m.StoreInUse:
        print(
            f"error: a server is running on {db_path}; stop it first, then restore. "
            "Nothing was changed.",
            file=sys.stderr,
        )
        return 1
    try:
        was, epoch = m.restore_from(backup, db_path)
    except (FileNotFoundError, ValueError, m.StoreInUse) as exc:
        print(f"error: {exc} Nothing was changed.", file=sys.stderr)
        return 1
    finally:
        lock.release()
    print(
        f"Restored {backup} into {db_path}. Its new epoch is {epoch} (the backup's was {was}): "
        "workstations start again from a fresh board when they reconnect."
    )
    return 0


def hotel_settings(args: argparse.Namespace) -> int:
    from server.services import apply_hotel_settings, hotel_settings_dict

    hotel = m.Hotel.get_or_none(m.Hotel.slug == args.hotel)
    if hotel is None:
        raise SetupError(f"There is no hotel '{args.hotel}'.")
    wanted: dict[str, int] = {}
    if args.rollover_hour is not None:
        wanted["rollover_hour"] = args.rollover_hour
    if args.dnd_hours is not None:
        wanted["dnd_limit_minutes"] = round(args.dnd_hours * 60)
    if args.arrival_lead_minutes is not None:
        wanted["arrival_lead_minutes"] = args.arrival_lead_minutes
    if wanted:
        try:
            apply_hotel_settings(hotel, wanted)
        except ValueError as exc:
            raise SetupError(f"{exc} Nothing was changed.") from None
        print(f"Hotel '{hotel.slug}' updated.")
    settings = hotel_settings_dict(hotel)
    dnd = settings["dnd_limit_minutes"]
    print(f"Time zone:            {hotel.timezone}")
    print(f"Night roll-over:      {settings['rollover_hour']:02d}:00 local time")
    print(f"Do-not-disturb limit: {dnd // 60} h {dnd % 60:02d} min")
    print(f"Arrival lead time:    {settings['arrival_lead_minutes']} min")
    return 0


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
    try:
        if args.demo and ensure_demo(db_path):
            log.info(
                "demo hotel loaded; logins %s, password '%s'",
                ", ".join(s[0] for s in DEMO_STAFF),
                DEMO_PASSWORD,
            )
    except m.StoreInUse as exc:
        log.error("cannot start: %s", exc)
        return 1
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
        insecure=args.insecure,
        tls_dir=args.tls_dir,
        discovery=not args.no_discovery,
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
    except (OSError, m.StoreInUse) as exc:
        log.error("cannot start: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
