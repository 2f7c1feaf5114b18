"""`roomrack-server` commands for staff accounts: list, disable and enable, reset a password,
end sessions, lift a lockout.

They write the store directly, also while a server runs on it: the server checks its live
connections against the store every few seconds (`--session-check`) and closes those whose
session ended here, with the reason (`server.commands.staff`).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from server import db as m
from server.accounts import Accounts, staff_by_login
from server.config import Config
from server.security_log import CLI_ACTOR, audit, entry_dict
from shared.accounts import EndReason, password_problem
from shared.clock import SystemClock
from shared.errors import ErrorCode, ProtocolError
from shared.timeutil import from_iso

COMMANDS = frozenset(
    {
        "list-staff",
        "list-sessions",
        "disable-staff",
        "enable-staff",
        "reset-password",
        "revoke-sessions",
        "end-session",
        "unlock",
    }
)


def add_commands(sub: Any) -> None:
    """Register the staff commands on the `roomrack-server` sub-command parser."""
    ls = sub.add_parser(
        "list-staff", help="list the staff accounts: role, enabled, last login, sessions, lockout"
    )
    ls.add_argument("--hotel", help="hotel slug (default: every hotel)")
    ss = sub.add_parser("list-sessions", help="list the open sessions (their ids end one)")
    ss.add_argument("login", nargs="?", help="only this account's")
    ss.add_argument("--hotel", help="hotel slug (default: every hotel)")
    for name, what in (
        ("disable-staff", "disable an account: its sessions end at once, it cannot log in"),
        ("enable-staff", "enable a disabled account again"),
        ("revoke-sessions", "end every session of an account (its desks return to login)"),
        ("unlock", "lift the lockout of an account locked after failed logins"),
    ):
        p = sub.add_parser(name, help=what)
        p.add_argument("login", help="the account's login")
    rp = sub.add_parser(
        "reset-password",
        help="set a new password for an account (asked twice); its sessions end",
    )
    rp.add_argument("login", help="the account's login")
    rp.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the new password from the first line of standard input (for scripts)",
    )
    es = sub.add_parser("end-session", help="end one session, by its id (see list-sessions)")
    es.add_argument("session_id", type=int, help="the session's id (see list-sessions)")


def add_serve_options(serve: Any) -> None:
    """The session and login-limit options of `roomrack-server serve` (defaults: the
    server's `Config`, as for every option of serve)."""
    defaults = Config()
    serve.add_argument(
        "--session-idle-minutes",
        type=float,
        default=defaults.session_idle_minutes,
        metavar="MINUTES",
        help="a session no workstation has used for this long expires (12 hours; 0: never); "
        "a workstation that stays connected keeps its session",
    )
    serve.add_argument(
        "--lockout-minutes",
        type=float,
        default=defaults.lockout_minutes,
        metavar="MINUTES",
        help="how long an account stays locked after failed logins from several addresses "
        "(a manager or `unlock` lifts it sooner)",
    )


def serve_config(args: argparse.Namespace) -> dict[str, Any]:
    """The `Config` fields those options set."""
    return {
        "session_idle_minutes": args.session_idle_minutes,
        "lockout_minutes": args.lockout_minutes,
    }


def read_new_password(login: str, from_stdin: bool, stdin: TextIO | None = None) -> str | None:
    """The new password, asked twice (or the first line of standard input); None if the two
    differ."""
    if from_stdin:
        return (stdin or sys.stdin).readline().rstrip("\r\n")
    first = getpass.getpass(f"New password for {login}: ")
    if getpass.getpass("Again: ") != first:
        return None
    return first


def policy_refusal(password: str, login: str, name: str) -> str | None:
    """For `create-staff`: why the password may not be used, or None."""
    return password_problem(password, login, name)


def log_created(staff: m.Staff, now: datetime) -> None:
    """`create-staff` made an account: into the security log."""
    audit(
        "staff.created",
        now,
        f"account created ({staff.role})",
        hotel_id=staff.hotel_id,
        staff=staff,
        actor=CLI_ACTOR,
    )


def run(args: argparse.Namespace, now: datetime) -> int:
    accounts = Accounts(SystemClock().now)
    try:
        return _run(args, accounts)
    except ProtocolError as exc:
        print(f"error: {exc.message} Nothing was changed.", file=sys.stderr)
        return 1


def _hotel_id(slug: str | None) -> int | None:
    if slug is None:
        return None
    hotel = m.Hotel.get_or_none(m.Hotel.slug == slug)
    if hotel is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"There is no hotel '{slug}'.")
    return int(hotel.id)


