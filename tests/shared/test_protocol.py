"""Parse and serialise every client command; every kind of bad input has its code."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from shared import protocol
from shared.errors import EXPLANATIONS, ErrorCode, ProtocolError

EXAMPLES: dict[str, dict[str, Any]] = {
    "auth.login": {"login": "desk", "password": "pw", "workstation": "Front desk 1"},
    "auth.token": {"token": "abc"},
    "auth.logout": {},
    "subscribe": {"channels": ["h.rooms", "h.rooms.101"], "since": {"epoch": "e", "seq": 4}},
    "unsubscribe": {"channels": ["h.rooms"]},
    "room.action": {
        "room_number": "101",
        "action": "report_maintenance",
        "expected_version": 3,
        "priority": "HIGH",
        "notes": "AC not working",
    },
    "rooms.batch": {
        "items": [{"room_number": "101", "action": "start_cleaning", "expected_version": 1}]
    },
    "room.check_in": {"room_number": "101", "expected_version": 2},
    "room.check_out": {"room_number": "101", "expected_version": 2},
    "reservation.create": {
        "room_number": "M01",
        "guest_name": "Board meeting",
        "start": "2026-01-15T10:00:00Z",
        "end": "2026-01-15T11:00:00Z",
        "guests": 8,
        "confirmed": False,
    },
    "reservation.confirm": {"reservation_id": 7, "expected_version": 1},
    "reservation.cancel": {"reservation_id": 7},
    "reservation.check_in": {"reservation_id": 7, "room_version": 4},
    "reservation.check_out": {"reservation_id": 7},
    "reservation.delete": {"reservation_id": 7},
    "room.history": {"room_number": "101", "limit": 20},
    "rooms.status": {},
    "reservations.list": {},
    "board.at": {"at": "2026-01-15T09:15:00Z"},
    "presence.viewing": {"room_number": "101"},
    "room.rush": {"room_number": "101", "expected_version": 3, "note": "Mr Ryan waiting"},
    "room.rush_cancel": {"room_number": "101", "expected_version": 4},
    "rooms.assign": {"items": [{"room_number": "101", "staff_id": 2}]},
    "rooms.assign_split": {"staff_ids": [1, 2], "by": "section", "room_numbers": ["101"]},
    "staff.list": {},
    "block.create": {
        "room_number": "101",
        "kind": "out_of_order",
        "reason": "Leak",
        "end": "2026-01-16T12:00:00Z",
        "expected_version": 2,
        "start": "2026-01-15T12:00:00Z",
        "return_status": "CHECKOUT_DIRTY",
        "override": True,
    },
    "block.end": {"block_id": 3},
    "blocks.list": {},
    "room.observe": {"room_number": "101", "occupancy": "vacant", "expected_version": 5},
    "discrepancy.resolve": {"discrepancy_id": 4, "note": "Guest asked for late check-out"},
    "discrepancies.list": {},
    "journal.range": {
        "since": "2026-01-15T00:00:00Z",
        "until": "2026-01-16T00:00:00Z",
        "limit": 500,
        "after_seq": 12,
    },
    "hotel.configure": {"rollover_hour": 4, "dnd_limit_minutes": 600},
    "ping": {},
    "auth.change_password": {"old_password": "old one", "new_password": "a new one"},
    "staff.accounts": {},
    "staff.sessions": {"staff_id": 5},
    "staff.create": {"login": "eva", "name": "Eva Roe", "role": "front_desk", "password": "pw"},
    "staff.disable": {"staff_id": 5},
    "staff.enable": {"staff_id": 5},
    "staff.reset_password": {"staff_id": 5, "password": "pw"},
    "staff.unlock": {"staff_id": 5},
    "staff.end_sessions": {"staff_id": 5},
    "session.end": {"session_id": 12},
    "staff.audit": {"limit": 50},
    "room_type.create": {"name": "Loft", "max_occupancy": 4},
    "room_type.update": {"room_type": "Loft", "name": "Attic", "expected_version": 1},
    "room_type.retire": {"room_type": "Attic"},
    "room_types.list": {"include_retired": True},
    "room.create": {"room_number": "901", "room_type": "Suite", "floor": 9, "section": "Roof"},
    "room.update": {"room_number": "901", "expected_version": 1, "capacity": 3},
    "room.retire": {"room_number": "901", "expected_version": 2},
    "pair.prove": {"nonce": "0123456789abcdef"},
}


def test_every_command_has_an_example() -> None:
    assert set(EXAMPLES) == set(protocol.COMMANDS)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_round_trip(kind: str) -> None:
    frame = json.dumps({"type": kind, "request_id": "req-1", **EXAMPLES[kind]})
    cmd = protocol.parse_command(frame)
    assert cmd.type == kind
    assert cmd.request_id == "req-1"
    again = protocol.parse_command(cmd.serialise())
    assert again == cmd
    assert json.loads(cmd.serialise()) == {"type": kind, "request_id": "req-1", **EXAMPLES[kind]}


def test_bytes_frames_are_accepted_as_utf8() -> None:
    cmd = protocol.parse_command(b'{"type":"ping","request_id":"p"}')
    assert isinstance(cmd, protocol.Ping)


def code_of(frame: str | bytes) -> ErrorCode:
    with pytest.raises(ProtocolError) as info:
        protocol.parse_command(frame)
    assert info.value.message
    return info.value.code


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", ErrorCode.BAD_REQUEST),
        ("[1, 2]", ErrorCode.BAD_REQUEST),
        ('{"request_id": "x"}', ErrorCode.BAD_REQUEST),
        ('{"type": 5, "request_id": "x"}', ErrorCode.BAD_REQUEST),
        ('{"type": "fly", "request_id": "x"}', ErrorCode.UNKNOWN_TYPE),
        ('{"type": "ping"}', ErrorCode.BAD_REQUEST),
        ('{"type": "ping", "request_id": ""}', ErrorCode.BAD_REQUEST),
        ('{"type": "ping", "request_id": "has space"}', ErrorCode.BAD_REQUEST),
        ('{"type": "ping", "request_id": "id\\n"}', ErrorCode.BAD_REQUEST),
        ('{"type": "ping", "request_id": "\\nid"}', ErrorCode.BAD_REQUEST),
        ('{"type": "ping", "request_id": "x", "extra": 1}', ErrorCode.BAD_REQUEST),
        (
            '{"type": "room.action", "request_id": "x", "room_number": "1", "action": "inspect"}',
            ErrorCode.BAD_REQUEST,
        ),
        (
            '{"type": "room.action", "request_id": "x", "room_number": 101, "action": "inspect", '
            '"expected_version": 1}',
            ErrorCode.BAD_REQUEST,
        ),
        (
            '{"type": "room.action", "request_id": "x", "room_number": "1", "action": "inspect", '
            '"expected_version": "1"}',
            ErrorCode.BAD_REQUEST,
        ),
        (
            '{"type": "room.action", "request_id": "x", "room_number": "1", "action": "inspect", '
            '"expected_version": true}',
            ErrorCode.BAD_REQUEST,
        ),
        ('{"type": "subscribe", "request_id": "x", "channels": "h.rooms"}', ErrorCode.BAD_REQUEST),
        ('{"type": "subscribe", "request_id": "x", "channels": [1]}', ErrorCode.BAD_REQUEST),
        (
            '{"type": "reservation.create", "request_id": "x", "room_number": "1", '
            '"guest_name": "A", "start": "s", "end": "e", "confirmed": "yes"}',
            ErrorCode.BAD_REQUEST,
        ),
        (b"\xff\xfe", ErrorCode.BAD_REQUEST),
        ("[" * 100_000, ErrorCode.FRAME_TOO_LARGE),
    ],
)
def test_bad_input(frame: str | bytes, code: ErrorCode) -> None:
    assert code_of(frame) is code


def test_deep_nesting_is_a_bad_request_not_a_crash() -> None:
    deep = "[" * 30_000 + "]" * 30_000  # under the size limit, over the parser's depth
    assert len(deep) < protocol.MAX_FRAME_BYTES
    assert code_of(deep) is ErrorCode.BAD_REQUEST
    inside = '{"type":"ping","request_id":"x","a":' + "[" * 20_000 + "]" * 20_000 + "}"
    assert code_of(inside) is ErrorCode.BAD_REQUEST


def test_too_long_text_and_too_many_items() -> None:
    long_notes = {
        "type": "room.action",
        "request_id": "x",
        "room_number": "1",
        "action": "flag_maintenance",
        "expected_version": 1,
        "notes": "n" * 3000,
    }
    assert code_of(json.dumps(long_notes)) is ErrorCode.BAD_REQUEST
    many = {"type": "rooms.batch", "request_id": "x", "items": [{}] * (protocol.MAX_BATCH + 1)}
    assert code_of(json.dumps(many)) is ErrorCode.BAD_REQUEST


def test_request_id_is_recovered_from_a_bad_frame_when_possible() -> None:
    assert protocol.request_id_of('{"type": "nope", "request_id": "abc"}') == "abc"
    assert protocol.request_id_of("garbage") is None
    assert protocol.request_id_of('{"request_id": "has space"}') is None
    assert protocol.request_id_of('{"request_id": "abc\\n"}') is None


def test_whole_values_are_matched_whole() -> None:
    for pattern, good in (
        (protocol.REQUEST_ID_RE, "a-1"),
        (protocol.SLUG_RE, "hotel-killarney"),
        (protocol.ROOM_NUMBER_RE, "101"),
    ):
        assert pattern.fullmatch(good) and not pattern.fullmatch(good + "\n")
    with pytest.raises(ProtocolError):
        protocol.parse_channel("hotel-killarney.rooms.101\n")


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("hotel-x.rooms", ("hotel-x", "overview", None)),
        ("hotel-x.reservations", ("hotel-x", "reservations", None)),
        ("hotel-x.rooms.101", ("hotel-x", "room", "101")),
        ("hotel-x.rooms.M01", ("hotel-x", "room", "M01")),
    ],
)
def test_channels(name: str, parsed: tuple[str, str, str | None]) -> None:
    assert protocol.parse_channel(name) == parsed


@pytest.mark.parametrize(
    "name", ["rooms", "hotel-x", "hotel-x.guests", "Hotel.rooms", "h.rooms.1.2", "h.rooms.a b", ""]
)
def test_bad_channels(name: str) -> None:
    with pytest.raises(ProtocolError) as info:
        protocol.parse_channel(name)
    assert info.value.code is ErrorCode.UNKNOWN_CHANNEL


def test_event_envelope_keeps_the_documented_shape() -> None:
    meta = protocol.EventMeta(
        "hotel-killarney",
        "id-1",
        "2025-12-20T10:30:00Z",
        12,
        "housekeeping",
        {"name": "A"},
        {"room_number": "101"},
        "r1",
    )
    ev = protocol.event("rooms", "room_updated", {"room_number": "101"}, meta)
    assert list(ev) == ["category", "type", "payload", "meta"]
    assert ev["meta"] == {
        "hotel_slug": "hotel-killarney",
        "event_id": "id-1",
        "ts": "2025-12-20T10:30:00Z",
        "scope": {"room_number": "101"},
        "seq": 12,
        "source": "housekeeping",
        "actor": {"name": "A"},
        "request_id": "r1",
    }


def test_server_frames() -> None:
    assert protocol.ack("r", {"a": 1}) == {"type": "ack", "request_id": "r", "result": {"a": 1}}
    err = protocol.error("r", ErrorCode.STALE_VERSION, details={"current_version": 3})
    assert (
        err["code"] == "stale_version" and err["message"] == EXPLANATIONS[ErrorCode.STALE_VERSION]
    )
    assert protocol.parse_server_frame(protocol.dumps(err)) == err
    with pytest.raises(ValueError):
        protocol.parse_server_frame("[]")


def test_every_error_code_is_explained() -> None:
    assert set(EXPLANATIONS) == set(ErrorCode)


def test_importing_shared_loads_no_io_library() -> None:
    code = (
        "import importlib, pkgutil, sys, shared\n"
        "for m in pkgutil.walk_packages(shared.__path__, 'shared.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in ('websockets', 'PySide6', 'peewee', 'sqlite3', 'qasync') "
        "if m in sys.modules]\n"
        "print(len([m for m in sys.modules if m.startswith('shared.')]), ','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, bad = out.stdout.split(" ", 1)
    assert int(count) >= 8  # every module of the package was imported
    assert bad.strip() == ""
