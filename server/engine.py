"""Where a store lives: an SQLite file (the default: nothing to set up) or a PostgreSQL
database (for a hotel group, a standby server, or several servers serving one stream).

A store is named by a path (`roomrack.db`, `/var/lib/roomrack/roomrack.db`; also as a URL,
`sqlite:///roomrack.db` relative or `sqlite:////var/lib/roomrack/roomrack.db` absolute) or a
PostgreSQL URL (`postgresql://roomrack@db-host/roomrack`); `store_at` tells which. The rest of
the server holds the answer as `StoreAt`: a `Path` for SQLite, a `Postgres` URL otherwise, so
that the few places where the two engines differ (file locks, file checks, backups of the
file) say so with an `isinstance`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgres://")


class Postgres(str):
    """A PostgreSQL connection URL (`postgresql://user:password@host:port/dbname?opts`)."""

    @property
    def dbname(self) -> str:
        return urlsplit(self).path.lstrip("/")

    def shown(self) -> str:
        """The URL as it may be printed and logged: without its password (in the address or
        as a `password=` parameter)."""
        return _password_as(self, "***")

    def bare(self) -> Postgres:
        """The URL with no password at all (libpq then reads it from ~/.pgpass)."""
        return Postgres(_password_as(self, None))


def _password_as(url: str, mask: str | None) -> str:
    """`url` with its password replaced by `mask`, or left out (None)."""
    p = urlsplit(url)
    netloc = p.netloc
    if p.password is not None:
        user, _, host = netloc.rpartition("@")
        name = user.split(":", 1)[0]
        netloc = f"{name}@{host}" if mask is None else f"{name}:{mask}@{host}"
    params = [q for q in p.query.split("&") if q]
    if mask is None:
        params = [q for q in params if not q.startswith("password=")]
    else:
        params = [f"password={mask}" if q.startswith("password=") else q for q in params]
    return urlunsplit(p._replace(netloc=netloc, query="&".join(params)))


StoreAt = Path | Postgres


def store_at(value: str | Path) -> StoreAt:
    """Where `value` says the store is: a PostgreSQL URL, an `sqlite:///` URL, or a path."""
    if isinstance(value, Path | Postgres):
        return value
    if value.startswith(SCHEMES):
        if not Postgres(value).dbname:
            raise ValueError(
                f"{Postgres(value).shown()} names no database (postgresql://host/dbname)"
            )
        return Postgres(value)
    if value.startswith("sqlite:///"):
        return Path(value[len("sqlite:///") :])
    if "://" in value:
        raise ValueError(f"{value!r}: a store is a file path, sqlite:///path or postgresql://…")
    return Path(value)


def shown(where: StoreAt) -> str:
    """How to name the store in messages and logs (never with a password)."""
    return where.shown() if isinstance(where, Postgres) else str(where)


def store_argument(text: str) -> StoreAt:
    """argparse type for --db and --database: a path, sqlite:///path or postgresql://…"""
    try:
        return store_at(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
