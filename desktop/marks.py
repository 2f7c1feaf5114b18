"""Small pure helpers for the board's cards: a block and when it ends, and whether a room is
the logged-in attendant's."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.timeutil import from_iso

SHORT_KIND = {"out_of_order": "OOO", "out_of_service": "OOS"}


def block_mark(room: dict[str, Any], tz: ZoneInfo, now: datetime) -> str:
    """'OOO until 14:00' (today), 'OOS until Fri 14:00' (later), or '' without a block in
    force. The words, not the colour, say that the room is blocked."""
    block = room.get("block")
    if not isinstance(block, dict):
        return ""
    kind = SHORT_KIND.get(str(block.get("kind")), "BLOCKED")
    try:
        end = from_iso(str(block["end"])) if block.get("end") else None
    except ValueError:
        end = None
    if end is None:
        return kind
    local, today = end.astimezone(tz), now.astimezone(tz)
    if local.date() == today.date():
        when = local.strftime("%H:%M")
    elif (local.date() - today.date()).days < 7:
        when = local.strftime("%a %H:%M")
    else:
        when = local.strftime("%d %b")
    return f"{kind} until {when}"


def assigned_to_me(room: dict[str, Any], staff_id: int | None) -> bool:
    a = room.get("assigned_to")
    return (
        staff_id is not None
        and isinstance(a, dict)
        and a.get("staff_id") is not None
        and int(a["staff_id"]) == staff_id
    )


def mine_first(room: dict[str, Any], staff_id: int | None) -> int:
    """A sort key to put first the rooms of the attendant who is logged in (0) and then
    everyone else's (1); prepend it to the board's own sort key."""
    return 0 if assigned_to_me(room, staff_id) else 1


def attendant_name(room: dict[str, Any]) -> str:
    a = room.get("assigned_to")
    return str(a.get("name") or "") if isinstance(a, dict) else ""
