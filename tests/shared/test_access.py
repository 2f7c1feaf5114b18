"""Who may send what: one table, deny by default."""

from __future__ import annotations

from shared import access
from shared.rules import Role


def test_a_role_inside_a_commands_row_may_send_it() -> None:
    assert access.refusal("staff.disable", Role.MANAGER) is None
    assert access.refusal("auth.change_password", Role.HOUSEKEEPING) is None


def test_a_role_outside_the_row_is_told_who_may() -> None:
    assert access.refusal("staff.disable", Role.FRONT_DESK) == "staff.disable is for: manager."
    assert access.refusal("room.create", Role.SUPERVISOR) == "room.create is for: manager."


def test_a_command_without_a_row_is_sent_by_nobody() -> None:
    for role in Role:
        assert access.refusal("staff.promote", role) == "staff.promote is not open to any role."
