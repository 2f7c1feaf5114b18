"""Time ranges of reservations and blocks: what overlaps what."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from server import db as m

MAX_STAY = timedelta(days=366)  # longest reservation or block


BLOCK_LIVE = ["scheduled", "active"]


def _overlap(
    model: type[m.Reservation] | type[m.Block],
    room: m.Room,
    start: datetime,
    end: datetime,
    states: list[str],
    extra: Any = True,
) -> int | None:
    """The id of a row of `model` for `room` in one of `states` overlapping [start, end)."""
    found = (
        model.select(model.id)
        .where(
            (model.room == room.id)
            & (model.state.in_(states))
            & (model.start < end)
            & (model.end > start)
            & extra
        )
        .scalar()
    )
    return None if found is None else int(found)
