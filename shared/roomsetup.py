"""The fields of a room and of a room type, as a table of rules: what each may hold, in words.

The server checks commands with it, the command line checks every row of a CSV file with it,
and the desktop's room form checks what is typed with it, so all three refuse the same values
with the same words. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.protocol import ROOM_NUMBER_RE


@dataclass(frozen=True)
class FieldRule:
    """One field: its wire name, its label for people, and what it may hold."""

    name: str
    label: str
    kind: str  # "text" or "int"
    low: int  # shortest text / smallest number
    high: int  # longest text / largest number
    words: str  # what a good value is, for error messages
    pattern: re.Pattern[str] | None = None

    def check(self, value: Any) -> str | None:
        """None if `value` is good for this field, else the words that say why not."""
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return f"{self.label} must be a whole number ({self.words})."
            if not self.low <= value <= self.high:
                return f"{self.label} {value} is out of range ({self.words})."
            return None
        if not isinstance(value, str):
            return f"{self.label} must be text ({self.words})."
        if value != value.strip():
            return f"{self.label} must not start or end with spaces."
        if not self.low <= len(value) <= self.high:
            return f"{self.label} '{value[:40]}' is the wrong length ({self.words})."
        if self.pattern is not None and not self.pattern.fullmatch(value):
            return f"{self.label} '{value[:40]}' is not allowed ({self.words})."
        return None


# A room: number, type, where it is, how many it holds. `max_occupancy` 0 (or absent) means
# "the room type's"; `capacity` is beds or seats (a meeting room's seats).
ROOM_FIELDS: dict[str, FieldRule] = {
    r.name: r
    for r in (
        FieldRule(
            "room_number",
            "Room number",
            "text",
            1,
            16,
            "1 to 16 letters, digits or dashes, e.g. 101 or M-01",
            ROOM_NUMBER_RE,
        ),
        FieldRule("room_type", "Room type", "text", 1, 60, "the name of a room type"),
        FieldRule("floor", "Floor", "int", -5, 200, "-5 to 200"),
        FieldRule("building", "Building", "text", 1, 40, "1 to 40 characters"),
        FieldRule("section", "Section", "text", 0, 40, "up to 40 characters"),
        FieldRule("capacity", "Capacity", "int", 1, 1000, "1 to 1,000 beds or seats"),
        FieldRule(
            "max_occupancy",
            "Max occupancy",
            "int",
            0,
            100,
            "1 to 100 guests; 0 or empty: the room type's",
        ),
    )
}
ROOM_DEFAULTS: dict[str, Any] = {"building": "Main", "section": "", "capacity": 2}
ROOM_REQUIRED = ("room_number", "room_type", "floor")

ROOM_TYPE_FIELDS: dict[str, FieldRule] = {
    r.name: r
    for r in (
        FieldRule("name", "Room type", "text", 1, 60, "1 to 60 characters"),
        FieldRule("max_occupancy", "Max occupancy", "int", 1, 100, "1 to 100 guests"),
    )
}
ROOM_TYPE_DEFAULTS: dict[str, Any] = {"max_occupancy": 2}


def check_fields(rules: Mapping[str, FieldRule], values: Mapping[str, Any]) -> dict[str, str]:
    """Every field of `values` that breaks its rule, with the words (None: not given)."""
    found: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        rule = rules.get(name)
        if rule is None:
            found[name] = f"There is no field '{name}'."
            continue
        words = rule.check(value)
        if words is not None:
            found[name] = words
    return found


ALWAYS_NEW = ("changed_fields", "version", "updated_at")


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The fields of payload `after` whose value differs from `before` (the same thing's
    previous payload), in payload order; `version` and `updated_at`, which every change moves,
    are left out. The one place a room_updated's (or a room type event's) `changed_fields`
    come from: build `before` before changing the row, and diff it with the payload after."""
    return [
        name
        for name, value in after.items()
        if name not in ALWAYS_NEW and (name not in before or before[name] != value)
    ]
