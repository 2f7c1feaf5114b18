"""The night roll-over, end to end: the server's clock drives it, clients see its events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from server import db as m
from shared import daybook
from shared.clock import ManualClock
from tests.server.live import overview, pick, run
from tests.support import LiveServer, Peer, make_store


def test_roll_over_at_the_hotels_hour_across_a_daylight_saving_night(
    fresh_store: Path, tmp_path: Path
) -> None:
    # Saturday 28 March 2026, noon in Dublin; that night the clocks go forward.
    clock = ManualClock(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    db = fresh_store
    make_store(db, clock)

    async def scenario() -> None:
        async with LiveServer(db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk)
            serviced = sorted(
                r["room_number"]
                for r in snap["rooms"]
                if r["is_occupied"]
                and r["room_status"] in ("READY_FOR_GUEST", "CLEANED_UNINSPECTED")
            )
            assert serviced, "the demo has serviced rooms with guests in house"
            await clock.wait_for_sleepers(4)
            # 02:59 Irish summer time is 01:59 UTC: not yet
            clock.set(datetime(2026, 3, 29, 1, 59, tzinfo=UTC))
            await clock.wait_for_sleepers(4)
            assert await srv.server.rollover_now() == 0
            # 03:00 Irish summer time is 02:00 UTC: the business day moves on
            clock.set(datetime(2026, 3, 29, 2, 0, 30, tzinfo=UTC))
            done = await desk.until(lambda f: f.get("type") == "hotel.rollover")
            assert done["payload"]["business_date"] == "2026-03-29"
            assert done["payload"]["previous_business_date"] == "2026-03-28"
            assert sorted(done["payload"]["rooms_needing_service"]) == serviced
            assert done["meta"]["source"] == "system" and done["meta"]["actor"] is None
            updates = [f for f in desk.skipped if f.get("type") == "room_updated"]
            # the night's other changes (a block that ended in the evening) come before it
            batch = [u for u in updates if u["meta"]["seq"] < done["meta"]["seq"]][-len(serviced) :]
            assert sorted(u["payload"]["room_number"] for u in batch) == serviced
            assert all(u["payload"]["room_status"] == "OCCUPIED_DIRTY" for u in batch)
            assert all(u["meta"]["source"] == "system" for u in batch)
            assert not any(
                u["payload"]["room_status"] == "OCCUPIED_DIRTY" for u in updates[: -len(batch)]
            )
            seqs = [u["meta"]["seq"] for u in batch] + [done["meta"]["seq"]]
            # one batch: consecutive numbers (discrepancies found that night may come before)
            assert seqs == list(range(seqs[0], seqs[0] + len(serviced) + 1))
            assert seqs[0] > snap["seq"]
            # once a day only
            clock.advance(3600)
            assert await srv.server.rollover_now() == 0

    run(scenario)
    m.open_db(db)
    try:
        assert m.Hotel.get().business_date == "2026-03-29"
    finally:
        m.close_db()


def test_a_server_that_was_off_rolls_over_once_when_it_starts(
    fresh_store: Path, tmp_path: Path
) -> None:
    clock = ManualClock(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    db = fresh_store
    make_store(db, clock)
    m.open_db(db)
    m.Hotel.update(business_date="2026-01-15").execute()
    m.close_db()
    clock.advance(timedelta(days=3).total_seconds())

    async def scenario() -> None:
        async with LiveServer(db, clock) as srv:
            p = await Peer.open(srv.url, "manager")
            history = await p.request(
                "journal.range", since="2026-01-15T00:00Z", until="2026-01-19T00:00Z"
            )
            kinds = [e["type"] for e in history["result"]["events"]]
            assert kinds.count("hotel.rollover") == 1
            done = next(e for e in history["result"]["events"] if e["type"] == "hotel.rollover")
            assert done["payload"]["business_date"] == "2026-01-18"

    run(scenario)


def test_the_days_counters_add_up_the_work_and_restart_at_the_roll_over(
    fresh_store: Path, tmp_path: Path
) -> None:
    clock = ManualClock(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    db = fresh_store
    make_store(db, clock)

    async def scenario() -> None:
        async with LiveServer(db, clock) as srv:
            hk = await Peer.open(srv.url, "housekeeping")
            snap = await overview(hk)
            start = snap["day"]["counts"]
            assert snap["day"]["business_date"] == "2026-01-15"
            room = pick(snap, room_status="CLEANING_IN_PROGRESS")
            done = await hk.request(
                "room.action",
                room_number=room["room_number"],
                action="finish_cleaning",
                expected_version=room["version"],
            )
            assert done["type"] == "ack", done
            started = pick(snap, room_status="CHECKOUT_DIRTY")
            begun = await hk.request(
                "room.action",
                room_number=started["room_number"],
                action="start_cleaning",
                expected_version=started["version"],
            )
            assert begun["type"] == "ack", begun  # starting is not work done: no counter
            desk = await Peer.open(srv.url, "frontdesk")
            later = (await overview(desk))["day"]["counts"]
            assert later == {**start, "cleaned": start["cleaned"] + 1}
            # the next morning: the finished day's counters travel with the roll-over
            await clock.wait_for_sleepers(4)
            clock.set(datetime(2026, 1, 16, 3, 0, 30, tzinfo=UTC))
            rolled = await desk.until(lambda f: f.get("type") == "hotel.rollover")
            assert rolled["payload"]["previous_day_counts"] == later
            fresh = (await overview(await Peer.open(srv.url, "manager")))["day"]
            assert fresh == {"business_date": "2026-01-16", "counts": daybook.empty()}

    run(scenario)
