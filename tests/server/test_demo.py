"""The demo hotel shows everything a new user should see on a living board."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server import db as m
from server.services import Services
from shared.clock import ManualClock
from shared.rules import Role, RoomStatus
from tests.support import make_store


@pytest.mark.parametrize("hour", [0, 9, 14, 23])
def test_demo_hotel_has_every_status_occupancy_and_role(
    fresh_store: Path, tmp_path: Path, hour: int
) -> None:
    clock = ManualClock(datetime(2026, 3, 29, hour, 30, tzinfo=UTC))
    demo_db = fresh_store
    make_store(demo_db, clock)
    m.open_db(demo_db)
    try:
        hotel = m.Hotel.get(m.Hotel.slug == "hotel-killarney")
        rooms = list(m.Room.select().where(m.Room.hotel == hotel))
        assert len(rooms) >= 60
        assert len({r.floor for r in rooms if r.floor > 0}) >= 3
        assert {r.room_status for r in rooms} == {s.value for s in RoomStatus}
        assert {s.role for s in m.Staff.select()} == {r.value for r in Role}
        status = Services(clock).status_list(hotel.id)
        kinds = Counter(s["occupancy_status"] for s in status)
        assert kinds["free"] and kinds["occupied"] and kinds["ending_soon"]
        assert any(0 < s["time_until_free"] <= 15 for s in status)
        assert sum(s["reservations_today"] for s in status) > 20
        assert any(r.maintenance_required and r.maintenance_priority for r in rooms)
        assert any(r.do_not_disturb for r in rooms)
        # every occupied room has its checked-in guest, and the other way round
        for r in rooms:
            held = (
                m.Reservation.select()
                .where((m.Reservation.room == r) & (m.Reservation.state == "checked_in"))
                .exists()
            )
            assert held == r.is_occupied, r.number
    finally:
        m.close_db()


@pytest.mark.parametrize("hour", [2, 14])
def test_demo_day_counts_the_work_its_rooms_show_since_the_roll_over(
    fresh_store: Path, tmp_path: Path, hour: int
) -> None:
    now = datetime(2026, 1, 15, hour, 0, tzinfo=UTC)  # Dublin is on UTC in January
    demo_db = fresh_store
    make_store(demo_db, ManualClock(now))
    m.open_db(demo_db)
    try:
        hotel = m.Hotel.get(m.Hotel.slug == "hotel-killarney")
        day = Services(ManualClock(now)).business_day(hotel.id, now)
        start = datetime(2026, 1, 15 if hour >= 3 else 14, 3, 0, tzinfo=UTC)
        assert day["business_date"] == start.date().isoformat()
        rooms = list(m.Room.select().where(m.Room.hotel == hotel))
        cleaned = sum(1 for r in rooms if r.last_cleaned_at and r.last_cleaned_at >= start)
        inspected = sum(1 for r in rooms if r.last_inspected_at and r.last_inspected_at >= start)
        assert day["counts"]["cleaned"] == cleaned and day["counts"]["inspected"] == inspected
        if hour == 14:
            assert cleaned > 0 and inspected > 0  # the afternoon's board shows work done
    finally:
        m.close_db()
