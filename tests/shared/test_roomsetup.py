"""The rules of a room's and a room type's fields: one table, the same words everywhere."""

from __future__ import annotations

from typing import Any

import pytest

from shared.roomsetup import ROOM_FIELDS, ROOM_TYPE_FIELDS, changed_fields, check_fields


@pytest.mark.parametrize(
    ("values", "bad"),
    [
        ({"room_number": "101", "floor": 1, "capacity": 2, "max_occupancy": 0}, {}),
        ({"room_number": "M-01", "building": "Annex", "section": ""}, {}),
        ({"room_number": "1 01"}, {"room_number": "not allowed"}),
        ({"room_number": "x" * 17}, {"room_number": "wrong length"}),
        ({"floor": 201}, {"floor": "out of range"}),
        ({"floor": True}, {"floor": "whole number"}),
        ({"capacity": 0}, {"capacity": "out of range"}),
        ({"building": ""}, {"building": "wrong length"}),
        ({"section": " East"}, {"section": "spaces"}),
        ({"colour": "red"}, {"colour": "no field"}),
        ({"floor": None, "section": None}, {}),  # not given
    ],
)
def test_room_fields_are_checked_with_words(values: dict[str, Any], bad: dict[str, str]) -> None:
    found = check_fields(ROOM_FIELDS, values)
    assert set(found) == set(bad)
    for name, words in bad.items():
        assert words in found[name]


def test_room_type_fields() -> None:
    assert check_fields(ROOM_TYPE_FIELDS, {"name": "Suite", "max_occupancy": 3}) == {}
    found = check_fields(ROOM_TYPE_FIELDS, {"name": "", "max_occupancy": 0})
    assert set(found) == {"name", "max_occupancy"}


def test_changed_fields_compare_payloads_and_skip_bookkeeping() -> None:
    before = {"floor": 1, "section": "A", "version": 3, "updated_at": "t1", "changed_fields": []}
    after = {"floor": 2, "section": "A", "version": 4, "updated_at": "t2", "changed_fields": []}
    assert changed_fields(before, after) == ["floor"]
    assert changed_fields(before, before) == []
