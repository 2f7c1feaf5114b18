"""The rules table, row by row, for every role."""

from __future__ import annotations

import pytest

from shared.errors import ErrorCode
from shared.rules import (
    ROOM_ACTIONS,
    ReservationState,
    Role,
    RoomStatus,
    RoomView,
    actions_for,
    check_in_allowed,
    check_reservation_action,
    check_room_action,
)

S = RoomStatus
HK, SUP, MNT, DESK, MGR = (
    Role.HOUSEKEEPING,
    Role.SUPERVISOR,
    Role.MAINTENANCE,
    Role.FRONT_DESK,
    Role.MANAGER,
)

# (action, from status, role) -> new status; the source document's table first.
ALLOWED = [
    ("start_cleaning", S.CHECKOUT_DIRTY, HK, S.CLEANING_IN_PROGRESS),
    ("start_cleaning", S.OCCUPIED_DIRTY, HK, S.CLEANING_IN_PROGRESS),
    ("finish_cleaning", S.CLEANING_IN_PROGRESS, HK, S.CLEANED_UNINSPECTED),
    ("inspect", S.CLEANED_UNINSPECTED, SUP, S.READY_FOR_GUEST),
    ("inspect", S.CLEANED_UNINSPECTED, MGR, S.READY_FOR_GUEST),
    ("fail_inspection", S.CLEANED_UNINSPECTED, SUP, S.CHECKOUT_DIRTY),
    ("mark_dirty", S.READY_FOR_GUEST, DESK, S.CHECKOUT_DIRTY),
    ("report_maintenance", S.READY_FOR_GUEST, HK, S.MAINTENANCE_REQUIRED),
    ("report_maintenance", S.CLEANING_IN_PROGRESS, DESK, S.MAINTENANCE_REQUIRED),
    ("report_maintenance", S.CHECKOUT_DIRTY, MNT, S.MAINTENANCE_REQUIRED),
    ("set_out_of_order", S.READY_FOR_GUEST, MNT, S.OUT_OF_ORDER),
    ("set_out_of_order", S.MAINTENANCE_REQUIRED, MGR, S.OUT_OF_ORDER),
    ("clear_out_of_order", S.OUT_OF_ORDER, MNT, S.CHECKOUT_DIRTY),
]


@pytest.mark.parametrize(("action", "status", "role", "new"), ALLOWED)
def test_allowed_moves(action: str, status: RoomStatus, role: Role, new: RoomStatus) -> None:
    d = check_room_action(action, role, RoomView(status))
    assert d.allowed, d.reason
    assert d.new_status is new


def test_every_cell_of_the_table_is_decided_consistently() -> None:
    """For every action, status and role: allowed exactly when the role is listed and the
    status is a source of the move; every refusal has a code and a reason."""
    for action, rule in ROOM_ACTIONS.items():
        for status in RoomStatus:
            for role in Role:
                room = RoomView(
                    status,
                    maintenance_required=rule.needs_maintenance_flag is True,
                    do_not_disturb=rule.needs_dnd is True,
                )
                d = check_room_action(action, role, room)
                expect = role in rule.roles and (rule.moves is None or status in rule.moves)
                assert d.allowed is expect, (action, status, role, d.reason)
                if not d.allowed:
                    assert d.code is not None and d.reason


@pytest.mark.parametrize(
    ("action", "status", "role", "code"),
    [
        ("inspect", S.CLEANED_UNINSPECTED, HK, ErrorCode.FORBIDDEN),
        ("inspect", S.CLEANED_UNINSPECTED, DESK, ErrorCode.FORBIDDEN),
        ("inspect", S.CHECKOUT_DIRTY, SUP, ErrorCode.INVALID_TRANSITION),
        ("finish_cleaning", S.CHECKOUT_DIRTY, HK, ErrorCode.INVALID_TRANSITION),
        ("start_cleaning", S.READY_FOR_GUEST, HK, ErrorCode.INVALID_TRANSITION),
        ("start_cleaning", S.CHECKOUT_DIRTY, DESK, ErrorCode.FORBIDDEN),
        ("set_out_of_order", S.READY_FOR_GUEST, HK, ErrorCode.FORBIDDEN),
        ("set_out_of_order", S.OUT_OF_ORDER, MNT, ErrorCode.INVALID_TRANSITION),
        ("clear_out_of_order", S.READY_FOR_GUEST, MNT, ErrorCode.INVALID_TRANSITION),
        ("report_maintenance", S.OUT_OF_ORDER, HK, ErrorCode.INVALID_TRANSITION),
        ("no_such_action", S.OUT_OF_ORDER, HK, ErrorCode.BAD_REQUEST),
    ],
)
def test_refusals(action: str, status: RoomStatus, role: Role, code: ErrorCode) -> None:
    d = check_room_action(action, role, RoomView(status))
    assert not d.allowed
    assert d.code is code
    assert d.reason


def test_unknown_role_is_refused() -> None:
    assert check_room_action("start_cleaning", "guest", RoomView(S.CHECKOUT_DIRTY)).code is (
        ErrorCode.FORBIDDEN
    )


