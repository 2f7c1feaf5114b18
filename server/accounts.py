"""Staff accounts and their sessions in the store: who may log in, which sessions are open,
and the security log. Synchronous; call on the store's thread (the server) or directly (the
command line, which writes the same SQLite file while a server may run: the server notices
ended sessions on its next session check).

A session row outlives its token's use: ending it sets `ended_at` and `end_reason`, so a
desk that comes back with that token is told why (`session_revoked`, `account_disabled`,
`session_expired`) instead of "unknown token". Rows go `KEEP_ENDED` after they expire.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from server import db as m
from server.journal import StaffInfo, _hash_token
from server.passwords import DUMMY_HASH, hash_password, verify_password
from server.security_log import Actor, LoginFacts, audit, entry_dict
from shared.accounts import EndReason, end_words, password_problem
from shared.errors import ErrorCode, ProtocolError
from shared.rules import Role
from shared.timeutil import to_iso

KEEP_ENDED = timedelta(days=7)  # an ended or expired session is remembered this long
KNOWN_FOR = timedelta(days=30)  # an address this account logged in from is "known" this long
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at of a live session is refreshed this often


def check_new_password(password: str, staff_login: str, name: str) -> None:
    problem = password_problem(password, staff_login, name)
    if problem is not None:
        raise ProtocolError(ErrorCode.WEAK_PASSWORD, problem, {"rule": problem})


def _staff(hotel_id: int | None, staff_id: int) -> m.Staff:
    s = m.Staff.get_or_none(m.Staff.id == staff_id)
    if s is None or (hotel_id is not None and s.hotel_id != hotel_id):
        raise ProtocolError(ErrorCode.UNKNOWN_STAFF, f"There is no staff member {staff_id} here.")
    return s


def staff_by_login(login: str) -> m.Staff:
    """For the command line: the account with this login, or a clear refusal."""
    s = m.Staff.get_or_none(m.Staff.login == login)
    if s is None:
        raise ProtocolError(ErrorCode.UNKNOWN_STAFF, f"There is no account '{login}'.")
    return s


def _never_seen() -> Any:
    return m.Session.last_seen_at.is_null()


def _open_sessions(now: datetime) -> Any:
    return (m.Session.ended_at.is_null()) & (m.Session.expires_at > now)


class Accounts:
    """The account services. `idle` is the idle time after which a session expires (None:
    never)."""

    def __init__(self, now: Any, idle: timedelta | None = None) -> None:
        self._now = now  # a callable giving the current UTC time
        self.idle = idle

    def now(self) -> datetime:
        result: datetime = self._now()
        return result

    # --- logging in ------------------------------------------------------------------------

    def login_facts(self, login: str, address: str) -> LoginFacts:
        s = m.Staff.get_or_none(m.Staff.login == login)
        if s is None:
            return LoginFacts(None, DUMMY_HASH, None, False, None, False)
        now = self.now()
        known = (
            m.Session.select(m.Session.id)
            .where(
                (m.Session.staff == s.id)
                & (m.Session.address == address)
                & (m.Session.created_at > now - KNOWN_FOR)
            )
            .exists()
        )
        locked = s.locked_until if s.locked_until is not None and s.locked_until > now else None
        return LoginFacts(s.id, s.password_hash, s.hotel_id, bool(s.active), locked, known)

    def login_failed(
        self,
        login: str,
        facts: LoginFacts,
        address: str,
        workstation: str | None,
        why: str,
        lock_for: timedelta | None = None,
    ) -> datetime | None:
        """Log a failed login; lock the account for `lock_for` if given. Returns the end of
        the lock it set."""
        now = self.now()
        staff = None if facts.staff_id is None else m.Staff.get_by_id(facts.staff_id)
        with m.db.atomic():
            audit(
                "staff.login_failed",
                now,
                f"login '{login[:60]}' from {address}: {why}",
                hotel_id=facts.hotel_id,
                staff=staff,
                login=login,
                address=address,
                workstation=workstation,
            )
            if staff is None or lock_for is None:
                return None
            until = now + lock_for
            staff.locked_until = until
            staff.save(only=[m.Staff.locked_until])
            audit(
                "staff.locked",
                now,
                f"locked for {round(lock_for.total_seconds() / 60)} min after failed logins "
                "from several addresses",
                hotel_id=staff.hotel_id,
                staff=staff,
                actor=Actor("system", None, "system"),
                address=address,
            )
            return until

    def open_session(
        self, staff_id: int, workstation: str | None, ttl: timedelta, address: str
    ) -> tuple[StaffInfo, str, datetime, int]:
        """A new session for a login that passed: (who, token, expires, session id)."""
        token = secrets.token_urlsafe(32)
        now = self.now()
        expires = now + ttl
        with m.db.atomic():
            sess = m.Session.create(
                token_hash=_hash_token(token),
                staff=staff_id,
                workstation=workstation,
                created_at=now,
                expires_at=expires,
                address=address,
                last_seen_at=now,
            )
            m.Session.delete().where(m.Session.expires_at < now - KEEP_ENDED).execute()
            s = m.Staff.get_by_id(staff_id)
            s.last_login_at = now
            s.save(only=[m.Staff.last_login_at])
            audit(
                "staff.login",
                now,
                f"logged in from {address}" + (f" ({workstation})" if workstation else ""),
                hotel_id=s.hotel_id,
                staff=s,
                address=address,
                workstation=workstation,
            )
        return self.info(s, workstation), token, expires, sess.id

    @staticmethod
    def info(s: m.Staff, workstation: str | None) -> StaffInfo:
        h = m.Hotel.get_by_id(s.hotel_id)
        return StaffInfo(
            s.id, h.id, h.slug, h.name, h.timezone, s.login, s.name, Role(s.role), workstation
        )

    def resume(self, token: str, workstation: str | None) -> tuple[StaffInfo, int]:
        """The staff member of a kept token, or a refusal saying why it no longer works."""
        sess = m.Session.get_or_none(m.Session.token_hash == _hash_token(token))
        if sess is None:
            raise ProtocolError(ErrorCode.TOKEN_INVALID)
        self._check_open(sess)
        s = m.Staff.get_by_id(sess.staff_id)
        sess.last_seen_at = self.now()
        if workstation:
            sess.workstation = workstation
        sess.save(only=[m.Session.last_seen_at, m.Session.workstation])
        return self.info(s, workstation or sess.workstation), sess.id

    def _check_open(self, sess: m.Session) -> None:
        """Refuse an ended, expired or idle session (ending it as expired on the way)."""
        now = self.now()
        if sess.ended_at is None:
            seen = sess.last_seen_at or now  # (a session from before the idle time was kept)
            if sess.expires_at <= now or (self.idle is not None and seen + self.idle <= now):
                self._end([sess], EndReason.EXPIRED, Actor("system", None, "system"))
                sess.end_reason = EndReason.EXPIRED.value
            else:
                s = m.Staff.get_or_none(m.Staff.id == sess.staff_id)
                if s is not None and s.active:
                    return
                sess.end_reason = EndReason.DISABLED.value
        code, words = end_words(sess.end_reason or "")
        raise ProtocolError(code, words, {"reason": sess.end_reason})

    def logout(self, session_id: int | None) -> None:
        """The person logged out of this session."""
        if session_id is None:
            return
        sess = m.Session.get_or_none(m.Session.id == session_id)
        if sess is None:
            return
        s = m.Staff.get_or_none(m.Staff.id == sess.staff_id)
        with m.db.atomic():
            # the token is forgotten (it is `token_invalid` from now on); the row stays a
            # while, so the address it came from is still known to this account (lockout)
            sess.token_hash = "logged-out:" + secrets.token_hex(16)
            sess.ended_at, sess.end_reason = self.now(), EndReason.LOGGED_OUT.value
            sess.save(only=[m.Session.token_hash, m.Session.ended_at, m.Session.end_reason])
            if s is not None:
                audit(
                    "staff.session_ended",
                    self.now(),
                    f"session {sess.id} ({sess.workstation or 'no workstation'}): logged out",
                    hotel_id=s.hotel_id,
                    staff=s,
                    workstation=sess.workstation,
                    address=sess.address,
                )

    def check_live(self, session_ids: Iterable[int]) -> dict[int, tuple[str, str, str]]:
        """The session check of a running server: the sessions among `session_ids` that no
        longer hold (ended, expired, account disabled), each with (code, reason, words); the
        others are marked as used now (their idle time starts again)."""
        ids = list(set(session_ids))
        if not ids:
            return {}
        now = self.now()
        over: dict[int, tuple[str, str, str]] = {}
        rows = list(m.Session.select().where(m.Session.id.in_(ids)))  # type: ignore[attr-defined]
        found = {s.id for s in rows}
        for sid in ids:
            if sid not in found:  # logged out (the row is gone)
                code, words = end_words(EndReason.LOGGED_OUT)
                over[sid] = (code.value, EndReason.LOGGED_OUT.value, words)
        staff_ids = list({sess.staff_id for sess in rows})
        enabled = {
            st.id
            for st in m.Staff.select(m.Staff.id).where(
                m.Staff.id.in_(staff_ids) & (m.Staff.active == True)  # type: ignore[attr-defined]  # noqa: E712
            )
        }
        fresh = []
        for sess in rows:
            if sess.ended_at is None and sess.expires_at > now:
                if sess.staff_id in enabled:
                    fresh.append(sess.id)
                    continue
                # disabled while the session was open (not through `set_enabled`)
                self._end([sess], EndReason.DISABLED, Actor("system", None, "system"))
                sess.end_reason = EndReason.DISABLED.value
            try:
                self._check_open(sess)
            except ProtocolError as exc:
                over[sess.id] = (exc.code.value, str(exc.details.get("reason")), exc.message)
        if fresh:  # in use: their idle time starts again (written at most once a minute)
            m.Session.update(last_seen_at=now).where(
                m.Session.id.in_(fresh)  # type: ignore[attr-defined]
                & ((m.Session.last_seen_at < now - TOUCH_EVERY) | _never_seen())
            ).execute()
        return over

    # --- ending sessions -------------------------------------------------------------------

    def _end(self, sessions: Iterable[m.Session], reason: EndReason, actor: Actor) -> list[int]:
        """End these sessions for `reason`, each with a log entry. Returns their ids."""
        now = self.now()
        ended = []
        with m.db.atomic():
            for sess in sessions:
                if sess.ended_at is not None:
                    continue
                sess.ended_at, sess.end_reason = now, reason.value
                sess.save(only=[m.Session.ended_at, m.Session.end_reason])
                s = m.Staff.get_or_none(m.Staff.id == sess.staff_id)
                if s is not None:
                    audit(
                        "staff.session_ended",
                        now,
                        f"session {sess.id} ({sess.workstation or 'no workstation'}): {reason}",
                        hotel_id=s.hotel_id,
                        staff=s,
                        actor=actor,
                        address=sess.address,
                    )
                ended.append(sess.id)
        return ended

    def end_sessions_of(
        self, staff_id: int, reason: EndReason, actor: Actor, keep: int | None = None
    ) -> list[int]:
        """End every open session of a staff member (but `keep`)."""
        q = m.Session.select().where((m.Session.staff == staff_id) & _open_sessions(self.now()))
        return self._end([s for s in q if s.id != keep], reason, actor)

    def end_session(self, hotel_id: int | None, session_id: int, actor: Actor) -> list[int]:
        sess = m.Session.get_or_none(m.Session.id == session_id)
        if sess is not None and hotel_id is not None:
            owner = m.Staff.get_or_none(m.Staff.id == sess.staff_id)
            if owner is None or owner.hotel_id != hotel_id:
                sess = None
        if sess is None:
            raise ProtocolError(ErrorCode.BAD_REQUEST, f"There is no session {session_id} here.")
        return self._end([sess], EndReason.REVOKED, actor)

    # --- account changes -------------------------------------------------------------------

    def set_enabled(
        self, hotel_id: int | None, staff_id: int, enabled: bool, actor: Actor
    ) -> tuple[dict[str, Any], list[int]]:
        """Disable (ending every session at once) or enable an account."""
        with m.db.atomic():
            s = _staff(hotel_id, staff_id)
            ended: list[int] = []
            if bool(s.active) != enabled:
                s.active = enabled
                s.save(only=[m.Staff.active])
                audit(
                    "staff.enabled" if enabled else "staff.disabled",
                    self.now(),
                    "account enabled" if enabled else "account disabled",
                    hotel_id=s.hotel_id,
                    staff=s,
                    actor=actor,
                )
            if not enabled:
                ended = self.end_sessions_of(s.id, EndReason.DISABLED, actor)
            return self.account(s), ended

    def reset_password(
        self, hotel_id: int | None, staff_id: int, password: str, actor: Actor
    ) -> tuple[dict[str, Any], list[int]]:
        """A manager sets a new password; the person's sessions end."""
        s = _staff(hotel_id, staff_id)
        check_new_password(password, s.login, s.name)
        new_hash = hash_password(password)
        with m.db.atomic():
            s.password_hash, s.password_changed_at = new_hash, self.now()
            s.save(only=[m.Staff.password_hash, m.Staff.password_changed_at])
            audit(
                "staff.password_reset",
                self.now(),
                "password reset",
                hotel_id=s.hotel_id,
                staff=s,
                actor=actor,
            )
            ended = self.end_sessions_of(s.id, EndReason.PASSWORD_RESET, actor)
            return self.account(s), ended

    def change_password(
        self, who: StaffInfo, session_id: int | None, old: str, new: str
    ) -> list[int]:
        """The person changes their own password; their other sessions end, this one stays.
        Raises AUTH_FAILED for a wrong old password."""
        s = _staff(who.hotel_id, who.staff_id)
        if not verify_password(old, s.password_hash):
            raise ProtocolError(ErrorCode.AUTH_FAILED, "The current password is not right.")
        check_new_password(new, s.login, s.name)
        if old == new:
            raise ProtocolError(
                ErrorCode.WEAK_PASSWORD,
                "The new password must differ from the current one.",
                {"rule": "The new password must differ from the current one."},
            )
        new_hash = hash_password(new)
        me = Actor(who.name, who.role.value, who.role.value, who.workstation)
        with m.db.atomic():
            s.password_hash, s.password_changed_at = new_hash, self.now()
            s.save(only=[m.Staff.password_hash, m.Staff.password_changed_at])
            audit(
                "staff.password_changed",
                self.now(),
                "changed their own password",
                hotel_id=s.hotel_id,
                staff=s,
                actor=me,
            )
            return self.end_sessions_of(s.id, EndReason.PASSWORD_CHANGED, me, keep=session_id)

    def unlock(self, hotel_id: int | None, staff_id: int, actor: Actor) -> dict[str, Any]:
        with m.db.atomic():
            s = _staff(hotel_id, staff_id)
            if s.locked_until is not None:
                was = s.locked_until
                s.locked_until = None
                s.save(only=[m.Staff.locked_until])
                if was > self.now():
                    audit(
                        "staff.unlocked",
                        self.now(),
                        "lockout lifted",
                        hotel_id=s.hotel_id,
                        staff=s,
                        actor=actor,
                    )
            return self.account(s)

    def create(
        self,
        hotel_id: int,
        login: str,
        name: str,
        role: str,
        password: str,
        actor: Actor,
    ) -> dict[str, Any]:
        """A new account (the password rule applies)."""
        try:
            Role(role)
        except ValueError:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, f"Role must be one of: {', '.join(r.value for r in Role)}."
            ) from None
        login, name = login.strip(), name.strip()
        if not login or len(login) > 64 or any(c.isspace() for c in login):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "A login is 1 to 64 characters, no spaces.")
        if not name or len(name) > 100:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "A name is 1 to 100 characters.")
        check_new_password(password, login, name)
        if m.Staff.get_or_none(m.Staff.login == login) is not None:
            raise ProtocolError(ErrorCode.CONFLICT, f"The login '{login}' is taken.")
        new_hash = hash_password(password)
        now = self.now()
        try:
            with m.db.atomic():
                s = m.Staff.create(
                    hotel=hotel_id,
                    login=login,
                    name=name,
                    role=role,
                    password_hash=new_hash,
                    created_at=now,
                    password_changed_at=now,
                )
                audit(
                    "staff.created",
                    now,
                    f"account created ({role})",
                    hotel_id=hotel_id,
                    staff=s,
                    actor=actor,
                )
        except pw.IntegrityError:  # another server took the login meanwhile (its hash took time)
            raise ProtocolError(ErrorCode.CONFLICT, f"The login '{login}' is taken.") from None
        return self.account(s)

    # --- reading -------------------------------------------------------------------------

    def account_of(self, hotel_id: int | None, staff_id: int) -> dict[str, Any]:
        return self.account(_staff(hotel_id, staff_id))

    def account(self, s: m.Staff, open_sessions: int | None = None) -> dict[str, Any]:
        now = self.now()
        if open_sessions is None:
            open_sessions = (
                m.Session.select().where((m.Session.staff == s.id) & _open_sessions(now)).count()
            )
        locked = s.locked_until if s.locked_until is not None and s.locked_until > now else None
        return {
            "id": s.id,
            "login": s.login,
            "name": s.name,
            "role": s.role,
            "enabled": bool(s.active),
            "created_at": to_iso(s.created_at),
            "last_login_at": to_iso(s.last_login_at),
            "password_changed_at": to_iso(s.password_changed_at),
            "sessions": open_sessions,
            "locked": locked is not None,
            "locked_until": to_iso(locked),
        }

    def accounts(self, hotel_id: int) -> list[dict[str, Any]]:
        now = self.now()
        counts: dict[int, int] = {}
        for sess in (
            m.Session.select(m.Session.staff)
            .join(m.Staff)
            .where((m.Staff.hotel == hotel_id) & _open_sessions(now))
        ):
            counts[sess.staff_id] = counts.get(sess.staff_id, 0) + 1
        q = m.Staff.select().where(m.Staff.hotel == hotel_id).order_by(m.Staff.name)
        return [self.account(s, counts.get(s.id, 0)) for s in q]

    def sessions(self, hotel_id: int, staff_id: int | None) -> list[dict[str, Any]]:
        now = self.now()
        where = (m.Staff.hotel == hotel_id) & _open_sessions(now)
        if staff_id is not None:
            _staff(hotel_id, staff_id)  # unknown_staff, as for every command naming one
            where &= m.Staff.id == staff_id
        q = (
            m.Session.select(m.Session, m.Staff)
            .join(m.Staff)
            .where(where)
            .order_by(m.Session.created_at.desc(), m.Session.id.desc())  # type: ignore[attr-defined]
        )
        return [
            {
                "id": sess.id,
                "staff_id": sess.staff_id,
                "login": sess.staff.login,
                "name": sess.staff.name,
                "workstation": sess.workstation,
                "address": sess.address,
                "created_at": to_iso(sess.created_at),
                "last_seen_at": to_iso(sess.last_seen_at),
                "expires_at": to_iso(sess.expires_at),
            }
            for sess in q
        ]

    def audit_entries(
        self,
        hotel_id: int | None,
        limit: int = 200,
        since: datetime | None = None,
        until: datetime | None = None,
        with_unknown: bool = False,
    ) -> list[dict[str, Any]]:
        """The newest entries of the hotel's security log first (`with_unknown`: also the
        failed logins of names no hotel has)."""
        where = m.AuditEntry.hotel == hotel_id
        if with_unknown:
            where |= m.AuditEntry.hotel.is_null()
        if since is not None:
            where &= m.AuditEntry.ts >= since
        if until is not None:
            where &= m.AuditEntry.ts < until
        q = (
            m.AuditEntry.select()
            .where(where)
            .order_by(m.AuditEntry.ts.desc(), m.AuditEntry.id.desc())  # type: ignore[attr-defined]
            .limit(max(1, min(limit, 5000)))
        )
        return [entry_dict(e) for e in q]
