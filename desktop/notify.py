"""What deserves a toast, for whom. Pure: an event (and the room as it was) in, toasts out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.rules import RoomStatus

MAINT_ROLES = {"maintenance", "supervisor", "manager"}
DESK_ROLES = {"front_desk", "manager"}
HK_ROLES = {"housekeeping", "supervisor", "manager"}
INSPECT_ROLES = {"supervisor", "manager"}


@dataclass(frozen=True)
class Note:
    kind: str  # success, error, info, warning
    title: str
    text: str = ""
    important: bool = False  # may play the sound


def notes_for_event(
    msg: dict[str, Any], role: str, before: dict[str, Any] | None = None
) -> list[Note]:
    kind = msg.get("type")
    p = msg.get("payload") or {}
    number = p.get("room_number", "?")
    out: list[Note] = []
    if kind == "room_updated":
        changed = set(p.get("changed_fields") or [])
        status = p.get("room_status")
        if (
            role in MAINT_ROLES
            and p.get("maintenance_required")
            and changed & {"maintenance_required", "maintenance_priority"}
        ):
            prio = p.get("maintenance_priority") or "MEDIUM"
            notes = p.get("maintenance_notes") or "no notes"
            verb = "updated" if "maintenance_required" not in changed else "flagged"
            out.append(
                Note(
                    "warning",
                    f"Maintenance {verb}: room {number}",
                    f"{prio.title()} priority — {notes}",
                    important=prio in ("HIGH", "URGENT"),
                )
            )
        if "room_status" in changed:
            if (
                status == RoomStatus.READY_FOR_GUEST
                and role in DESK_ROLES
                and "rush" not in changed
            ):
                out.append(Note("success", f"Room {number} is ready for a guest", important=True))
            elif status == RoomStatus.CLEANED_UNINSPECTED and role in INSPECT_ROLES:
                out.append(Note("info", f"Room {number} is cleaned", "Ready to inspect."))
            elif (
                status in (RoomStatus.CHECKOUT_DIRTY, RoomStatus.OCCUPIED_DIRTY)
                and "is_occupied" in changed
                and role in HK_ROLES
            ):
                out.append(Note("info", f"Room {number} checked out", "It needs cleaning."))
        rush = p.get("rush")
        if "rush" in changed and isinstance(rush, dict) and role in HK_ROLES:
            note = f" — {rush['note']}" if rush.get("note") else ""
            out.append(
                Note(
                    "warning",
                    f"Rush: room {number} is wanted for a waiting guest",
                    f"Asked by {who_asked(rush)}{note}",
                    important=True,
                )
            )
        if "is_out_of_order" in changed and p.get("is_out_of_order") and role in DESK_ROLES:
            reason = p.get("out_of_order_reason") or ""
            out.append(Note("warning", f"Room {number} is out of order", reason))
    elif kind == "reservation.cancelled":
        res = p.get("reservation") or {}
        out.append(
            Note(
                "info",
                f"Reservation cancelled: room {number} is free",
                f"{res.get('guest_name') or 'A guest'} cancelled.",
                important=role in DESK_ROLES,
            )
        )
    elif kind == "reservation.created" and role in DESK_ROLES:
        res = p.get("reservation") or {}
        out.append(
            Note("info", f"New reservation: room {number}", str(res.get("guest_name") or ""))
        )
    elif kind == "room.rush_ready" and role in DESK_ROLES:
        waited = p.get("waited_minutes")
        out.append(
            Note(
                "success",
                f"Rushed room {number} is ready",
                f"Waited {waited} min." if isinstance(waited, int) else "",
                important=True,
            )
        )
    elif kind == "room.update":
        out.extend(ending_soon_notes(p, before, role))
    return out


def ending_soon_notes(
    entry: dict[str, Any], before: dict[str, Any] | None, role: str
) -> list[Note]:
    """A room that has just started ending soon (from an event or a heartbeat)."""
    if role not in DESK_ROLES and role != "supervisor":
        return []
    if entry.get("occupancy_status") != "ending_soon":
        return []
    if before is not None and before.get("occupancy_status") == "ending_soon":
        return []
    number = entry.get("room_number", "?")
    minutes = entry.get("time_until_free")
    when = entry.get("next_available") or ""
    text = f"Free in {minutes} min" if isinstance(minutes, int) else "Free soon"
    if when:
        text += f" (at {when})"
    return [Note("warning", f"Room {number} is ending soon", text)]


def who_asked(rush: dict[str, Any]) -> str:
    by = rush.get("requested_by")
    if isinstance(by, dict):
        by = by.get("name")
    return str(by or "the front desk")