def test_dirty_status_follows_occupancy() -> None:
    occupied = RoomView(S.CLEANED_UNINSPECTED, is_occupied=True)
    assert check_room_action("fail_inspection", SUP, occupied).new_status is S.OCCUPIED_DIRTY
    vacant = RoomView(S.CLEANED_UNINSPECTED)
    assert check_room_action("fail_inspection", SUP, vacant).new_status is S.CHECKOUT_DIRTY


def test_maintenance_flag_rules() -> None:
    flagged = RoomView(S.READY_FOR_GUEST, maintenance_required=True)
    clean = RoomView(S.READY_FOR_GUEST)
    assert check_room_action("flag_maintenance", HK, clean)
    assert not check_room_action("flag_maintenance", HK, flagged)
    assert check_room_action("update_maintenance", MNT, flagged)
    assert check_room_action("update_maintenance", MNT, clean).code is (
        ErrorCode.INVALID_TRANSITION
    )
    assert check_room_action("update_maintenance", HK, flagged).code is ErrorCode.FORBIDDEN
    cleared = check_room_action("clear_maintenance", MNT, flagged)
    assert cleared and cleared.new_status is None
    # clearing a room whose status is MAINTENANCE_REQUIRED sends it to be cleaned
    down = RoomView(S.MAINTENANCE_REQUIRED, maintenance_required=True)
    d = check_room_action("clear_maintenance", MNT, down)
    assert d.new_status is S.CHECKOUT_DIRTY


def test_out_of_order_needs_a_vacant_room_and_returns_where_asked() -> None:
    occupied = RoomView(S.READY_FOR_GUEST, is_occupied=True)
    assert check_room_action("set_out_of_order", MNT, occupied).code is ErrorCode.ROOM_OCCUPIED
    ooo = RoomView(S.OUT_OF_ORDER, is_out_of_order=True)
    d = check_room_action("clear_out_of_order", MGR, ooo, return_status="READY_FOR_GUEST")
    assert d.new_status is S.READY_FOR_GUEST
    bad = check_room_action("clear_out_of_order", MGR, ooo, return_status="CLEANING_IN_PROGRESS")
    assert bad.code is ErrorCode.BAD_REQUEST


def test_do_not_disturb() -> None:
    assert check_room_action("set_dnd", DESK, RoomView(S.READY_FOR_GUEST))
    assert not check_room_action("clear_dnd", DESK, RoomView(S.READY_FOR_GUEST))
    assert check_room_action("clear_dnd", HK, RoomView(S.READY_FOR_GUEST, do_not_disturb=True))
    assert check_room_action("set_dnd", MNT, RoomView(S.READY_FOR_GUEST)).code is (
        ErrorCode.FORBIDDEN
    )


def test_actions_for_lists_every_action() -> None:
    decisions = actions_for(HK, RoomView(S.CHECKOUT_DIRTY))
    assert set(decisions) == set(ROOM_ACTIONS)
    assert decisions["start_cleaning"].allowed
    assert not decisions["inspect"].allowed


def test_check_in_only_into_a_ready_vacant_room_in_order() -> None:
    assert check_in_allowed(RoomView(S.READY_FOR_GUEST))
    for status in RoomStatus:
        if status is not S.READY_FOR_GUEST:
            assert check_in_allowed(RoomView(status)).code in (ErrorCode.ROOM_NOT_READY,), status
    assert check_in_allowed(RoomView(S.READY_FOR_GUEST, is_occupied=True)).code is (
        ErrorCode.ROOM_OCCUPIED
    )
    assert check_in_allowed(RoomView(S.READY_FOR_GUEST, is_out_of_order=True)).code is (
        ErrorCode.ROOM_NOT_READY
    )


R = ReservationState


@pytest.mark.parametrize(
    ("action", "state", "ok"),
    [
        ("confirm", R.PENDING, True),
        ("confirm", R.CONFIRMED, False),
        ("cancel", R.PENDING, True),
        ("cancel", R.CONFIRMED, True),
        ("cancel", R.CHECKED_IN, False),
        ("check_in", R.CONFIRMED, True),
        ("check_in", R.CANCELLED, False),
        ("check_out", R.CHECKED_IN, True),
        ("check_out", R.CONFIRMED, False),
        ("delete", R.CANCELLED, True),
        ("delete", R.CHECKED_IN, False),
        ("delete", R.CHECKED_OUT, False),
    ],
)
def test_reservation_table(action: str, state: ReservationState, ok: bool) -> None:
    d = check_reservation_action(action, DESK, state)
    assert d.allowed is ok
    if not ok:
        assert d.code is ErrorCode.INVALID_TRANSITION and d.reason


def test_reservations_are_for_the_desk() -> None:
    assert check_reservation_action("confirm", HK, R.PENDING).code is ErrorCode.FORBIDDEN
    assert check_reservation_action("confirm", MGR, R.PENDING)


def test_check_in_action_checks_the_room() -> None:
    dirty = RoomView(S.CHECKOUT_DIRTY)
    assert check_reservation_action("check_in", DESK, R.CONFIRMED, dirty).code is (
        ErrorCode.ROOM_NOT_READY
    )


