"""Occupancy at chosen instants (the monitoring document's fields)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared import discrepancies
from shared.occupancy import Stay, compute, local_day_bounds
from shared.rules import ReservationState as R
from shared.rules import RoomStatus
from shared.timeutil import to_iso

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


def test_a_guest_checked_in_past_their_end_is_overdue() -> None:
    occ = compute([Stay(at(-600), at(-30), R.CHECKED_IN, 2)], NOW, TZ)
    assert occ.is_occupied
    assert occ.occupancy_status == "overdue"
    assert occ.time_until_free is None
    assert occ.overdue_minutes == 30
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
    from shared.timeutil import from_iso

    for text in ("9999-12-31T23:30:00Z", "0001-01-01T00:00:00+01:00", "1999-12-31T23:59:59Z"):
        with pytest.raises(ValueError):
            from_iso(text)
    assert from_iso("2026-01-15T10:00:00+01:00") == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


# --- an overdue departure at chosen instants ---------------------------------------------
# A guest (2 of them) checked in, due out at 12:00 (NOW); the next booking (10 guests) may
# follow. `minutes` is the instant, relative to 12:00.
DUE_OUT = NOW
IN_HOUSE = Stay(at(-24 * 60), DUE_OUT, R.CHECKED_IN, 2)
NEXT_AT_END = Stay(DUE_OUT, at(180), R.CONFIRMED, 10)  # back to back
NEXT_LATER = Stay(at(120), at(300), R.CONFIRMED, 10)  # a gap
NEXT_OVERLAPPING = Stay(at(-30), at(180), R.CONFIRMED, 10)  # booked before the departure
LEFT_LATE = Stay(at(-24 * 60), DUE_OUT, R.CHECKED_OUT, 2)  # checked out after 12:00


OVERDUE_CASES = [
    # (what, stays, minutes, status, until_free, attendees, overdue_minutes, next_arrival)
    ("before the end", [IN_HOUSE], -20, "occupied", 20, 2, 0, None),
    ("ending soon", [IN_HOUSE], -10, "ending_soon", 10, 2, 0, None),
    ("at the end", [IN_HOUSE], 0, "overdue", None, 2, 0, None),
    ("after the end, nothing follows", [IN_HOUSE], 45, "overdue", None, 2, 45, None),
    ("after the end, next at the end", [IN_HOUSE, NEXT_AT_END], 45, "overdue", None, 2, 45, 0),
    ("after the end, next later", [IN_HOUSE, NEXT_LATER], 45, "overdue", None, 2, 45, 120),
    ("overlapping next", [IN_HOUSE, NEXT_OVERLAPPING], 45, "overdue", None, 2, 45, -30),
    ("before the end, next at it", [IN_HOUSE, NEXT_AT_END], -10, "ending_soon", 190, 2, 0, 0),
    (
        "checked out late, next at the end",
        [LEFT_LATE, NEXT_AT_END],
        45,
        "occupied",
        135,
        10,
        0,
        None,
    ),
    ("checked out late, nothing follows", [LEFT_LATE], 45, "free", 0, 0, 0, None),
]


@pytest.mark.parametrize(
    "stays,minutes,status,until_free,attendees,overdue,next_arrival",
    [case[1:] for case in OVERDUE_CASES],
    ids=[case[0] for case in OVERDUE_CASES],
)
def test_an_overdue_departure_at_chosen_instants(
    stays: list[Stay],
    minutes: int,
    status: str,
    until_free: int | None,
    attendees: int,
    overdue: int,
    next_arrival: int | None,
) -> None:
    occ = compute(stays, at(minutes), TZ)
    assert occ.occupancy_status == status
    assert occ.time_until_free == until_free
    assert occ.current_attendees == attendees  # never the overdue and the next added up
    assert occ.overdue_minutes == overdue
    assert occ.next_arrival_at == (None if next_arrival is None else to_iso(at(next_arrival)))
    assert occ.is_occupied == (status != "free")
    if status == "overdue":
        assert occ.overdue_since == "2026-01-15T12:00:00Z"
        assert occ.free_at is None and occ.next_available == "" and occ.next_available_at == ""
    else:
        assert occ.overdue_since is None


def test_an_overdue_room_does_not_slide_with_the_clock() -> None:
    """What a client is told about an overdue room changes only in its age."""
    a, b = (compute([IN_HOUSE, NEXT_AT_END], at(m), TZ).as_dict() for m in (5, 6))
    assert a.pop("overdue_minutes") == 5 and b.pop("overdue_minutes") == 6
    assert a == b


@pytest.mark.parametrize("minutes", [-1, 0, 1, 90])
def test_overdue_and_the_discrepancy_scan_agree(minutes: int) -> None:
    now = at(minutes)
    occ = compute([IN_HOUSE, NEXT_OVERLAPPING], now, TZ)
    room = discrepancies.RoomFacts("101", RoomStatus.OCCUPIED_DIRTY, is_occupied=True)
    stay = discrepancies.StayFacts(1, "101", "A. Byrne", "checked_in", IN_HOUSE.start, DUE_OUT)
    found = discrepancies.find([room], [stay], now, discrepancies.Settings(tz=TZ))
    due_out = [f for f in found if f.kind == discrepancies.DUE_OUT]
    assert (occ.occupancy_status == "overdue") == bool(due_out)
    if due_out:
        assert due_out[0].details["due_out"] == occ.overdue_since
