"""Rush rooms (the desk's loop with housekeeping) and room attendant assignment."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from shared.clock import ManualClock
from tests.server.live import is_event, overview, pick, run
from tests.support import LiveServer, Peer


def test_rush_loop_tells_the_desk_that_asked(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url)
            me = await desk.request(
                "auth.login", login="frontdesk", password="demo", workstation="Desk 1"
            )
            hk = await Peer.open(srv.url, "housekeeping")
            sup = await Peer.open(srv.url, "supervisor")
            snap = await overview(desk)
            await overview(hk)
            room = pick(snap, room_status="CHECKOUT_DIRTY", rush=None)
            number = room["room_number"]
            assert (
                await hk.request("room.rush", room_number=number, expected_version=room["version"])
            )["code"] == "forbidden"
            asked = await desk.request(
                "room.rush",
                room_number=number,
                expected_version=room["version"],
                note="Mr Ryan waiting",
            )
            assert asked["type"] == "ack", asked
            seen = await hk.until(is_event("room_updated", number))
            assert seen["payload"]["changed_fields"] == ["rush"]
            rush = seen["payload"]["rush"]
            assert rush["note"] == "Mr Ryan waiting"
            assert rush["requested_by"]["name"] == "Niamh Kelly"
            assert rush["requested_by"]["workstation"] == "Desk 1"
            again = await desk.request(
                "room.rush", room_number=number, expected_version=seen["payload"]["version"]
            )
            assert again["code"] == "invalid_transition"
            # housekeeping cleans it, the supervisor releases it: the desk is told
            version = seen["payload"]["version"]
            for who, action in ((hk, "start_cleaning"), (hk, "finish_cleaning"), (sup, "inspect")):
                clock.advance(300)
                reply = await who.request(
                    "room.action", room_number=number, action=action, expected_version=version
                )
                assert reply["type"] == "ack", reply
                version = reply["result"]["version"]
            released = await desk.until(
                lambda f: (
                    f.get("type") == "room_updated"
                    and f["payload"]["room_status"] == "READY_FOR_GUEST"
                    and f["payload"]["room_number"] == number
                )
            )
            assert released["payload"]["rush"] is None
            assert "rush" in released["payload"]["changed_fields"]
            ready = await desk.until(is_event("room.rush_ready", number))
            assert ready["payload"]["requested_by"]["staff_id"] == me["result"]["staff"]["id"]
            assert ready["payload"]["waited_minutes"] == 15
            assert ready["meta"]["seq"] == released["meta"]["seq"] + 1

    run(scenario)


def test_rush_can_be_cancelled_and_not_asked_for_ready_or_occupied_rooms(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk)
            ready = pick(snap, room_status="READY_FOR_GUEST")
            refused = await desk.request(
                "room.rush", room_number=ready["room_number"], expected_version=ready["version"]
            )
            assert refused["code"] == "invalid_transition"
            for busy in (
                pick(snap, room_status="OCCUPIED_DIRTY", is_occupied=True),
                pick(snap, is_occupied=True, do_not_disturb=True),
            ):
                refused = await desk.request(
                    "room.rush", room_number=busy["room_number"], expected_version=busy["version"]
                )
                assert refused["code"] == "room_occupied", busy
            room = pick(snap, room_status="CHECKOUT_DIRTY", is_occupied=False)
            r = await desk.request(
                "room.rush", room_number=room["room_number"], expected_version=room["version"]
            )
            sup = await Peer.open(srv.url, "supervisor")
            off = await sup.request(
                "room.rush_cancel",
                room_number=room["room_number"],
                expected_version=r["result"]["version"],
            )
            assert off["type"] == "ack"
            ev = await desk.until(
                lambda f: (
                    f.get("type") == "room_updated" and f["meta"]["seq"] == off["result"]["seq"]
                )
            )
            assert ev["payload"]["rush"] is None

    run(scenario)


def test_assigning_rooms_by_hand_and_evenly(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            sup = await Peer.open(srv.url, "supervisor")
            snap = await overview(sup)
            # the demo hotel starts with floors 1-2 given to Aoife, 3-4 to Tomasz: take them back
            given = [r["room_number"] for r in snap["rooms"] if r["assigned_to"]]
            assert len(given) == 64
            cleared = await sup.request(
                "rooms.assign", items=[{"room_number": n, "staff_id": None} for n in given]
            )
            assert len(cleared["result"]["rooms"]) == 64
            await sup.close()
            sup = await Peer.open(srv.url, "supervisor")  # a fresh stream from here on
            snap = await overview(sup)
            assert not any(r["assigned_to"] for r in snap["rooms"])
            staff = (await sup.request("staff.list"))["result"]["staff"]
            ids = {s["login"]: s["id"] for s in staff}
            aoife, tomasz = ids["housekeeping"], ids["attendant2"]
            room = pick(snap, room_number="101")
            done = await sup.request(
                "rooms.assign",
                items=[
                    {
                        "room_number": room["room_number"],
                        "staff_id": aoife,
                        "expected_version": room["version"],
                    }
                ],
            )
            assert done["type"] == "ack", done
            ev = await sup.until(is_event("room_updated", room["room_number"]))
            assert ev["payload"]["assigned_to"] == {"staff_id": aoife, "name": "Aoife Murphy"}
            assert ev["payload"]["changed_fields"] == ["assigned_to"]
            # only room attendants (or supervisors) can be given rooms; only supervisors assign
            bad = await sup.request(
                "rooms.assign",
                items=[{"room_number": room["room_number"], "staff_id": ids["frontdesk"]}],
            )
            assert bad["code"] == "bad_request"
            hk = await Peer.open(srv.url, "housekeeping")
            denied = await hk.request(
                "rooms.assign", items=[{"room_number": room["room_number"], "staff_id": None}]
            )
            assert denied["code"] == "forbidden"
            # split the first two floors evenly between the two attendants
            floors = [r["room_number"] for r in snap["rooms"] if r["floor"] in (1, 2)]
            split = await sup.request(
                "rooms.assign_split", staff_ids=[aoife, tomasz], by="floor", room_numbers=floors
            )
            assert split["type"] == "ack", split
            counts = Counter(split["result"]["split"].values())
            assert counts == {aoife: 16, tomasz: 16}
            assert all(split["result"]["split"][f"1{i:02d}"] == aoife for i in range(1, 17))
            # the room already given to Aoife did not change again
            assert len(split["result"]["rooms"]) == 31
            assert (await sup.request("rooms.assign_split", staff_ids=[aoife], by="colour"))[
                "code"
            ] == "bad_request"

    run(scenario)
