"""The walk: one entry per command, how to build a request the document promises an ack
for, and its flags with the code the document names for them."""

from __future__ import annotations

from shared.pairing import new_nonce
from tests.server.protocol_walk.builders import (
    OVERVIEW,
    STALE,
    UNKNOWN,
    Flag,
    Walk,
    a_session,
    arrival_block,
    assign,
    batch,
    block,
    block_to_end,
    booked,
    booked_new_room,
    changed,
    check_in,
    check_in_naming,
    check_out,
    discrepancy,
    ended_block,
    everyone,
    fields,
    history,
    new_password,
    new_reservation,
    new_room,
    new_staff,
    of_login,
    on_account,
    on_new_room,
    on_room,
    on_room_type,
    out_of_order_over_a_guest,
    own_session,
    pairing,
    resolve_mine,
    resolved,
    resume,
    retired_room_again,
    retired_type_again,
    room_action,
    room_type,
    rushed,
    split,
    token,
    viewing,
)
from tests.support import SLUG

WALK: dict[str, Walk] = {
    "auth.login": Walk(
        lambda w, login: fields(login=login, password="demo")(w, login),
        (
            Flag(
                "a wrong password",
                lambda w, login: fields(login=login, password="x")(w, login),
                "auth_failed",
            ),
            Flag(
                "with a workstation",
                lambda w, login: fields(login=login, password="demo", workstation="HK office")(
                    w, login
                ),
                "ack",
            ),
        ),
        connection="anonymous",
    ),
    "auth.token": Walk(
        token,
        (
            Flag("a forged token", fields(token="forged"), "token_invalid"),
            Flag("with a workstation", changed(token, workstation="Front office"), "ack"),
        ),
        connection="anonymous",
    ),
    "auth.logout": Walk(fields(), connection="session"),
    "ping": Walk(fields(), connection="anonymous"),
    "pair.prove": Walk(
        pairing,
        (Flag("no pairing code waiting", fields(nonce=new_nonce()), "pairing_unavailable"),),
        connection="anonymous",
    ),
    "subscribe": Walk(
        fields(channels=[OVERVIEW]),
        (
            Flag(
                "another hotel's channel", fields(channels=["elsewhere.rooms"]), "unknown_channel"
            ),
            Flag("in batches", fields(channels=[OVERVIEW], batch=True), "ack"),
            Flag("resuming since the head", resume, "ack"),
            Flag("no channel", fields(channels=[]), "bad_request"),
            Flag("an unknown room", fields(channels=[f"{SLUG}.rooms.nope"]), "unknown_room"),
            Flag(
                "since with an unknown key",
                fields(channels=[OVERVIEW], since={"epoch": "e", "seq": 1, "x": 1}),
                "bad_request",
            ),
        ),
        connection="token",
    ),
    "unsubscribe": Walk(fields(channels=[OVERVIEW])),
    "presence.viewing": Walk(
        viewing, (Flag("an unknown room", fields(room_number="nope"), "unknown_room"),)
    ),
    "room.action": Walk(
        room_action("set_dnd", "CHECKOUT_DIRTY"),
        (
            Flag(
                "a stale version",
                changed(room_action("set_dnd", "CHECKOUT_DIRTY"), **STALE),
                "stale_version",
            ),
            Flag(
                "an unknown room",
                changed(room_action("set_dnd", "CHECKOUT_DIRTY"), room_number="nope"),
                "unknown_room",
            ),
            Flag(
                "an unknown action",
                changed(room_action("set_dnd", "CHECKOUT_DIRTY"), action="fly"),
                everyone("bad_request"),
            ),
            Flag(
                "a field the action does not take",
                room_action("set_dnd", "CHECKOUT_DIRTY", notes="x"),
                "bad_request",
            ),
            Flag(
                "a priority outside its set",
                room_action("flag_maintenance", "CHECKOUT_DIRTY", priority="SOON"),
                "bad_request",
            ),
            Flag("out of order over a guest", out_of_order_over_a_guest, "room_occupied"),
            Flag(
                "a move not possible from the status",
                room_action("inspect", "CHECKOUT_DIRTY"),
                "invalid_transition",
            ),
            Flag(
                "a return status not allowed",
                room_action("clear_out_of_order", "OUT_OF_ORDER", return_status="OUT_OF_ORDER"),
                "bad_request",
            ),
            Flag(
                "true for a version",
                changed(room_action("set_dnd", "CHECKOUT_DIRTY"), expected_version=True),
                everyone("bad_request"),
            ),
        ),
    ),
    "rooms.batch": Walk(
        batch,
        (
            Flag("no item", fields(items=[]), "bad_request"),
            Flag(
                "one room twice",
                changed(batch, items=lambda out, w: [out["items"][0]] * 2),
                "bad_request",
            ),
            Flag(
                "an item refused",
                changed(
                    batch,
                    items=lambda out, w: [
                        out["items"][0],
                        {**out["items"][1], "expected_version": 0},
                    ],
                ),
                "stale_version",
            ),
            Flag(
                "too many items",
                fields(
                    items=[{"room_number": "1", "action": "set_dnd", "expected_version": 1}] * 201
                ),
                everyone("bad_request"),
            ),
        ),
    ),
    "room.rush": Walk(
        on_room(note="Mr Ryan waiting"),
        (
            Flag("a ready room", on_room("READY_FOR_GUEST"), "invalid_transition"),
            Flag("an out of order room", on_room("OUT_OF_ORDER"), "room_not_ready"),
        ),
    ),
    "room.rush_cancel": Walk(
        lambda w, login: rushed(w),
        (Flag("a room not rushed", on_room(), "invalid_transition"),),
    ),
    "rooms.assign": Walk(
        assign,
        (
            Flag(
                "someone who is not an attendant",
                changed(
                    assign,
                    items=lambda out, w: [
                        {**out["items"][0], "staff_id": w.staff_id("front_desk")}
                    ],
                ),
                "bad_request",
            ),
            Flag(
                "true for a version",
                changed(
                    assign, items=lambda out, w: [{**out["items"][0], "expected_version": True}]
                ),
                "bad_request",
            ),
            Flag(
                "a field it does not take",
                changed(assign, items=lambda out, w: [{**out["items"][0], "note": "x"}]),
                "bad_request",
            ),
        ),
    ),
    "rooms.assign_split": Walk(
        split,
        (
            Flag("by floor, left out", changed(split, by=None), "ack"),
            Flag("an unknown way to split", changed(split, by="wing"), "bad_request"),
            Flag("nobody", changed(split, staff_ids=[]), "bad_request"),
            Flag("an unknown room", changed(split, room_numbers=["nope"]), "unknown_room"),
        ),
    ),
    "staff.list": Walk(fields()),
    "block.create": Walk(
        block,
        (
            Flag(
                "an override that is not needed",
                changed(block, override=True),
                {"manager": "ack", "maintenance": "forbidden"},
            ),
            Flag("out of order with an arrival due", arrival_block, "override_required"),
            Flag(
                "an override of an arrival due",
                changed(arrival_block, override=True),
                {"manager": "ack", "maintenance": "forbidden"},
            ),
            Flag("an unknown kind", changed(block, kind="closed"), "bad_request"),
            Flag(
                "an end before the start",
                changed(block, end=lambda out, w: w.now(-5)),
                "bad_request",
            ),
            Flag("a blank reason", changed(block, reason="  "), "bad_request"),
            Flag(
                "a return status not allowed",
                changed(block, return_status="OUT_OF_ORDER"),
                "bad_request",
            ),
            Flag("a stale version", changed(block, **STALE), "stale_version"),
        ),
    ),
    "block.end": Walk(
        block_to_end,
        (
            Flag("an unknown block", fields(block_id=999_999), "bad_request"),
            Flag("a block that is over", ended_block, "invalid_transition"),
        ),
    ),
    "blocks.list": Walk(fields()),
    "room.observe": Walk(
        on_room(occupancy="vacant"),
        (Flag("an occupancy outside its set", on_room(occupancy="maybe"), "bad_request"),),
    ),
    "discrepancy.resolve": Walk(
        resolve_mine,
        (
            Flag("an unknown discrepancy", fields(discrepancy_id=999_999), "bad_request"),
            Flag("one resolved already", resolved, "invalid_transition"),
            Flag(
                "one of another team",
                discrepancy("occupancy_mismatch"),
                {"housekeeping": "forbidden"},
            ),
        ),
    ),
    "discrepancies.list": Walk(fields()),
    "room.check_in": Walk(
        check_in,
        (
            Flag("a room that is not ready", on_room(fresh=True), "room_not_ready"),
            Flag("no arrival due", on_room("READY_FOR_GUEST", fresh=True), "no_reservation"),
            Flag("naming its reservation", check_in_naming, "ack"),
        ),
    ),
    "room.check_out": Walk(check_out, (Flag("no guest in the room", on_room(), "no_reservation"),)),
    "reservation.create": Walk(
        new_reservation,
        (
            Flag("pending", changed(new_reservation, confirmed=False), "ack"),
            Flag("no guest", changed(new_reservation, guests=0), "bad_request"),
            Flag(
                "an end at the start",
                changed(new_reservation, end=lambda out, w: out["start"]),
                "bad_request",
            ),
            Flag("a blank name", changed(new_reservation, guest_name=" "), "bad_request"),
            Flag("an unknown room", changed(new_reservation, room_number="nope"), "unknown_room"),
        ),
    ),
    "reservation.confirm": Walk(
        booked(confirmed=False),
        (
            Flag("one confirmed already", booked(), "invalid_transition"),
            Flag("an unknown reservation", fields(reservation_id=999_999), "unknown_reservation"),
            Flag(
                "a stale version",
                changed(booked(confirmed=False), expected_version=5),
                "stale_version",
            ),
            Flag(
                "a stale room version",
                changed(booked(confirmed=False), room_version=0),
                "stale_version",
            ),
        ),
    ),
    "reservation.cancel": Walk(
        booked(), (Flag("a guest in house", booked(state="checked_in"), "invalid_transition"),)
    ),
    "reservation.check_in": Walk(
        booked(today=True),
        (Flag("not due yet", booked(), "not_due"),),
    ),
    "reservation.check_out": Walk(
        booked(state="checked_in"),
        (Flag("not checked in", booked(), "invalid_transition"),),
    ),
    "reservation.delete": Walk(
        booked(confirmed=False),
        (Flag("a confirmed one", booked(), "invalid_transition"),),
    ),
    "room.history": Walk(
        history, (Flag("an unknown room", fields(room_number="nope"), "unknown_room"),)
    ),
    "rooms.status": Walk(fields()),
    "reservations.list": Walk(fields()),
    "board.at": Walk(
        lambda w, login: fields(at=w.now(0))(w, login),
        (
            Flag(
                "a moment to come", lambda w, login: fields(at=w.now(60))(w, login), "bad_request"
            ),
            Flag("before the journal", fields(at="2001-01-01T00:00:00Z"), "history_unavailable"),
            Flag("not a time", fields(at="noon"), "bad_request"),
        ),
    ),
    "journal.range": Walk(
        lambda w, login: fields(since=w.now(-60), until=w.now(60))(w, login),
        (
            Flag(
                "until before since",
                lambda w, login: fields(since=w.now(60), until=w.now(-60))(w, login),
                "bad_request",
            ),
        ),
    ),
    "hotel.configure": Walk(
        fields(),
        (
            Flag("a roll-over hour", fields(rollover_hour=4), "ack"),
            Flag("an hour out of range", fields(rollover_hour=24), "bad_request"),
            Flag("a lead time out of range", fields(arrival_lead_minutes=1441), "bad_request"),
        ),
    ),
    # --- rooms and room types (a manager's)
    "room_type.create": Walk(
        room_type,
        (
            Flag("the name of a retired one", retired_type_again, "ack"),
            Flag("a name taken", changed(room_type, name="Suite"), "duplicate_room_type"),
            Flag("a blank name", changed(room_type, name=" "), "bad_request"),
            Flag("too many guests", changed(room_type, max_occupancy=101), "bad_request"),
        ),
    ),
    "room_type.update": Walk(
        on_room_type(max_occupancy=4),
        (
            Flag("a new name", on_room_type(name="Walk suite"), "ack"),
            Flag("a type with rooms", on_room_type(with_room=True, max_occupancy=5), "ack"),
            Flag("a name taken", on_room_type(name="Suite"), "duplicate_room_type"),
            Flag(
                "a stale version", changed(on_room_type(max_occupancy=4), **STALE), "stale_version"
            ),
            Flag(
                "an unknown room type",
                fields(room_type="Palace", max_occupancy=4),
                "unknown_room_type",
            ),
            Flag("too many guests", on_room_type(max_occupancy=101), "bad_request"),
        ),
    ),
    "room_type.retire": Walk(
        on_room_type(),
        (
            Flag("a type with rooms", on_room_type(with_room=True), "room_type_in_use"),
            Flag("a stale version", changed(on_room_type(), **STALE), "stale_version"),
            Flag("an unknown room type", fields(room_type="Palace"), "unknown_room_type"),
        ),
    ),
    "room_types.list": Walk(
        fields(), (Flag("with the retired ones", fields(include_retired=True), "ack"),)
    ),
    "room.create": Walk(
        new_room,
        (
            Flag("the number of a retired room", retired_room_again, "ack"),
            Flag(
                "a number taken",
                changed(new_room, room_number=lambda out, w: w.numbers[0]),
                "duplicate_room",
            ),
            Flag(
                "an unknown room type", changed(new_room, room_type="Palace"), "unknown_room_type"
            ),
            Flag("a floor out of range", changed(new_room, floor=201), "bad_request"),
            Flag("a number with a space", changed(new_room, room_number="1 2"), "bad_request"),
        ),
    ),
    "room.update": Walk(
        on_new_room(floor=8),
        (
            Flag("another room type", on_new_room(room_type="Twin Room"), "ack"),
            Flag("a stale version", changed(on_new_room(floor=8), **STALE), "stale_version"),
            Flag(
                "an unknown room",
                changed(on_new_room(floor=8), room_number="nope"),
                "unknown_room",
            ),
            Flag("an unknown room type", on_new_room(room_type="Palace"), "unknown_room_type"),
            Flag("a floor out of range", on_new_room(floor=-6), "bad_request"),
        ),
    ),
    "room.retire": Walk(
        on_new_room(),
        (
            Flag("a room with a booking to come", booked_new_room, "room_in_use"),
            Flag("a stale version", changed(on_new_room(), **STALE), "stale_version"),
            Flag("an unknown room", changed(on_new_room(), room_number="nope"), "unknown_room"),
        ),
    ),
    # --- staff accounts (a manager's; everyone changes their own password)
    "staff.accounts": Walk(fields()),
    "staff.sessions": Walk(
        fields(),
        (
            Flag("one person's", of_login("housekeeping"), "ack"),
            Flag("an unknown person", fields(staff_id=UNKNOWN), "unknown_staff"),
        ),
    ),
    "staff.create": Walk(
        new_staff,
        (
            Flag("a weak password", changed(new_staff, password="password1"), "weak_password"),
            Flag("a login taken", changed(new_staff, login="housekeeping"), "conflict"),
            Flag("an unknown role", changed(new_staff, role="porter"), "bad_request"),
            Flag("a login with a space", changed(new_staff, login="a b"), "bad_request"),
        ),
    ),
    "staff.disable": Walk(
        on_account(),
        (
            Flag("one's own account", of_login("manager"), "bad_request"),
            Flag("an unknown person", fields(staff_id=UNKNOWN), "unknown_staff"),
        ),
    ),
    "staff.enable": Walk(
        on_account(disabled=True),
        (Flag("an unknown person", fields(staff_id=UNKNOWN), "unknown_staff"),),
    ),
    "staff.reset_password": Walk(
        on_account(password="Muckross House 1843"),
        (
            Flag("a weak password", on_account(password="password1"), "weak_password"),
            Flag("one's own", of_login("manager", password="Muckross House 1843"), "bad_request"),
            Flag(
                "an unknown person",
                fields(staff_id=UNKNOWN, password="Muckross House 1843"),
                "unknown_staff",
            ),
        ),
    ),
    "staff.unlock": Walk(
        on_account(), (Flag("an unknown person", fields(staff_id=UNKNOWN), "unknown_staff"),)
    ),
    "staff.end_sessions": Walk(
        on_account(),
        (
            Flag("one's own (the others end, this one stays)", of_login("manager"), "ack"),
            Flag("an unknown person", fields(staff_id=UNKNOWN), "unknown_staff"),
        ),
    ),
    "session.end": Walk(
        a_session,
        (
            Flag("this connection's own", own_session, "bad_request"),
            Flag("an unknown session", fields(session_id=UNKNOWN), "bad_request"),
        ),
    ),
    "staff.audit": Walk(
        fields(limit=20),
        (
            Flag("no limit given", fields(), "ack"),
            Flag("a limit out of range", fields(limit=0), "bad_request"),
        ),
    ),
    "auth.change_password": Walk(
        new_password(),
        (
            Flag("a weak new password", new_password(new="password1"), "weak_password"),
            Flag("a wrong old password", new_password(old="not it at all"), "auth_failed"),
        ),
    ),
}
