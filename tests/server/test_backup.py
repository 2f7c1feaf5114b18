"""Backups that cannot hurt: `roomrack-server backup` and restore over real store files and a
real server process."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from server.cli import main as cli_main
from tests.server.test_durability import free_port, server_process
from tests.support import SLUG, Peer

pytestmark = pytest.mark.slow


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


def test_a_backup_onto_the_live_store_is_refused_and_every_acknowledged_write_survives(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    url = f"ws://127.0.0.1:{port}"
    with server_process(demo_db, port) as proc:
        epoch, seq = asyncio.run(first_view(url))
        asyncio.run(toggle_dnd(url, 5))
        assert cli_main(["--db", str(demo_db), "backup", str(demo_db)]) == 1
        assert "is the live store" in capsys.readouterr().err
        asyncio.run(toggle_dnd(url, 5))  # the server goes on writing after the attempt
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0

    async def after_restart() -> None:
        p = await Peer.open(url, "manager")
        assert p.login["epoch"] == epoch  # the same store, the same timeline
        ack = await p.subscribe(f"{SLUG}.rooms", since={"epoch": epoch, "seq": seq})
        assert ack["result"]["mode"] == "resume" and ack["result"]["replayed"] == 10
        seqs = [
            (await p.until(lambda f: f.get("type") == "room_updated"))["meta"]["seq"]
            for _ in range(10)
        ]
        assert seqs == list(range(seq + 1, seq + 11))
        # the next change gets the next number: none is used twice under one epoch
        await p.close()
        (more,) = await toggle_dnd(url, 1)
        assert more["seq"] == seq + 11

    with server_process(demo_db, port):
        asyncio.run(after_restart())
