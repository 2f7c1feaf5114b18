"""End to end, resuming: exactly the missed events, a snapshot where they cannot be
served, a long absence read at the client's pace, a stalled client dropped and back."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from shared.clock import ManualClock
from tests.server.live import RES, ROOMS, act, is_event, overview, pick, run
from tests.support import LiveServer, Peer, rooms_by_number, unverified_tls


def test_resume_returns_exactly_the_missed_events(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk, RES)
            epoch, last = desk.login["epoch"], snap["seq"]
            await desk.close()
            mgr = await Peer.open(srv.url, "manager")
            rooms = [r for r in snap["rooms"] if not r["do_not_disturb"]][:5]
            for r in rooms:
                assert (await act(mgr, r, "set_dnd"))["type"] == "ack"
            desk = await Peer.open(srv.url, "frontdesk")
            ack = await desk.subscribe(ROOMS, RES, since={"epoch": epoch, "seq": last})
            assert ack["result"]["mode"] == "resume"
            assert ack["result"]["replayed"] == 5
            got = [await desk.until(is_event("room_updated")) for _ in rooms]
            assert [e["meta"]["seq"] for e in got] == list(range(last + 1, last + 6))
            assert [e["payload"]["room_number"] for e in got] == [r["room_number"] for r in rooms]
            # then live again, with nothing doubled in between
            await act(mgr, {**rooms[0], "version": rooms[0]["version"] + 1}, "clear_dnd")
            live = await desk.until(is_event("room_updated"))
            assert live["meta"]["seq"] == last + 6
            assert not [f for f in desk.skipped if f.get("type") == "room_updated"]

    run(scenario)


def test_resume_that_cannot_be_served_says_so_and_sends_a_snapshot(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, retention_days=7) as srv:
            mgr = await Peer.open(srv.url, "manager")
            snap = await overview(mgr)
            epoch = mgr.login["epoch"]
            # another timeline (a restored store): refused
            p = await Peer.open(srv.url, "frontdesk")
            ack = await p.subscribe(ROOMS, since={"epoch": "elsewhere", "seq": 3})
            assert ack["result"]["mode"] == "snapshot" and ack["result"]["resumed"] is False
            assert "replaced or restored" in ack["result"]["reason"]
            assert (await p.until(lambda f: f["type"] == "rooms.status"))["seq"] == snap["seq"]
            # a future sequence number: refused
            p = await Peer.open(srv.url, "frontdesk")
            ack = await p.subscribe(ROOMS, since={"epoch": epoch, "seq": snap["seq"] + 99})
            assert ack["result"]["resumed"] is False
            # events older than the retention are gone: refused
            room = pick(snap, do_not_disturb=False)
            await act(mgr, room, "set_dnd")
            clock.advance(8 * 86400)  # wakes the hourly pruning, the roll-over and the scans
            await clock.wait_for_sleepers(4)  # ...and lets them finish
            p = await Peer.open(srv.url, "frontdesk")
            ack = await p.subscribe(ROOMS, since={"epoch": epoch, "seq": snap["seq"]})
            assert ack["result"]["resumed"] is False
            assert "no longer" in ack["result"]["reason"]
            fresh = await p.until(lambda f: f["type"] == "rooms.status")
            assert rooms_by_number(fresh)[room["room_number"]]["do_not_disturb"] is True
            # resuming from the head after pruning is fine
            p = await Peer.open(srv.url, "frontdesk")
            ack = await p.subscribe(ROOMS, since={"epoch": epoch, "seq": fresh["seq"]})
            assert ack["result"]["mode"] == "resume" and ack["result"]["replayed"] == 0

    run(scenario)


def test_resuming_a_long_absence_is_not_mistaken_for_a_slow_client(
    demo_db: Path, clock: ManualClock
) -> None:
    """Far more missed events than the slow-client limit: the replay goes at the pace the
    client reads, and everything arrives."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, max_buffer=64 * 1024, rate_per_second=0) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk)
            epoch, last = desk.login["epoch"], snap["seq"]
            await desk.close()
            mgr = await Peer.open(srv.url, "manager")
            rooms = [dict(r) for r in snap["rooms"]]
            for _ in range(20):  # 20 batches of 60 changes: ~1 MB of events
                items = [
                    {
                        "room_number": r["room_number"],
                        "action": "clear_dnd" if r["do_not_disturb"] else "set_dnd",
                        "expected_version": r["version"],
                    }
                    for r in rooms[:60]
                ]
                reply = await mgr.request("rooms.batch", items=items)
                for r, res in zip(rooms, reply["result"]["rooms"], strict=False):
                    r["version"], r["do_not_disturb"] = res["version"], not r["do_not_disturb"]
            back = await Peer.open(srv.url, "frontdesk")
            ack = await back.subscribe(ROOMS, since={"epoch": epoch, "seq": last})
            assert ack["result"]["mode"] == "resume" and ack["result"]["replayed"] == 1200
            got = [(await back.until(is_event("room_updated")))["meta"]["seq"] for _ in range(1200)]
            assert got == list(range(last + 1, last + 1201))
            assert (await back.request("ping"))["type"] == "ack"

    run(scenario)


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_a_stalled_client_is_dropped_and_resumes_with_nothing_lost(
    demo_db: Path, clock: ManualClock, scheme: str
) -> None:
    """Over TLS too: what waits in the socket under the TLS layer counts toward the limit."""

    async def scenario() -> None:
        async with LiveServer(
            demo_db, clock, max_buffer=64 * 1024, rate_per_second=0, insecure=scheme == "ws"
        ) as srv:
            # a client that stops reading, with a tiny receive window
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", srv.server.port))
            from websockets.asyncio.client import connect

            tls = unverified_tls() if scheme == "wss" else None
            ws = await connect(srv.url, sock=sock, ssl=tls, compression=None, max_queue=1)
            stalled = Peer(ws)
            stalled.hello = await stalled.recv()
            await stalled.request("auth.login", login="frontdesk", password="demo")
            snap = await overview(stalled)
            epoch, last = stalled.login.get("epoch") or stalled.hello["epoch"], snap["seq"]
            assert ws.transport is not None
            ws.transport.pause_reading()

            healthy = await Peer.open(srv.url, "supervisor")
            await overview(healthy)
            mgr = await Peer.open(srv.url, "manager")
            rooms = [dict(r) for r in snap["rooms"]]
            sent = 0
            for _ in range(300):  # bounded: far more than the buffer can hold
                items = []
                for r in rooms:
                    items.append(
                        {
                            "room_number": r["room_number"],
                            "action": "clear_dnd" if r["do_not_disturb"] else "set_dnd",
                            "expected_version": r["version"],
                        }
                    )
                reply = await mgr.request("rooms.batch", items=items[:60])
                assert reply["type"] == "ack", reply
                for r, res in zip(rooms[:60], reply["result"]["rooms"], strict=True):
                    r["version"] = res["version"]
                    r["do_not_disturb"] = not r["do_not_disturb"]
                sent += 60
                if not any(
                    c.staff and c.staff.login == "frontdesk"
                    for c in srv.server.hub.clients
                    if not c.dropped
                ):
                    break
            else:
                raise AssertionError("the stalled client was never dropped")
            # the healthy client got everything, in order
            head = last + sent
            seen = [f["meta"]["seq"] for f in healthy.skipped if f.get("type") == "room_updated"]
            while not seen or seen[-1] < head:
                seen.append((await healthy.until(is_event("room_updated")))["meta"]["seq"])
            assert seen == list(range(last + 1, head + 1))
            # the dropped client comes back and resumes: nothing lost
            back = await Peer.open(srv.url, "frontdesk")
            ack = await back.subscribe(ROOMS, since={"epoch": epoch, "seq": last})
            assert ack["result"]["mode"] == "resume"
            assert ack["result"]["replayed"] == sent
            got = [(await back.until(is_event("room_updated")))["meta"]["seq"] for _ in range(sent)]
            assert got == list(range(last + 1, head + 1))

    run(scenario)
