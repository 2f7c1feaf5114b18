"""Facts about a store as files on disk: which files belong to it, whether a path is one of
them, and whether a file is a sound Roomrack store. Plain `sqlite3`, no peewee: these run
before the store is opened (and beside a running server, which never notices them)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from pathlib import Path
from urllib.parse import quote

SQLITE_HEADER = b"SQLite format 3\x00"
NOT_A_STORE = "not a Roomrack store"
# the files SQLite and the server keep beside the store itself
SIBLING_SUFFIXES = ("-wal", "-shm", "-journal", ".lock")


def store_files(db_path: Path) -> list[Path]:
    """The store and the files beside it that belong to it (existing or not)."""
    return [db_path, *(Path(f"{db_path}{suffix}") for suffix in SIBLING_SUFFIXES)]


def _key(path: Path) -> str:
    return os.path.normcase(str(path.resolve()))


def same_file(a: Path, b: Path) -> bool:
    """True if `a` and `b` name one file: the same real path (through symlinks, `..` and, on
    Windows, case), or one file under two names (a hard link)."""
    if _key(a) == _key(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def belongs_to_store(candidate: Path, db_path: Path) -> bool:
    """True if writing `candidate` would write over the store at `db_path` or a file of it."""
    return any(same_file(candidate, f) for f in store_files(db_path))


def connect(path: Path, mode: str = "ro", timeout: float = 10.0) -> sqlite3.Connection:
    """A plain SQLite connection that never creates the file (`mode` 'ro' or 'rw')."""
    uri = f"file:{quote(str(path.resolve()))}?mode={mode}"
    return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)


def open_quietly(path: Path) -> sqlite3.Connection:
    """A connection for reading that leaves no -wal/-shm files behind when it closes (a
    read-only connection cannot tidy up a store's WAL files; a read-write one, the last to
    close, does). On a write-protected file SQLite opens it read-only."""
    return connect(path, "rw")


def sqlite_problem(con: sqlite3.Connection, check: str = "integrity_check") -> str | None:
    """What SQLite's `integrity_check` (thorough) or `quick_check` (faster: no index against
    table) finds wrong with the database of `con` (None: sound)."""
    assert check in ("integrity_check", "quick_check")
    try:
        rows = con.execute(f"PRAGMA {check}(5)").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if [str(r[0]) for r in rows] == ["ok"]:
        return None
    lines = [line.strip() for r in rows for line in str(r[0]).splitlines()]
    found = [line for line in lines if line and not line.startswith("*** in database")]
    more = f" and {len(found) - 2} more problems" if len(found) > 2 else ""
    return "; ".join(found[:2])[:300] + more or "the integrity check failed"


def epoch_of(con: sqlite3.Connection) -> str | None:
    """The store's epoch, or None if the database is not a Roomrack store."""
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()
    except sqlite3.DatabaseError:
        return None
    return None if row is None else str(row[0])


def problem_with(path: Path, what: str = "store", check: str = "integrity_check") -> str | None:
    """Why the file at `path` is not a sound Roomrack store, in words (None: it is), by
    SQLite's `check` (see `sqlite_problem`). An empty file counts as sound: SQLite makes a
    new store of it."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        return f"the {what} {path} cannot be read ({exc.strerror or exc})"
    if size == 0:
        return None
    if head != SQLITE_HEADER:
        return f"the {what} {path} is not a SQLite database (it may be damaged or another file)"
    try:
        con = open_quietly(path)
    except sqlite3.Error as exc:
        return f"the {what} {path} cannot be opened ({exc})"
    try:
        found = sqlite_problem(con, check)
        if found is not None:
            return f'the {what} {path} is damaged (SQLite says: "{found}")'
        if epoch_of(con) is None:
            return f"the {what} {path} is a SQLite database, but {NOT_A_STORE}"
    finally:
        con.close()
    return None


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; Windows has no handle for folders)."""
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # some file systems refuse; the rename still stands
            os.fsync(fd)
    finally:
        os.close(fd)
