"""Pure parts of the desktop: backoff, which controls a role gets, which toasts, URLs."""

from __future__ import annotations

import random

import pytest

from desktop.actions import CONTROLS, OBSERVE, allowed_actions, decide, role_may_ever
from desktop.backoff import Backoff
from desktop.notify import notes_for_event
from desktop.session import error_text, normalise_url
from shared.rules import ROOM_ACTIONS, Role, RoomStatus, RoomView, check_room_action, check_rush


def test_backoff_grows_with_jitter_is_capped_and_never_gives_up() -> None:
    b = Backoff(base=0.5, factor=2, cap=10, rng=random.Random(1))
    delays = [b.next() for _ in range(40)]
    assert 0.25 <= delays[0] <= 0.5
    assert 0.5 <= delays[1] <= 1.0
    assert all(d <= 10 for d in delays)
    assert all(d >= 5 for d in delays[10:])  # capped, still trying
    assert len(set(delays)) > 30  # jitter
    b.reset()
    assert b.next() <= 0.5


def test_server_addresses_are_normalised() -> None:
    assert normalise_url("reception-pc:8765") == "wss://reception-pc:8765"
    assert normalise_url("reception-pc:8765", insecure=True) == "ws://reception-pc:8765"
    assert normalise_url("https://10.0.0.5:8765/") == "wss://10.0.0.5:8765"
    assert normalise_url("http://10.0.0.5:8765/") == "ws://10.0.0.5:8765"
    assert normalise_url("ws://127.0.0.1:1") == "ws://127.0.0.1:1"


def test_error_text_uses_the_message_or_the_explanation() -> None:
    assert (
        error_text({"code": "forbidden", "message": ""}) == "Your role is not allowed to do this."
    )
    assert error_text({"code": "stale_version", "message": "Changed."}) == "Changed."


def _room(status: RoomStatus, **kw: object) -> dict[str, object]:
    return {"room_number": "101", "room_status": status.value, "version": 1, **kw}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("status", list(RoomStatus))
@pytest.mark.parametrize("flags", [{}, {"maintenance_required": True}, {"is_occupied": True}])
def test_controls_follow_the_shared_rules(role: Role, status: RoomStatus, flags: dict) -> None:
    room = _room(status, **flags)
    got = allowed_actions(role.value, [room])
    view = RoomView.from_payload(room)
    expected = {a for a in ROOM_ACTIONS if check_room_action(a, role, view)}
    assert got - {"check_in", "check_out", "rush", "rush_cancel", *OBSERVE} == expected
    assert ("rush" in got) == bool(check_rush(role, view))


def test_several_rooms_need_every_room_allowed_and_say_which_is_not() -> None:
    dirty = _room(RoomStatus.CHECKOUT_DIRTY)
    ready = {**_room(RoomStatus.READY_FOR_GUEST), "room_number": "102"}
    v = decide("start_cleaning", "housekeeping", [dirty, ready])
    assert not v.allowed and "Room 102" in v.reason
    assert decide("start_cleaning", "housekeeping", [dirty, {**dirty, "room_number": "103"}])


def test_check_in_and_out_are_for_the_desk_one_room_at_a_time() -> None:
    ready = _room(RoomStatus.READY_FOR_GUEST)
    assert decide("check_in", "front_desk", [ready]).allowed
    assert not decide("check_in", "front_desk", [ready], has_arrival=lambda n: False).allowed
    assert not decide("check_in", "housekeeping", [ready]).allowed
    assert not decide("check_in", "front_desk", [ready, ready]).allowed
    dirty = _room(RoomStatus.CHECKOUT_DIRTY)
    assert "not ready" in decide("check_in", "front_desk", [dirty]).reason
    assert not decide("check_out", "manager", [ready], has_guest=lambda n: False).allowed
    assert decide("check_out", "manager", [{**ready, "is_occupied": True}]).allowed
    assert not role_may_ever("set_out_of_order", "front_desk")
    assert {c.action for c in CONTROLS} >= set(ROOM_ACTIONS)


def _updated(changed: list[str], **payload: object) -> dict[str, object]:
    return {
        "type": "room_updated",
        "payload": {"room_number": "204", "changed_fields": changed, **payload},
        "meta": {"seq": 1},
    }


def test_toasts_for_what_matters_to_each_role() -> None:
    flagged = _updated(
        ["maintenance_required", "maintenance_priority", "maintenance_notes"],
        maintenance_required=True,
        maintenance_priority="HIGH",
        maintenance_notes="AC not working",
        room_status="READY_FOR_GUEST",
    )
    notes = notes_for_event(flagged, "maintenance")
    assert len(notes) == 1 and "204" in notes[0].title and "High" in notes[0].text
    assert notes[0].important
    assert notes_for_event(flagged, "front_desk") == []
    ready = _updated(["room_status"], room_status="READY_FOR_GUEST")
    assert notes_for_event(ready, "front_desk")[0].kind == "success"
    assert notes_for_event(ready, "housekeeping") == []
    cancelled = {
        "type": "reservation.cancelled",
        "payload": {"room_number": "101", "reservation": {"guest_name": "B. Ryan"}},
    }
    assert "free" in notes_for_event(cancelled, "front_desk")[0].title
    soon = {
        "type": "room.update",
        "payload": {"room_number": "M01", "occupancy_status": "ending_soon", "time_until_free": 7},
    }
    assert (
        "ending soon"
        in notes_for_event(soon, "front_desk", {"occupancy_status": "occupied"})[0].title
    )
    assert notes_for_event(soon, "front_desk", {"occupancy_status": "ending_soon"}) == []


def test_request_ids_are_never_reused_by_a_new_session(qapp: object) -> None:
    from desktop.session import Session

    a, b = Session(), Session()
    assert a._prefix != b._prefix and len(a._prefix) > 12
