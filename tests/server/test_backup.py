"""Backups that cannot hurt: `roomrack-server backup` and restore over real store files and a
real server process."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.request
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server import backup
from server.backup import BackupError, DailyBackup, backup_store, human_size
from server.cli import main as cli_main
from shared.clock import ManualClock
from shared.timeutil import from_iso
from tests.server.test_durability import free_port, server_process
from tests.support import SLUG, LiveServer, Peer, make_store

# backups copy the SQLite file (a PostgreSQL store is backed up with pg_dump)
pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]


async def toggle_dnd(url: str, count: int) -> list[dict[str, Any]]:
    """`count` acknowledged changes by the manager (do-not-disturb set or cleared); their
    acks' results."""
    p = await Peer.open(url, "manager")
    await p.subscribe(f"{SLUG}.rooms")
    snap = await p.until(lambda f: f["type"] == "rooms.status")
    acks = []
    for r in snap["rooms"][:count]:
        reply = await p.request(
            "room.action",
            request_id=uuid.uuid4().hex,
            room_number=r["room_number"],
            action="clear_dnd" if r["do_not_disturb"] else "set_dnd",
            expected_version=r["version"],
        )
        assert reply["type"] == "ack", reply
        acks.append(reply["result"])
    await p.close()
    return acks


async def first_view(url: str) -> tuple[str, int]:
    p = await Peer.open(url, "manager")
    await p.subscribe(f"{SLUG}.rooms")
    snap = await p.until(lambda f: f["type"] == "rooms.status")
    await p.close()
    return str(p.login["epoch"]), int(snap["seq"])


async def backup_while_writing(store: Path, url: str, target: Path) -> None:
    """`roomrack-server backup TARGET` while 10 changes are being made."""
    writes = asyncio.create_task(toggle_dnd(url, 10))
    assert await asyncio.to_thread(cli_main, ["--db", str(store), "backup", str(target)]) == 0
    await writes


def assert_one_moment(copy: Path) -> None:
    """A sound copy of one moment: its journal ends where its hotel's head says."""
    con = sqlite3.connect(str(copy))
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        head = con.execute("SELECT head_seq FROM hotel").fetchone()[0]
        assert con.execute("SELECT max(seq), count(*) FROM event").fetchone() == (head, head)
    finally:
        con.close()


