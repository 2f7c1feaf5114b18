"""`roomrack-server`: run the server and look after its store.

roomrack-server serve [--demo] [--backup-dir DIR]
                                          start the server (loads the demo hotel if asked;
                                          backs the store up daily into DIR if asked)
roomrack-server demo                      load the demo hotel into the store
roomrack-server create-hotel SLUG NAME    add a hotel
roomrack-server create-staff LOGIN ...    add a staff account
roomrack-server backup FILE|FOLDER [--force]
                                          copy the store while the server runs (checked;
                                          never over the store, never over a file unless
                                          --force; a folder gets a dated file)
roomrack-server restore FILE              put a backup in place of the store (server stopped);
                                          it gets a new epoch, so clients start afresh; the
                                          replaced store is kept as <store>.before-restore-…
roomrack-server hotel-settings --hotel SLUG [--rollover-hour H] [--dnd-hours N]
                [--arrival-lead-minutes M]
                                          show or change a hotel's settings
roomrack-server add-room-type / edit-room-type / retire-room-type / list-room-types
roomrack-server add-room / edit-room / retire-room / list-rooms --hotel SLUG ...
roomrack-server import-rooms FILE.csv --hotel SLUG [--dry-run]
                                          set up rooms (also while the server runs)
roomrack-server fingerprint | pair | rotate-cert | install-service
                                          the certificate, pairing desktops, the service
roomrack-server list-staff | disable-staff | enable-staff | reset-password | unlock ...
                                          staff accounts and their sessions

Every command and option: roomrack-server COMMAND --help.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import peewee as pw

from server import db as m
from server import migrate_cli, rooms_cli, serve_cli, staff_admin, startup, transport_cli
from server.backup import BackupError, backup_store, restore_store
from server.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_STAFF, SetupError, load_demo
from server.engine import Postgres, StoreAt, shown, store_argument
from server.serve_cli import default_db_path, open_store, per_user_db_path, serve
from server.services import Services
from server.startup import StartError
from server.version import version
from shared.audit import to_csv
from shared.clock import SystemClock
from shared.rules import Role
from shared.timeutil import from_iso

log = logging.getLogger("roomrack")


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default (unless it says one itself)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS)
        if shown and action.option_strings and "default" not in text:
            text += " (default: %(default)s)"
        return text


class RawHelpFormatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """... and the description keeps its own layout (the module's docstring)."""


class Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="roomrack-server", description=__doc__, formatter_class=RawHelpFormatter)
    p.add_argument(
        "--db",
        "--database",
        dest="db",
        type=store_argument,
        default=None,
        metavar="STORE",
        help=f"the store: an SQLite file (default: {default_db_path()}) or a PostgreSQL "
        "database, postgresql://user:password@host:port/dbname; or set ROOMRACK_DB",
    )
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="how much the server logs to standard error",
    )
    p.add_argument(
        "--tls-dir",
        type=Path,
        default=None,
        help="the certificate folder (when not given: roomrack-tls beside the store)",
    )
    p.add_argument("--version", action="version", version=f"roomrack-server {version()}")
    sub = p.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        parser_class=Parser,
        help="what to do; each command has its own --help",
    )

    serve_cli.add_parser(sub)

    sub.add_parser(
        "demo",
        help=f"load the demo hotel '{DEMO_SLUG}' (logins: "
        f"{', '.join(s[0] for s in DEMO_STAFF)}; password "
        f"'{DEMO_PASSWORD}')",
    )

    h = sub.add_parser("create-hotel", help="add a hotel")
    h.add_argument("slug", help="short name in lower case, digits and dashes, e.g. seaview")
    h.add_argument("name", help="the hotel's name as staff see it")
    h.add_argument("--timezone", default="UTC", help="the hotel's time zone, e.g. Europe/Dublin")

    st = sub.add_parser("create-staff", help="add a staff account")
    st.add_argument("login", help="the name the person logs in with")
    st.add_argument("--hotel", required=True, help="hotel slug")
    st.add_argument("--name", required=True, help="the person's name as others see it")
    st.add_argument(
        "--role", required=True, choices=[r.value for r in Role], help="what they may do"
    )
    st.add_argument("--password", help="asked for if not given (safer)")

    b = sub.add_parser(
        "backup",
        help="copy the store to a file or folder; safe while the server runs",
        description="Copy the store with SQLite's online backup (the server goes on "
        "meanwhile), check the copy and rename it into place. Refuses the store's own "
        "files, a folder that does not exist (no folder is created) and an existing file "
        "unless --force. The copy gets a new epoch.",
    )
    b.add_argument(
        "target",
        metavar="FILE|FOLDER",
        help="the backup file, or an existing folder for a dated file in it "
        "(roomrack-YYYY-MM-DD-HHMMSS.db, the server's local time)",
    )
    b.add_argument(
        "--force",
        action="store_true",
        help="replace FILE if it exists; back up into a folder under /media or /mnt even if "
        "no drive is mounted there",
    )

    r = sub.add_parser(
        "restore",
        help="put the backup FILE in place of the store, under a new epoch (clients that "
        "knew the store get a fresh snapshot); stop the server first",
        description="Put the backup FILE in place of the store (stop the server first). "
        "The backup is checked before anything changes: a damaged one is refused. The "
        "restored store gets a new epoch, so workstations reload their board instead of "
        "resuming into events that no longer exist. The store it replaces is kept beside it "
        "as <store>.before-restore-YYYYMMDD-HHMMSS (delete it when you no longer need it).",
    )
    r.add_argument("backup", type=Path, metavar="FILE", help="the backup to restore")

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

    staff_admin.add_commands(sub)

    sub.add_parser(
        "new-epoch",
        help="give the store a new epoch, after it was restored by other means than "
        "`restore` (pg_restore, a copied file), with every server stopped: each desk then "
        "takes a fresh snapshot instead of resuming from a seq the restored store may reuse",
    )
    a = sub.add_parser("audit", help="who did what between two times, as CSV")
    a.add_argument("--hotel", required=True, help="hotel slug")
    a.add_argument("--since", required=True, help="ISO time, e.g. 2026-01-15T06:00+00:00")
    a.add_argument("--until", help="ISO time (default: now)")
    a.add_argument("--out", type=Path, help="CSV file to write (default: standard output)")
    rooms_cli.add_parsers(sub)  # rooms and room types (server/rooms_cli.py)
    migrate_cli.add_parser(sub)
    transport_cli.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    db_path: StoreAt = getattr(args, "database", None) or args.db or default_db_path()
    if args.command == "migrate":
        return migrate_cli.run(args)
    if isinstance(db_path, Postgres) and args.command in FILE_ONLY:
        print(f"error: {FILE_ONLY[args.command]}", file=sys.stderr)
        return 1
    if args.command == "restore":
        assert isinstance(db_path, Path)  # FILE_ONLY
        return restore(args.backup, db_path)
    if args.command in rooms_cli.COMMANDS:
        return rooms_cli.run(args, db_path)
    if args.command in transport_cli.COMMANDS:
        return transport_cli.run(args, db_path, args.tls_dir)
    if args.command in NEEDS_STORE and isinstance(db_path, Path) and not db_path.is_file():
        print(
            f"error: there is no store {db_path} (give the right one with --db or "
            "ROOMRACK_DB); nothing was done.",
            file=sys.stderr,
        )
        return 1
    if args.command == "backup":
        assert isinstance(db_path, Path)  # FILE_ONLY
        return backup(args, db_path)
    try:
        if args.command == "serve":
            return serve(args, db_path)
        if args.command == "create-hotel":
            from server.demo import check_new_hotel

            # its values before a new store is made for it
            check_new_hotel(args.slug, args.name, args.timezone)
        open_store(db_path)
        now = SystemClock().now()
        if args.command == "demo":
            load_demo(now)
            print(f"Demo hotel '{DEMO_SLUG}' loaded into {shown(db_path)}.")
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
            weak = staff_admin.policy_refusal(password, args.login, args.name)
            if weak is not None:
                print(f"error: {weak} Nothing was created.", file=sys.stderr)
                return 1
            staff = create_staff(args.hotel, args.login, args.name, args.role, password, now)
            staff_admin.log_created(staff, now)
            print(f"Account '{args.login}' ({args.role}) created for {args.hotel}.")
        elif args.command == "audit":
            return audit(args, now)
        elif args.command in staff_admin.COMMANDS:
            return staff_admin.run(args, now)
        elif args.command == "new-epoch":
            lock = m.StoreLock(db_path)  # SQLite: not under a running server
            try:
                lock.acquire()
            except m.StoreInUse as exc:
                print(f"error: {exc} Stop it first; nothing was changed.", file=sys.stderr)
                return 1
            try:
                epoch = new_epoch()
            finally:
                lock.release()
            print(
                f"The store {shown(db_path)} has a new epoch, {epoch}: desks take a fresh snapshot."
            )
        elif args.command == "hotel-settings":
            return hotel_settings(args)
        return 0
    except (SetupError, StartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except pw.DatabaseError as exc:  # found wanting after the start-up check
        print(
            f"error: the store {shown(db_path)} could not be used ({engine_says(exc)}).\n"
            f"{startup.restore_hint(db_path, 'If it is damaged, restore')}",
            file=sys.stderr,
        )
        return 1
    finally:
        m.close_db()


# what only an SQLite store can do, and what to do on PostgreSQL instead
FILE_ONLY = {
    "backup": "a PostgreSQL store is backed up with PostgreSQL's own tools (pg_dump), or "
    "copied to an SQLite file with `roomrack-server migrate --from postgresql://… --to "
    "sqlite:///copy.db` (docs/deployment.md). Nothing was done.",
    "restore": "a PostgreSQL store is restored with PostgreSQL's own tools (pg_restore), or "
    "from an SQLite copy with `roomrack-server migrate` (docs/deployment.md). Nothing was done.",
}


def engine_says(exc: Exception) -> str:
    said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{'PostgreSQL' if m.is_postgres() else 'SQLite'} says: {said}"


# commands that read or change an existing store (a mistyped --db must not create one)
NEEDS_STORE = (
    frozenset({"backup", "audit", "create-staff", "hotel-settings", "new-epoch"})
    | staff_admin.COMMANDS
)


def new_epoch() -> str:
    """A new epoch for the open store (its journal stays; its seqs start another timeline)."""
    import uuid

    epoch = uuid.uuid4().hex
    with m.write_lock():
        m.Meta.update(value=epoch).where(m.Meta.key == "epoch").execute()
    return epoch


def backup(args: argparse.Namespace, db_path: Path) -> int:
    try:
        made = backup_store(db_path, args.target, SystemClock().now(), force=args.force)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"Backed up {db_path} to {made.path} ({made.size_words}, checked). "
        f"The copy's epoch is {made.epoch}."
    )
    if made.same_disk:
        print(
            "Note: the copy is on the same disk as the store; keep another one elsewhere "
            "(a USB stick, another PC): a disk that fails takes both.",
            file=sys.stderr,
        )
    return 0


def restore(backup: Path, db_path: Path) -> int:
    try:
        startup.check_data_folder(db_path, create=db_path == per_user_db_path())
    except StartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
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
        done = restore_store(backup, db_path, SystemClock().now())
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        lock.release()
    made = f" (made {from_iso(done.made_at).astimezone():%Y-%m-%d %H:%M})" if done.made_at else ""
    print(
        f"Restored {backup}{made} into {db_path}. Its new epoch is {done.epoch} (the "
        f"backup's was {done.backup_epoch}): workstations start again from a fresh board when "
        "they reconnect."
    )
    if done.kept_aside is not None:
        print(f"The store it replaced is kept as {done.kept_aside}.")
    return 0


def hotel_settings(args: argparse.Namespace) -> int:
    from server.payloads import apply_hotel_settings, hotel_settings_dict

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
    events += staff_admin.security_events(hotel.id, since, until)  # logins, lockouts, accounts
    events.sort(key=lambda e: str(e["meta"]["ts"]))
    text = to_csv(events, ZoneInfo(hotel.timezone))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"{len(events)} events written to {args.out}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
