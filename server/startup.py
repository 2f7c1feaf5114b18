"""Start-up checks that say in plain words what is wrong, which file or address, and what to
do, before anything is created: the data folder, the store itself, the address to listen on."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys

from server.engine import Postgres, StoreAt
from server.storefile import NOT_A_STORE, problem_with


class StartError(Exception):
    """The server (or a command) cannot start; the message says why and what to do."""


def restore_hint(db_path: StoreAt, lead: str = "Restore") -> str:
    if isinstance(db_path, Postgres):
        return f"{lead} it with PostgreSQL's own tools (docs/deployment.md, Backups)."
    return (
        f"{lead} the newest backup (with the server stopped): "
        f"roomrack-server --db {db_path} restore BACKUP"
    )


def check_data_folder(db_path: StoreAt, create: bool = False) -> None:
    """The folder of the store must exist (it is created only if `create`: the default, per
    user data folder) and be writable: the store, its -wal and -shm files live there.
    (A PostgreSQL store has no folder here.)"""
    if isinstance(db_path, Postgres):
        return
    folder = db_path.parent
    if not folder.exists() and create:
        folder.mkdir(parents=True, exist_ok=True)
    if not folder.exists():
        raise StartError(
            f"The folder {folder} does not exist (check --db or ROOMRACK_DB). Nothing was created."
        )
    if not folder.is_dir():
        raise StartError(f"{folder} is not a folder (check --db or ROOMRACK_DB).")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StartError(
            f"This account may not write in the folder {folder}, where the store and its -wal "
            "and -shm files live. Give it write access, or choose another folder with --db."
        )
    if db_path.exists() and not db_path.is_file():
        raise StartError(f"{db_path} is a folder, not a store file (check --db or ROOMRACK_DB).")
    if db_path.exists() and not os.access(db_path, os.R_OK | os.W_OK):
        raise StartError(
            f"The store {db_path} is read-only for this account. Give it write access."
        )


def check_store(db_path: StoreAt) -> None:
    """Refuse a store that is damaged (SQLite's integrity check) or not a Roomrack store,
    saying which file and how to restore it. A missing or empty file passes (a new store).
    A PostgreSQL store must be reachable, with the login the URL gives."""
    if isinstance(db_path, Postgres):
        check_reachable(db_path)
        return
    if not db_path.exists():
        return
    found = problem_with(db_path, check="quick_check")  # at every start: the faster one
    if found is None:
        return
    if NOT_A_STORE in found or "not a SQLite database" in found:
        hint = restore_hint(db_path, "Check --db or ROOMRACK_DB; if it is the right file, restore")
    else:
        hint = restore_hint(db_path)
    raise StartError(f"{found[0].upper()}{found[1:]}.\n{hint}")


def check_reachable(url: Postgres) -> None:
    """Connect to the PostgreSQL server of `url` once, saying in words why that fails."""
    import psycopg

    try:
        psycopg.connect(str(url), connect_timeout=10).close()
    except psycopg.Error as exc:
        said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StartError(
            f"Cannot use the PostgreSQL database {url.shown()}: {said}. Check the host, port, "
            "login, password and database name of --database (the database must exist: "
            "createdb, or CREATE DATABASE)."
        ) from None


def check_listen(host: str, port: int) -> None:
    """Bind (and let go of) every address `host` stands for on `port`, so that a port in use,
    a port this account may not open, or an address that is not this PC's is said in words
    before the store is touched."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise StartError(listen_words(exc, host, port)) from None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if sys.platform != "win32":  # as asyncio does: a socket in TIME_WAIT is no bar
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
        except OSError as exc:
            raise StartError(listen_words(exc, host, port)) from None
        finally:
            sock.close()


ANY_ADDRESS = (
    "Use 0.0.0.0 for every network of this PC, 127.0.0.1 for this PC only, or one of this "
    "PC's own addresses."
)
# why the server cannot listen, by the operating system's error number
LISTEN_WORDS: dict[int, str] = {
    errno.EADDRINUSE: "Port {port} on {host} is already in use (by another Roomrack server or "
    "another program). Stop that, or choose another port with --port.",
    errno.EACCES: "This account may not listen on port {port} (ports below 1024 need "
    "administrator rights). Choose another with --port, e.g. 8765.",
    errno.EPERM: "This account may not listen on port {port}. Choose another with --port, "
    "e.g. 8765.",
    errno.EADDRNOTAVAIL: "{host} is not an address of this PC. " + ANY_ADDRESS,
}


def listen_words(exc: OSError, host: str, port: int) -> str:
    """What a failure to listen on `host`:`port` means, in words."""
    if isinstance(exc, socket.gaierror):
        return f"'{host}' is not a known name or address here. {ANY_ADDRESS}"
    words = LISTEN_WORDS.get(exc.errno or 0)
    if words is None:
        return f"Cannot listen on {host}:{port} ({exc.strerror or exc})."
    return words.format(host=host, port=port)


def port_number(text: str) -> int:
    """argparse type for --port: 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a port number (0 to 65535; 0 picks a free one)"
        )
    return port
