"""A room's history (who did what from where), the board as it was at a past moment, and the
audit trail between two times."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from server.cli import main as cli_main
from shared.clock import ManualClock
from tests.server.live import act, overview, pick, run
from tests.support import LiveServer, Peer, rooms_by_number


def iso(clock: ManualClock, minutes: float) -> str:
    """The demo's start time plus `minutes`, as ISO text."""
    return (T0 + timedelta(minutes=minutes)).isoformat()


T0 = ManualClock().now()


async def story(
    srv: LiveServer, clock: ManualClock
) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    """09:10 start cleaning A, 09:20 finish A, 09:30 do-not-disturb on B; the rooms and the
    seqs of the three changes (the server may journal other things meanwhile)."""
    hk = await Peer.open(srv.url)
    await hk.request("auth.login", login="housekeeping", password="demo", workstation="HK PC")
    snap = await overview(hk)
    a = pick(snap, room_status="CHECKOUT_DIRTY")
    b = pick(snap, room_status="READY_FOR_GUEST", do_not_disturb=False, is_occupied=True)
    clock.set(T0 + timedelta(minutes=10))
    r1 = await act(hk, a, "start_cleaning")
    clock.set(T0 + timedelta(minutes=20))
    r2 = await act(hk, {**a, "version": r1["result"]["version"]}, "finish_cleaning")
    clock.set(T0 + timedelta(minutes=30))
    r3 = await act(hk, b, "set_dnd")
    clock.set(T0 + timedelta(minutes=40))
    return a, b, [r["result"]["seq"] for r in (r1, r2, r3)]


