"""Staff accounts for real, over real connections: a stranger cannot lock a colleague out,
a lockout is lifted by a manager, a disabled account's desks are closed at once, ended and
expired sessions are refused with their own codes, weak passwords are refused with the rule,
and every one of these is in the security log (also when the command line did it)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server import db as m
from shared.clock import ManualClock
from tests.server.live import run
from tests.support import LiveServer, Peer, make_store

ROOT = Path(__file__).resolve().parents[3]


async def from_address(url: str, address: str, login: str | None = None, password: str = "demo"):
    """A desk on another machine of the LAN: its connection comes from `address` (any
    127.x.y.z reaches the server on 127.0.0.1)."""
    ws = await connect(url, compression=None, max_queue=None, local_addr=(address, 0))
    peer = Peer(ws)
    peer.hello = await peer.recv()
    if login is not None:
        reply = await peer.request("auth.login", login=login, password=password)
        assert reply["type"] == "ack", reply
        peer.login = reply["result"]
    return peer


async def try_login(url: str, address: str, login: str, password: str) -> dict[str, Any]:
    peer = await from_address(url, address)
    try:
        return await peer.request("auth.login", login=login, password=password)
    finally:
        await peer.close()


async def guess(url: str, address: str, login: str, times: int) -> list[str]:
    """A stranger's wrong passwords, each on a new connection; the codes they got."""
    return [(await try_login(url, address, login, f"guess-{i}"))["code"] for i in range(times)]


async def account(manager: Peer, login: str) -> dict[str, Any]:
    reply = await manager.request("staff.accounts")
    assert reply["type"] == "ack", reply
    return next(a for a in reply["result"]["staff"] if a["login"] == login)


async def security_log(manager: Peer) -> list[dict[str, Any]]:
    reply = await manager.request("staff.audit")
    assert reply["type"] == "ack", reply
    entries: list[dict[str, Any]] = reply["result"]["entries"]
    return entries


async def closed_by_server(peer: Peer) -> tuple[dict[str, Any], int, str]:
    """The `session.ended` frame the server sends, then its close code and reason."""
    ended = await peer.until(lambda f: f.get("type") == "session.ended")
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await peer.recv()
    rcvd = info.value.rcvd
    assert rcvd is not None
    return ended, rcvd.code, rcvd.reason


