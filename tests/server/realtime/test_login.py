"""End to end, logging in: a login deadline, tokens, logging out everywhere, and the
limits on guessing."""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from shared.clock import ManualClock
from tests.server.live import RES, ROOMS, overview, run
from tests.support import SLUG, LiveServer, Peer


def test_a_connection_that_never_logs_in_is_closed(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, login_timeout=60) as srv:
            await clock.wait_for_sleepers(1)  # the server's own rounds
            base = clock.sleepers
            idle = await Peer.open(srv.url)  # connects, says nothing
            worker = await Peer.open(srv.url, "frontdesk")  # logs in at once
            await clock.wait_for_sleepers(base + 2)  # both connections' deadlines
            clock.advance(59)
            assert (await idle.request("ping"))["type"] == "ack"  # still open before
            clock.advance(2)
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await idle.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 4002
            assert info.value.rcvd.reason == "log in first"
            assert (await worker.request("rooms.status"))["type"] == "ack"  # untouched

    run(scenario)


def test_token_login_and_logout(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            p = await Peer.open(srv.url, "frontdesk")
            token = p.login["token"]
            assert p.login["staff"]["role"] == "front_desk"
            assert p.login["hotel"]["slug"] == SLUG
            assert p.login["channels"] == [ROOMS, RES]
            q = await Peer.open(srv.url)
            again = await q.request("auth.token", token=token, workstation="Desk 2")
            assert again["type"] == "ack" and again["result"]["staff"]["login"] == "frontdesk"
            assert (await q.request("auth.logout"))["type"] == "ack"
            assert (await q.request("rooms.status"))["code"] == "not_authenticated"
            r = await Peer.open(srv.url)
            assert (await r.request("auth.token", token=token))["code"] == "token_invalid"

    run(scenario)


def test_logging_out_ends_the_token_on_every_connection(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            a = await Peer.open(srv.url, "frontdesk")
            b = await Peer.open(srv.url)
            assert (await b.request("auth.token", token=a.login["token"]))["type"] == "ack"
            await overview(b)
            assert (await a.request("auth.logout"))["type"] == "ack"
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await b.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 4001

    run(scenario)


def test_login_attempts_are_limited(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, login_attempts=3, login_refill=10) as srv:
            p = await Peer.open(srv.url)
            codes = [
                (await p.request("auth.login", login="manager", password="x"))["code"]
                for _ in range(4)
            ]
            assert codes == ["auth_failed", "auth_failed", "auth_failed", "rate_limited"]
            clock.advance(10)
            ok = await p.request("auth.login", login="manager", password="demo")
            assert ok["type"] == "ack"

    run(scenario)


def test_failed_logins_are_limited_across_connections(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, login_failures=3, login_refill=30) as srv:
            codes = []
            for _ in range(4):  # a new connection for every guess does not help
                p = await Peer.open(srv.url)
                codes.append((await p.request("auth.login", login="manager", password="x"))["code"])
            assert codes == ["auth_failed"] * 3 + ["rate_limited"]
            # the right password waits too, until the limit has refilled
            p = await Peer.open(srv.url)
            assert (await p.request("auth.login", login="manager", password="demo"))[
                "code"
            ] == "rate_limited"
            clock.advance(30)
            assert (await p.request("auth.login", login="manager", password="demo"))[
                "type"
            ] == "ack"

    run(scenario)
