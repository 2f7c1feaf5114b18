"""The connection side of staff accounts: logging in under the login limits, the manager's
account commands, and ending the live connections of a session the moment it ends.

A session can end here (a manager's command, a password change) or in another process
(`roomrack-server disable-staff` writes the same store): the first closes the connections at
once; the second is found by `check_sessions`, which the server's clock runs every
`session_check` seconds. Either way each connection of that session gets a `session.ended`
frame with the code and the words, then a close with code 4003 (reason: the code).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from server.commands.entry import EDGE, Entry
from server.journal import StaffInfo
from server.passwords import verify_password
from server.security_log import Actor, LoginFacts
from shared import protocol
from shared.accounts import CLOSE_SESSION_ENDED, EndReason, end_words
from shared.errors import ErrorCode, ProtocolError
from shared.timeutil import to_iso

if TYPE_CHECKING:
    from server.app import RoomrackServer
    from server.hub import Client

log = logging.getLogger("roomrack.server")


Handler = Callable[["Client", Any], Awaitable[dict[str, Any] | None]]


def address_of(peer: str) -> str:
    """The address part of 'host:port' (IPv6 hosts keep their colons)."""
    return peer.rsplit(":", 1)[0]


class StaffCommands:
    def __init__(self, server: RoomrackServer) -> None:
        self.server = server

    @property
    def accounts(self) -> Any:
        return self.server.accounts

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self.server.store.call(fn, *args)

    def handlers(self) -> dict[type[protocol.Command], Handler]:
        table: dict[type[protocol.Command], Callable[[StaffInfo, Client, Any], Awaitable[Any]]]
        table = {
            protocol.ChangePassword: self._change_password,
            protocol.StaffAccounts: self._accounts,
            protocol.StaffSessions: self._sessions,
            protocol.StaffCreate: self._create,
            protocol.StaffDisable: self._disable,
            protocol.StaffEnable: self._enable,
            protocol.StaffResetPassword: self._reset_password,
            protocol.StaffUnlock: self._unlock,
            protocol.StaffEndSessions: self._end_sessions,
            protocol.SessionEnd: self._end_session,
            protocol.StaffAudit: self._audit,
        }
        return {cls: self._guarded(fn) for cls, fn in table.items()}

    def _guarded(
        self, fn: Callable[[StaffInfo, Client, Any], Awaitable[dict[str, Any]]]
    ) -> Handler:
        """The handler of a logged-in person's account command. Who may send it is checked
        before, with every command's (`shared.access.COMMAND_ROLES`, deny by default)."""

        async def handler(client: Client, cmd: Any) -> dict[str, Any]:
            staff = client.staff
            assert staff is not None
            return protocol.ack(cmd.request_id, await fn(staff, client, cmd))

        return handler

    # --- logging in ----------------------------------------------------------------------

    async def login(self, client: Client, cmd: protocol.Login, address: str) -> dict[str, Any]:
        """A password login that the limits let through (`server.guard`)."""
        server, guard = self.server, self.server.guard
        facts: LoginFacts = await self._call(self.accounts.login_facts, cmd.login, address)
        if facts.locked_until is not None and not facts.known_address:
            # no password check at all: a guess here tells nothing, and costs no scrypt
            guard.failed(cmd.login, address)
            await self._failed(cmd, facts, address, "account locked", lock=False)
            raise ProtocolError(
                ErrorCode.ACCOUNT_LOCKED,
                "This account is locked after failed logins from several places, until "
                f"{to_iso(facts.locked_until)} or until a manager unlocks it.",
                {"locked_until": to_iso(facts.locked_until)},
            )
        async with server._scrypt:  # a flood of logins cannot take every core
            ok = await asyncio.to_thread(verify_password, cmd.password, facts.password_hash)
        if facts.staff_id is None or not ok:
            lock = guard.failed(cmd.login, address) and facts.locked_until is None
            why = "unknown login" if facts.staff_id is None else "wrong password"
            await self._failed(cmd, facts, address, why, lock=lock)
            log.warning("failed login for %r from %s", cmd.login[:60], client.peer)
            raise ProtocolError(ErrorCode.AUTH_FAILED)
        if not facts.enabled:
            await self._failed(cmd, facts, address, "account disabled", lock=False)
            raise ProtocolError(ErrorCode.ACCOUNT_DISABLED)
        staff, token, expires, session_id = await self._call(
            self.accounts.open_session,
            facts.staff_id,
            cmd.workstation,
            timedelta(days=server.config.token_ttl_days),
            address,
        )
        server._bind(client, staff, token, session_id)
        log.info("%s logged in (%s)", client.label(), staff.role.value)
        result = server._session_result(staff, token, to_iso(expires))
        return protocol.ack(cmd.request_id, result)

    async def _failed(
        self, cmd: protocol.Login, facts: LoginFacts, address: str, why: str, lock: bool
    ) -> None:
        minutes = self.server.config.lockout_minutes
        until = await self._call(
            self.accounts.login_failed,
            cmd.login,
            facts,
            address,
            cmd.workstation,
            why,
            timedelta(minutes=minutes) if lock else None,
        )
        if until is not None:
            log.warning(
                "account %r locked until %s: failed logins from several addresses",
                cmd.login[:60],
                to_iso(until),
            )

    # --- ending sessions -----------------------------------------------------------------

    def end_connections(self, ended: dict[int, tuple[str, str, str]]) -> int:
        """Close every live connection whose session is in `ended` (session id -> (code,
        reason, words)) at once: a `session.ended` frame, then close code 4003. Returns how
        many were closed."""
        server, closed = self.server, 0
        for client in list(server.hub.clients):
            sid = client.session_id
            if sid is None or sid not in ended:
                continue
            code, reason, words = ended[sid]
            frame = {"type": "session.ended", "code": code, "reason": reason, "message": words}
            server.hub.send(client, protocol.dumps(frame).encode())
            staff = client.staff
            client.staff = client.token = client.session_id = None
            server._end_stream(client)
            if staff is not None:
                server._announce(staff.hotel_slug)
                log.info(
                    "ending %s of %s from %s: %s",
                    staff.login,
                    staff.hotel_slug,
                    client.peer,
                    reason,
                )
            server._spawn(_close(client, code))
            closed += 1
        return closed

    async def check_sessions(self) -> int:
        """Compare the live connections' sessions with the store (ended, expired, account
        disabled, perhaps by the command line) and close those that no longer hold."""
        ids = {c.session_id for c in self.server.hub.clients if c.session_id is not None}
        if not ids:
            return 0
        try:
            ended = await self._call(self.accounts.check_live, ids)
        except Exception:
            log.exception("checking the live sessions failed")
            return 0
        return self.end_connections(ended) if ended else 0

    def _ended(self, ids: list[int], code: ErrorCode, reason: str) -> int:
        if ids:
            self.server.tell_cluster("sessions")  # their desks may be on another server
        _, words = end_words(reason)
        return self.end_connections({i: (code.value, reason, words) for i in ids})

    # --- the commands --------------------------------------------------------------------

    async def _change_password(
        self, staff: StaffInfo, client: Client, cmd: protocol.ChangePassword
    ) -> dict[str, Any]:
        address = address_of(client.peer)
        if not self.server.guard.allowed(staff.login, address):
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, "Too many wrong passwords; wait a little and try again."
            )
        async with self.server._scrypt:
            try:
                ended = await self._call(
                    self.accounts.change_password,
                    staff,
                    client.session_id,
                    cmd.old_password,
                    cmd.new_password,
                )
            except ProtocolError as exc:
                if exc.code is ErrorCode.AUTH_FAILED:
                    self.server.guard.failed(staff.login, address)
                raise
        closed = self._ended(ended, ErrorCode.SESSION_REVOKED, "password_changed")
        return {"sessions_ended": len(ended), "connections_closed": closed}

    async def _accounts(self, staff: StaffInfo, client: Client, cmd: Any) -> dict[str, Any]:
        found = await self._call(self.accounts.accounts, staff.hotel_id)
        online: dict[int, int] = {}
        for c in self.server.hub.clients:
            if c.staff is not None and c.staff.hotel_id == staff.hotel_id:
                online[c.staff.staff_id] = online.get(c.staff.staff_id, 0) + 1
        for entry in found:
            entry["online"] = online.get(entry["id"], 0)
        return {"staff": found}

    async def _sessions(
        self, staff: StaffInfo, client: Client, cmd: protocol.StaffSessions
    ) -> dict[str, Any]:
        found = await self._call(self.accounts.sessions, staff.hotel_id, cmd.staff_id)
        live: dict[int, int] = {}
        for c in self.server.hub.clients:
            if c.session_id is not None:
                live[c.session_id] = live.get(c.session_id, 0) + 1
        for entry in found:
            entry["connections"] = live.get(entry["id"], 0)
            entry["current"] = entry["id"] == client.session_id
        return {"sessions": found}

    async def _create(
        self, staff: StaffInfo, client: Client, cmd: protocol.StaffCreate
    ) -> dict[str, Any]:
        async with self.server._scrypt:
            account = await self._call(
                self.accounts.create,
                staff.hotel_id,
                cmd.login,
                cmd.name,
                cmd.role,
                cmd.password,
                Actor.of(staff),
            )
        return {"staff": account}

    async def _disable(
        self, staff: StaffInfo, client: Client, cmd: protocol.StaffDisable
    ) -> dict[str, Any]:
        if cmd.staff_id == staff.staff_id:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "You cannot disable your own account.")
        account, ended = await self._call(
            self.accounts.set_enabled, staff.hotel_id, cmd.staff_id, False, Actor.of(staff)
        )
        closed = self._ended(ended, ErrorCode.ACCOUNT_DISABLED, "disabled")
        return {"staff": account, "sessions_ended": len(ended), "connections_closed": closed}

    async def _enable(
        self, staff: StaffInfo, client: Client, cmd: protocol.StaffEnable
    ) -> dict[str, Any]:
        account, _ = await self._call(
            self.accounts.set_enabled, staff.hotel_id, cmd.staff_id, True, Actor.of(staff)
        )
        return {"staff": account}

    async def _reset_password(
        self, staff: StaffInfo, client: Client, cmd: protocol.StaffResetPassword
    ) -> dict[str, Any]:
        if cmd.staff_id == staff.staff_id:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST,
                "To change your own password, use Change password (your current one is asked).",
            )
        async with self.server._scrypt:
            account, ended = await self._call(
                self.accounts.reset_password,
                staff.hotel_id,
                cmd.staff_id,
                cmd.password,
                Actor.of(staff),
            )
        closed = self._ended(ended, ErrorCode.SESSION_REVOKED, "password_reset")
        return {"staff": account, "sessions_ended": len(ended), "connections_closed": closed}

    async def _unlock(
        self, staff: StaffInfo, client: Client, cmd: protocol.StaffUnlock
    ) -> dict[str, Any]:
        account = await self._call(
            self.accounts.unlock, staff.hotel_id, cmd.staff_id, Actor.of(staff)
        )
        self.server.guard.forget(str(account["login"]))
        return {"staff": account}

    async def _end_sessions(
        self, staff: StaffInfo, client: Client, cmd: protocol.StaffEndSessions
    ) -> dict[str, Any]:
        # one's own: every other session ends, this one stays
        keep = client.session_id if cmd.staff_id == staff.staff_id else None
        await self._call(self.accounts.account_of, staff.hotel_id, cmd.staff_id)
        ended = await self._call(
            self.accounts.end_sessions_of, cmd.staff_id, EndReason.REVOKED, Actor.of(staff), keep
        )
        closed = self._ended(ended, ErrorCode.SESSION_REVOKED, "revoked")
        return {"sessions_ended": len(ended), "connections_closed": closed}

    async def _end_session(
        self, staff: StaffInfo, client: Client, cmd: protocol.SessionEnd
    ) -> dict[str, Any]:
        if cmd.session_id == client.session_id:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "This is your own session: log out.")
        ended = await self._call(
            self.accounts.end_session, staff.hotel_id, cmd.session_id, Actor.of(staff)
        )
        closed = self._ended(ended, ErrorCode.SESSION_REVOKED, "revoked")
        return {"sessions_ended": len(ended), "connections_closed": closed}

    async def _audit(
        self, staff: StaffInfo, client: Client, cmd: protocol.StaffAudit
    ) -> dict[str, Any]:
        if not 1 <= cmd.limit <= 1000:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "'limit' is 1 to 1000.")
        return {"entries": await self._call(self.accounts.audit_entries, staff.hotel_id, cmd.limit)}


async def _close(client: Client, code: str) -> None:
    with contextlib.suppress(Exception):
        await client.ws.close(CLOSE_SESSION_ENDED, code)


# who may send each: shared/access.py; the handlers need the server (they end other desks'
# sessions), so the transport takes them from StaffCommands.handlers()
COMMANDS = tuple(
    Entry(cls, EDGE)
    for cls in (
        protocol.ChangePassword,
        protocol.StaffAccounts,
        protocol.StaffSessions,
        protocol.StaffCreate,
        protocol.StaffDisable,
        protocol.StaffEnable,
        protocol.StaffResetPassword,
        protocol.StaffUnlock,
        protocol.StaffEndSessions,
        protocol.SessionEnd,
        protocol.StaffAudit,
    )
)
