"""`roomrack-server` commands that look after the store, called through `main()`."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from server import db as m
from server.cli import main
from shared.clock import ManualClock
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
