"""The security log: who logged in, failed, was locked out or unlocked, and every account
change and session end, with who did it and from where (the manager's Staff tab and
`roomrack-server audit` read it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server import db as m
from server.journal import StaffInfo
from shared.timeutil import to_iso

CLI = "command line"


@dataclass(frozen=True)
class Actor:
    """Who makes an account change: a manager on a desk, or the server's command line."""

    name: str
    role: str | None = None
    source: str = CLI
    workstation: str | None = None

    @classmethod
    def of(cls, staff: StaffInfo) -> Actor:
        return cls(staff.name, staff.role.value, "manager", staff.workstation)


CLI_ACTOR = Actor(CLI)


@dataclass(frozen=True)
class LoginFacts:
    """What a login attempt needs to know about the login name, before its password."""

    staff_id: int | None
    password_hash: str
    hotel_id: int | None
    enabled: bool
    locked_until: datetime | None
    known_address: bool  # this account logged in from this address lately


def audit(
    kind: str,
    now: datetime,
    detail: str,
    *,
    hotel_id: int | None,
    staff: m.Staff | None = None,
    login: str | None = None,
    actor: Actor | None = None,
    address: str | None = None,
    workstation: str | None = None,
) -> None:
    """Write one entry of the security log."""
    m.AuditEntry.create(
        hotel=hotel_id,
        ts=now,
        kind=kind,
        staff_id=None if staff is None else staff.id,
        login=_subject_login(staff, login),
        actor=None if actor is None else actor.name,
        actor_role=None if actor is None else actor.role,
        source="login" if actor is None else actor.source,
        workstation=workstation if actor is None else actor.workstation,
        address=address,
        detail=detail[:500],
    )


def _subject_login(staff: m.Staff | None, login: str | None) -> str | None:
    name = login if staff is None else str(staff.login)
    return None if name is None else name[:100]


def entry_dict(e: m.AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "ts": to_iso(e.ts),
        "kind": e.kind,
        "staff_id": e.staff_id,
        "login": e.login,
        "actor": e.actor,
        "actor_role": e.actor_role,
        "source": e.source,
        "workstation": e.workstation,
        "address": e.address,
        "detail": e.detail,
    }
