"""`roomrack-server migrate --from STORE --to STORE`: copy a whole store to another engine.

For a hotel that moves up from its SQLite file to PostgreSQL (and back, for a restore drill,
or to keep an SQLite copy of a PostgreSQL store). Everything is copied, row for row and with
the same ids: hotels, room types, rooms, reservations, blocks, discrepancies, staff and their
sessions, the request ids already applied, the security log and the journal (every event
with its seq, so history and rewind reach as far back as before).

The rules:
- The source must be at rest: an SQLite source that a server holds is refused (stop it
  first); a PostgreSQL source is read in one REPEATABLE READ transaction under its write
  lock, so writers wait until the copy is read and it is one consistent moment.
- The destination must be new: an SQLite file that does not exist yet, or a PostgreSQL
  database with no Roomrack store in it. Nothing is ever merged or overwritten.
- The copy has a new epoch, as a backup has: the journal's seqs are the same, but a desk
  that knew the old store takes one fresh snapshot from the new one instead of resuming, so
  two stores can never hand out the same seq under one epoch (were the old one started
  again by mistake). Logged-in desks stay logged in: their sessions are copied.
- Nothing is left on any error: an SQLite copy is made in a temporary file renamed at the
  end; the tables of a failed PostgreSQL copy are dropped again.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import peewee as pw

from server import db as m
from server.engine import Postgres, StoreAt, shown, store_argument
from server.startup import StartError, check_store

CHUNK = 1000  # rows read and written at a time


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "migrate",
        help="copy the whole store to another engine (SQLite <-> PostgreSQL)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--from",
        dest="source",
        required=True,
        type=store_argument,
        metavar="STORE",
        help="the store to copy: an SQLite file (sqlite:///path) or postgresql://…",
    )
    p.add_argument(
        "--to",
        dest="target",
        required=True,
        type=store_argument,
        metavar="STORE",
        help="the new store: an SQLite file that does not exist yet, or an empty PostgreSQL "
        "database",
    )


def run(args: argparse.Namespace) -> int:
    try:
        counts = migrate_store(args.source, args.target)
    except (StartError, m.StoreInUse, pw.DatabaseError) as exc:
        print(f"error: {exc} Nothing was copied.", file=sys.stderr)
        return 1
    rows = ", ".join(f"{n} {table}" for table, n in counts.items() if n)
    print(f"Copied {shown(args.source)} to {shown(args.target)}: {rows}.")
    print("The copy has a new epoch: desks take one fresh snapshot when they connect to it.")
    return 0


def migrate_store(source: StoreAt, target: StoreAt) -> dict[str, int]:
    """Copy every row of `source` into the new store `target`; returns rows per table."""
    if source == target:
        raise StartError("The source and the destination are the same store.")
    check_store(source)
    lock = m.StoreLock(source)
    lock.acquire()  # an SQLite source held by a running server: StoreInUse
    try:
        return _copy(source, target)
    finally:
        lock.release()


def _copy(source: StoreAt, target: StoreAt) -> dict[str, int]:
    src = _open_source(source)
    tmp = _temporary(target)
    made = False  # the destination's tables are this copy's (to drop if it fails)
    try:
        one_moment = {"isolation_level": "REPEATABLE READ"} if isinstance(source, Postgres) else {}
        with src.atomic(**one_moment):
            if isinstance(source, Postgres):
                src.execute_sql(  # type: ignore[no-untyped-call]
                    "SELECT pg_advisory_xact_lock(%s)", (m.WRITE_LOCK,)
                )
            _check_target(target)
            made = True
            m.open_db(tmp if tmp is not None else target)
            with m.db.atomic():
                m.Meta.delete().execute()
                counts = {model._meta.table_name: _copy_table(src, model) for model in m.MODELS}
                m.Meta.update(value=uuid.uuid4().hex).where(m.Meta.key == "epoch").execute()
                _reset_sequences()
        m.close_db()
        if tmp is not None:
            assert isinstance(target, Path)
            os.replace(tmp, target)
            tmp = None
        return counts
    except BaseException:
        if made and isinstance(target, Postgres):
            _drop_partial(target)
        raise
    finally:
        m.close_db()
        src.close()
        if tmp is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def _open_source(source: StoreAt) -> pw.Database:
    if isinstance(source, Postgres):
        db: pw.Database = pw.PostgresqlDatabase(**_params(source))
    else:
        if not source.is_file():
            raise StartError(f"There is no store {source}.")
        db = pw.SqliteDatabase(str(source), pragmas={"busy_timeout": 10000})
    db.connect()
    if "meta" not in db.get_tables():
        db.close()
        raise StartError(f"{shown(source)} holds no Roomrack store.")
    return db


def _temporary(target: StoreAt) -> Path | None:
    """An SQLite copy is written beside its place and renamed there when complete."""
    if isinstance(target, Postgres):
        return None
    if target.exists():
        raise StartError(f"{target} exists; the copy goes into a new file.")
    if not target.parent.is_dir():
        raise StartError(f"The folder {target.parent} does not exist.")
    return target.with_name(f".{target.name}.migrating")


def _check_target(target: StoreAt) -> None:
    if not isinstance(target, Postgres):
        return
    check_store(target)  # reachable
    probe = pw.PostgresqlDatabase(**_params(target))
    try:
        probe.connect()
        if "hotel" in probe.get_tables():
            raise StartError(
                f"{target.shown()} already holds a Roomrack store; the copy goes into an "
                "empty database (createdb a new one)."
            )
    finally:
        probe.close()


def _params(url: Postgres) -> dict[str, Any]:
    params = m.postgres_params(url)
    return {"database": params.pop("database"), **params}


def _drop_partial(target: Postgres) -> None:
    """A copy into PostgreSQL that failed: take away the tables it made (the database held
    no Roomrack store before: `_check_target`), so that nothing half-made is left to serve."""
    m.close_db()
    db = pw.PostgresqlDatabase(**_params(target))
    try:
        db.connect()
        with db.atomic():
            for model in reversed(m.MODELS):
                db.execute_sql(f'DROP TABLE IF EXISTS "{model._meta.table_name}" CASCADE')  # type: ignore[no-untyped-call]
    except pw.DatabaseError:
        pass
    finally:
        db.close()


def _copy_table(src: pw.Database, model: type[m.Base]) -> int:
    """Copy one table in chunks, by the source's column names (a column the source lacks,
    from an older version, takes its default)."""
    table = model._meta.table_name
    if table not in src.get_tables():
        return 0
    fields = model._meta.columns  # column name -> field
    key = "key" if model is m.Meta else "id"
    copied = 0
    last: Any = None
    while True:
        where = "" if last is None else f" WHERE {key} > {src.param}"
        cursor = src.execute_sql(  # type: ignore[no-untyped-call]
            f"SELECT * FROM {table}{where} ORDER BY {key} LIMIT {CHUNK}",
            () if last is None else (last,),
        )
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        if not rows:
            return copied
        known = [(i, fields[n]) for i, n in enumerate(names) if n in fields]
        batch = [{f: _value(f, row[i]) for i, f in known} for row in rows]
        model.insert_many(batch).execute()
        copied += len(rows)
        last = rows[-1][names.index(key)]


def _value(field: pw.Field, value: Any) -> Any:
    if isinstance(field, pw.BooleanField) and value is not None:
        return bool(value)
    return value


def _reset_sequences() -> None:
    """PostgreSQL: the id counters carry on after the copied ids."""
    if not m.is_postgres():
        return
    for model in m.MODELS:
        if model is m.Meta:
            continue
        table = model._meta.table_name
        m.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )
