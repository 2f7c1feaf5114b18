"""The store, through peewee: one SQLite file (WAL), or a PostgreSQL database (server/engine.py).
Every row belongs to one hotel. The models are the same on both engines; what differs
(opening, the write lock, raw SQL's placeholders) is kept here, in a few small functions."""

from __future__ import annotations

import contextlib
import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

import peewee as pw
from playhouse.db_url import parse as parse_url
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, SqliteMigrator, migrate

from server.engine import Postgres, StoreAt, shown, store_at
from server.startup import StartError
from shared.timeutil import from_iso

log = logging.getLogger("roomrack.db")

db = pw.DatabaseProxy()

SCHEMA_VERSION = 2  # the store's layout; see `upgrade` for the steps between versions

# the key of PostgreSQL's transaction-level advisory lock that every writer takes first
# (docs/deployment.md, "One writer at a time"): 'Room' in ASCII
WRITE_LOCK = 0x526F6F6D


def db_time(value: datetime | str) -> str:
    """The stored form of a time: fixed-width ISO 8601 in UTC with microseconds, so that text
    order is time order ('2025-12-20T10:30:00.000000Z')."""
    dt = from_iso(value) if isinstance(value, str) else value
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class UTCField(pw.TextField):
    """A UTC timestamp kept as fixed-width ISO 8601 text: sortable and readable."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else db_time(value)

    def python_value(self, value: Any) -> datetime | None:
        return None if value is None else from_iso(value)


# Text columns are TEXT on both engines (no CharField: PostgreSQL would refuse more than 255
# characters where SQLite took them, and the protocol allows longer names and notes)


class Base(pw.Model):
    id: int  # the automatic primary key

    class Meta:
        database = db
        legacy_table_names = False


class Meta(Base):
    key = pw.TextField(primary_key=True)
    value = pw.TextField()


class Hotel(Base):
    slug = pw.TextField(unique=True)
    name = pw.TextField()
    timezone = pw.TextField(default="UTC")
    head_seq = pw.IntegerField(default=0)
    pruned_seq = pw.IntegerField(default=0)  # events up to this seq are gone from the journal
    pruned_until = UTCField(null=True)  # ...and so is everything that happened before this
    rollover_hour = pw.IntegerField(default=3)  # local hour of the night roll-over
    arrival_lead_minutes = pw.IntegerField(default=60)  # an arrival is "due" this early
    dnd_limit_minutes = pw.IntegerField(default=720)  # do-not-disturb longer is a discrepancy
    business_date = pw.TextField(null=True)  # YYYY-MM-DD of the last roll-over
    day_counts = pw.TextField(default="{}")  # JSON: the business day's counters (daybook)
    created_at = UTCField()


class RoomType(Base):
    hotel = pw.ForeignKeyField(Hotel, backref="room_types", on_delete="CASCADE")
    name = pw.TextField()
    max_occupancy = pw.IntegerField(default=2)
    version = pw.IntegerField(default=1)
    retired_at = UTCField(null=True)  # retired: no new rooms of this type; its name stays

    class Meta:
        indexes = ((("hotel", "name"), True),)


class Staff(Base):
    hotel_id: int
    hotel = pw.ForeignKeyField(Hotel, backref="staff", on_delete="CASCADE")
    login = pw.TextField(unique=True)
    name = pw.TextField()
    role = pw.TextField()
    password_hash = pw.TextField()
    active = pw.BooleanField(default=True)
    created_at = UTCField()
    last_login_at = UTCField(null=True)
    password_changed_at = UTCField(null=True)
    locked_until = UTCField(null=True)  # locked after failed logins from many addresses


class Room(Base):
    hotel_id: int
    room_type_id: int
    hotel = pw.ForeignKeyField(Hotel, backref="rooms", on_delete="CASCADE")
    number = pw.TextField()
    room_type = pw.ForeignKeyField(RoomType, on_delete="RESTRICT")
    floor = pw.IntegerField()
    building = pw.TextField(default="Main")
    section = pw.TextField(default="")
    capacity = pw.IntegerField(default=2)
    room_status = pw.TextField(default="READY_FOR_GUEST")
    is_occupied = pw.BooleanField(default=False)
    guests_in_room = pw.IntegerField(default=0)
    is_out_of_order = pw.BooleanField(default=False)
    out_of_order_reason = pw.TextField(null=True)
    maintenance_required = pw.BooleanField(default=False)
    maintenance_priority = pw.TextField(null=True)
    maintenance_notes = pw.TextField(null=True)
    do_not_disturb = pw.BooleanField(default=False)
    last_cleaned_at = UTCField(null=True)
    last_inspected_at = UTCField(null=True)
    cleaned_by_staff = pw.TextField(null=True)
    inspected_by_staff = pw.TextField(null=True)
    dnd_since = UTCField(null=True)  # when do-not-disturb was put on
    hk_occupancy = pw.TextField(null=True)  # what housekeeping saw: occupied / vacant
    hk_observed_at = UTCField(null=True)
    is_out_of_service = pw.BooleanField(default=False)
    # the block in force (out of order / out of service), copied from its Block row
    block_id = pw.IntegerField(null=True)
    block_kind = pw.TextField(null=True)
    block_reason = pw.TextField(null=True)
    block_start = UTCField(null=True)
    block_end = UTCField(null=True)
    block_return_status = pw.TextField(null=True)
    assigned_to_id = pw.IntegerField(null=True)  # the room attendant (staff id)
    assigned_to_name = pw.TextField(null=True)
    rush_requested_at = UTCField(null=True)  # the front desk wants it for a waiting arrival
    rush_requested_by_id = pw.IntegerField(null=True)
    rush_requested_by = pw.TextField(null=True)
    rush_workstation = pw.TextField(null=True)
    rush_note = pw.TextField(null=True)
    version = pw.IntegerField(default=1)
    updated_at = UTCField(null=True)
    max_occupancy = pw.IntegerField(null=True)  # None: the room type's
    # retired: off the board and out of every list, kept with its history (never deleted)
    retired_at = UTCField(null=True)
    retired_by = pw.TextField(null=True)

    class Meta:
        indexes = ((("hotel", "number"), True),)


class Reservation(Base):
    hotel_id: int
    room_id: int
    hotel = pw.ForeignKeyField(Hotel, backref="reservations", on_delete="CASCADE")
    room = pw.ForeignKeyField(Room, backref="reservations", on_delete="CASCADE")
    guest_name = pw.TextField()
    start = UTCField()
    end = UTCField()
    guests = pw.IntegerField(default=1)
    state = pw.TextField(default="confirmed")
    version = pw.IntegerField(default=1)
    created_at = UTCField()
    updated_at = UTCField()
    checked_in_at = UTCField(null=True)
    checked_out_at = UTCField(null=True)

    class Meta:
        indexes = ((("room", "end"), False), (("hotel", "start"), False))


class Block(Base):
    """A dated out-of-order or out-of-service period of a room."""

    hotel_id: int
    room_id: int
    hotel = pw.ForeignKeyField(Hotel, on_delete="CASCADE")
    room = pw.ForeignKeyField(Room, backref="blocks", on_delete="CASCADE")
    kind = pw.TextField()  # out_of_order | out_of_service
    reason = pw.TextField()
    start = UTCField()
    end = UTCField()
    return_status = pw.TextField()
    state = pw.TextField(default="scheduled")  # scheduled | active | ended | cancelled
    override = pw.BooleanField(default=False)
    created_by = pw.TextField()
    created_at = UTCField()
    ended_at = UTCField(null=True)
    ended_by = pw.TextField(null=True)

    class Meta:
        indexes = ((("hotel", "state"), False), (("room", "end"), False))


class Discrepancy(Base):
    """Something the system found wrong, until someone resolves it (or it clears)."""

    hotel_id: int
    room_id: int
    hotel = pw.ForeignKeyField(Hotel, on_delete="CASCADE")
    room = pw.ForeignKeyField(Room, on_delete="CASCADE")
    kind = pw.TextField()
    key = pw.TextField()  # names the occurrence: raised once
    message = pw.TextField()
    details = pw.TextField()  # JSON
    roles = pw.TextField()  # JSON list of the roles concerned
    state = pw.TextField(default="open")  # open | resolved
    raised_at = UTCField()
    resolved_at = UTCField(null=True)
    resolved_by = pw.TextField(null=True)
    note = pw.TextField(null=True)

    class Meta:
        indexes = ((("hotel", "key"), True), (("hotel", "state"), False))


class Session(Base):
    staff_id: int
    token_hash = pw.TextField(unique=True)
    staff = pw.ForeignKeyField(Staff, backref="sessions", on_delete="CASCADE")
    workstation = pw.TextField(null=True)
    created_at = UTCField()
    expires_at = UTCField()
    address = pw.TextField(null=True)  # where it logged in from
    last_seen_at = UTCField(null=True)  # last used by a connection (for the idle time)
    ended_at = UTCField(null=True)  # ended early (kept a while, so its token says why)
    end_reason = pw.TextField(null=True)  # shared.accounts.EndReason


class AuditEntry(Base):
    """The security log: logins, failures, lockouts and account changes. Not journal
    events: they are not part of the room rack's stream, and no desk needs them live."""

    hotel_id: int | None
    hotel = pw.ForeignKeyField(Hotel, null=True, on_delete="CASCADE")  # null: unknown login
    ts = UTCField()
    kind = pw.TextField()  # staff.login, staff.login_failed, staff.locked, ...
    staff_id = pw.IntegerField(null=True)  # the account concerned
    login = pw.TextField(null=True)
    actor = pw.TextField(null=True)  # who did it (a name, or "command line")
    actor_role = pw.TextField(null=True)
    source = pw.TextField()  # login | manager | command line | system
    workstation = pw.TextField(null=True)
    address = pw.TextField(null=True)
    detail = pw.TextField(default="")

    class Meta:
        indexes = ((("hotel", "ts"), False),)


class Event(Base):
    """The journal: every committed change, in order. It is the realtime stream."""

    hotel = pw.ForeignKeyField(Hotel, on_delete="CASCADE")
    seq = pw.IntegerField()
    type = pw.TextField()
    category = pw.TextField()
    room_number = pw.TextField(null=True)
    ts = UTCField()
    frame = pw.TextField()  # the exact JSON text sent to clients
    before = pw.TextField(null=True)  # room_updated: the room as it was before (for rewind)

    class Meta:
        indexes = ((("hotel", "seq"), True), (("hotel", "room_number", "seq"), False))


class AppliedRequest(Base):
    """Request ids already applied, with their reply: a repeated id does not apply twice."""

    staff = pw.ForeignKeyField(Staff, on_delete="CASCADE")
    request_id = pw.TextField()
    reply = pw.TextField()
    digest = pw.TextField(null=True)  # of the request, to tell a retry from a reused id
    ts = UTCField()

    class Meta:
        indexes = ((("staff", "request_id"), True), (("ts",), False))


class Presence(Base):
    """Several servers on one PostgreSQL database: the desks each server has online, per
    hotel, so that every server lists them all (server/cluster.py). Rewritten by its server
    every few seconds; a row left by a server that is gone goes stale and is removed."""

    server = pw.TextField()
    hotel = pw.ForeignKeyField(Hotel, on_delete="CASCADE")
    online = pw.TextField()  # JSON: the entries of the presence frame (docs/protocol.md)
    at = UTCField()

    class Meta:
        indexes = ((("server", "hotel"), True),)


MODELS: list[type[Base]] = [
    Meta,
    Hotel,
    RoomType,
    Staff,
    Room,
    Reservation,
    Block,
    Discrepancy,
    Session,
    Event,
    AppliedRequest,
    AuditEntry,
    Presence,
]


def open_db(where: StoreAt | str, synchronous: str = "FULL") -> str:
    """Open (creating if needed) the store at `where` (a path, or a URL as server/engine.py
    reads it); returns the store's epoch."""
    where = store_at(where)
    close_db()
    db.initialize(_postgres(where) if isinstance(where, Postgres) else _sqlite(where, synchronous))
    db.connect(reuse_if_open=True)
    with write_lock():  # two servers starting at once: one upgrades, the other waits
        new = "meta" not in db.get_tables()
        db.create_tables(MODELS, safe=True)
        if new:
            Meta.create(key="epoch", value=uuid.uuid4().hex)
            Meta.create(key="schema_version", value=str(SCHEMA_VERSION))
            log.info("created a new store at %s", shown(where))
        else:
            upgrade()
    return get_epoch()


class NewerStore(StartError):
    """The store was made by a newer Roomrack than this one."""


# The steps from each schema version to the next, run in order at start (inside the store's
# write lock, in one transaction with the rest of the opening) on both engines, so that an
# upgrade never needs a hand-run SQL script. A step says what it changes; tables that are
# new in a version are made by create_tables before the steps run. Columns added to an
# existing table need no step of their own: `_add_missing_columns` adds them (with the
# field's default) at every start. A step is a function that changes the data (moves values,
# fills a new column), and its docstring's first sentence is logged.
def _layout_2() -> None:
    """The presence table, for several servers on one PostgreSQL database (made by
    create_tables; its stale rows, none in a store of layout 1, need nothing)."""