def test_a_backup_onto_the_live_store_is_refused_and_every_acknowledged_write_survives(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    url = f"ws://127.0.0.1:{port}"
    with server_process(demo_db, port) as proc:
        epoch, seq = asyncio.run(first_view(url))
        asyncio.run(toggle_dnd(url, 5))
        for force in ([], ["--force"]):
            assert cli_main(["--db", str(demo_db), "backup", str(demo_db), *force]) == 1
            assert "is the live store" in capsys.readouterr().err
        asyncio.run(toggle_dnd(url, 5))  # the server goes on writing after the attempt
        asyncio.run(backup_while_writing(demo_db, url, tmp_path / "copy.db"))
        assert_one_moment(tmp_path / "copy.db")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0

    async def after_restart() -> None:
        p = await Peer.open(url, "manager")
        assert p.login["epoch"] == epoch  # the same store, the same timeline
        ack = await p.subscribe(f"{SLUG}.rooms", since={"epoch": epoch, "seq": seq})
        assert ack["result"]["mode"] == "resume" and ack["result"]["replayed"] == 20
        seqs = [
            (await p.until(lambda f: f.get("type") == "room_updated"))["meta"]["seq"]
            for _ in range(20)
        ]
        assert seqs == list(range(seq + 1, seq + 21))
        # the next change gets the next number: none is used twice under one epoch
        await p.close()
        (more,) = await toggle_dnd(url, 1)
        assert more["seq"] == seq + 21

    with server_process(demo_db, port):
        asyncio.run(after_restart())


# --- the store and its copies, as files --------------------------------------------------------


def store_state(path: Path) -> tuple[str, int, list[int]]:
    """What a store holds that a backup must never change: its epoch, its journal's length
    and its hotels' head sequence numbers."""
    con = sqlite3.connect(str(path))
    try:
        epoch = con.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()[0]
        events = con.execute("SELECT count(*) FROM event").fetchone()[0]
        heads = [r[0] for r in con.execute("SELECT head_seq FROM hotel ORDER BY id")]
    finally:
        con.close()
    return str(epoch), int(events), heads


def damaged_copies(store: Path, folder: Path) -> dict[str, Path]:
    """Three ways a store file goes bad: random bytes, cut short, a page overwritten."""
    data = store.read_bytes()
    page = 4096
    assert len(data) > 10 * page
    bad = bytearray(data)
    for n in range(4, 9):  # the start of pages 5-9: b-tree headers and cells
        bad[n * page : n * page + 200] = b"\x5a" * 200
    damaged = {
        "random bytes": os.urandom(len(data)),
        "truncated": data[: len(data) // 2],
        "a damaged page": bytes(bad),
    }
    paths = {}
    for kind, content in damaged.items():
        path = folder / f"{kind.replace(' ', '-')}.db"
        path.write_bytes(content)
        paths[kind] = path
    return paths


def backup_cli(store: Path, *args: str) -> int:
    return cli_main(["--db", str(store), "backup", *args])


def test_every_name_of_the_live_store_is_refused_even_with_force(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = store_state(demo_db)
    (tmp_path / "roomrack.db.lock").touch()
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "elsewhere" / "link.db"
    link.symlink_to(demo_db)
    hard = tmp_path / "elsewhere" / "hard.db"
    os.link(demo_db, hard)
    folder_link = tmp_path / "store-folder"
    folder_link.symlink_to(tmp_path, target_is_directory=True)
    names = [
        str(demo_db),
        str(tmp_path / "elsewhere" / ".." / "roomrack.db"),
        os.path.relpath(demo_db),
        str(link),
        str(hard),
        str(folder_link / "roomrack.db"),
        f"{demo_db}-wal",
        f"{demo_db}-shm",
        f"{demo_db}.lock",
        f"{demo_db}/",
    ]
    for name in names:
        for force in ([], ["--force"]):
            assert backup_cli(demo_db, name, *force) == 1, name
            err = capsys.readouterr().err
            assert "is the live store" in err and "Nothing was written" in err, err
    assert store_state(demo_db) == before
    assert hard.read_bytes() == demo_db.read_bytes()
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_a_missing_folder_is_refused_and_not_created(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = tmp_path / "media" / "usb"  # the stick is not plugged in
    for target in (usb / "roomrack.db", f"{usb}/", usb / "sub" / "x.db"):
        assert backup_cli(demo_db, str(target)) == 1
        err = capsys.readouterr().err
        assert "does not exist" in err and "mounted" in err and "Nothing was written" in err
    assert not (tmp_path / "media").exists()
    # a file where the folder should be
    (tmp_path / "media").write_text("not a folder")
    for target in (tmp_path / "media" / "x.db", f"{tmp_path / 'media'}/"):
        assert backup_cli(demo_db, str(target)) == 1
        assert "media is not a folder" in capsys.readouterr().err


def test_a_mount_point_with_no_drive_mounted_is_refused(
    demo_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An fstab or desktop mount point (say /media/usb) exists even with the stick out: a
    backup there would land on the server's own disk. Here `tmp_path/media` stands for
    /media (it is on the store's disk, and nothing is mounted under it)."""
    media = tmp_path / "media"
    usb = media / "usb"
    usb.mkdir(parents=True)
    monkeypatch.setattr(backup, "MEDIA_ROOTS", (str(media),))
    for target in (str(usb), str(usb / "monday.db")):
        assert backup_cli(demo_db, target) == 1
        err = capsys.readouterr().err
        assert f"Nothing is mounted on {usb}" in err and "Nothing was written" in err, err
        assert "--force" in err
    assert list(usb.iterdir()) == []
    assert backup_cli(demo_db, str(usb / "monday.db"), "--force") == 0  # asked for by name
    assert (usb / "monday.db").is_file()
    # the daily backup: a warning at start, then each attempt fails (and is tried again)
    daily = DailyBackup(demo_db, usb, 3, time(4, 0))
    with pytest.raises(BackupError, match="Nothing is mounted on") as refused:
        backup_store(demo_db, usb / "daily.db", datetime.now(UTC), kind="daily")
    assert "--force" not in str(refused.value)
    daily.check(quiet=True)  # the check before the start lets it start
    with caplog.at_level(logging.WARNING, logger="roomrack"):
        daily.check()  # and the server says so when it starts
    assert f"daily backup: Nothing is mounted on {usb}" in caplog.text
    # outside the places drives are mounted, or on another disk, a folder is a folder
    assert backup.nothing_mounted(tmp_path, demo_db) is None
    assert backup.nothing_mounted(usb, demo_db, roots=("/nowhere",)) is None
    assert backup.nothing_mounted(usb, Path("/proc/self/x")) is None  # another device


def test_an_existing_file_is_kept_unless_forced(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    target = usb / "monday.db"
    target.write_text("last week's notes")
    assert backup_cli(demo_db, str(target)) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err
    assert target.read_text() == "last week's notes"
    assert backup_cli(demo_db, str(target), "--force") == 0
    out = capsys.readouterr().out
    assert f"to {target} (" in out and " KB, checked)" in out
    epoch, events, heads = store_state(target)
    assert (events, heads) == store_state(demo_db)[1:] and epoch != store_state(demo_db)[0]
    assert sorted(p.name for p in usb.iterdir()) == ["monday.db"]  # no temp file left


def test_a_folder_gets_a_dated_file_that_says_where_and_how_big(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    assert backup_cli(demo_db, str(usb)) == 0
    out = capsys.readouterr().out
    (made,) = usb.iterdir()
    assert re.fullmatch(r"roomrack-\d{4}-\d{2}-\d{2}-\d{6}\.db", made.name)
    assert f"to {made} ({human_size(made.stat().st_size)}, checked)" in out
    con = sqlite3.connect(str(made))
    try:  # one self-contained, sound file
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        mark = json.loads(con.execute("SELECT value FROM meta WHERE key='backup'").fetchone()[0])
    finally:
        con.close()
    assert mark["kind"] == "manual" and mark["source"] == str(demo_db.resolve())
    assert not list(usb.glob("*-wal"))


def test_a_damaged_store_gives_no_backup(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    for kind, bad in damaged_copies(demo_db, tmp_path).items():
        assert backup_cli(bad, str(usb)) == 1
        err = capsys.readouterr().err
        assert "damaged" in err and "Nothing was written" in err, (kind, err)
        assert "Traceback" not in err
    assert list(usb.iterdir()) == []


def test_sizes_read_as_people_write_them() -> None:
    assert [human_size(n) for n in (0, 999, 1000, 204_800, 3_100_000, 7 * 10**9)] == [
        "0 bytes",
        "999 bytes",
        "1.0 KB",
        "204.8 KB",
        "3.1 MB",
        "7.0 GB",
    ]


# --- restore ------------------------------------------------------------------------------------


def test_a_damaged_backup_is_refused_and_the_store_is_untouched(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = store_state(demo_db)
    folder = tmp_path / "bad"
    folder.mkdir()
    for kind, path in damaged_copies(demo_db, folder).items():
        assert cli_main(["--db", str(demo_db), "restore", str(path)]) == 1, kind
        err = capsys.readouterr().err
        assert str(path) in err and "Nothing was changed" in err, err
        assert "damaged" in err or "not a SQLite database" in err, err
        assert "Traceback" not in err
    not_ours = folder / "other.sqlite"
    sqlite3.connect(str(not_ours)).execute("CREATE TABLE t (x)").connection.commit()
    assert cli_main(["--db", str(demo_db), "restore", str(not_ours)]) == 1
    assert "not a Roomrack store" in capsys.readouterr().err
    assert cli_main(["--db", str(demo_db), "restore", str(demo_db)]) == 1
    assert "is the store itself" in capsys.readouterr().err
    assert store_state(demo_db) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("roomrack")) == [
        "roomrack.db",
        "roomrack.db.lock",
    ]


def test_restore_keeps_a_store_aside_with_its_journal_as_it_was(
    demo_db: Path, tmp_path: Path
) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    assert backup_cli(demo_db, str(usb / "copy.db")) == 0
    # a change still only in the store's -wal file, as after a power cut
    code = (
        "import os, sqlite3, sys\n"
        "con = sqlite3.connect(sys.argv[1])\n"
        "con.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "con.execute(\"UPDATE hotel SET name = 'Only in the WAL'\")\n"
        "con.commit()\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(demo_db)], check=True, timeout=60)
    assert Path(f"{demo_db}-wal").stat().st_size > 0
    assert cli_main(["--db", str(demo_db), "restore", str(usb / "copy.db")]) == 0
    (aside,) = tmp_path.glob("roomrack.db.before-restore-*[0-9]")
    assert Path(f"{aside}-wal").exists() and not Path(f"{demo_db}-wal").exists()
    con = sqlite3.connect(str(aside))
    try:
        assert con.execute("SELECT name FROM hotel").fetchone()[0] == "Only in the WAL"
    finally:
        con.close()


def test_restore_keeps_the_store_it_replaces(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    assert backup_cli(demo_db, str(usb / "copy.db")) == 0
    replaced = store_state(demo_db)
    assert cli_main(["--db", str(demo_db), "restore", str(usb / "copy.db")]) == 0
    out = capsys.readouterr().out
    (aside,) = tmp_path.glob("roomrack.db.before-restore-*")
    assert f"kept as {aside}" in out and "(made 20" in out
    assert store_state(aside) == replaced
    restored = store_state(demo_db)
    assert restored[1:] == replaced[1:] and restored[0] not in (
        replaced[0],
        store_state(usb / "copy.db")[0],
    )
    con = sqlite3.connect(str(demo_db))
    try:  # the backup's own mark does not come back with it
        assert con.execute("SELECT value FROM meta WHERE key='backup'").fetchone() is None
    finally:
        con.close()
    # a second restore keeps the first restored store too
    assert cli_main(["--db", str(demo_db), "restore", str(usb / "copy.db")]) == 0
    assert len(list(tmp_path.glob("roomrack.db.before-restore-*"))) == 2


# --- the daily backup ---------------------------------------------------------------------------

DUBLIN = ZoneInfo("Europe/Dublin")


def daily_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "-daily-" in p.name)


def daily(store: Path, folder: Path, keep: int = 3) -> DailyBackup:
    return DailyBackup(store, folder, keep=keep, at=time(4, 0), tz=DUBLIN)


@pytest.mark.parametrize(
    ("now", "last_made", "due"),
    [
        ("2026-01-15T09:00Z", None, True),  # never made: at once
        ("2026-01-15T09:00Z", "2026-01-15T04:00:05Z", False),  # today's is made
        ("2026-01-15T09:00Z", "2026-01-14T04:00:05Z", True),  # a day was missed
        ("2026-01-16T03:59Z", "2026-01-15T04:00:05Z", False),  # not yet time
        ("2026-01-16T04:00Z", "2026-01-15T04:00:05Z", True),
        ("2026-01-15T02:00Z", "2026-01-14T04:00Z", False),
        # summer time: 04:00 in Dublin is 03:00 UTC
        ("2026-07-15T03:00Z", "2026-07-14T03:00:01Z", True),
        ("2026-07-15T02:59Z", "2026-07-14T03:00:01Z", False),
    ],
)
def test_the_daily_backup_is_due_once_a_day_at_its_local_time(
    tmp_path: Path, now: str, last_made: str | None, due: bool
) -> None:
    schedule = daily(tmp_path / "roomrack.db", tmp_path)
    schedule.last_made = from_iso(last_made) if last_made else None
    assert schedule.due(from_iso(now)) is due


def test_a_daily_backup_that_failed_is_tried_again_an_hour_later(tmp_path: Path) -> None:
    schedule = daily(tmp_path / "roomrack.db", tmp_path)
    schedule.failed_at = from_iso("2026-01-15T04:00Z")
    assert not schedule.due(from_iso("2026-01-15T04:59Z"))
    assert schedule.due(from_iso("2026-01-15T05:00Z"))


def test_the_server_backs_up_daily_keeps_the_newest_and_never_deletes_what_it_did_not_make(
    demo_db: Path, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="roomrack")
    usb = tmp_path / "usb"
    usb.mkdir()
    # files that are not this server's daily backups, some with names like theirs
    (usb / "notes.txt").write_text("tape rotation: Mondays")
    (usb / "roomrack-daily-2020-01-01-0400.db").write_bytes(b"not a backup at all")
    manual = backup_store(demo_db, usb, clock.now())
    other_store = tmp_path / "other" / "roomrack.db"
    other_store.parent.mkdir()
    make_store(other_store, clock)
    daily(other_store, usb, keep=1).run(clock.now() - timedelta(days=5))
    strangers = sorted(p.name for p in usb.iterdir())
    assert len(strangers) == 4

    async def scenario() -> None:
        config = {"backup_dir": usb, "backup_keep": 3, "backup_tz": DUBLIN}
        async with LiveServer(demo_db, clock, **config) as srv:
            await srv.server.backup_if_due()  # the first one at once, at start
            assert daily_files(usb) == [
                "roomrack-daily-2020-01-01-0400.db",  # not a backup
                "roomrack-daily-2026-01-10-0900.db",  # the other store's
                "roomrack-daily-2026-01-15-0900.db",  # this server's, at once
            ]
            clock.advance(3600)
            await srv.server.backup_if_due()  # once a day
            assert len(daily_files(usb)) == 3
            for day in range(16, 21):
                clock.set(datetime(2026, 1, day, 4, 0, 30, tzinfo=UTC))
                await srv.server.backup_if_due()
        ours = [n for n in daily_files(usb) if n not in strangers]
        assert ours == [f"roomrack-daily-2026-01-{d}-0400.db" for d in (18, 19, 20)]
        assert set(strangers) <= {p.name for p in usb.iterdir()}
        assert manual.path.exists()
        epoch, events, heads = store_state(usb / ours[-1])  # a snapshot of 04:00 that day
        now_epoch, now_events, _ = store_state(demo_db)
        assert epoch != now_epoch and 0 < events <= now_events and heads == [events]

    asyncio.run(asyncio.wait_for(scenario(), 60))
    wrote = [r.getMessage() for r in caplog.records if "daily backup: wrote" in r.getMessage()]
    assert len(wrote) == 6 and " KB, checked" in wrote[-1]
    assert any("removed 1 older: roomrack-daily-2026-01-15-0900.db" in w for w in wrote)


async def health(srv: LiveServer) -> dict[str, Any]:
    def get() -> dict[str, Any]:
        url = f"http://127.0.0.1:{srv.server.port}/healthz"
        with urllib.request.urlopen(url, timeout=10) as resp:
            body: dict[str, Any] = json.loads(resp.read())
            return body

    return await asyncio.to_thread(get)


def test_a_failed_daily_backup_is_logged_and_a_missed_day_is_made_up_at_start(
    demo_db: Path, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="roomrack")
    usb = tmp_path / "usb"
    usb.mkdir()
    away = tmp_path / "unplugged"
    config = {"backup_dir": usb, "backup_keep": 5, "backup_tz": DUBLIN}

    async def first_run() -> None:
        async with LiveServer(demo_db, clock, **config) as srv:
            await srv.server.backup_if_due()
            assert (await health(srv))["backup"] == {
                "last_made": "2026-01-15T09:00:00Z",
                "last_failed": None,
            }
            usb.rename(away)  # the stick is pulled out
            clock.set(datetime(2026, 1, 16, 4, 0, 30, tzinfo=UTC))
            await srv.server.backup_if_due()
            clock.advance(30 * 60)
            await srv.server.backup_if_due()  # not every minute: an hour later
            assert (await health(srv))["backup"] == {  # for a monitor to raise the alarm
                "last_made": "2026-01-15T09:00:00Z",
                "last_failed": "2026-01-16T04:00:30Z",
            }
            away.rename(usb)
            clock.advance(31 * 60)
            await srv.server.backup_if_due()
            assert (await health(srv))["backup"]["last_failed"] is None

    asyncio.run(asyncio.wait_for(first_run(), 60))
    failed = [r for r in caplog.records if "daily backup failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].levelno == logging.ERROR
    assert "does not exist" in failed[0].getMessage()
    assert daily_files(usb) == [
        "roomrack-daily-2026-01-15-0900.db",
        "roomrack-daily-2026-01-16-0501.db",
    ]
    clock.set(datetime(2026, 1, 19, 12, 0, tzinfo=UTC))  # the server was off for three days

    async def second_run() -> None:
        async with LiveServer(demo_db, clock, **config) as srv:
            await srv.server.backup_if_due()

    asyncio.run(asyncio.wait_for(second_run(), 60))
    assert daily_files(usb)[-1] == "roomrack-daily-2026-01-19-1200.db"
    assert len(daily_files(usb)) == 3  # one catch-up, not one per missed day


def test_a_server_refuses_to_start_with_a_missing_backup_folder(
    demo_db: Path, clock: ManualClock, tmp_path: Path
) -> None:
    async def scenario() -> None:
        with pytest.raises(BackupError, match="does not exist"):
            async with LiveServer(demo_db, clock, backup_dir=tmp_path / "usb"):
                pass
        async with LiveServer(demo_db, clock):  # it let go of the store
            pass

    asyncio.run(asyncio.wait_for(scenario(), 60))
