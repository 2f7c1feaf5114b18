"""`roomrack-server` commands that look after the store, called through `main()`."""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib.metadata
import json
import shlex
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from datetime import time
from pathlib import Path

import pytest

from server import db as m
from server import startup
from server.cli import build_parser, main
from server.startup import StartError, listen_words
from shared.clock import ManualClock
from tests.server.test_backup import damaged_copies
from tests.server.test_durability import free_port, server_process
from tests.support import SLUG, LiveServer, Peer


def epoch_of(path: Path) -> str:
    con = sqlite3.connect(str(path))
    try:
        return str(con.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()[0])
    finally:
        con.close()


def test_a_mistyped_store_is_refused_and_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "roomrack.db"
    for args in (
        ["backup", str(tmp_path / "out.db")],
        ["audit", "--hotel", SLUG, "--since", "2026-01-01T00:00Z"],
        ["hotel-settings", "--hotel", SLUG],
    ):
        assert main(["--db", str(missing), *args]) == 1
        assert "there is no store" in capsys.readouterr().err
    assert not missing.exists() and not (tmp_path / "out.db").exists()


@pytest.mark.sqlite_only  # about the SQLite file
def test_restore_gives_a_new_epoch_each_time_and_clients_start_afresh(
    demo_db: Path, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = tmp_path / "backup.db"
    assert main(["--db", str(demo_db), "backup", str(backup)]) == 0
    assert main(["--db", str(demo_db), "restore", str(tmp_path / "none.db")]) == 1
    assert "no backup" in capsys.readouterr().err

    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            ack = await desk.subscribe(f"{SLUG}.rooms")
            old = {"epoch": desk.login["epoch"], "seq": ack["result"]["head_seq"]}
            # not under a running server
            assert main(["--db", str(demo_db), "restore", str(backup)]) == 1
            assert "a server is running" in capsys.readouterr().err
            assert epoch_of(demo_db) == old["epoch"]
        epochs = set()
        for _ in range(2):  # the same backup twice: two timelines
            assert main(["--db", str(demo_db), "restore", str(backup)]) == 0
            epochs.add(epoch_of(demo_db))
        assert len(epochs) == 2 and not epochs & {old["epoch"], epoch_of(backup)}
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            assert desk.login["epoch"] in epochs
            ack = await desk.subscribe(f"{SLUG}.rooms", since=old)
            assert ack["result"]["mode"] == "snapshot" and ack["result"]["resumed"] is False
            await desk.until(lambda f: f["type"] == "rooms.status")

    asyncio.run(asyncio.wait_for(scenario(), 60))


@pytest.mark.sqlite_only  # about the SQLite file
def test_two_servers_never_share_a_store(demo_db: Path, clock: ManualClock, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock):
            with pytest.raises(m.StoreInUse):
                async with LiveServer(demo_db, clock):
                    pass
            # `serve --demo` on a store in use refuses before it writes anything into it
            other = tmp_path / "other.db"
            held = m.StoreLock(other)  # as a running server holds it
            held.acquire()
            try:
                assert main(["--db", str(other), "serve", "--demo", "--port", "0"]) == 1
            finally:
                held.release()
            assert not other.exists()
        async with LiveServer(demo_db, clock):  # the first one let go of it
            pass

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_hotel_settings_are_shown_and_changed(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--db", str(demo_db)]
    assert main([*db, "hotel-settings", "--hotel", SLUG]) == 0
    out = capsys.readouterr().out
    assert "03:00" in out and "12 h 00 min" in out and "60 min" in out
    assert (
        main(
            [
                *db,
                "hotel-settings",
                "--hotel",
                SLUG,
                "--rollover-hour",
                "4",
                "--dnd-hours",
                "8.5",
                "--arrival-lead-minutes",
                "90",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "updated" in out and "04:00" in out and "8 h 30 min" in out and "90 min" in out
    assert main([*db, "hotel-settings", "--hotel", SLUG, "--rollover-hour", "24"]) == 1
    assert "0 to 23" in capsys.readouterr().err
    assert main([*db, "hotel-settings", "--hotel", "no-such-hotel"]) == 1
    m.open_db(demo_db)
    try:
        hotel = m.Hotel.get(m.Hotel.slug == SLUG)
        assert (hotel.rollover_hour, hotel.dnd_limit_minutes, hotel.arrival_lead_minutes) == (
            4,
            510,
            90,
        )
        assert hotel.head_seq == 0  # nothing else was written
    finally:
        m.close_db()


def test_a_manager_configures_the_hotel_and_everyone_hears_of_it(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            mgr = await Peer.open(srv.url, "manager")
            desk = await Peer.open(srv.url, "frontdesk")
            assert (await desk.subscribe(f"{SLUG}.rooms"))["type"] == "ack"
            read = await mgr.request("hotel.configure")
            assert read["result"]["settings"] == {
                "rollover_hour": 3,
                "dnd_limit_minutes": 720,
                "arrival_lead_minutes": 60,
            }
            assert read["result"]["seq"] is None
            refused = await desk.request("hotel.configure", dnd_limit_minutes=600)
            assert refused["code"] == "forbidden"
            bad = await mgr.request("hotel.configure", rollover_hour=30)
            assert bad["code"] == "bad_request" and "0 to 23" in bad["message"]
            ok = await mgr.request("hotel.configure", dnd_limit_minutes=600, rollover_hour=3)
            assert ok["result"]["settings"]["dnd_limit_minutes"] == 600
            ev = await desk.until(lambda f: f.get("type") == "hotel.configured")
            assert ev["payload"]["changed_fields"] == ["dnd_limit_minutes"]
            assert ev["meta"]["seq"] == ok["result"]["seq"]
            assert ev["meta"]["actor"]["name"] == mgr.login["staff"]["name"]

    asyncio.run(asyncio.wait_for(scenario(), 60))


# --- clear words for every failure at start (real processes: the exit message matters) ---------


def server_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`roomrack-server ARGS` in a process of its own, as a person would run it."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def plain_failure(proc: subprocess.CompletedProcess[str], lines: int = 2) -> list[str]:
    """The words of a refused start: exit code 1, a line or two, no traceback."""
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr, proc.stderr
    said = proc.stderr.strip().splitlines()
    assert 1 <= len(said) <= lines, said
    return said


@pytest.mark.slow
@pytest.mark.sqlite_only  # about the SQLite file
def test_a_damaged_store_says_what_is_wrong_which_file_and_how_to_restore(
    demo_db: Path, tmp_path: Path
) -> None:
    rooms = tmp_path / "rooms.csv"
    rooms.write_text("number,type,floor\n901,Suite,9\n", encoding="utf-8")
    for kind, path in damaged_copies(demo_db, tmp_path).items():
        before = path.read_bytes()
        for command in (
            ["serve", "--port", "0"],
            ["audit", "--hotel", SLUG, "--since", "2026-01-01T00:00Z"],
            # the rooms commands as well: refused before anything is read or written
            ["list-rooms", "--hotel", SLUG],
            ["add-room-type", "Loft", "--hotel", SLUG],
            ["retire-room", "101", "--hotel", SLUG],
            ["import-rooms", str(rooms), "--hotel", SLUG],
        ):
            first, hint = plain_failure(server_cli("--db", str(path), *command))
            assert str(path) in first, (kind, command, first)
            assert "damaged" in first or "not a SQLite database" in first, (kind, first)
            assert hint.endswith(f"roomrack-server --db {path} restore BACKUP"), hint
        assert path.read_bytes() == before, kind  # nothing written to it
        assert not Path(f"{path}.lock").exists(), kind  # nor beside it


@pytest.mark.slow
@pytest.mark.sqlite_only  # about the SQLite file
def test_the_restore_that_a_damaged_store_asks_for_brings_the_server_back(
    demo_db: Path, tmp_path: Path
) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    assert main(["--db", str(demo_db), "backup", str(usb / "last-night.db")]) == 0
    store = damaged_copies(demo_db, tmp_path)["a damaged page"]
    _, hint = plain_failure(server_cli("--db", str(store), "serve", "--port", "0"))
    command = hint.split(": ", 1)[1].replace("BACKUP", str(usb / "last-night.db"))
    restored = server_cli(*shlex.split(command)[1:])
    assert restored.returncode == 0, restored.stderr
    assert "Restored" in restored.stdout and "kept as" in restored.stdout
    port = free_port()
    health = f"http://127.0.0.1:{port}/healthz"
    with server_process(store, port), urllib.request.urlopen(health, timeout=5) as resp:
        assert json.loads(resp.read())["epoch"] == epoch_of(store)


@pytest.mark.slow
def test_a_bad_port_or_address_is_said_plainly_and_leaves_no_store(tmp_path: Path) -> None:
    new = tmp_path / "roomrack.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        (said,) = plain_failure(server_cli("--db", str(new), "serve", "--demo", "--port", port))
        assert f"Port {port} on 127.0.0.1 is already in use" in said and "--port" in said
    (said,) = plain_failure(
        server_cli("--db", str(new), "serve", "--demo", "--host", "192.0.2.1", "--port", "0")
    )
    assert "192.0.2.1 is not an address of this PC" in said
    (said,) = plain_failure(
        server_cli("--db", str(new), "serve", "--demo", "--host", "no-such-host.invalid")
    )
    assert "'no-such-host.invalid' is not a known name or address" in said
    out_of_range = server_cli("--db", str(new), "serve", "--demo", "--port", "70000")
    assert out_of_range.returncode == 2 and "'70000' is not a port number" in out_of_range.stderr
    assert list(tmp_path.iterdir()) == []  # no store, no lock file


def test_a_port_this_account_may_not_open_is_said_plainly() -> None:
    words = listen_words(PermissionError(errno.EACCES, "Permission denied"), "0.0.0.0", 80)
    assert "may not listen on port 80" in words and "administrator" in words


@pytest.mark.slow
@pytest.mark.sqlite_only  # about the SQLite file
def test_a_missing_store_or_folder_is_said_plainly_and_nothing_is_created(
    demo_db: Path, tmp_path: Path
) -> None:
    typo = tmp_path / "roomrak.db"
    (said,) = plain_failure(server_cli("--db", str(typo), "serve", "--port", "0"))
    assert f"There is no store {typo}" in said and "create-hotel" in said
    nowhere = tmp_path / "nowhere" / "roomrack.db"
    for command in (["serve", "--demo", "--port", "0"], ["create-hotel", "x", "X"]):
        (said,) = plain_failure(server_cli("--db", str(nowhere), *command))
        assert f"The folder {nowhere.parent} does not exist" in said
    (said,) = plain_failure(
        server_cli("--db", str(demo_db), "serve", "--backup-dir", str(tmp_path / "usb"))
    )
    assert f"The backup folder {tmp_path / 'usb'} does not exist" in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roomrack.db", "roomrack.db.lock"]


@pytest.mark.slow
@pytest.mark.sqlite_only  # about the SQLite file
def test_a_refused_create_hotel_leaves_no_store_and_an_empty_file_is_not_served(
    tmp_path: Path,
) -> None:
    new = tmp_path / "roomrack.db"
    for command, said in (
        (["create-hotel", "seaview", "Seaview", "--timezone", "Mars/Base"], "Unknown time zone"),
        (["create-hotel", "Sea View", "Seaview"], "slug is lower-case"),
        (["create-hotel", "seaview", " "], "needs a name"),
    ):
        (words,) = plain_failure(server_cli("--db", str(new), *command))
        assert said in words, words
        assert list(tmp_path.iterdir()) == [], command  # no store was made for it
    new.touch()  # a store cut to nothing (a full disk, a copy that failed)
    first, *_ = plain_failure(server_cli("--db", str(new), "serve", "--port", "0"))
    assert f"The store {new} is empty" in first and "create-hotel" in first, first
    assert new.stat().st_size == 0 and not Path(f"{new}.lock").exists()


def test_a_folder_this_account_may_not_write_in_is_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(startup.os, "access", lambda *_: False)  # as for another account
    with pytest.raises(StartError, match=f"may not write in the folder {tmp_path}"):
        startup.check_data_folder(tmp_path / "roomrack.db")


@pytest.mark.slow
@pytest.mark.sqlite_only  # about the SQLite file
def test_a_store_in_use_is_said_plainly(demo_db: Path) -> None:
    held = m.StoreLock(demo_db)  # as a running server holds it
    held.acquire()
    try:
        (said,) = plain_failure(server_cli("--db", str(demo_db), "serve", "--port", "0"))
    finally:
        held.release()
    assert f"The store {demo_db} is in use by a running server" in said


def test_every_command_and_option_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in commands._choices_actions:
        assert command.help, f"'{command.dest}' has no help text"
    for name, sub in [("", parser), *commands.choices.items()]:
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction | argparse._VersionAction):
                continue
            what = f"{name} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"'{what}' has no help text"
            if action.option_strings and action.default not in (None, False):
                assert f"default: {action.default}" in " ".join(sub.format_help().split())
        with pytest.raises(SystemExit):
            parser.parse_args([*([name] if name else []), "--help"])
        text = capsys.readouterr().out
        for action in sub._actions:
            for option in action.option_strings:
                assert option in text


@pytest.mark.slow
def test_both_programs_say_their_version() -> None:
    want = importlib.metadata.version("roomrack")
    assert server_cli("--version").stdout.strip() == f"roomrack-server {want}"
    desktop = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert desktop.stdout.strip() == f"roomrack {want}"


def test_the_daily_backup_is_set_by_options_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.backup_dir, args.backup_keep, args.backup_at) == (None, 14, time(4, 0))
    monkeypatch.setenv("ROOMRACK_BACKUP_DIR", str(tmp_path))
    monkeypatch.setenv("ROOMRACK_BACKUP_KEEP", "30")
    monkeypatch.setenv("ROOMRACK_BACKUP_AT", "23:15")
    args = build_parser().parse_args(["serve"])
    assert (args.backup_dir, args.backup_keep, args.backup_at) == (tmp_path, 30, time(23, 15))
    args = build_parser().parse_args(["serve", "--backup-keep", "2", "--backup-at", "1:05"])
    assert (args.backup_keep, args.backup_at) == (2, time(1, 5))
    for bad in (["--backup-keep", "0"], ["--backup-at", "24:00"], ["--backup-at", "4h"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["serve", *bad])