def _local(ts: str | None, tz: str) -> str:
    if not ts:
        return "never"
    return from_iso(ts).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _run(args: argparse.Namespace, accounts: Accounts) -> int:
    cmd = args.command
    if cmd == "list-staff":
        return list_staff(accounts, _hotel_id(args.hotel))
    if cmd == "list-sessions":
        return list_sessions(accounts, _hotel_id(args.hotel), args.login)
    if cmd == "end-session":
        ended = accounts.end_session(None, args.session_id, CLI_ACTOR)
        print(f"Session {args.session_id} ended." if ended else "That session had ended already.")
        return 0
    staff = staff_by_login(args.login)
    if cmd == "disable-staff":
        _, ended = accounts.set_enabled(None, staff.id, False, CLI_ACTOR)
        print(f"Account '{staff.login}' disabled; {_sessions(len(ended))} ended.")
    elif cmd == "enable-staff":
        accounts.set_enabled(None, staff.id, True, CLI_ACTOR)
        print(f"Account '{staff.login}' enabled.")
    elif cmd == "revoke-sessions":
        ended = accounts.end_sessions_of(staff.id, EndReason.REVOKED, CLI_ACTOR)
        print(f"{_sessions(len(ended)).capitalize()} of '{staff.login}' ended.")
    elif cmd == "unlock":
        was = accounts.account(staff)["locked"]
        accounts.unlock(None, staff.id, CLI_ACTOR)
        print(f"Account '{staff.login}' unlocked." if was else f"'{staff.login}' was not locked.")
    elif cmd == "reset-password":
        password = read_new_password(staff.login, args.password_stdin)
        if password is None:
            print("The passwords differ; nothing was changed.", file=sys.stderr)
            return 1
        _, ended = accounts.reset_password(None, staff.id, password, CLI_ACTOR)
        print(f"New password set for '{staff.login}'; {_sessions(len(ended))} ended.")
    return 0


def _sessions(n: int) -> str:
    return f"{n} session" + ("" if n == 1 else "s")


def list_staff(accounts: Accounts, hotel_id: int | None) -> int:
    hotels = m.Hotel.select().order_by(m.Hotel.slug)
    if hotel_id is not None:
        hotels = hotels.where(m.Hotel.id == hotel_id)
    rows: list[tuple[str, ...]] = [
        ("HOTEL", "LOGIN", "NAME", "ROLE", "ENABLED", "LAST LOGIN", "SESSIONS", "LOCKED")
    ]
    for hotel in hotels:
        for a in accounts.accounts(hotel.id):
            rows.append(
                (
                    hotel.slug,
                    a["login"],
                    a["name"],
                    a["role"],
                    "yes" if a["enabled"] else "no",
                    _local(a["last_login_at"], hotel.timezone),
                    str(a["sessions"]),
                    f"until {_local(a['locked_until'], hotel.timezone)}" if a["locked"] else "",
                )
            )
    _print_table(rows)
    return 0


def list_sessions(accounts: Accounts, hotel_id: int | None, login: str | None) -> int:
    staff_id = None if login is None else staff_by_login(login).id
    hotels = m.Hotel.select().order_by(m.Hotel.slug)
    if hotel_id is not None:
        hotels = hotels.where(m.Hotel.id == hotel_id)
    rows: list[tuple[str, ...]] = [("ID", "LOGIN", "WORKSTATION", "ADDRESS", "SINCE", "LAST USED")]
    for hotel in hotels:
        for s in accounts.sessions(hotel.id, staff_id):
            rows.append(
                (
                    str(s["id"]),
                    s["login"],
                    s["workstation"] or "",
                    s["address"] or "",
                    _local(s["created_at"], hotel.timezone),
                    _local(s["last_seen_at"], hotel.timezone),
                )
            )
    _print_table(rows)
    return 0


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def security_events(hotel_id: int, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The security log between two times, shaped as journal events for the audit CSV
    (`shared.audit`): no seq, no room; `detail` says what happened. Includes failed logins of
    names no hotel has (with their address)."""
    accounts = Accounts(SystemClock().now)
    entries = accounts.audit_entries(hotel_id, 100_000, since, until, with_unknown=True)
    return [as_event(e) for e in reversed(entries)]


def as_event(e: dict[str, Any]) -> dict[str, Any]:
    who = e.get("login") or ""
    detail = f"{who}: {e['detail']}" if who else str(e["detail"])
    actor = None if e.get("actor") is None else {"name": e["actor"], "role": e["actor_role"]}
    if actor is not None:
        actor["workstation"] = e.get("workstation")
    return {
        "type": e["kind"],
        "payload": {"detail": detail},
        "meta": {
            "ts": e["ts"],
            "seq": "",
            "source": e["source"],
            "actor": actor or {"name": who, "role": "", "workstation": e.get("workstation")},
        },
    }


__all__ = ["COMMANDS", "add_commands", "entry_dict", "policy_refusal", "run", "security_events"]
