"""The business day's counters, event by event."""

from __future__ import annotations

from shared.daybook import COUNTERS, add, empty, summary, tally


def room(changed: list[str], **fields: object) -> dict[str, object]:
    return {"changed_fields": changed, **fields}


def test_each_kind_of_work_counts_once() -> None:
    cleaned = room(
        ["room_status", "last_cleaned_at", "cleaned_by_staff"],
        room_status="CLEANED_UNINSPECTED",
        last_cleaned_at="2026-01-15T10:00:00Z",
    )
    assert tally("room_updated", cleaned) == ("cleaned",)
    passed = room(
        ["room_status", "last_inspected_at", "inspected_by_staff"],
        room_status="READY_FOR_GUEST",
        last_inspected_at="2026-01-15T10:30:00Z",
    )
    assert tally("room_updated", passed) == ("inspected",)
    failed = {**passed, "room_status": "CHECKOUT_DIRTY"}
    assert tally("room_updated", failed) == ("sent_back",)
    flagged = room(
        ["room_status", "maintenance_required", "maintenance_notes"],
        room_status="MAINTENANCE_REQUIRED",
        maintenance_required=True,
    )
    assert tally("room_updated", flagged) == ("maintenance_reported",)
    assert tally("reservation.checked_in", {}) == ("checked_in",)
    assert tally("reservation.checked_out", {}) == ("checked_out",)
    assert tally("room.rush_ready", {}) == ("rush_ready",)


def test_changes_that_are_not_work_done_count_nothing() -> None:
    assert tally("room_updated", room(["room_status"], room_status="CLEANING_IN_PROGRESS")) == ()
    cleared = room(["maintenance_required"], maintenance_required=False)
    assert tally("room_updated", cleared) == ()
    assert tally("room_updated", room(["assigned_to"])) == ()
    assert tally("reservation.created", {}) == ()
    assert tally("heartbeat", {}) == ()


def test_add_folds_events_into_new_counts_and_summary_reads_them() -> None:
    counts = empty()
    assert set(counts) == set(COUNTERS) and not any(counts.values())
    assert summary(counts) == "nothing yet"
    counts = add(counts, "reservation.checked_in", {})
    counts = add(counts, "reservation.checked_in", {})
    later = add(counts, "room.rush_ready", {})
    assert counts["checked_in"] == 2 and counts["rush_ready"] == 0  # add returns a new dict
    assert summary(later) == "2 checked in · 1 rush done"
    assert add({"checked_in": 1}, "heartbeat", {})["cleaned"] == 0  # missing keys filled