def test_rewind_shows_each_room_as_it_was(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            a, b, seqs = await story(srv, clock)
            desk = await Peer.open(srv.url, "frontdesk")
            now = rooms_by_number(await overview(desk))

            async def board(minutes: float) -> dict[str, Any]:
                reply = await desk.request("board.at", at=iso(clock, minutes))
                assert reply["type"] == "ack", reply
                return reply["result"]

            at5 = await board(5)
            rooms = rooms_by_number(at5)
            assert rooms[a["room_number"]]["room_status"] == "CHECKOUT_DIRTY"
            assert rooms[a["room_number"]]["version"] == a["version"]
            assert rooms[b["room_number"]]["do_not_disturb"] is False
            assert at5["seq"] < seqs[0]
            at15 = rooms_by_number(await board(15))
            assert at15[a["room_number"]]["room_status"] == "CLEANING_IN_PROGRESS"
            at25 = await board(25)
            assert rooms_by_number(at25)[a["room_number"]]["room_status"] == "CLEANED_UNINSPECTED"
            assert rooms_by_number(at25)[a["room_number"]]["cleaned_by_staff"] == "Aoife Murphy"
            assert rooms_by_number(at25)[b["room_number"]]["do_not_disturb"] is False
            assert seqs[1] <= at25["seq"] < seqs[2]
            at35 = rooms_by_number(await board(35))
            assert at35[b["room_number"]]["do_not_disturb"] is True
            # untouched rooms are as they are now; every room is there
            assert len(at35) == len(now)
            other = next(n for n in now if n not in (a["room_number"], b["room_number"]))
            assert all(
                at35[other][k] == now[other][k] for k in at35[other] if k != "changed_fields"
            )
            assert (await desk.request("board.at", at=iso(clock, 60)))["code"] == "bad_request"
            early = await desk.request("board.at", at=iso(clock, -60))
            assert early["code"] == "history_unavailable"
            assert early["details"]["earliest"] == T0.isoformat().replace("+00:00", "Z")
            assert (await desk.request("board.at", at="yesterday"))["code"] == "bad_request"

            # after the retention has passed, the old moments are gone, recent ones are not
            clock.advance(8 * 86400)
            await clock.wait_for_sleepers(4)  # what that woke (roll-over, scans) is done
            await srv.server.store.call(srv.server.store.services.prune, timedelta(days=7))
            gone = await desk.request("board.at", at=iso(clock, 15))
            assert gone["code"] == "history_unavailable"
            recent = await desk.request(
                "board.at", at=(clock.now() - timedelta(days=1)).isoformat()
            )
            assert rooms_by_number(recent["result"])[b["room_number"]]["do_not_disturb"] is True

    run(scenario)


def test_audit_trail_between_two_times(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            _, _, seqs = await story(srv, clock)
            # the trail is the hotel's own: every role may read it (events carry it anyway)
            hk = await Peer.open(srv.url, "housekeeping")
            mine = await hk.request("journal.range", since=iso(clock, 0), until=iso(clock, 60))
            assert mine["type"] == "ack"
            sup = await Peer.open(srv.url, "supervisor")
            found = await sup.request("journal.range", since=iso(clock, 15), until=iso(clock, 60))
            events = found["result"]["events"]
            changes = [e for e in events if e["type"] == "room_updated"]
            assert [e["meta"]["seq"] for e in changes] == seqs[1:]
            assert changes[0]["meta"]["actor"]["workstation"] == "HK PC"
            assert all(e["meta"]["ts"] >= "2026-01-15T09:15" for e in events)
            assert found["result"]["truncated"] is False
            window = {"since": iso(clock, 5), "until": iso(clock, 60)}
            everything = (await sup.request("journal.range", **window))["result"]["events"]
            order = [e["meta"]["seq"] for e in everything]
            assert order == sorted(order) and set(seqs) <= set(order)
            page = await sup.request("journal.range", **window, limit=2)
            assert [e["meta"]["seq"] for e in page["result"]["events"]] == order[:2]
            assert page["result"]["truncated"] is True
            rest = await sup.request("journal.range", **window, after_seq=order[1])
            assert [e["meta"]["seq"] for e in rest["result"]["events"]] == order[2:]
            backwards = await sup.request(
                "journal.range", since=iso(clock, 60), until=iso(clock, 0)
            )
            assert backwards["code"] == "bad_request"

    run(scenario)


def test_audit_command_line_writes_csv(
    demo_db: Path, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            await story(srv, clock)

    asyncio.run(scenario())
    out = tmp_path / "audit.csv"
    args = ["--db", str(demo_db), "audit", "--hotel", "hotel-killarney"]
    assert (
        cli_main([*args, "--since", iso(clock, 0), "--until", iso(clock, 60), "--out", str(out)])
        == 0
    )
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    changes = [r for r in table if r["event"] == "room_updated"]
    assert len(changes) == 3
    first = changes[0]
    assert first["staff"] == "Aoife Murphy" and first["role"] == "housekeeping"
    assert first["workstation"] == "HK PC"
    assert first["detail"] == "room_status=CLEANING_IN_PROGRESS"
    assert first["time_local"] == "2026-01-15 09:10:00"  # Dublin is on UTC in January
    assert cli_main([*args, "--since", "nonsense"]) == 1
    assert (
        cli_main(["--db", str(demo_db), "audit", "--hotel", "nope", "--since", iso(clock, 0)]) == 1
    )


def test_room_history_shows_who_did_what_from_where(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            hk = await Peer.open(srv.url)
            await hk.request(
                "auth.login", login="housekeeping", password="demo", workstation="HK office"
            )
            room = pick(await overview(hk), room_status="CHECKOUT_DIRTY")
            await act(hk, room, "start_cleaning")
            clock.advance(600)
            await act(hk, {**room, "version": room["version"] + 1}, "finish_cleaning")
            h = await hk.request("room.history", room_number=room["room_number"], limit=10)
            events = h["result"]["events"]
            assert [e["payload"]["room_status"] for e in events] == [
                "CLEANED_UNINSPECTED",
                "CLEANING_IN_PROGRESS",
            ]
            assert events[0]["meta"]["actor"] == {
                "staff_id": 1,
                "name": "Aoife Murphy",
                "role": "housekeeping",
                "workstation": "HK office",
            }
            assert events[0]["meta"]["ts"] == "2026-01-15T09:10:00Z"

    run(scenario)
