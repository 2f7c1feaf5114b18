"""Occupancy at chosen instants (the monitoring document's fields)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.occupancy import Stay, compute, local_day_bounds
from shared.rules import ReservationState as R

TZ = ZoneInfo("Europe/Dublin")
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # 12:00 in Dublin in winter


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def test_free_room() -> None:
    occ = compute([], NOW, TZ)
    assert occ.occupancy_status == "free"
    assert not occ.is_occupied
    assert occ.time_until_free == 0
    assert occ.current_attendees == 0
    assert occ.next_available == "12:00"
    assert occ.reservations_today == 0


def test_occupied_with_more_than_15_minutes_left() -> None:
    occ = compute([Stay(at(-60), at(45), R.CONFIRMED, 8)], NOW, TZ)
    assert occ.occupancy_status == "occupied"
    assert occ.time_until_free == 45
    assert occ.current_attendees == 8
    assert occ.next_available == "12:45"
    assert occ.free_at == "2026-01-15T12:45:00Z"


def test_ending_soon_at_exactly_15_minutes_and_not_at_16() -> None:
    assert compute([Stay(at(-60), at(15), R.CONFIRMED)], NOW, TZ).occupancy_status == (
        "ending_soon"
    )
    assert compute([Stay(at(-60), at(16), R.CONFIRMED)], NOW, TZ).occupancy_status == "occupied"


def test_countdown_is_rounded_up_to_whole_minutes() -> None:
    occ = compute([Stay(at(-60), at(4.2), R.CHECKED_IN)], NOW, TZ)
    assert occ.occupancy_status == "ending_soon"
    assert occ.time_until_free == 5


def test_back_to_back_bookings_chain_the_time_until_free() -> None:
    stays = [Stay(at(-30), at(10), R.CONFIRMED), Stay(at(10), at(70), R.CONFIRMED)]
    occ = compute(stays, NOW, TZ)
    assert occ.occupancy_status == "ending_soon"  # the current booking ends soon
    assert occ.time_until_free == 70  # but the room is only free after the next one
    assert occ.next_available == "13:10"


def test_a_gap_between_bookings_frees_the_room() -> None:
    stays = [Stay(at(-30), at(10), R.CONFIRMED), Stay(at(40), at(70), R.CONFIRMED)]
    assert compute(stays, NOW, TZ).time_until_free == 10


def test_pending_and_cancelled_do_not_hold_the_room_but_count_today() -> None:
    stays = [
        Stay(at(-30), at(30), R.PENDING),
        Stay(at(-30), at(30), R.CANCELLED),
        Stay(at(60), at(90), R.CONFIRMED),
    ]
    occ = compute(stays, NOW, TZ)
    assert occ.occupancy_status == "free"
    assert occ.reservations_today == 2  # pending and confirmed; cancelled does not count


def test_a_guest_checked_in_past_their_end_still_occupies_the_room() -> None:
    occ = compute([Stay(at(-600), at(-30), R.CHECKED_IN, 2)], NOW, TZ)
    assert occ.is_occupied
    assert occ.occupancy_status == "ending_soon"
    assert occ.time_until_free == 0
    assert occ.current_attendees == 2


def test_checked_out_stay_frees_the_room() -> None:
    occ = compute([Stay(at(-600), at(-30), R.CHECKED_OUT, 2)], NOW, TZ)
    assert occ.occupancy_status == "free"
    assert occ.reservations_today == 1


def test_reservations_today_use_the_hotels_calendar_day() -> None:
    late = datetime(2026, 7, 15, 23, 30, tzinfo=UTC)  # already 16 July 00:30 in Dublin (summer)
    start, end = local_day_bounds(late, TZ)
    assert start.astimezone(TZ).isoformat() == "2026-07-16T00:00:00+01:00"
    assert end - start == timedelta(days=1)
    yesterday_stay = Stay(late - timedelta(hours=3), late - timedelta(hours=1), R.CHECKED_OUT)
    assert compute([yesterday_stay], late, TZ).reservations_today == 0


def test_day_with_a_daylight_saving_change_is_23_hours() -> None:
    spring = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    start, end = local_day_bounds(spring, TZ)
    assert (end - start) == timedelta(hours=23)


def test_time_stamps_outside_sane_years_are_refused() -> None:
    import pytest

    from shared.timeutil import from_iso

    for text in ("9999-12-31T23:30:00Z", "0001-01-01T00:00:00+01:00", "1999-12-31T23:59:59Z"):
        with pytest.raises(ValueError):
            from_iso(text)
    assert from_iso("2026-01-15T10:00:00+01:00") == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
