"""Discrepancies found by the server: raised as events, listed, resolved by someone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from tests.server.live import overview, pick, run
from tests.support import LiveServer, Peer, make_store


async def version_of(peer: Peer, number: str, default: int) -> int:
    """The room's version now, from its history (its newest room_updated)."""
    history = await peer.request("room.history", room_number=number, limit=50)
    for e in history["result"]["events"]:
        if e["type"] == "room_updated":
            return int(e["payload"]["version"])
    return default


def raised(kind: str, room: str | None = None) -> Any:
    return lambda f: (
        f.get("type") == "discrepancy.raised"
        and f["payload"]["discrepancy"]["kind"] == kind
        and (room is None or f["payload"]["discrepancy"]["room_number"] == room)
    )


def test_each_discrepancy_is_raised_listed_and_resolved(fresh_store: Path, tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    db = fresh_store
    make_store(db, clock)

    async def scenario() -> None:
        async with LiveServer(db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            hk = await Peer.open(srv.url, "housekeeping")
            sup = await Peer.open(srv.url, "supervisor")
            snap = await overview(desk)
            await overview(sup)
            before = await desk.request("discrepancies.list")
            start = {x["id"] for x in before["result"]["discrepancies"]}

            # skip: housekeeping finds an occupied room empty
            occupied = pick(snap, is_occupied=True, room_status="OCCUPIED_DIRTY")
            seen = await hk.request(
                "room.observe",
                room_number=occupied["room_number"],
                occupancy="vacant",
                expected_version=occupied["version"],
            )
            assert seen["type"] == "ack", seen
            # do-not-disturb on a room for longer than 12 hours
            quiet = pick(
                snap, do_not_disturb=False, is_occupied=True, room_status="READY_FOR_GUEST"
            )
            await desk.request(
                "room.action",
                room_number=quiet["room_number"],
                action="set_dnd",
                expected_version=quiet["version"],
            )
            clock.advance(60)
            await srv.server.discrepancies_now()
            skip = await sup.until(raised("occupancy_mismatch", occupied["room_number"]))
            d = skip["payload"]["discrepancy"]
            assert d["details"]["which"] == "skip" and d["state"] == "open"
            assert "front_desk" in d["roles"] and skip["meta"]["source"] == "system"
            assert d["label"] == "Housekeeping and front desk disagree"
            clock.advance(12 * 3600)
            await srv.server.discrepancies_now()
            dnd = await sup.until(raised("dnd_too_long", quiet["room_number"]))
            message = dnd["payload"]["discrepancy"]["message"]
            assert "has had do-not-disturb on since" in message
            assert dnd["payload"]["discrepancy"]["details"]["since"]  # the age: from this, live

            listed = (await desk.request("discrepancies.list"))["result"]["discrepancies"]
            ids = {x["id"] for x in listed}
            assert d["id"] in ids and dnd["payload"]["discrepancy"]["id"] in ids
            assert len(ids - start) >= 2

            # housekeeping is not among those concerned with a mismatch
            no = await hk.request("discrepancy.resolve", discrepancy_id=d["id"])
            assert no["code"] == "forbidden"
            ok = await sup.request(
                "discrepancy.resolve",
                discrepancy_id=d["id"],
                note="Guest left early, desk informed",
            )
            assert ok["type"] == "ack", ok
            done = ok["result"]["discrepancy"]
            assert done["state"] == "resolved" and done["resolved_by"] == "Sean Byrne"
            assert done["note"] == "Guest left early, desk informed"
            again = await sup.request("discrepancy.resolve", discrepancy_id=d["id"])
            assert again["code"] == "invalid_transition"
            # it is not raised again while the same observation stands
            clock.advance(60)
            await srv.server.discrepancies_now()
            listed = (await desk.request("discrepancies.list"))["result"]["discrepancies"]
            assert d["id"] not in {x["id"] for x in listed}

            # a discrepancy that stops being true clears by itself
            dnd_room = dnd["payload"]["discrepancy"]["room_number"]
            off = await desk.request(
                "room.action",
                room_number=dnd_room,
                action="clear_dnd",
                expected_version=await version_of(desk, dnd_room, 0),
            )
            assert off["type"] == "ack", off
            await srv.server.discrepancies_now()
            cleared = await sup.until(
                lambda f: (
                    f.get("type") == "discrepancy.resolved"
                    and f["payload"]["discrepancy"]["room_number"] == dnd_room
                )
            )
            assert cleared["payload"]["discrepancy"]["resolved_by"] == "system"

    run(scenario)


def test_due_out_and_arrival_not_ready(fresh_store: Path, tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    db = fresh_store
    make_store(db, clock)

    async def scenario() -> None:
        async with LiveServer(db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk, "hotel-killarney.reservations")
            res = await desk.until(lambda f: f["type"] == "reservations.status")
            rooms = {r["room_number"]: r for r in snap["rooms"]}
            # an arrival at 16:00 into a dirty room: due from 15:00
            dirty = pick(snap, room_status="CHECKOUT_DIRTY", reservations_today=0)
            start = datetime(2026, 1, 15, 16, 0, tzinfo=UTC)
            made = await desk.request(
                "reservation.create",
                room_number=dirty["room_number"],
                guest_name="K. Quinn",
                start=start.isoformat(),
                end=(start + timedelta(days=2)).isoformat(),
            )
            assert made["type"] == "ack", made
            clock.set(datetime(2026, 1, 15, 14, 59, tzinfo=UTC))
            await srv.server.discrepancies_now()
            assert not [
                f for f in desk.skipped if raised("arrival_room_not_ready", dirty["room_number"])(f)
            ]
            clock.set(datetime(2026, 1, 15, 15, 1, tzinfo=UTC))
            await srv.server.discrepancies_now()
            arrival = await desk.until(raised("arrival_room_not_ready", dirty["room_number"]))
            assert "K. Quinn" in arrival["payload"]["discrepancy"]["message"]
            # a guest due out who is still in: after their departure time
            due = [
                r
                for r in res["reservations"]
                if r["state"] == "checked_in" and rooms[r["room_number"]]["floor"] > 0
            ]
            leaving = min(due, key=lambda r: r["end"])
            clock.set(
                datetime.fromisoformat(leaving["end"].replace("Z", "+00:00")) + timedelta(minutes=1)
            )
            await srv.server.discrepancies_now()
            late = await desk.until(raised("due_out_still_occupied", leaving["room_number"]))
            assert late["payload"]["discrepancy"]["details"]["reservation_id"] == leaving["id"]
            # checking the guest out clears it
            room = rooms[leaving["room_number"]]
            version = await version_of(desk, room["room_number"], room["version"])
            out = await desk.request(
                "room.check_out", room_number=room["room_number"], expected_version=version
            )
            assert out["type"] == "ack", out
            await srv.server.discrepancies_now()
            await desk.until(
                lambda f: (
                    f.get("type") == "discrepancy.resolved"
                    and f["payload"]["discrepancy"]["kind"] == "due_out_still_occupied"
                    and f["payload"]["discrepancy"]["room_number"] == room["room_number"]
                )
            )

    run(scenario)


def test_discrepancy_events_come_on_the_overview_and_the_rooms_channel_only(
    fresh_store: Path,
) -> None:
    """docs/protocol.md, *Channels*: `discrepancy.*` on `{slug}.rooms` and on
    `{slug}.rooms.{number}`, not on `{slug}.reservations`."""
    clock = ManualClock(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    make_store(fresh_store, clock)

    def about(kind: str, number: str) -> Any:
        return lambda f: (
            f.get("type") == kind and f["payload"]["discrepancy"]["room_number"] == number
        )

    async def scenario() -> None:
        async with LiveServer(fresh_store, clock) as srv:
            hk = await Peer.open(srv.url, "housekeeping")
            snap = await overview(hk)
            room = pick(snap, is_occupied=True, room_status="OCCUPIED_DIRTY")
            number = room["room_number"]
            slug = hk.login["hotel"]["slug"]
            on_room = await Peer.open(srv.url, "supervisor")
            ack = await on_room.subscribe(f"{slug}.rooms.{number}")
            assert ack["type"] == "ack", ack
            on_bookings = await Peer.open(srv.url, "frontdesk")
            ack = await on_bookings.subscribe(f"{slug}.reservations")
            assert ack["type"] == "ack", ack

            seen = await hk.request(
                "room.observe",
                room_number=number,
                occupancy="vacant",
                expected_version=room["version"],
            )
            assert seen["type"] == "ack", seen
            clock.advance(60)
            await srv.server.discrepancies_now()
            for peer in (hk, on_room):
                up = await peer.until(about("discrepancy.raised", number))
                assert up["meta"]["scope"]["room_number"] == number
            d_id = up["payload"]["discrepancy"]["id"]
            done = await on_room.request("discrepancy.resolve", discrepancy_id=d_id)
            assert done["type"] == "ack", done
            for peer in (hk, on_room):
                await peer.until(about("discrepancy.resolved", number))

            # then a booking: its event comes on the reservations channel after the two
            # discrepancy events were committed; nothing of them came before it there
            later = (clock.now() + timedelta(days=30)).isoformat()
            end = (clock.now() + timedelta(days=31)).isoformat()
            made = await on_bookings.request(
                "reservation.create",
                room_number=number,
                guest_name="Ms Daly",
                start=later,
                end=end,
            )
            assert made["type"] == "ack", made
            await on_bookings.until(lambda f: f.get("type") == "reservation.created")
            kinds = {f.get("type") for f in on_bookings.skipped}
            assert not {"discrepancy.raised", "discrepancy.resolved"} & kinds, kinds
            for peer in (hk, on_room, on_bookings):
                await peer.close()

    run(scenario)
