"""Moving a store between engines (`roomrack-server migrate`) and upgrading its layout at
start (server/db.py `upgrade`), on real SQLite files and a real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server import db as m
from server.cli import main as cli_main
from server.engine import Postgres, StoreAt
from shared.clock import ManualClock
from tests.pg import new_database
from tests.server.live import ROOMS, overview, run
from tests.support import SLUG, LiveServer, Peer


def contents(where: StoreAt) -> dict[str, Any]:
    """Every table's rows (as tuples, in id order) and the epoch of a store."""
    m.open_db(where)
    try:
        found: dict[str, Any] = {"epoch": m.get_epoch()}
        for model in m.MODELS:
            if model in (m.Meta, m.Presence):
                continue
            found[model._meta.table_name] = [
                tuple(_plain(v) for v in row) for row in model.select().order_by(model.id).tuples()
            ]
        return found
    finally:
        m.close_db()


def _plain(value: Any) -> Any:
    return bool(value) if isinstance(value, bool) else value


def without_epoch(found: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in found.items() if k != "epoch"}


def test_a_store_moves_to_postgresql_and_back_with_every_row_and_a_new_epoch(
    sqlite_demo_db: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pg = new_database(request)
    for name in ("Attic", "Loft"):  # a journal to carry over
        db = ["--db", str(sqlite_demo_db)]
        assert cli_main([*db, "add-room-type", "--hotel", SLUG, name]) == 0
    before = contents(sqlite_demo_db)
    assert cli_main(["migrate", "--from", str(sqlite_demo_db), "--to", pg]) == 0
    moved = contents(pg)
    assert without_epoch(moved) == without_epoch(before)
    assert len(moved["event"]) > 0 and len(moved["room"]) == len(before["room"])
    assert moved["epoch"] != before["epoch"]  # desks take one fresh snapshot from the copy
    back = tmp_path / "back.db"
    assert cli_main(["migrate", "--from", pg, "--to", f"sqlite:///{back}"]) == 0
    again = contents(back)
    assert without_epoch(again) == without_epoch(before)
    assert again["epoch"] not in (before["epoch"], moved["epoch"])


def test_a_server_on_the_copy_shows_the_same_rooms_and_takes_new_rows(
    sqlite_demo_db: Path, request: pytest.FixtureRequest, clock: ManualClock
) -> None:
    pg = new_database(request)
    assert cli_main(["migrate", "--from", str(sqlite_demo_db), "--to", pg]) == 0

    async def snapshot(where: StoreAt) -> dict[str, Any]:
        async with LiveServer(where, clock) as live:  # type: ignore[arg-type]
            peer = await Peer.open(live.url, "manager")
            snap = await overview(peer)
            if isinstance(where, Postgres):  # ids go on after the copied ones
                made = await peer.request(
                    "room.create", room_number="9901", room_type="Suite", floor=9
                )
                assert made["type"] == "ack", made
            await peer.close()
            return snap

    old: dict[str, Any] = {}
    new: dict[str, Any] = {}

    async def scenario() -> None:
        old.update(await snapshot(sqlite_demo_db))
        new.update(await snapshot(Postgres(pg)))

    run(scenario)
    assert new["rooms"] == old["rooms"] and new["seq"] == old["seq"]
    assert ROOMS


def test_migrate_never_merges_into_or_overwrites_a_store(
    sqlite_demo_db: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pg = new_database(request)
    assert cli_main(["migrate", "--from", str(sqlite_demo_db), "--to", pg]) == 0
    other = tmp_path / "other.db"
    assert cli_main(["migrate", "--from", str(sqlite_demo_db), "--to", str(other)]) == 0
    size = other.stat().st_size
    assert cli_main(["migrate", "--from", str(sqlite_demo_db), "--to", pg]) == 1
    assert len(contents(pg)["room"]) == 68  # the store already there is untouched
    assert cli_main(["migrate", "--from", pg, "--to", str(other)]) == 1
    assert other.stat().st_size == size
    assert cli_main(["migrate", "--from", str(tmp_path / "none.db"), "--to", "x.db"]) == 1
    assert not Path("x.db").exists()
    held = m.StoreLock(sqlite_demo_db)  # as a running server holds it
    held.acquire()
    try:
        assert cli_main(["migrate", "--from", str(sqlite_demo_db), "--to", "y.db"]) == 1
    finally:
        held.release()
    assert not Path("y.db").exists()


def test_an_older_layout_is_upgraded_at_start_and_a_newer_one_refused(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[int] = []
    monkeypatch.setitem(m.STEPS, 2, lambda: ran.append(2))
    m.open_db(demo_db)
    try:
        m.db.drop_tables([m.Presence])
        m.Meta.update(value="1").where(m.Meta.key == "schema_version").execute()
    finally:
        m.close_db()
    m.open_db(demo_db)  # as at the next start
    try:
        assert "presence" in m.db.get_tables()
        assert m.Meta.get(m.Meta.key == "schema_version").value == str(m.SCHEMA_VERSION)
        assert ran == [2]  # the step ran once, in the opening's transaction
    finally:
        m.close_db()
    m.open_db(demo_db)
    try:
        assert ran == [2]  # and never again
        m.Meta.update(value="99").where(m.Meta.key == "schema_version").execute()
    finally:
        m.close_db()
    with pytest.raises(m.NewerStore, match="layout 99, made by a newer Roomrack"):
        m.open_db(demo_db)
    m.close_db()


def test_a_copy_into_postgresql_that_fails_leaves_nothing_behind(
    sqlite_demo_db: Path, request: pytest.FixtureRequest
) -> None:
    pg = new_database(request)
    m.open_db(sqlite_demo_db)  # a row PostgreSQL refuses (a NUL character in a name)
    try:
        m.Staff.update(name="Bad\x00Name").where(m.Staff.login == "manager").execute()
    finally:
        m.close_db()
    assert cli_main(["migrate", "--from", str(sqlite_demo_db), "--to", pg]) == 1
    m.open_db(Postgres(pg))  # empty again: a new store, not a half-copied one
    try:
        assert m.Hotel.select().count() == 0 and m.Staff.select().count() == 0
    finally:
        m.close_db()


def test_new_epoch_gives_a_restored_store_another_timeline(demo_db: Path) -> None:
    old = contents(demo_db)
    assert cli_main(["--db", str(demo_db), "new-epoch"]) == 0
    new = contents(demo_db)
    assert new["epoch"] != old["epoch"] and without_epoch(new) == without_epoch(old)
    if isinstance(demo_db, Path):  # SQLite: never under a running server
        held = m.StoreLock(demo_db)
        held.acquire()
        try:
            assert cli_main(["--db", str(demo_db), "new-epoch"]) == 1
        finally:
            held.release()
        assert contents(demo_db)["epoch"] == new["epoch"]