def test_rush_requests() -> None:
    from shared.rules import check_rush, check_rush_cancel

    dirty = RoomView(S.CHECKOUT_DIRTY)
    assert check_rush(DESK, dirty)
    assert check_rush(HK, dirty).code is ErrorCode.FORBIDDEN
    assert check_rush(DESK, RoomView(S.READY_FOR_GUEST)).code is ErrorCode.INVALID_TRANSITION
    assert check_rush(DESK, RoomView(S.OUT_OF_ORDER)).code is ErrorCode.ROOM_NOT_READY
    # a guest is in house (asleep behind do-not-disturb, or not): nobody is waiting for it
    for view in (
        RoomView(S.OCCUPIED_DIRTY, is_occupied=True),
        RoomView(S.OCCUPIED_DIRTY, is_occupied=True, do_not_disturb=True),
        RoomView(S.CLEANING_IN_PROGRESS, is_occupied=True),
    ):
        refused = check_rush(DESK, view)
        assert refused.code is ErrorCode.ROOM_OCCUPIED and "vacant" in refused.reason
    rushed = RoomView(S.CLEANING_IN_PROGRESS, is_rush=True)
    assert check_rush(DESK, rushed).code is ErrorCode.INVALID_TRANSITION
    assert check_rush_cancel(SUP, rushed)
    assert check_rush_cancel(HK, rushed).code is ErrorCode.FORBIDDEN
    assert check_rush_cancel(DESK, dirty).code is ErrorCode.INVALID_TRANSITION
    assert RoomView.from_payload({"room_status": "CHECKOUT_DIRTY", "rush": {"note": "x"}}).is_rush


@pytest.mark.parametrize(
    ("role", "kind", "guest", "arrival", "override", "code"),
    [
        (MNT, "out_of_order", False, False, False, None),
        (MGR, "out_of_service", True, True, False, None),  # out of service needs no override
        (HK, "out_of_service", False, False, False, ErrorCode.FORBIDDEN),
        (MNT, "out_of_order", True, False, False, ErrorCode.OVERRIDE_REQUIRED),
        (MNT, "out_of_order", False, True, False, ErrorCode.OVERRIDE_REQUIRED),
        (MNT, "out_of_order", True, False, True, ErrorCode.FORBIDDEN),  # only managers override
        (MNT, "out_of_order", False, False, True, ErrorCode.FORBIDDEN),  # even where none needed
        (MNT, "out_of_service", False, False, True, ErrorCode.FORBIDDEN),
        (MGR, "out_of_order", True, True, True, None),
        (MGR, "closed", False, False, False, ErrorCode.BAD_REQUEST),
    ],
)
def test_blocks(
    role: Role, kind: str, guest: bool, arrival: bool, override: bool, code: ErrorCode | None
) -> None:
    from shared.rules import check_block

    d = check_block(role, kind, guest_in_house=guest, arrival_due=arrival, override=override)
    assert d.code is code
    assert d.allowed is (code is None)


def test_check_in_is_due_from_the_day_of_arrival_until_the_stay_ends() -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from shared.rules import check_in_due

    tz = ZoneInfo("America/New_York")  # 09:00 UTC is 04:00 there
    now = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    day = timedelta(days=1)
    # later the same local day: early check-in is fine
    assert check_in_due(now + timedelta(hours=10), now + 2 * day, now, tz)
    assert check_in_due(now - day, now + day, now, tz)  # arrived yesterday, not yet in
    # 23:00 local is 04:00 UTC of the next day: still today in New York
    assert check_in_due(datetime(2026, 1, 16, 4, 0, tzinfo=UTC), now + 3 * day, now, tz)
    tomorrow = check_in_due(datetime(2026, 1, 16, 15, 0, tzinfo=UTC), now + 3 * day, now, tz)
    assert tomorrow.code is ErrorCode.NOT_DUE and "Fri 16 Jan" in tomorrow.reason
    over = check_in_due(now - 2 * day, now - day, now, tz)
    assert over.code is ErrorCode.NOT_DUE and "over" in over.reason


def test_an_action_request_is_refused_for_its_role_before_its_fields() -> None:
    from shared.rules import ACTION_ARGS, check_action_request

    none = dict.fromkeys(ACTION_ARGS)
    assert check_action_request("fly", MGR, none).code is ErrorCode.BAD_REQUEST
    assert check_action_request("inspect", HK, {**none, "notes": "x"}).code is ErrorCode.FORBIDDEN
    assert check_action_request("inspect", SUP, {**none, "notes": "x"}).code is (
        ErrorCode.BAD_REQUEST  # inspect takes no notes
    )
    flag = {**none, "priority": "SOON"}
    assert check_action_request("flag_maintenance", HK, flag).code is ErrorCode.BAD_REQUEST
    back = {**none, "return_status": "OUT_OF_ORDER"}
    assert check_action_request("clear_out_of_order", MNT, back).code is ErrorCode.BAD_REQUEST
    ok = {**none, "priority": "HIGH", "notes": "AC"}
    assert check_action_request("report_maintenance", DESK, ok)
