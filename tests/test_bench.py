"""The realtime benchmark's pure helpers (no server, no timing): its options, how the
subscribers are split across servers, the check of every subscriber's events against the
journal, the count of PostgreSQL's commits and the tables' names for a case."""

from __future__ import annotations

import sqlite3
from array import array
from pathlib import Path

import pytest

from bench.figures import RunResult, label
from bench.options import parse_args
from bench.report import servers_rows
from bench.run import split_ports
from bench.store import count_commits, journal_order, order_digest, request_indices
from bench.subscribers import FastReader, Seen


def test_the_sqlite_defaults_are_unchanged() -> None:
    opts = parse_args([])
    assert (opts.store, opts.servers, opts.write_via) == ("sqlite", [1], "first")
    assert opts.targets == ["baseline", "roomrack"]


def test_postgresql_measures_roomrack_on_one_or_more_servers() -> None:
    opts = parse_args(["--store", "postgresql", "--servers", "1,2", "--write-via", "all"])
    assert (opts.store, opts.servers, opts.write_via) == ("postgresql", [1, 2], "all")
    assert opts.targets == ["roomrack"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--servers", "2"],  # several servers share a PostgreSQL database only
        ["--store", "postgresql", "--targets", "baseline,roomrack"],
        ["--store", "postgresql", "--modes", "connect"],
        ["--store", "postgresql", "--servers", "0"],
    ],
)
def test_what_cannot_be_measured_is_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)


def test_subscribers_split_evenly_across_servers_and_workers() -> None:
    split = split_ports([7001, 7002], 5, 2)
    assert split == [[7001, 7002, 7001], [7002, 7001]]
    every = [p for w in split for p in w]
    assert (every.count(7001), every.count(7002)) == (3, 2)
    assert split_ports([7001], 3, 5) == [[7001], [7001], [7001]]


def test_the_journal_order_is_read_from_the_request_ids_of_its_frames() -> None:
    frames = [
        '{"type":"room_updated","meta":{"seq":1,"request_id":"b3"}}',
        '{"type":"presence","meta":{"seq":2,"request_id":"l"}}',  # not a benchmark command
        '{"type":"room_updated","meta":{"seq":3,"request_id":"b10"}}',
    ]
    assert list(request_indices(frames)) == [3, 10]


def seen_with(*sequences: list[int]) -> Seen:
    seen = Seen()
    for got in sequences:
        reader = FastReader(None, b"", seen)  # type: ignore[arg-type]
        for i in got:
            seen.idx.append(i)
            seen.when.append(0)
            seen.who.append(reader.k)
    return seen


def test_a_subscriber_that_lost_doubled_or_reordered_an_event_is_told_apart() -> None:
    journal = order_digest(array("q", [1, 2, 3]))
    seen = seen_with([1, 2, 3], [1, 2, 3], [1, 3], [1, 2, 2, 3], [2, 1, 3])
    orders = seen.orders()
    assert orders[journal] == 2
    assert sum(orders.values()) == 5 and len(orders) == 4


def test_events_of_several_readers_arriving_interleaved_are_kept_apart() -> None:
    seen = Seen()
    a = FastReader(None, b"", seen)  # type: ignore[arg-type]
    b = FastReader(None, b"", seen)  # type: ignore[arg-type]
    for reader, i in [(a, 1), (b, 1), (b, 2), (a, 2)]:
        seen.idx.append(i)
        seen.when.append(0)
        seen.who.append(reader.k)
    assert seen.orders() == {order_digest(array("q", [1, 2])): 2}


def test_commits_are_counted_from_pg_waldump_stats() -> None:
    stats = (
        "Type                       N      (%)   Record size      (%)\n"
        "----                       -      ---   -----------      ---\n"
        "Transaction/COMMIT       123 (  1.50)          4182 (  0.52)\n"
        "Transaction/COMMIT_PREPARED 0 (  0.00)            0 (  0.00)\n"
        "Heap/INSERT             4000 ( 48.00)        300000 ( 40.00)\n"
    )
    assert count_commits(stats) == 123
    assert count_commits("") == 0


def test_a_case_is_named_by_its_store_and_servers() -> None:
    assert label(RunResult("roomrack", 200, "burst")) == "roomrack"
    two = RunResult("roomrack", 200, "burst", store="postgresql", servers=2, write_via="all")
    assert label(two) == "roomrack pg×2+all"
    assert label(RunResult("roomrack", 200, "burst", store="postgresql")) == "roomrack pg×1"


def test_two_servers_are_set_beside_one() -> None:
    one = RunResult("roomrack", 200, "burst", store="postgresql", events_per_s=1000.0)
    one.cmd_rate, one.commits_per_s = 100.0, 10.0
    two = RunResult("roomrack", 200, "burst", store="postgresql", servers=2, events_per_s=1500.0)
    sqlite = RunResult("roomrack", 200, "burst")
    rows = servers_rows([sqlite, one, two])
    assert [r[0] for r in rows] == ["roomrack pg×1", "roomrack pg×2"]
    assert rows[0][5] == "" and rows[0][9] == "10.0"
    assert rows[1][5] == "150%"


def test_the_journal_order_of_an_sqlite_store(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE event (hotel_id INTEGER, seq INTEGER, frame TEXT)")
    rows = [(1, 2, '{"request_id":"b7"}'), (1, 1, '{"request_id":"b5"}'), (1, 3, "{}")]
    con.executemany("INSERT INTO event VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()
    assert journal_order(str(path)) == (order_digest(array("q", [5, 7])), 2)