STEPS: dict[int, Callable[[], None]] = {
    2: _layout_2,
}


def upgrade() -> None:
    """Bring the store to SCHEMA_VERSION (see STEPS); refuse one made by a newer version."""
    row = Meta.get_or_none(Meta.key == "schema_version")
    have = int(row.value) if row is not None else 1
    if have > SCHEMA_VERSION:
        raise NewerStore(
            f"This store has layout {have}, made by a newer Roomrack than this one (layout "
            f"{SCHEMA_VERSION}). Start the newer version, or restore a backup made by this one."
        )
    _add_missing_columns()
    for version in range(have + 1, SCHEMA_VERSION + 1):
        step = STEPS[version]
        log.info("store: upgrading to layout %d: %s", version, (step.__doc__ or "").split(".")[0])
        step()
    if have != SCHEMA_VERSION:
        Meta.insert(key="schema_version", value=str(SCHEMA_VERSION)).on_conflict(
            conflict_target=[Meta.key], update={Meta.value: str(SCHEMA_VERSION)}
        ).execute()


# one database object per engine, initialised afresh by each open_db (as the command line
# does when it runs inside a process that serves: each thread keeps its own connection)
_SQLITE = pw.SqliteDatabase(None)
_POSTGRES = pw.PostgresqlDatabase(None)


def _sqlite(path: Path, synchronous: str) -> pw.Database:
    path.parent.mkdir(parents=True, exist_ok=True)
    _SQLITE.init(
        str(path),
        pragmas={
            "journal_mode": "wal",
            "synchronous": synchronous,
            "foreign_keys": 1,
            "busy_timeout": 10000,
            "cache_size": -16000,
        },
        check_same_thread=False,
    )
    return _SQLITE


# every connection to PostgreSQL: notice a dead peer within about a minute (keepalives), and
# never let a transaction left open by a stuck or vanished program hold the write lock
PG_OPTIONS = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "options": "-c idle_in_transaction_session_timeout=60000",
}


def postgres_params(url: Postgres) -> dict[str, Any]:
    """The connection parameters of a URL (user and password percent-decoded, as libpq
    does), with PG_OPTIONS."""
    params = dict(parse_url(str(url)))
    for key in ("user", "password"):
        if isinstance(params.get(key), str):
            params[key] = unquote(params[key])
    return {**PG_OPTIONS, **params}


def _postgres(url: Postgres) -> pw.Database:
    params = postgres_params(url)
    _POSTGRES.connect_params = {}  # nothing of an earlier URL opened by this process
    _POSTGRES.init(params.pop("database"), **params)
    return _POSTGRES


def is_postgres() -> bool:
    return isinstance(db.obj, pw.PostgresqlDatabase)


_PG_SQL: dict[str, str] = {}


def sql(text: str) -> str:
    """Raw SQL written with `?` placeholders (SQLite's) as this engine takes it."""
    if not is_postgres():
        return text
    converted = _PG_SQL.get(text)
    if converted is None:
        converted = _PG_SQL[text] = text.replace("%", "%%").replace("?", "%s")
    return converted


