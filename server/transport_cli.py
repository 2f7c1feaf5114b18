"""The `roomrack-server` commands about the transport and running as a service:

roomrack-server fingerprint               show the certificate's code (made if missing)
roomrack-server pair [--minutes M] [--desks N]
                                          print a one-time pairing code for new desktops
roomrack-server rotate-cert [--grace-days D]
                                          make the next certificate; served after D days
roomrack-server install-service [--unit PATH] [--user NAME]
                                          write a systemd unit that runs `serve` at boot
"""

from __future__ import annotations

import argparse
import getpass
import shlex
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from server import tls
from server.engine import Postgres, StoreAt
from shared.clock import SystemClock
from shared.timeutil import to_iso

SYSTEM_UNIT = Path("/etc/systemd/system/roomrack.service")
COMMANDS = frozenset({"fingerprint", "pair", "rotate-cert", "install-service"})


def add_parsers(sub: Any) -> None:
    sub.add_parser("fingerprint", help="show the server certificate's code (made if missing)")
    p = sub.add_parser(
        "pair",
        help="print a one-time pairing code: a new desktop types it instead of comparing "
        "the certificate's code",
    )
    p.add_argument("--minutes", type=float, default=tls.PAIRING_MINUTES, help="valid this long")
    p.add_argument("--desks", type=int, default=1, help="how many desktops may use it")
    r = sub.add_parser(
        "rotate-cert",
        help="make the next certificate; desktops that connect during the grace period pin "
        "it in advance, and the server serves it once the period is over",
    )
    r.add_argument(
        "--grace-days",
        type=float,
        default=14,
        metavar="D",
        help="how long desktops accept both certificates before the switch",
    )
    i = sub.add_parser(
        "install-service", help="write a systemd unit that starts `roomrack-server serve`"
    )
    i.add_argument("--unit", type=Path, default=SYSTEM_UNIT, help=f"default: {SYSTEM_UNIT}")
    i.add_argument("--user", default=None, help="the account it runs as (default: you)")
    i.add_argument("--host", default="0.0.0.0", help="address to listen on (0.0.0.0: all)")
    i.add_argument("--port", type=int, default=8765, help="port to listen on")


def run(args: argparse.Namespace, db_path: StoreAt, tls_dir: Path | None) -> int:
    folder = tls.TlsFolder(tls_dir or tls.default_dir(db_path))
    now = SystemClock().now()
    if args.command == "fingerprint":
        cert = folder.ensure(now)
        print(f"Certificate code: {cert.code}")
        print(f"SHA-256:          {cert.sha256}")
        pending = folder.pending()
        if pending is not None:
            print(f"Next certificate: {pending[0].code}, served from {to_iso(pending[1])}")
        return 0
    if args.command == "pair":
        if args.minutes <= 0 or args.desks < 1:
            print("error: --minutes must be positive and --desks at least 1.", file=sys.stderr)
            return 1
        cert = folder.ensure(now)
        code = folder.new_pairing(now, args.minutes, args.desks)
        desks = "one desktop" if args.desks == 1 else f"{args.desks} desktops"
        print(f"Pairing code: {code}")
        print(f"Valid for {args.minutes:g} minutes, for {desks}; a new code replaces it.")
        print(
            "On the desktop, type it under 'Or type the pairing code your administrator gave "
            f"you' and choose 'Pair with this code'. (Certificate {cert.code})"
        )
        return 0
    if args.command == "rotate-cert":
        if args.grace_days < 0:
            print("error: --grace-days cannot be negative.", file=sys.stderr)
            return 1
        current = folder.ensure(now)
        nxt, switch_at = folder.rotate(now, timedelta(days=args.grace_days))
        print(f"Certificate now:  {current.code}")
        print(f"Next certificate: {nxt.code}")
        print(
            f"The server switches to it at {to_iso(switch_at)} (checked every minute). Until "
            "then every desktop that connects pins the next one too, so none is locked out; "
            "a desktop that does not connect before then asks its person once."
        )
        return 0
    return install_service(args, db_path, tls_dir)


def server_command() -> list[str]:
    """How to start this installation's server: its `roomrack-server` script, beside the
    Python of its virtual environment."""
    script = Path(sys.executable).with_name("roomrack-server")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "server.cli"]


def unit_text(
    exe: list[str], db_path: StoreAt, user: str, host: str, port: int, tls_dir: Path | None
) -> str:
    """A systemd unit running `serve` (restarted if it stops, after the network is up)."""
    command = [*exe, "--db", str(db_path)]
    if tls_dir is not None:
        command += ["--tls-dir", str(tls_dir)]
    command += ["serve", "--host", host, "--port", str(port)]
    return (
        "[Unit]\n"
        "Description=Roomrack server (the live room rack of the hotel)\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"User={user}\n"
        f"ExecStart={shlex.join(command)}\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        # a clean stop (SIGTERM) closes the store; give it the time
        "TimeoutStopSec=30\n"
        "NoNewPrivileges=true\n"
        "PrivateTmp=true\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def install_service(args: argparse.Namespace, db_path: StoreAt, tls_dir: Path | None) -> int:
    exe = server_command()
    user = args.user or getpass.getuser()
    unit: Path = args.unit
    # a unit file is readable by every account: a PostgreSQL password stays out of it
    where = db_path.resolve() if isinstance(db_path, Path) else db_path.bare()
    text = unit_text(
        exe,
        where,
        user,
        args.host,
        args.port,
        tls_dir,
    )
    try:
        unit.parent.mkdir(parents=True, exist_ok=True)
        unit.write_text(text, encoding="utf-8")
    except PermissionError:
        print(
            f"error: cannot write {unit} (run it with sudo, or give --unit PATH and copy the "
            "file there yourself). Nothing was written.",
            file=sys.stderr,
        )
        return 1
    name = unit.name
    print(f"Wrote {unit}:\n")
    print(text)
    print("Then, to start it now and at every boot:")
    if unit.parent == SYSTEM_UNIT.parent:
        print("    sudo systemctl daemon-reload")
        print(f"    sudo systemctl enable --now {name}")
    else:
        print(f"    sudo cp {unit} {SYSTEM_UNIT.parent}/{name}")
        print("    sudo systemctl daemon-reload")
        print(f"    sudo systemctl enable --now {name}")
    print(f"    systemctl status {name}        # is it running?")
    if isinstance(db_path, Postgres) and db_path.bare() != db_path:
        print(
            f"\nThe database's password is not in the unit: put it in ~{user}/.pgpass (one line "
            "host:port:dbname:user:password, readable by that account only: chmod 600), "
            "where PostgreSQL's client looks for it."
        )
    print(f"    journalctl -u {name} -f        # its log (the certificate code is at the top)")
    return 0
