"""Splitting rooms evenly between room attendants, keeping each one's rooms together.

Rooms are walked in floor order (or section order) and dealt out in runs, so every attendant
gets a contiguous stretch of corridor and the counts differ by at most one. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SPLITS = ("floor", "section")


@dataclass(frozen=True)
class Place:
    room_number: str
    floor: int
    section: str = ""


def _order(place: Place, by: str) -> tuple[object, ...]:
    number = place.room_number
    key = (len(number), number)  # "99" before "101"
    if by == "section":
        return (place.section, place.floor, *key)
    return (place.floor, place.section, *key)


def split_evenly(
    places: Sequence[Place], attendants: Sequence[int], by: str = "floor"
) -> dict[str, int]:
    """room number -> attendant id. Raises ValueError for an unknown `by` or no attendants."""
    if by not in SPLITS:
        raise ValueError(f"split by one of {', '.join(SPLITS)}")
    if not attendants:
        raise ValueError("name at least one attendant")
    ordered = sorted(places, key=lambda p: _order(p, by))
    n, k = len(ordered), len(attendants)
    result: dict[str, int] = {}
    start = 0
    for i, who in enumerate(attendants):
        size = n // k + (1 if i < n % k else 0)
        for place in ordered[start : start + size]:
            result[place.room_number] = who
        start += size
    return result
