"""End to end, requests: a request id applies once, concurrent changes, group commit
keeping each command apart, a client gone mid-command."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shared.clock import ManualClock
from tests.server.live import act, overview, pick, run
from tests.support import LiveServer, Peer, rooms_by_number


def test_a_repeated_request_id_does_not_apply_twice(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            mgr = await Peer.open(srv.url, "manager")
            snap = await overview(mgr)
            room = pick(snap, do_not_disturb=False)
            first = await act(mgr, room, "set_dnd", request_id="same-id")
            again = await act(mgr, room, "set_dnd", request_id="same-id")
            assert first["type"] == again["type"] == "ack"
            assert again["result"]["duplicate"] is True
            assert again["result"]["version"] == first["result"]["version"]
            await mgr.request("ping")
            events = [f for f in mgr.skipped if f.get("type") == "room_updated"]
            assert len(events) == 1

    run(scenario)


def test_a_request_id_reused_for_another_request_is_refused(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            mgr = await Peer.open(srv.url, "manager")
            snap = await overview(mgr)
            a, b = [r for r in snap["rooms"] if not r["do_not_disturb"]][:2]
            assert (await act(mgr, a, "set_dnd", request_id="x1"))["type"] == "ack"
            reused = await act(mgr, b, "set_dnd", request_id="x1")
            assert reused["code"] == "bad_request" and "used before" in reused["message"]
            fresh = rooms_by_number(await overview(await Peer.open(srv.url, "manager")))
            assert fresh[b["room_number"]]["do_not_disturb"] is False

    run(scenario)


def test_concurrent_changes_one_wins_the_other_is_stale(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            a = await Peer.open(srv.url, "housekeeping")
            b = await Peer.open(srv.url, "attendant2")
            room = pick(await overview(a), room_status="CHECKOUT_DIRTY")
            ra, rb = await asyncio.gather(
                act(a, room, "start_cleaning"), act(b, room, "start_cleaning")
            )
            assert sorted([ra["type"], rb["type"]]) == ["ack", "error"]
            err = ra if ra["type"] == "error" else rb
            assert err["code"] == "stale_version"
            assert err["details"]["current_version"] == room["version"] + 1

    run(scenario)


def test_group_commit_keeps_each_command_apart(demo_db: Path, clock: ManualClock) -> None:
    """Pipelined commands are committed together, but a refused one undoes only itself, even
    a batch that had already written its first rooms when its last one was refused."""

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, rate_per_second=0) as srv:
            mgr = await Peer.open(srv.url, "manager")
            snap = await overview(mgr)
            rooms = snap["rooms"][:40]
            dirty = [r for r in snap["rooms"][40:] if r["room_status"] == "CHECKOUT_DIRTY"][:2]
            for i, r in enumerate(rooms):
                action = "clear_dnd" if r["do_not_disturb"] else "set_dnd"
                version = r["version"] if i % 2 == 0 else r["version"] + 5  # odd ones: stale
                await mgr.send(
                    {
                        "type": "room.action",
                        "request_id": f"g{i}",
                        "room_number": r["room_number"],
                        "action": action,
                        "expected_version": version,
                    }
                )
                if i == 20:  # a batch whose second item is refused after the first wrote
                    await mgr.send(
                        {
                            "type": "rooms.batch",
                            "request_id": "gb",
                            "items": [
                                {
                                    "room_number": dirty[0]["room_number"],
                                    "action": "start_cleaning",
                                    "expected_version": dirty[0]["version"],
                                },
                                {
                                    "room_number": dirty[1]["room_number"],
                                    "action": "inspect",
                                    "expected_version": dirty[1]["version"],
                                },
                            ],
                        }
                    )
            replies = [await mgr.reply_to(f"g{i}") for i in range(len(rooms))]
            batch = await mgr.reply_to("gb")
            assert batch["code"] == "invalid_transition" and batch["details"]["index"] == 1
            assert [r["type"] for r in replies] == ["ack", "error"] * 20
            assert all(r["code"] == "stale_version" for r in replies[1::2])
            seqs = sorted(r["result"]["seq"] for r in replies[::2])
            assert seqs == list(range(snap["seq"] + 1, snap["seq"] + 21))
            truth = rooms_by_number(await overview(await Peer.open(srv.url, "manager")))
            for i, r in enumerate(rooms):
                now = truth[r["room_number"]]
                assert now["version"] == r["version"] + (1 if i % 2 == 0 else 0)
                assert now["do_not_disturb"] == (r["do_not_disturb"] ^ (i % 2 == 0))
            for r in dirty:
                assert truth[r["room_number"]]["version"] == r["version"]
                assert truth[r["room_number"]]["room_status"] == "CHECKOUT_DIRTY"

    run(scenario)


def test_a_client_that_disconnects_mid_command_corrupts_nothing(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            mgr = await Peer.open(srv.url, "manager")
            snap = await overview(mgr)
            room = pick(snap, do_not_disturb=False)
            quitter = await Peer.open(srv.url, "frontdesk")
            await quitter.send(
                {
                    "type": "room.action",
                    "request_id": "gone",
                    "room_number": room["room_number"],
                    "action": "set_dnd",
                    "expected_version": room["version"],
                }
            )
            assert quitter.ws.transport is not None
            quitter.ws.transport.abort()
            # the change either happened once, with its event, or not at all
            await mgr.request("ping")
            fresh = rooms_by_number(await overview(await Peer.open(srv.url, "manager")))
            now = fresh[room["room_number"]]
            history = await mgr.request("room.history", room_number=room["room_number"])
            dnd_events = [
                e for e in history["result"]["events"] if e["meta"].get("request_id") == "gone"
            ]
            if now["version"] == room["version"]:
                assert dnd_events == []
            else:
                assert now["version"] == room["version"] + 1 and now["do_not_disturb"]
                assert len(dnd_events) == 1
            assert (await mgr.request("ping"))["type"] == "ack"

    run(scenario)
