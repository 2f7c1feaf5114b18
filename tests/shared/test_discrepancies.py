"""Each discrepancy, raised at chosen instants and not before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.discrepancies import (
    ARRIVAL_NOT_READY,
    DND_TOO_LONG,
    DUE_OUT,
    MISMATCH,
    RoomFacts,
    Settings,
    StayFacts,
    find,
)
from shared.rules import RoomStatus as S

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SET = Settings()


def stay(state: str, start_min: float, end_min: float, rid: int = 1) -> StayFacts:
    return StayFacts(
        rid,
        "101",
        "A. Byrne",
        state,
        NOW + timedelta(minutes=start_min),
        NOW + timedelta(minutes=end_min),
    )


def kinds(rooms: list[RoomFacts], stays: list[StayFacts], now: datetime = NOW) -> list[str]:
    return [f.kind for f in find(rooms, stays, now, SET)]


def test_due_out_still_occupied_after_departure_time() -> None:
    room = [RoomFacts("101", S.OCCUPIED_DIRTY, True)]
    assert kinds(room, [stay("checked_in", -3000, 1)]) == []
    found = find(room, [stay("checked_in", -3000, -30)], NOW, SET)
    assert [f.kind for f in found] == [DUE_OUT]
    assert found[0].key == "due_out_still_occupied:1"
    assert "at 11:30 and is still checked in" in found[0].message
    assert "ago" not in found[0].message  # no age that goes stale: clients show it live
    assert found[0].roles == ["front_desk", "manager"]
    assert kinds(room, [stay("checked_out", -3000, -30)]) == []


def test_arrival_due_into_a_room_that_is_not_ready() -> None:
    dirty = [RoomFacts("101", S.CHECKOUT_DIRTY, False)]
    ready = [RoomFacts("101", S.READY_FOR_GUEST, False)]
    blocked = [RoomFacts("101", S.READY_FOR_GUEST, False, is_out_of_order=True)]
    assert kinds(dirty, [stay("confirmed", 90, 3000)]) == []  # not due yet
    assert kinds(dirty, [stay("confirmed", 60, 3000)]) == [ARRIVAL_NOT_READY]
    assert kinds(dirty, [stay("pending", -10, 3000)]) == [ARRIVAL_NOT_READY]
    assert kinds(ready, [stay("confirmed", 30, 3000)]) == []
    assert kinds(blocked, [stay("confirmed", 30, 3000)]) == [ARRIVAL_NOT_READY]
    assert kinds(dirty, [stay("cancelled", 30, 3000)]) == []


def test_do_not_disturb_held_longer_than_the_limit() -> None:
    since = NOW - timedelta(hours=12)
    room = [RoomFacts("101", S.READY_FOR_GUEST, True, dnd_since=since)]
    assert kinds(room, []) == []
    later = NOW + timedelta(minutes=1)
    found = find(room, [], later, SET)
    assert [f.kind for f in found] == [DND_TOO_LONG]
    assert found[0].key.endswith("2026-01-15T00:00:00Z")
    assert kinds(room, [], later) == kinds(room, [], later + timedelta(hours=5))  # same key


def test_sleep_and_skip() -> None:
    seen = NOW - timedelta(minutes=5)
    sleep = find(
        [RoomFacts("101", S.CHECKOUT_DIRTY, False, hk_occupancy="occupied", hk_observed_at=seen)],
        [],
        NOW,
        SET,
    )
    assert [(f.kind, f.details["which"]) for f in sleep] == [(MISMATCH, "sleep")]
    skip = find(
        [RoomFacts("101", S.OCCUPIED_DIRTY, True, hk_occupancy="vacant", hk_observed_at=seen)],
        [],
        NOW,
        SET,
    )
    assert [(f.kind, f.details["which"]) for f in skip] == [(MISMATCH, "skip")]
    agree = [RoomFacts("101", S.OCCUPIED_DIRTY, True, hk_occupancy="occupied", hk_observed_at=seen)]
    assert kinds(agree, []) == []


def test_messages_are_written_for_a_person_in_the_hotels_time() -> None:
    from zoneinfo import ZoneInfo

    berlin = Settings(tz=ZoneInfo("Europe/Berlin"))  # 12:00 UTC is 13:00 there
    cleaning = [RoomFacts("101", S.CLEANING_IN_PROGRESS, False)]
    (arrival,) = find(cleaning, [stay("confirmed", 30, 3000)], NOW, berlin)
    assert arrival.message == "Arrival A. Byrne due at 13:30; room 101 is being cleaned."
    assert arrival.details["arrival"] == "2026-01-15T12:30:00Z"  # the exact value stays
    (late,) = find(cleaning, [stay("pending", -5, 3000)], NOW, berlin)
    assert late.message == "Arrival A. Byrne was due at 12:55; room 101 is being cleaned."
    occupied = [RoomFacts("101", S.OCCUPIED_DIRTY, True, dnd_since=NOW - timedelta(hours=14))]
    found = find(occupied, [stay("checked_in", -3000, -90)], NOW, berlin)
    messages = {f.kind: f.message for f in found}
    assert messages[DUE_OUT] == (
        "A. Byrne was due out of room 101 at 11:30 and is still checked in."
    )
    # 22:00 UTC yesterday is 23:00 yesterday in Berlin: the date is given
    assert messages[DND_TOO_LONG] == ("Room 101 has had do-not-disturb on since 14 Jan 23:00.")
    seen = [RoomFacts("101", S.READY_FOR_GUEST, False, hk_occupancy="occupied", hk_observed_at=NOW)]
    (mismatch,) = find(seen, [], NOW, berlin)
    assert mismatch.message == (
        "Housekeeping found room 101 occupied at 13:00; the front desk has it vacant "
        "(a possible sleeper)."
    )
