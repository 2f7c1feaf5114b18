"""Who may send each command: one row per command type of `shared.protocol.COMMANDS`.

The server refuses a command from a role outside its row with `forbidden` before it looks at
anything in the store (the room, the version, the rules), so that a role learns nothing from
a command it may not send. Where the roles depend on what the command names (the action of
`room.action`, the kind of a discrepancy), the row is every role that may send it for
something, and the finer check follows (still before the store is read where it can be).
The `who` columns of docs/protocol.md are these rows; the walk in tests/server/protocol_walk/
checks the document, this table and the server against each other, and fails for a command
without a row (which nobody may send: deny by default). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared import discrepancies
from shared.rules import (
    ALL_ROLES,
    ASSIGN_ROLES,
    BLOCK_ROLES,
    HK,
    RESERVATION_ROLES,
    ROOM_ACTIONS,
    ROOM_ADMIN_ROLES,
    RUSH_CANCEL_ROLES,
    RUSH_ROLES,
    STAFF_ADMIN_ROLES,
    Role,
)

EVERYONE = ALL_ROLES
MANAGER = frozenset({Role.MANAGER})


def _union(groups: Iterable[Iterable[Role]]) -> frozenset[Role]:
    return frozenset(r for g in groups for r in g)


# command type -> the roles that may send it (before logging in only auth.login, auth.token
# and ping are accepted, whatever the row says)
COMMAND_ROLES: dict[str, frozenset[Role]] = {
    "auth.login": EVERYONE,
    "auth.token": EVERYONE,
    "auth.logout": EVERYONE,
    "ping": EVERYONE,
    "pair.prove": EVERYONE,
    "subscribe": EVERYONE,
    "unsubscribe": EVERYONE,
    "presence.viewing": EVERYONE,
    "room.action": _union(rule.roles for rule in ROOM_ACTIONS.values()),
    "rooms.batch": _union(rule.roles for rule in ROOM_ACTIONS.values()),
    "room.rush": RUSH_ROLES,
    "room.rush_cancel": RUSH_CANCEL_ROLES,
    "rooms.assign": ASSIGN_ROLES,
    "rooms.assign_split": ASSIGN_ROLES,
    "staff.list": EVERYONE,
    "block.create": BLOCK_ROLES,
    "block.end": BLOCK_ROLES,
    "blocks.list": EVERYONE,
    "room.observe": HK,
    "discrepancy.resolve": _union(discrepancies.CONCERNED.values()),
    "discrepancies.list": EVERYONE,
    "room.check_in": RESERVATION_ROLES,
    "room.check_out": RESERVATION_ROLES,
    "reservation.create": RESERVATION_ROLES,
    "reservation.confirm": RESERVATION_ROLES,
    "reservation.cancel": RESERVATION_ROLES,
    "reservation.check_in": RESERVATION_ROLES,
    "reservation.check_out": RESERVATION_ROLES,
    "reservation.delete": RESERVATION_ROLES,
    "room.history": EVERYONE,
    "rooms.status": EVERYONE,
    "reservations.list": EVERYONE,
    "board.at": EVERYONE,
    "journal.range": EVERYONE,
    "hotel.configure": MANAGER,
    # rooms and room types (server/commands/rooms.py)
    "room_type.create": ROOM_ADMIN_ROLES,
    "room_type.update": ROOM_ADMIN_ROLES,
    "room_type.retire": ROOM_ADMIN_ROLES,
    "room_types.list": ROOM_ADMIN_ROLES,
    "room.create": ROOM_ADMIN_ROLES,
    "room.update": ROOM_ADMIN_ROLES,
    "room.retire": ROOM_ADMIN_ROLES,
    # staff accounts (server/commands/staff.py): everyone changes their own password; a
    # manager manages the accounts of the hotel
    "auth.change_password": EVERYONE,
    "staff.accounts": STAFF_ADMIN_ROLES,
    "staff.sessions": STAFF_ADMIN_ROLES,
    "staff.create": STAFF_ADMIN_ROLES,
    "staff.disable": STAFF_ADMIN_ROLES,
    "staff.enable": STAFF_ADMIN_ROLES,
    "staff.reset_password": STAFF_ADMIN_ROLES,
    "staff.unlock": STAFF_ADMIN_ROLES,
    "staff.end_sessions": STAFF_ADMIN_ROLES,
    "session.end": STAFF_ADMIN_ROLES,
    "staff.audit": STAFF_ADMIN_ROLES,
}


def role_words(roles: Iterable[Role]) -> str:
    """ "front desk, manager": the roles as a person reads them, in a stable order."""
    if frozenset(roles) == EVERYONE:
        return "everyone"
    return ", ".join(r.value.replace("_", " ") for r in Role if r in frozenset(roles))


def refusal(kind: str, role: Role | str) -> str | None:
    """None if `role` may send a `kind` command; else the words of the `forbidden` reply.
    Deny by default: a command without a row is sent by nobody."""
    roles = COMMAND_ROLES.get(kind, frozenset())
    if role in roles:
        return None
    if not roles:
        return f"{kind} is not open to any role."
    return f"{kind} is for: {role_words(roles)}."