def execute(text: str, params: tuple[Any, ...] = ()) -> Any:
    """Run raw SQL written with `?` placeholders on either engine; returns the cursor. The
    write path uses a few such statements: building them through the ORM for every command
    cost more than the rest of the command."""
    return db.execute_sql(sql(text), params)


@contextmanager
def write_lock() -> Iterator[None]:
    """A write transaction that holds the store's one write lock from its first statement,
    so that what it reads stays true until it commits: SQLite's IMMEDIATE transaction, or
    PostgreSQL's transaction-level advisory lock `WRITE_LOCK` (which every server and command
    line writing to that database takes, in the same way)."""
    if is_postgres():
        with db.atomic():
            execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
            yield
            _refuse_aborted()
    else:
        with db.atomic("IMMEDIATE"):
            yield


@contextmanager
def read_snapshot() -> Iterator[None]:
    """A transaction whose reads all see one moment of the store, whatever other writers
    commit meanwhile (a snapshot labelled with its seq holds exactly that seq's rooms): on
    SQLite any read transaction does (WAL); PostgreSQL needs REPEATABLE READ for it."""
    if is_postgres() and not db.in_transaction():
        with db.atomic(isolation_level="REPEATABLE READ"):
            yield
    else:
        with db.atomic():
            yield


class TransactionAborted(pw.DatabaseError):
    """PostgreSQL: a statement failed outside any savepoint, so the transaction can only roll
    back (its COMMIT would roll back silently): nothing of it may be reported as done."""


def _refuse_aborted() -> None:
    obj = db.obj
    conn = obj._state.conn
    if conn is not None and obj._adapter.txn_status(conn) == obj._adapter.txn_inerror:
        raise TransactionAborted("a statement of this transaction failed; it is rolled back")


def ensure_connected() -> None:
    """PostgreSQL: make the connection again if it was lost (the database restarted, a
    firewall dropped an idle connection, it was terminated). Only between transactions."""
    if not is_postgres() or db.in_transaction():
        return
    obj = db.obj
    conn = obj._state.conn
    if conn is None:
        return  # not connected yet: peewee connects at the first statement
    lost = getattr(conn, "closed", False) or getattr(conn, "broken", False)
    if lost or obj._adapter.txn_status(conn) == obj._adapter.txn_unknown:
        log.warning("store: the connection to PostgreSQL was lost; connecting again")
        with contextlib.suppress(Exception):
            conn.close()
        obj._state.reset()
        db.connect()


def _add_missing_columns() -> None:
    """Bring a store made by an older version up to date: add the columns it lacks."""
    migrator: SchemaMigrator = (
        PostgresqlMigrator(db.obj) if is_postgres() else SqliteMigrator(db.obj)
    )
    for model in MODELS:
        table = model._meta.table_name
        have = {c.name for c in db.get_columns(table)}
        for f in model._meta.sorted_fields:
            if f.column_name not in have:
                log.info("store: adding column %s.%s", table, f.column_name)
                migrate(migrator.add_column(table, f.column_name, f))


def get_epoch() -> str:
    return str(Meta.get(Meta.key == "epoch").value)


def close_db() -> None:
    if db.obj is not None and not db.is_closed():
        db.close()


class StoreInUse(Exception):
    """Another process (a running server, a restore) holds the store."""


class StoreLock:
    """An exclusive lock on `<store>.lock`, held by a server for as long as it uses the
    store (and by `restore`), so that a store is never replaced under a running server and
    two servers never share one. The operating system lets go of it when the process ends,
    even by a crash; the file itself stays."""

    def __init__(self, db_path: StoreAt) -> None:
        # PostgreSQL takes several servers at once (see write_lock): nothing to hold then
        self.path = Path(f"{db_path}.lock") if isinstance(db_path, Path) else None
        self._fh: IO[bytes] | None = None

    def acquire(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+b")  # noqa: SIM115 - held open for as long as the lock
        try:
            if sys.platform == "win32":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise StoreInUse(
                f"The store {str(self.path)[: -len('.lock')]} is in use by a running server."
            ) from None
        self._fh = fh

    def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            fh.close()  # closing the file lets go of the lock
