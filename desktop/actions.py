"""Which controls a person gets for the selected rooms: the shared rules, nothing else.

Room actions come straight from `shared.rules`; check-in and check-out add what the front
desk needs to know (an arrival due today, a guest in house) from the reservations list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from shared.rules import (
    DESK,
    HK,
    ROOM_ACTIONS,
    RUSH_CANCEL_ROLES,
    RUSH_ROLES,
    Role,
    RoomView,
    check_in_allowed,
    check_room_action,
    check_rush,
    check_rush_cancel,
)


@dataclass(frozen=True)
class Control:
    action: str
    label: str
    shortcut: str | None = None
    needs_args: bool = False
    confirm: bool = False  # hard to undo: ask first
    tip: str = ""  # what the button does, when the rules table has no label for it


CONTROLS: list[Control] = [
    Control("start_cleaning", "Start cleaning", "S"),
    Control("finish_cleaning", "Finish cleaning", "F"),
    Control("inspect", "Inspect & release", "I"),
    Control("fail_inspection", "Send back", "B"),
    Control("mark_dirty", "Mark dirty", "D"),
    Control("flag_maintenance", "Flag maintenance…", "M", needs_args=True),
    Control("report_maintenance", "Report problem…", "Shift+M", needs_args=True),
    Control("update_maintenance", "Update repair…", "U", needs_args=True),
    Control("clear_maintenance", "Repair done", "C"),
    Control("set_out_of_order", "Set out of order…", None, needs_args=True, confirm=True),
    Control("clear_out_of_order", "Clear out of order…", None, needs_args=True),
    Control("set_dnd", "DND on", None),
    Control("clear_dnd", "DND off", None),
    Control(
        "observe_occupied",
        "Saw: occupied",
        None,
        tip="Report what you saw: a guest (or their things) in the room",
    ),
    Control(
        "observe_vacant",
        "Saw: vacant",
        None,
        tip="Report what you saw: nobody staying in the room",
    ),
    Control("rush", "Rush for arrival", "R"),
    Control("rush_cancel", "Cancel rush", None),
    Control("check_in", "Check in", "Ctrl+I"),
    Control("check_out", "Check out", "Ctrl+O", confirm=True),
]
CONTROL_BY_ACTION = {c.action: c for c in CONTROLS}
DESK_ACTIONS = ("check_in", "check_out")
# housekeeping reports what it saw (room.observe); a mismatch with the desk is a discrepancy
OBSERVE = {"observe_occupied": "occupied", "observe_vacant": "vacant"}
SINGLE_ROOM = ("check_in", "check_out", "rush", "rush_cancel", *OBSERVE)
RUSH_LABELS = {"rush": "Rush for arrival", "rush_cancel": "Cancel rush"}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""


def role_may_ever(action: str, role: str) -> bool:
    """Does this role have the action at all? (If not, the window does not offer it.)"""
    try:
        r = Role(role)
    except ValueError:
        return False
    if action in DESK_ACTIONS:
        return r in DESK
    if action == "rush":
        return r in RUSH_ROLES
    if action == "rush_cancel":
        return r in RUSH_CANCEL_ROLES
    if action in OBSERVE:
        return r in HK
    rule = ROOM_ACTIONS.get(action)
    return rule is not None and r in rule.roles


def decide(
    action: str,
    role: str,
    rooms: Sequence[dict[str, Any]],
    has_arrival: Callable[[str], bool] = lambda n: True,
    has_guest: Callable[[str], bool] = lambda n: True,
) -> Verdict:
    """May `role` apply `action` to all of `rooms` now? With the reason when not."""
    if not rooms:
        return Verdict(False, "Select a room first.")
    if not role_may_ever(action, role):
        return Verdict(False, "Your role does not do this.")
    if action in SINGLE_ROOM and len(rooms) > 1:
        return Verdict(False, "This is done one room at a time.")
    for room in rooms:
        number = room.get("room_number", "?")
        prefix = f"Room {number}: " if len(rooms) > 1 else ""
        view = RoomView.from_payload(room)
        if action == "check_in":
            d = check_in_allowed(view)
            if not d:
                return Verdict(False, prefix + d.reason)
            if not has_arrival(number):
                return Verdict(False, prefix + "No arrival is due in this room today.")
            continue
        if action == "check_out":
            if not (view.is_occupied or has_guest(number)):
                return Verdict(False, prefix + "No guest is checked in to this room.")
            continue
        if action in OBSERVE:
            continue  # what was seen can be reported in any state
        if action in ("rush", "rush_cancel"):
            d = (check_rush if action == "rush" else check_rush_cancel)(role, view)
            if not d:
                return Verdict(False, prefix + d.reason)
            continue
        d = check_room_action(action, role, view)
        if not d:
            return Verdict(False, prefix + d.reason)
    return Verdict(True)


def allowed_actions(
    role: str,
    rooms: Sequence[dict[str, Any]],
    has_arrival: Callable[[str], bool] = lambda n: True,
    has_guest: Callable[[str], bool] = lambda n: True,
) -> set[str]:
    return {
        c.action for c in CONTROLS if decide(c.action, role, rooms, has_arrival, has_guest).allowed
    }