def test_a_strangers_failures_from_one_address_do_not_lock_the_person_out(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            codes = await guess(srv.url, "127.0.0.2", "frontdesk", 12)
            assert codes[:5] == ["auth_failed"] * 5  # five tries on one account, then slowly
            assert set(codes[5:]) == {"rate_limited"}
            # the stranger's address is slowed even with the right password...
            slowed = await try_login(srv.url, "127.0.0.2", "frontdesk", "demo")
            assert slowed["code"] == "rate_limited"
            # ...and the real person, at the front desk, logs in as ever
            desk = await from_address(srv.url, "127.0.0.3", "frontdesk")
            manager = await from_address(srv.url, "127.0.0.4", "manager")
            assert (await account(manager, "frontdesk"))["locked"] is False
            # hours of one guess every 30 s from one address never lock the account either
            for _ in range(40):
                clock.advance(30)
                assert await guess(srv.url, "127.0.0.2", "frontdesk", 1) == ["auth_failed"]
            assert (await account(manager, "frontdesk"))["locked"] is False
            assert (await desk.request("ping"))["type"] == "ack"
            failures = [e for e in await security_log(manager) if e["kind"] == "staff.login_failed"]
            assert len(failures) == 45 and {e["address"] for e in failures} == {"127.0.0.2"}

    run(scenario)


def test_failures_from_several_addresses_lock_the_account_until_a_manager_unlocks_it(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, lockout_addresses=3, lockout_failures=6) as srv:
            # the supervisor's own desk, where the account logged in before
            own = await from_address(srv.url, "127.0.0.9", "supervisor")
            assert (await own.request("auth.logout"))["type"] == "ack"  # as after every shift
            await own.close()
            manager = await from_address(srv.url, "127.0.0.8", "manager")
            for address in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
                assert await guess(srv.url, address, "supervisor", 2) == ["auth_failed"] * 2
            entry = await account(manager, "supervisor")
            assert entry["locked"] is True and entry["locked_until"] == "2026-01-15T09:15:00Z"
            # from anywhere else, even the right password is refused, with its own code
            refused = await try_login(srv.url, "127.0.0.5", "supervisor", "demo")
            assert refused["code"] == "account_locked"
            assert refused["details"]["locked_until"] == "2026-01-15T09:15:00Z"
            # the person's own desk still gets in with the right password
            assert (await try_login(srv.url, "127.0.0.9", "supervisor", "demo"))["type"] == "ack"
            # a manager lifts the lockout
            unlocked = await manager.request("staff.unlock", staff_id=entry["id"])
            assert unlocked["type"] == "ack" and unlocked["result"]["staff"]["locked"] is False
            assert (await try_login(srv.url, "127.0.0.5", "supervisor", "demo"))["type"] == "ack"
            kinds = [e["kind"] for e in await security_log(manager) if e["login"] == "supervisor"]
            assert kinds.count("staff.locked") == 1 and kinds.count("staff.unlocked") == 1
            assert kinds[0] == "staff.login"  # newest first: the login after the unlock

    run(scenario)


def test_a_lockout_ends_by_itself_after_its_time(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(
            demo_db, clock, lockout_addresses=2, lockout_failures=2, lockout_minutes=15
        ) as srv:
            for address in ("127.0.0.2", "127.0.0.3"):
                await guess(srv.url, address, "maintenance", 1)
            refused = await try_login(srv.url, "127.0.0.4", "maintenance", "demo")
            assert refused["code"] == "account_locked"
            clock.advance(15 * 60)
            assert (await try_login(srv.url, "127.0.0.4", "maintenance", "demo"))["type"] == "ack"

    run(scenario)


def test_disabling_an_account_closes_its_desks_at_once_and_refuses_it(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            manager = await Peer.open(srv.url, "manager")
            desk1 = await Peer.open(srv.url, "frontdesk")
            desk2 = await Peer.open(srv.url, "frontdesk")
            assert (await desk1.subscribe(f"{desk1.login['hotel']['slug']}.rooms"))["type"] == "ack"
            staff_id = desk1.login["staff"]["id"]
            reply = await manager.request("staff.disable", staff_id=staff_id)
            assert reply["type"] == "ack", reply
            assert reply["result"]["staff"]["enabled"] is False
            assert reply["result"]["sessions_ended"] == 2
            for desk in (desk1, desk2):
                ended, code, reason = await closed_by_server(desk)
                assert ended["code"] == "account_disabled" and ended["reason"] == "disabled"
                assert "disabled" in ended["message"]
                assert (code, reason) == (4003, "account_disabled")
            again = await Peer.open(srv.url)
            token = await again.request("auth.token", token=desk1.login["token"])
            assert token["code"] == "account_disabled"
            assert token["details"]["reason"] == "disabled"
            login = await again.request("auth.login", login="frontdesk", password="demo")
            assert login["code"] == "account_disabled"
            wrong = await again.request("auth.login", login="frontdesk", password="nope")
            assert wrong["code"] == "auth_failed"  # says nothing of the account to a guesser
            entry = await account(manager, "frontdesk")
            assert entry["enabled"] is False and entry["sessions"] == 0
            assert (await manager.request("staff.enable", staff_id=staff_id))["type"] == "ack"
            assert (await again.request("auth.login", login="frontdesk", password="demo"))[
                "type"
            ] == "ack"
            kinds = [e["kind"] for e in await security_log(manager)]
            for kind in ("staff.disabled", "staff.enabled", "staff.session_ended"):
                assert kind in kinds
            ends = [e for e in await security_log(manager) if e["kind"] == "staff.session_ended"]
            assert len(ends) == 2 and all(e["actor"] == "Ciara O'Brien" for e in ends)

    run(scenario)


def test_a_manager_cannot_disable_their_own_account(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            manager = await Peer.open(srv.url, "manager")
            me = manager.login["staff"]["id"]
            reply = await manager.request("staff.disable", staff_id=me)
            assert reply["code"] == "bad_request"
            unknown = await manager.request("staff.disable", staff_id=9999)
            assert unknown["code"] == "unknown_staff"

    run(scenario)


def test_account_commands_are_for_a_manager_only(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "supervisor")
            for kind, fields in (
                ("staff.accounts", {}),
                ("staff.sessions", {}),
                ("staff.disable", {"staff_id": 1}),
                ("staff.enable", {"staff_id": 1}),
                ("staff.reset_password", {"staff_id": 1, "password": "long enough pass"}),
                ("staff.unlock", {"staff_id": 1}),
                ("staff.end_sessions", {"staff_id": 1}),
                ("session.end", {"session_id": 1}),
                ("staff.audit", {}),
                ("staff.create", {"login": "x", "name": "X", "role": "manager", "password": "p"}),
            ):
                reply = await desk.request(kind, **fields)
                assert reply["code"] == "forbidden", (kind, reply)
            assert (await desk.request("ping"))["type"] == "ack"

    run(scenario)


def test_an_idle_session_expires_and_its_token_says_so(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, session_idle_minutes=60) as srv:
            desk = await Peer.open(srv.url, "housekeeping")
            token = desk.login["token"]
            await desk.close()
            clock.advance(59 * 60)  # not used for 59 minutes: still good
            again = await Peer.open(srv.url)
            assert (await again.request("auth.token", token=token))["type"] == "ack"
            await again.close()
            clock.advance(61 * 60)
            late = await Peer.open(srv.url)
            reply = await late.request("auth.token", token=token)
            assert reply["code"] == "session_expired" and reply["details"]["reason"] == "expired"
            assert "expired" in reply["message"]
            forged = await late.request("auth.token", token="not-a-token")
            assert forged["code"] == "token_invalid"

    run(scenario)


def test_a_desk_that_stays_connected_is_not_idle(demo_db: Path, clock: ManualClock) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, session_idle_minutes=10, session_check=5) as srv:
            board = await Peer.open(srv.url, "housekeeping")
            for _ in range(30):  # 30 minutes on the wall of the housekeeping office
                await clock.wait_for_sleepers(4)
                clock.advance(60)
            await clock.wait_for_sleepers(4)
            assert (await board.request("ping"))["type"] == "ack"
            again = await Peer.open(srv.url)
            assert (await again.request("auth.token", token=board.login["token"]))["type"] == "ack"

    run(scenario)


def test_a_manager_ends_one_session_and_its_token_is_refused_as_revoked(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            manager = await Peer.open(srv.url, "manager")
            desk = await Peer.open(srv.url, "frontdesk")
            other = await Peer.open(srv.url, "frontdesk")
            listed = await manager.request("staff.sessions", staff_id=desk.login["staff"]["id"])
            assert listed["type"] == "ack"
            sessions = listed["result"]["sessions"]
            assert len(sessions) == 2 and all(s["connections"] == 1 for s in sessions)
            assert {s["address"] for s in sessions} == {"127.0.0.1"}
            newest = sessions[0]  # newest first: `other`'s
            assert (await manager.request("session.end", session_id=newest["id"]))["type"] == "ack"
            ended, code, _ = await closed_by_server(other)
            assert (ended["code"], ended["reason"], code) == ("session_revoked", "revoked", 4003)
            assert "manager" in ended["message"]
            assert (await desk.request("ping"))["type"] == "ack"  # the other session goes on
            late = await Peer.open(srv.url)
            reply = await late.request("auth.token", token=other.login["token"])
            assert reply["code"] == "session_revoked" and reply["details"]["reason"] == "revoked"
            # all of one person's sessions
            assert (
                await manager.request("staff.end_sessions", staff_id=desk.login["staff"]["id"])
            )["result"]["sessions_ended"] == 1
            await closed_by_server(desk)
            mine = await manager.request("staff.sessions", staff_id=manager.login["staff"]["id"])
            current = next(s for s in mine["result"]["sessions"] if s["current"])
            own = await manager.request("session.end", session_id=current["id"])
            assert own["code"] == "bad_request"  # one's own session: log out instead

    run(scenario)


def test_weak_passwords_are_refused_with_the_rule_in_words(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            for weak, words in (
                ("short", "at least 8 characters"),
                ("frontdesk", "not be the login"),
                ("frontdesk2026", "not contain the login"),
                ("Password123!", "first every guesser tries"),
                ("aaaaaaaaaa", "3 different characters"),
            ):
                reply = await desk.request(
                    "auth.change_password", old_password="demo", new_password=weak
                )
                assert reply["code"] == "weak_password", (weak, reply)
                assert words in reply["message"] and reply["details"]["rule"] == reply["message"]
            wrong = await desk.request(
                "auth.change_password", old_password="nope", new_password="sea breeze 42"
            )
            assert wrong.get("code") == "auth_failed", wrong
            manager = await Peer.open(srv.url, "manager")
            weak = await manager.request(
                "staff.create",
                login="evaroe",
                name="Eva Roe",
                role="front_desk",
                password="evaroe26",
            )
            assert weak["code"] == "weak_password"
            reset = await manager.request(
                "staff.reset_password", staff_id=desk.login["staff"]["id"], password="qwerty12"
            )
            assert reset["code"] == "weak_password"
            assert (await desk.request("ping"))["type"] == "ack"  # nothing ended

    run(scenario)


def test_changing_ones_own_password_ends_the_other_sessions_and_keeps_this_one(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            here = await Peer.open(srv.url, "frontdesk")
            elsewhere = await Peer.open(srv.url, "frontdesk")
            reply = await here.request(
                "auth.change_password", old_password="demo", new_password="sea breeze 42"
            )
            assert reply["type"] == "ack", reply
            assert reply["result"]["sessions_ended"] == 1
            ended, code, _ = await closed_by_server(elsewhere)
            assert ended["reason"] == "password_changed" and code == 4003
            assert (await here.request("ping"))["type"] == "ack"  # this session stays
            again = await Peer.open(srv.url)
            assert (await again.request("auth.token", token=here.login["token"]))["type"] == "ack"
            old = await Peer.open(srv.url)
            assert (await old.request("auth.login", login="frontdesk", password="demo"))[
                "code"
            ] == "auth_failed"
            new = await old.request("auth.login", login="frontdesk", password="sea breeze 42")
            assert new["type"] == "ack"

    run(scenario)


def test_a_manager_resets_a_password_and_adds_a_colleague(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            manager = await Peer.open(srv.url, "manager")
            desk = await Peer.open(srv.url, "maintenance")
            reply = await manager.request(
                "staff.reset_password", staff_id=desk.login["staff"]["id"], password="fix it 2 day"
            )
            assert reply["type"] == "ack" and reply["result"]["sessions_ended"] == 1
            ended, _, _ = await closed_by_server(desk)
            assert ended["reason"] == "password_reset" and "reset your password" in ended["message"]
            fresh = await Peer.open(srv.url)
            assert (
                await fresh.request("auth.login", login="maintenance", password="fix it 2 day")
            )["type"] == "ack"
            made = await manager.request(
                "staff.create",
                login="eva",
                name="Eva Roe",
                role="front_desk",
                password="lobby-lamp7",
            )
            assert made["type"] == "ack", made
            assert made["result"]["staff"]["enabled"] is True
            taken = await manager.request(
                "staff.create",
                login="eva",
                name="Eva Two",
                role="front_desk",
                password="lobby-lamp8",
            )
            assert taken["code"] == "conflict"
            eva = await Peer.open(srv.url, "eva", "lobby-lamp7")
            assert eva.login["staff"]["role"] == "front_desk"
            kinds = [e["kind"] for e in await security_log(manager)]
            assert {"staff.password_reset", "staff.created", "staff.login"} <= set(kinds)

    run(scenario)


def cli(db: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "--db", str(db), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.fixture
def now_db(fresh_store: Path, tmp_path: Path) -> tuple[Path, ManualClock]:
    """A demo store and a server clock at the real time: the command line runs on the real
    clock, and must see the server's sessions as open."""
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    path = fresh_store
    make_store(path, clock)
    return path, clock


def test_the_command_line_ends_the_desks_of_a_running_server(
    now_db: tuple[Path, ManualClock],
) -> None:
    demo_db, clock = now_db

    async def scenario() -> None:
        async with LiveServer(demo_db, clock, session_check=5) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            housekeeping = await Peer.open(srv.url, "housekeeping")
            listed = await asyncio.to_thread(cli, demo_db, "list-staff")
            assert listed.returncode == 0, listed.stderr
            line = next(x for x in listed.stdout.splitlines() if " frontdesk " in x)
            assert "front_desk" in line and " yes " in line
            done = await asyncio.to_thread(cli, demo_db, "disable-staff", "frontdesk")
            assert done.returncode == 0, done.stderr
            assert "disabled; 1 session ended" in done.stdout
            await clock.wait_for_sleepers(4)
            clock.advance(5)  # the server's next session check
            ended, code, reason = await closed_by_server(desk)
            assert (ended["code"], code, reason) == ("account_disabled", 4003, "account_disabled")
            reset = await asyncio.to_thread(
                cli, demo_db, "reset-password", "housekeeping", "--password-stdin", stdin="x\n"
            )
            assert reset.returncode == 1 and "at least 8 characters" in reset.stderr
            reset = await asyncio.to_thread(
                cli,
                demo_db,
                "reset-password",
                "housekeeping",
                "--password-stdin",
                stdin="clean sheets 9\n",
            )
            assert reset.returncode == 0, reset.stderr
            await clock.wait_for_sleepers(4)
            clock.advance(5)
            ended, _, _ = await closed_by_server(housekeeping)
            assert ended["reason"] == "password_reset"
            assert (await Peer.open(srv.url, "housekeeping", "clean sheets 9")).login

    run(scenario)


def test_the_command_line_lists_unlocks_and_revokes(now_db: tuple[Path, ManualClock]) -> None:
    demo_db, clock = now_db

    async def scenario() -> None:
        async with LiveServer(
            demo_db, clock, session_check=5, lockout_addresses=2, lockout_failures=2
        ) as srv:
            desk = await Peer.open(srv.url, "manager")
            for address in ("127.0.0.2", "127.0.0.3"):
                await guess(srv.url, address, "supervisor", 1)
            listed = await asyncio.to_thread(
                cli, demo_db, "list-staff", "--hotel", "hotel-killarney"
            )
            line = next(x for x in listed.stdout.splitlines() if " supervisor " in x)
            until = (clock.now() + timedelta(minutes=15)).astimezone(ZoneInfo("Europe/Dublin"))
            assert f"until {until:%Y-%m-%d %H:%M}" in line  # on the hotel's clock
            unlocked = await asyncio.to_thread(cli, demo_db, "unlock", "supervisor")
            assert unlocked.returncode == 0 and "unlocked" in unlocked.stdout
            assert (await try_login(srv.url, "127.0.0.4", "supervisor", "demo"))["type"] == "ack"
            sessions = await asyncio.to_thread(cli, demo_db, "list-sessions", "manager")
            assert sessions.returncode == 0 and "127.0.0.1" in sessions.stdout
            revoked = await asyncio.to_thread(cli, demo_db, "revoke-sessions", "manager")
            assert revoked.returncode == 0 and "1 session of 'manager' ended" in revoked.stdout
            await clock.wait_for_sleepers(4)
            clock.advance(5)
            ended, _, _ = await closed_by_server(desk)
            assert ended["reason"] == "revoked"
            nobody = await asyncio.to_thread(cli, demo_db, "disable-staff", "nobody")
            assert nobody.returncode == 1 and "no account 'nobody'" in nobody.stderr
            audit = await asyncio.to_thread(
                cli, demo_db, "audit", "--hotel", "hotel-killarney", "--since", "2026-01-15T00:00Z"
            )
            assert audit.returncode == 0, audit.stderr
            for kind in (
                "staff.login",
                "staff.login_failed",
                "staff.locked",
                "staff.unlocked",
                "staff.session_ended",
            ):
                assert f",{kind}," in audit.stdout, kind
            assert "command line" in audit.stdout

    run(scenario)


def test_create_staff_on_the_command_line_applies_the_password_rule(demo_db: Path) -> None:
    weak = cli(demo_db, "create-staff", "eva", "--hotel", "hotel-killarney", "--name", "Eva",
               "--role", "front_desk", "--password", "eva")  # fmt: skip
    assert weak.returncode == 1 and "at least 8 characters" in weak.stderr
    good = cli(demo_db, "create-staff", "eva", "--hotel", "hotel-killarney", "--name", "Eva",
               "--role", "front_desk", "--password", "lobby-lamp7")  # fmt: skip
    assert good.returncode == 0, good.stderr
    m.open_db(demo_db)
    try:
        eva = m.Staff.get(m.Staff.login == "eva")
        assert eva.active and eva.role == "front_desk"
    finally:
        m.close_db()


def test_a_login_taken_by_another_server_meanwhile_is_a_conflict(
    demo_db: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two servers on one database creating the same login at once: the one that commits
    second is told `conflict`, as for any login taken, never `internal_error`."""
    import server.accounts as accounts_module
    from server.accounts import Accounts
    from server.security_log import Actor
    from shared.errors import ErrorCode, ProtocolError

    real_hash = accounts_module.hash_password

    def meanwhile(password: str) -> str:  # while this server hashes, the other one commits
        hotel = m.Hotel.get()
        m.Staff.create(
            hotel=hotel,
            login="niamh2",
            name="N",
            role="housekeeping",
            password_hash="x",
            created_at=clock.now(),
        )
        return real_hash(password)

    monkeypatch.setattr(accounts_module, "hash_password", meanwhile)
    m.open_db(demo_db)
    try:
        hotel_id = m.Hotel.get().id
        with pytest.raises(ProtocolError) as refused:
            Accounts(clock.now).create(
                hotel_id, "niamh2", "Niamh Two", "housekeeping", "Long-enough-9", Actor("a")
            )
        assert refused.value.code is ErrorCode.CONFLICT
        assert m.Staff.select().where(m.Staff.login == "niamh2").count() == 1
    finally:
        m.close_db()
