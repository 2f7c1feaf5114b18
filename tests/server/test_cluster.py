"""Several servers on one PostgreSQL database serve one stream (server/cluster.py): a change
made through one reaches the desks of the other in journal order; writers on two servers
never break the journal's sequence; a desk that loses its server resumes on another with
exactly what it missed; presence, login limits and ended sessions hold across servers."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest

from server import db as m
from server.engine import Postgres
from shared.clock import ManualClock
from tests.pg import postgres_store
from tests.server.live import ROOMS, act, is_event, overview, pick, run
from tests.server.test_durability import free_port, server_process
from tests.support import SLUG, LiveServer, Peer, rooms_by_number


@pytest.fixture
def shared_db(request: pytest.FixtureRequest, clock: ManualClock) -> Postgres:
    return postgres_store(request, clock)


@asynccontextmanager
async def servers(db: Postgres, clock: ManualClock, n: int = 2, **kw: Any) -> AsyncIterator[Any]:
    async with AsyncExitStack() as stack:
        started = [await stack.enter_async_context(LiveServer(db, clock, **kw)) for _ in range(n)]
        for s in started:
            assert s.server.cluster is not None
            await asyncio.wait_for(s.server.cluster.listening.wait(), 10)
        yield started


async def toggled(peer: Peer, room: dict[str, Any]) -> dict[str, Any]:
    action = "clear_dnd" if room["do_not_disturb"] else "set_dnd"
    reply = await act(peer, room, action, request_id=f"{id(peer)}-{peer.n}")
    assert reply["type"] == "ack", reply
    room["do_not_disturb"] = not room["do_not_disturb"]
    room["version"] = reply["result"]["version"]
    return reply


def test_a_change_through_one_server_reaches_the_desks_of_the_other(
    shared_db: Postgres, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with servers(shared_db, clock) as (a, b):
            writer = await Peer.open(a.url, "manager")
            watcher = await Peer.open(b.url, "housekeeping")
            snap = await overview(watcher)
            room = pick(snap, do_not_disturb=False)
            reply = await toggled(writer, room)
            ev = await watcher.until(is_event("room_updated", room["room_number"]))
            assert ev["meta"]["seq"] == reply["result"]["seq"] == snap["seq"] + 1
            assert ev["payload"]["do_not_disturb"] is True
            assert ev["meta"]["request_id"] == f"{id(writer)}-1"  # as journalled on A

    run(scenario)


def test_a_server_that_missed_the_notification_catches_up_from_the_journal(
    shared_db: Postgres, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with servers(shared_db, clock, external_poll=0.2) as (a, b):
            assert b.server.cluster is not None
            b.server.cluster._tasks[0].cancel()  # B hears nothing any more
            writer = await Peer.open(a.url, "manager")
            watcher = await Peer.open(b.url, "housekeeping")
            room = pick(await overview(watcher), do_not_disturb=False)
            await toggled(writer, room)
            ev = await watcher.until(is_event("room_updated", room["room_number"]))
            assert ev["payload"]["do_not_disturb"] is True

    run(scenario)


def test_four_writers_on_two_servers_leave_a_journal_without_gaps(
    shared_db: Postgres, clock: ManualClock
) -> None:
    rounds = 25

    async def scenario() -> None:
        async with servers(shared_db, clock, rate_per_second=0) as (a, b):
            watch_a = await Peer.open(a.url, "housekeeping")
            watch_b = await Peer.open(b.url, "housekeeping")
            snap = await overview(watch_a)
            await overview(watch_b)
            free = [r for r in snap["rooms"] if r["block"] is None and r["rush"] is None]
            writers = [await Peer.open(s.url, "manager") for s in (a, b, a, b)]

            async def hammer(peer: Peer, room: dict[str, Any]) -> None:
                for _ in range(rounds):
                    await toggled(peer, room)

            await asyncio.gather(*(hammer(w, free[i]) for i, w in enumerate(writers)))
            want = list(range(snap["seq"] + 1, snap["seq"] + 1 + 4 * rounds))
            for watcher in (watch_a, watch_b):
                seen: list[int] = []
                while len(seen) < len(want):
                    f = await watcher.until(is_event("room_updated"))
                    seen.append(f["meta"]["seq"])
                assert seen == want  # every event once, in journal order, on both servers

    run(scenario)
    m.open_db(shared_db)
    try:
        seqs = [e.seq for e in m.Event.select(m.Event.seq).order_by(m.Event.seq)]
        head = m.Hotel.get(m.Hotel.slug == SLUG).head_seq
    finally:
        m.close_db()
    assert seqs == list(range(seqs[0], head + 1))  # no gap, no duplicate


@pytest.mark.slow
def test_a_desk_whose_server_is_killed_resumes_on_the_other_with_nothing_lost_or_twice(
    shared_db: Postgres,
) -> None:
    port_a, port_b = free_port(), free_port()

    async def scenario() -> None:
        with server_process(shared_db, port_a) as proc_a, server_process(shared_db, port_b):
            url_a, url_b = f"ws://127.0.0.1:{port_a}", f"ws://127.0.0.1:{port_b}"
            desk = await Peer.open(url_a, "housekeeping")
            snap = await overview(desk)
            epoch, token = desk.login["epoch"], desk.login["token"]
            writer = await Peer.open(url_b, "manager")
            rooms = [r for r in snap["rooms"] if r["block"] is None and r["rush"] is None][:6]
            await toggled(writer, rooms[0])
            seen = [(await desk.until(is_event("room_updated")))["meta"]["seq"]]
            proc_a.send_signal(signal.SIGKILL)  # mid-stream: A is gone without a word
            proc_a.wait(10)
            for room in rooms[1:]:  # the desk misses these
                await toggled(writer, room)
            moved = await Peer.open(url_b)
            reply = await moved.request("auth.token", token=token)
            assert reply["type"] == "ack", reply
            ack = await moved.subscribe(ROOMS, since={"epoch": epoch, "seq": seen[-1]})
            assert ack["type"] == "ack", ack
            while len(seen) < 6:
                f = await moved.until(lambda f: f.get("type") in ("room_updated", "rooms.status"))
                assert f["type"] == "room_updated", "a resume, not a fresh snapshot"
                seen.append(f["meta"]["seq"])
            assert seen == list(range(snap["seq"] + 1, snap["seq"] + 7))
            await toggled(writer, rooms[0])  # and the stream goes on, on B
            assert (await moved.until(is_event("room_updated")))["meta"]["seq"] == seen[-1] + 1

    run(scenario)


def test_presence_lists_the_desks_of_every_server(shared_db: Postgres, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with servers(shared_db, clock) as (a, b):
            on_a = await Peer.open(a.url, "housekeeping")
            await overview(on_a)
            on_b = await Peer.open(b.url, "manager")
            await overview(on_b)

            def lists_both(f: dict[str, Any]) -> bool:
                return f.get("type") == "presence" and {e["name"] for e in f["online"]} >= {
                    on_a.login["staff"]["name"],
                    on_b.login["staff"]["name"],
                }

            await on_a.until(lists_both)
            await on_b.until(lists_both)
            await on_b.close()  # and a desk that leaves B leaves A's list too

            def only_a(f: dict[str, Any]) -> bool:
                return f.get("type") == "presence" and len(f["online"]) == 1

            await on_a.until(only_a)

    run(scenario)


def test_failed_logins_on_two_servers_count_together(
    shared_db: Postgres, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with servers(shared_db, clock, login_failures=4, login_attempts=100) as (a, b):
            for server in (a, b, a, b):
                peer = await Peer.open(server.url)
                reply = await peer.request("auth.login", login="manager", password="wrong")
                assert reply["code"] == "auth_failed", reply
                await peer.close()
            await asyncio.sleep(0.3)  # the notes of the last failures arrive
            peer = await Peer.open(a.url)
            reply = await peer.request("auth.login", login="manager", password="demo")
            assert reply["code"] == "rate_limited", reply  # A saw B's two as well

    run(scenario)


def test_sessions_ended_through_one_server_close_their_desks_on_the_other(
    shared_db: Postgres, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with servers(shared_db, clock, session_check=3600) as (a, b):
            desk = await Peer.open(b.url, "housekeeping")
            await overview(desk)
            manager = await Peer.open(a.url, "manager")
            staff_id = desk.login["staff"]["id"]
            reply = await manager.request("staff.end_sessions", staff_id=staff_id)
            assert reply["type"] == "ack" and reply["result"]["sessions_ended"] == 1, reply
            closed = await desk.until(lambda f: f.get("type") == "session.ended", wait=10)
            assert closed["reason"] == "revoked", closed

    run(scenario)


def test_a_server_connects_again_when_postgresql_drops_its_connection(
    shared_db: Postgres, clock: ManualClock
) -> None:
    import psycopg

    async def scenario() -> None:
        async with servers(shared_db, clock, n=1) as (a,):
            writer = await Peer.open(a.url, "manager")
            room = pick(await overview(writer), do_not_disturb=False)
            with psycopg.connect(str(shared_db), autocommit=True) as admin:
                admin.execute(  # as a database restart or a firewall would
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            await asyncio.sleep(0.2)
            first = await act(writer, room, "set_dnd", request_id="after-1")
            if first["type"] == "error":  # the one caught mid-way is refused, and said so
                assert first["code"] == "internal_error", first
                first = await act(writer, room, "set_dnd", request_id="after-2")
            assert first["type"] == "ack", first
            fresh = await Peer.open(a.url, "housekeeping")  # logins and snapshots work again
            snap = await overview(fresh)
            assert rooms_by_number(snap)[room["room_number"]]["do_not_disturb"] is True

    run(scenario)


def test_a_write_that_fails_in_the_database_takes_only_itself_back(
    shared_db: Postgres, clock: ManualClock
) -> None:
    """A statement that fails inside one write of a group commit (here: a foreign key that
    does not hold) undoes that write alone: the others commit, are answered and published."""

    async def scenario() -> None:
        async with servers(shared_db, clock, n=1) as (a,):
            store = a.server.store

            def broken() -> None:
                m.execute(
                    "INSERT INTO presence (server, hotel_id, online, at) VALUES (?, ?, ?, ?)",
                    ("x", 999_999, "[]", "2026-01-15T09:00:00.000000Z"),
                )

            writer = await Peer.open(a.url, "manager")
            watcher = await Peer.open(a.url, "housekeeping")
            room = pick(await overview(watcher), do_not_disturb=False)
            busy = asyncio.ensure_future(store.grouped(time.sleep, 0.5))  # the store is busy...
            await asyncio.sleep(0.05)
            bad = asyncio.ensure_future(store.grouped(broken))  # ...so these two wait together
            good = asyncio.ensure_future(act(writer, room, "set_dnd", request_id="good"))
            await busy
            with pytest.raises(Exception, match=r"foreign key|violates"):
                await bad
            assert store.largest_group >= 2
            reply = await good
            assert reply["type"] == "ack", reply
            ev = await watcher.until(is_event("room_updated", room["room_number"]))
            assert ev["meta"]["seq"] == reply["result"]["seq"]
        m.open_db(shared_db)
        try:
            assert m.Hotel.get(m.Hotel.slug == SLUG).head_seq == reply["result"]["seq"]
        finally:
            m.close_db()

    run(scenario)


def test_servers_whose_clocks_differ_still_list_each_others_desks(
    shared_db: Postgres, clock: ManualClock
) -> None:
    """How old a server's presence row is, is read by the database's clock: a server whose
    own clock is ten minutes ahead does not take the other's desks for gone."""
    from datetime import timedelta

    ahead = ManualClock(clock.now() + timedelta(minutes=10))

    async def scenario() -> None:
        async with LiveServer(shared_db, clock) as a, LiveServer(shared_db, ahead) as b:
            for s in (a, b):
                assert s.server.cluster is not None
                await asyncio.wait_for(s.server.cluster.listening.wait(), 10)
            on_a = await Peer.open(a.url, "housekeeping")
            await overview(on_a)
            on_b = await Peer.open(b.url, "manager")
            await overview(on_b)
            assert b.server.cluster is not None
            await b.server.cluster.reload_presence(SLUG)  # as its refresh does

            def lists_a(f: dict[str, Any]) -> bool:
                names = {e["name"] for e in f.get("online", [])}
                return f.get("type") == "presence" and on_a.login["staff"]["name"] in names

            await on_b.until(lists_a)

    run(scenario)
