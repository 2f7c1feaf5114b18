"""The night roll-over at chosen instants, across midnight and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.rollover import business_date, due, rollover_at

DUBLIN = ZoneInfo("Europe/Dublin")
NEW_YORK = ZoneInfo("America/New_York")


def test_business_day_changes_at_the_roll_over_hour_not_at_midnight() -> None:
    # 23:30 and 02:59 local belong to the same business day; 03:00 starts the next one
    assert business_date(datetime(2026, 1, 15, 23, 30, tzinfo=UTC), DUBLIN) == date(2026, 1, 15)
    assert business_date(datetime(2026, 1, 16, 2, 59, tzinfo=UTC), DUBLIN) == date(2026, 1, 15)
    assert business_date(datetime(2026, 1, 16, 3, 0, tzinfo=UTC), DUBLIN) == date(2026, 1, 16)


def test_due_once_per_day() -> None:
    last = date(2026, 1, 15)
    assert due(last, datetime(2026, 1, 16, 2, 0, tzinfo=UTC), DUBLIN) is None
    assert due(last, datetime(2026, 1, 16, 3, 0, tzinfo=UTC), DUBLIN) == date(2026, 1, 16)
    assert due(date(2026, 1, 16), datetime(2026, 1, 16, 3, 1, tzinfo=UTC), DUBLIN) is None
    assert due(None, datetime(2026, 1, 16, 3, 1, tzinfo=UTC), DUBLIN) is None


def test_after_a_long_stop_it_rolls_once_to_today() -> None:
    assert due(date(2026, 1, 10), datetime(2026, 1, 16, 9, 0, tzinfo=UTC), DUBLIN) == date(
        2026, 1, 16
    )


def test_configurable_hour_in_the_hotels_zone() -> None:
    # 03:00 in New York is 08:00 UTC in winter
    assert rollover_at(date(2026, 1, 16), NEW_YORK) == datetime(2026, 1, 16, 8, tzinfo=UTC)
    assert rollover_at(date(2026, 1, 16), NEW_YORK, hour=0) == datetime(2026, 1, 16, 5, tzinfo=UTC)


def test_spring_forward_night() -> None:
    # Dublin, 29 March 2026: 01:00 GMT becomes 02:00 IST. 03:00 IST is 02:00 UTC.
    assert rollover_at(date(2026, 3, 29), DUBLIN) == datetime(2026, 3, 29, 2, tzinfo=UTC)
    # an hour that does not exist that night (01:30) still happens exactly once
    missing = rollover_at(date(2026, 3, 29), DUBLIN, hour=1)
    assert missing.astimezone(DUBLIN).hour in (1, 2)
    before, after = missing - timedelta(minutes=1), missing + timedelta(minutes=1)
    assert due(date(2026, 3, 28), before, DUBLIN, 1) is None
    assert due(date(2026, 3, 28), after, DUBLIN, 1) == date(2026, 3, 29)


def test_fall_back_night() -> None:
    # Dublin, 25 October 2026: 02:00 IST becomes 01:00 GMT; 03:00 GMT is 03:00 UTC.
    assert rollover_at(date(2026, 10, 25), DUBLIN) == datetime(2026, 10, 25, 3, tzinfo=UTC)
    # the repeated hour (01:xx happens twice) rolls over once, at its first occurrence
    first = rollover_at(date(2026, 10, 25), DUBLIN, hour=1)
    assert first == datetime(2026, 10, 25, 0, tzinfo=UTC)
    assert due(date(2026, 10, 25), first + timedelta(hours=1), DUBLIN, 1) is None
