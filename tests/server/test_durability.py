"""A committed change survives the server process dying: real processes, real kill."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from server import db as m
from server.cli import main as cli_main
from tests.support import SLUG, Peer

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server_process(db: Path, port: int, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "--db",
            str(db),
            "--log-level",
            "WARNING",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--insecure",
            "--no-discovery",
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "") from None
                time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


def test_killed_right_after_a_commit_the_event_is_delivered_on_resume(demo_db: Path) -> None:
    """The server dies between the commit and the publish (fault injected): nobody got the
    event, yet it is in the journal, and a client that resumes receives it."""
    port = free_port()
    url = f"ws://127.0.0.1:{port}"

    async def before() -> tuple[str, int, dict[str, object]]:
        watcher = await Peer.open(url, "frontdesk")
        await watcher.subscribe(f"{SLUG}.rooms")
        snap = await watcher.until(lambda f: f["type"] == "rooms.status")
        room = next(r for r in snap["rooms"] if r["room_status"] == "CHECKOUT_DIRTY")
        hk = await Peer.open(url, "housekeeping")
        await hk.send(
            {
                "type": "room.action",
                "request_id": "doomed",
                "room_number": room["room_number"],
                "action": "start_cleaning",
                "expected_version": room["version"],
            }
        )
        with pytest.raises(Exception):  # noqa: B017 - the connection dies with the server
            await hk.reply_to("doomed")
        with pytest.raises(Exception):  # noqa: B017
            await watcher.until(lambda f: f.get("type") == "room_updated", wait=5)
        return watcher.login["epoch"], snap["seq"], room  # type: ignore[return-value]

    with server_process(demo_db, port, ROOMRACK_CRASH_AFTER_COMMIT="1") as proc:
        epoch, seq, room = asyncio.run(before())
        assert proc.wait(10) == 70  # it really died right after the commit

    async def after() -> None:
        back = await Peer.open(url, "frontdesk")
        ack = await back.subscribe(f"{SLUG}.rooms", since={"epoch": epoch, "seq": seq})
        assert ack["result"]["mode"] == "resume"
        assert ack["result"]["replayed"] == 1
        ev = await back.until(lambda f: f.get("type") == "room_updated")
        assert ev["meta"]["seq"] == seq + 1
        assert ev["meta"]["request_id"] == "doomed"
        assert ev["payload"]["room_number"] == room["room_number"]
        assert ev["payload"]["room_status"] == "CLEANING_IN_PROGRESS"
        # the retried command is recognised and not applied twice
        hk = await Peer.open(url, "housekeeping")
        again = await hk.request(
            "room.action",
            request_id="doomed",
            room_number=room["room_number"],
            action="start_cleaning",
            expected_version=room["version"],
        )
        assert again["type"] == "ack" and again["result"]["duplicate"] is True

    with server_process(demo_db, port):
        asyncio.run(after())


def test_sigkill_after_the_ack_loses_nothing(demo_db: Path) -> None:
    port = free_port()
    url = f"ws://127.0.0.1:{port}"

    async def change() -> tuple[str, int]:
        p = await Peer.open(url, "manager")
        await p.subscribe(f"{SLUG}.rooms")
        snap = await p.until(lambda f: f["type"] == "rooms.status")
        for r in snap["rooms"][:10]:
            reply = await p.request(
                "room.action",
                room_number=r["room_number"],
                action="clear_dnd" if r["do_not_disturb"] else "set_dnd",
                expected_version=r["version"],
            )
            assert reply["type"] == "ack"
        return p.login["epoch"], snap["seq"]

    with server_process(demo_db, port) as proc:
        epoch, seq = asyncio.run(change())
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    async def resume() -> None:
        p = await Peer.open(url, "manager")
        ack = await p.subscribe(f"{SLUG}.rooms", since={"epoch": epoch, "seq": seq})
        assert ack["result"]["replayed"] == 10

    with server_process(demo_db, port):
        asyncio.run(resume())


@pytest.mark.sqlite_only  # a backup copies the SQLite file (PostgreSQL: pg_dump)
def test_backup_while_running_is_a_complete_copy_with_a_new_epoch(
    demo_db: Path, tmp_path: Path
) -> None:
    port = free_port()
    target = tmp_path / "backup" / "copy.db"
    target.parent.mkdir()  # a backup never creates its folder
    with server_process(demo_db, port):

        async def login() -> str:
            p = await Peer.open(f"ws://127.0.0.1:{port}", "manager")
            return str(p.login["epoch"])

        epoch = asyncio.run(login())
        assert cli_main(["--db", str(demo_db), "backup", str(target)]) == 0
    m.open_db(target)
    try:
        assert m.Room.select().count() == 68
        assert m.get_epoch() != epoch
    finally:
        m.close_db()


def test_cli_creates_hotels_and_staff(
    fresh_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = fresh_store

    def cli(line: str) -> int:
        return cli_main(["--db", str(db), *shlex.split(line)])

    assert cli("create-hotel seaview 'Seaview Inn' --timezone Europe/Lisbon") == 0
    maria = "create-staff maria --hotel seaview --name Maria --role supervisor --password tide-pool"
    assert cli(maria) == 0
    assert cli(maria) == 1
    assert "taken" in capsys.readouterr().err
    assert cli("create-staff x --hotel nowhere --name X --role manager --password long") == 1
    assert cli("create-hotel 'Bad Slug' X") == 1
    assert cli("create-hotel x X --timezone Mars/Base") == 1
    assert cli("demo") == 0
    m.open_db(db)
    try:
        staff = m.Staff.get(m.Staff.login == "maria")
        assert staff.role == "supervisor" and "tide-pool" not in staff.password_hash
        assert m.Hotel.select().count() == 2
    finally:
        m.close_db()
