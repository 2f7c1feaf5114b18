"""Splitting rooms between attendants evenly, by floor or by section."""

from __future__ import annotations

from collections import Counter

import pytest

from shared.assignment import Place, split_evenly

HOTEL = [Place(f"{f}{i:02d}", f, f"{f}{'AB'[i > 8]}") for f in (1, 2, 3, 4) for i in range(1, 17)]


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7])
def test_counts_differ_by_at_most_one_and_every_room_is_given(k: int) -> None:
    result = split_evenly(HOTEL, list(range(k)))
    assert set(result) == {p.room_number for p in HOTEL}
    counts = Counter(result.values())
    assert max(counts.values()) - min(counts.values()) <= 1


def test_by_floor_keeps_runs_together() -> None:
    result = split_evenly(HOTEL, [10, 20], by="floor")
    assert {result[f"1{i:02d}"] for i in range(1, 17)} == {10}
    assert {result[f"2{i:02d}"] for i in range(1, 17)} == {10}
    assert {result[f"3{i:02d}"] for i in range(1, 17)} == {20}


def test_by_section() -> None:
    result = split_evenly(HOTEL, [1, 2], by="section")
    # sections 1A, 1B, 2A, 2B go to the first attendant
    assert result["101"] == result["116"] == result["216"] == 1
    assert result["301"] == 2


def test_room_numbers_sort_as_numbers() -> None:
    places = [Place("100", 1), Place("99", 1), Place("101", 1)]
    assert split_evenly(places, [1, 2, 3]) == {"99": 1, "100": 2, "101": 3}


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        split_evenly(HOTEL, [])
    with pytest.raises(ValueError):
        split_evenly(HOTEL, [1], by="colour")
