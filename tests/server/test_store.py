"""The store's own rules: time stamps sort as time, one transaction per write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server import db as m
from server.services import Services
from shared import protocol
from shared.clock import ManualClock
from shared.errors import ErrorCode, ProtocolError


def test_stored_times_sort_as_times() -> None:
    whole = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
    later = whole + timedelta(milliseconds=500)
    assert m.db_time(whole) < m.db_time(later)
    assert m.db_time(whole) == "2026-01-15T10:00:00.000000Z"
    assert m.db_time("2026-01-15T11:00:00+01:00") == m.db_time(whole)
    assert m.UTCField().python_value(m.db_time(later)) == later


def test_overlap_is_found_at_sub_second_boundaries(demo_db: Path, clock: ManualClock) -> None:
    m.open_db(demo_db)
    try:
        services = Services(clock)
        staff = services._staff_info(m.Staff.get(m.Staff.login == "frontdesk").id, None)

        def book(rid: str, start: str, end: str) -> None:
            cmd = protocol.ReservationCreate(rid, "M04", "Guest", start, end, 1)
            with m.db.atomic():
                services.reservation_create(staff, cmd)

        book("a", "2026-02-01T09:00:00Z", "2026-02-01T10:00:00.500Z")
        with pytest.raises(ProtocolError) as info:
            book("b", "2026-02-01T10:00:00Z", "2026-02-01T11:00:00Z")
        assert info.value.code is ErrorCode.CONFLICT
        book("c", "2026-02-01T10:00:00.500Z", "2026-02-01T11:00:00Z")  # touching is fine
    finally:
        m.close_db()


def test_a_postgresql_url_is_never_shown_with_its_password() -> None:
    from server.engine import Postgres, store_at

    url = store_at(
        "postgresql://roomrack:s%40cret@db-host:5432/roomrack?password=x&sslmode=require"
    )
    assert isinstance(url, Postgres) and url.dbname == "roomrack"
    assert "cret" not in url.shown() and "=x" not in url.shown()
    assert (
        url.shown()
        == "postgresql://roomrack:***@db-host:5432/roomrack?password=***&sslmode=require"
    )
    assert url.bare() == "postgresql://roomrack@db-host:5432/roomrack?sslmode=require"
    assert store_at("sqlite:////var/lib/roomrack.db") == Path("/var/lib/roomrack.db")
    assert store_at("sqlite:///roomrack.db") == Path("roomrack.db")  # relative, as usual
    with pytest.raises(ValueError, match=r"\*\*\*"):
        store_at("postgresql://u:secret@host/")
