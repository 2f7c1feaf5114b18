"""A run's store and what it says after the run: an SQLite file in the run's folder, or a new
database of the benchmark's throw-away PostgreSQL server (`--store postgresql`); the order
of the benchmark's events in its journal (what every subscriber must have received, once
each, in that order); the write transactions PostgreSQL committed (counted in its log); the
CPU of PostgreSQL.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import subprocess
import time
import uuid
from array import array
from collections.abc import Iterable
from pathlib import Path

import psutil

from bench.options import Options
from tools.pgcluster import find_bin

# the request id of a benchmark command ("b<index>"), as the server echoes it in an event
REQUEST_ID = re.compile(r'"request_id":"b(\d+)"')
JOURNAL_SQL = "SELECT frame FROM event ORDER BY hotel_id, seq"


def new_store(target: str, workdir: Path, opts: Options) -> str:
    """Where a run's store is: a new SQLite file, or a new PostgreSQL database's URL."""
    if opts.pg is None:
        return str(workdir / f"{target}.db")
    return opts.pg.create_database(f"bench_{uuid.uuid4().hex[:12]}")


def drop_store(where: str, opts: Options) -> None:
    """Remove a run's PostgreSQL database (an SQLite file goes with the run's folder)."""
    if opts.pg is not None and where.startswith("postgresql://"):
        opts.pg.drop_database(where.rsplit("/", 1)[1])


def request_indices(frames: Iterable[str]) -> array[int]:
    """The benchmark command behind each journalled event, in journal order (events of
    anything else, such as logins, are left out)."""
    out: array[int] = array("q")
    for frame in frames:
        found = REQUEST_ID.search(frame)
        if found is not None:
            out.append(int(found.group(1)))
    return out


def order_digest(indices: array[int]) -> str:
    """A fingerprint of a sequence of command indices: two subscribers that got the same
    events, each once, in the same order, have the same one."""
    return hashlib.blake2b(indices.tobytes(), digest_size=16).hexdigest()


def journal_order(where: str) -> tuple[str, int]:
    """The fingerprint of the benchmark's events in the store's journal, and their number."""
    if where.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(where) as con:
            frames = [str(row[0]) for row in con.execute(JOURNAL_SQL.encode())]
    else:
        lite = sqlite3.connect(f"file:{where}?mode=ro", uri=True, timeout=30)
        try:
            frames = [str(row[0]) for row in lite.execute(JOURNAL_SQL)]
        finally:
            lite.close()
    indices = request_indices(frames)
    return order_digest(indices), len(indices)


def wal_position(where: str) -> str:
    """Where PostgreSQL's write-ahead log ends now (an LSN such as 0/1A2B3C8)."""
    import psycopg

    with psycopg.connect(where, autocommit=True) as con:
        row = con.execute(b"SELECT pg_current_wal_insert_lsn()").fetchone()
    return str(row[0]) if row else "0/0"


def count_commits(waldump_stats: str) -> int:
    """The commit records in `pg_waldump --stats=record` output: one per transaction that
    wrote (a group commit of many commands is one; read-only transactions write none)."""
    for line in waldump_stats.splitlines():
        words = line.split()
        if len(words) > 1 and words[0] == "Transaction/COMMIT":
            return int(words[1])
    return 0


def commits_between(opts: Options, where: str, start: str, end: str) -> int | None:
    """The transactions that wrote between two `wal_position`s, read from the log itself
    with pg_waldump (once the log is on disk up to `end`); None if that cannot be read."""
    import psycopg

    if opts.pg is None:
        return None
    with psycopg.connect(where, autocommit=True) as con:
        for _ in range(50):  # the WAL writer flushes every 200 ms: at most 5 s
            row = con.execute(b"SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn", (end,)).fetchone()
            if row and row[0]:
                break
            time.sleep(0.1)
    cmd = [find_bin("pg_waldump"), "--path", str(opts.pg.data / "pg_wal")]
    cmd += ["--start", start, "--end", end, "--stats=record"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return count_commits(out.stdout)


def postgres_cpu(opts: Options) -> dict[int, float]:
    """CPU seconds of each process of the throw-away PostgreSQL server (the postmaster and
    its children: a backend per connection, the WAL writer, the checkpointer...)."""
    if opts.pg is None:
        return {}
    try:
        head = int((opts.pg.data / "postmaster.pid").read_text().split()[0])
        main = psutil.Process(head)
        procs = [main, *main.children()]
    except (OSError, ValueError, IndexError, psutil.Error):
        return {}
    out: dict[int, float] = {}
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        out[p.pid] = float(t.user + t.system)
    return out


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings of `postgres_cpu` (a process that started in
    between counts from zero; one that ended in between is not counted)."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())
