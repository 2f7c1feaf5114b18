"""Every command and flag of docs/protocol.md, sent from every role to a real server over
TLS, gets the reply the document names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shared import protocol
from shared.clock import ManualClock
from shared.rules import ROOM_ACTIONS, Role
from tests.server.live import run
from tests.server.protocol_walk.builders import Build, Expect, Walk, room_action
from tests.server.protocol_walk.document import Document
from tests.server.protocol_walk.walks import WALK
from tests.server.protocol_walk.world import LOGIN, World, clean_store
from tests.support import LiveServer, Peer


def test_every_command_has_a_walk_entry() -> None:
    missing = sorted(set(protocol.COMMANDS) - set(WALK))
    assert not missing, f"add a Walk entry to tests/server/protocol_walk/walks.py for: {missing}"
    assert not set(WALK) - set(protocol.COMMANDS)


# documented codes no walk entry expects, and the tests that give each one over a real
# connection (the walk sends well-formed requests of logged-in staff, one by one)
ELSEWHERE = {
    "frame_too_large": "tests/server/test_fuzz.py",
    "unknown_type": "tests/server/test_wire_exact.py",
    "not_authenticated": "tests/server/realtime/test_refusals.py",
    "rate_limited": "tests/server/realtime/test_refusals.py",
    "internal_error": "tests/server/test_cluster.py",
    "account_disabled": "tests/server/commands/test_staff.py",
    "account_locked": "tests/server/commands/test_staff.py",
    "session_expired": "tests/server/commands/test_staff.py",
    "session_revoked": "tests/server/commands/test_staff.py",
}


def codes_of(expect: Expect) -> set[str]:
    return {expect} if isinstance(expect, str) else set(expect.values())


def test_every_code_the_walk_expects_is_in_the_document_and_every_documented_code_is_tested(
    doc: Document,
) -> None:
    """The walk's codes are the document's (*Error codes*), and a code added to the document
    needs a flag of the walk or a test named here that gives it."""
    walked = {"forbidden"}  # from every role outside a command's who
    for walk in WALK.values():
        for flag in walk.flags:
            walked |= codes_of(flag.expect)
    assert walked - {"ack"} <= doc.codes, sorted(walked - {"ack"} - doc.codes)
    assert doc.codes - walked == set(ELSEWHERE), sorted(doc.codes - walked)
    root = Path(__file__).resolve().parents[3]
    for code, where in ELSEWHERE.items():
        assert f'"{code}"' in (root / where).read_text(encoding="utf-8"), (code, where)


@dataclass
class Walker:
    world: World
    doc: Document
    seen: list[str] = field(default_factory=list)

    def who(self, kind: str, fields: Mapping[str, Any]) -> frozenset[Role]:
        if kind == "room.action":
            return self.doc.actions.get(fields["action"], (frozenset(Role), ()))[0]
        if kind == "rooms.batch":
            actions = {i.get("action") for i in fields.get("items", [])}
            roles = [self.doc.actions[a][0] for a in actions if a in self.doc.actions]
            return frozenset.intersection(*roles) if roles else frozenset(Role)
        return self.doc.who[kind]

    async def send(self, kind: str, walk: Walk, login: str, body: dict[str, Any]) -> dict[str, Any]:
        w = self.world
        if walk.connection == "role":
            peer = w.peers[login]
        else:
            peer = await Peer.open(w.srv.url, login if walk.connection == "session" else None)
            if walk.connection == "token":
                ok = await peer.request("auth.token", token=w.peers[login].login["token"])
                assert ok["type"] == "ack", ok
        try:
            reply = await peer.request(kind, **body)
        finally:
            if peer is not w.peers[login]:
                await peer.close()
            peer.skipped.clear()
        return reply

    async def check(self, kind: str, walk: Walk, label: str, build: Build, expect: Expect) -> None:
        """Send a freshly built request from each role that may send it and expect `expect`
        (or the code `expect` names for a login); send the last one from every other role
        and expect `forbidden`. An ack carries the result the document names."""
        per_login = dict(expect) if isinstance(expect, Mapping) else None
        last: dict[str, Any] | None = None
        logins = [LOGIN[r] for r in Role]
        for login in logins:
            if per_login is not None and login not in per_login:
                continue
            body = await build(self.world, login)
            allowed = Role(_role_of(login)) in self.who(kind, body)
            if per_login is not None:
                want = per_login[login]
            elif allowed:
                want = expect if isinstance(expect, str) else "ack"
            else:
                continue  # sent below, with a request built for a role that may send it
            await self.expect(kind, walk, login, body, want, label)
            last = body
        if per_login is None and last is not None:
            for login in logins:
                if Role(_role_of(login)) not in self.who(kind, last):
                    await self.expect(kind, walk, login, last, "forbidden", label)

    async def expect(
        self, kind: str, walk: Walk, login: str, body: dict[str, Any], want: str, label: str
    ) -> None:
        reply = await self.send(kind, walk, login, body)
        got = "ack" if reply["type"] == "ack" else reply["code"]
        assert got == want, f"{kind} ({label}) from {login}: {got}, not {want}: {reply}"
        documented = self.doc.results.get(kind)
        if got == "ack" and documented is not None:
            assert set(reply["result"]) == documented, (kind, label, sorted(reply["result"]))
        self.seen.append(f"{kind}:{label}:{login}:{got}")


def _role_of(login: str) -> str:
    return "front_desk" if login == "frontdesk" else login


@pytest.fixture
def clean_db(demo_db: Path) -> Path:
    clean_store(demo_db)
    return demo_db


def test_every_command_and_flag_gets_the_reply_the_document_names(
    clean_db: Path, clock: ManualClock, doc: Document
) -> None:
    async def scenario() -> None:
        # over TLS, as a server runs by default (pair.prove has nothing to prove without it)
        async with LiveServer(clean_db, clock, rate_per_second=0, insecure=False) as srv:
            peers = {login: await Peer.open(srv.url, login) for login in LOGIN.values()}
            staff = (await peers["manager"].request("staff.list"))["result"]["staff"]
            world = World(srv, peers, staff)
            await world.load()
            walker = Walker(world, doc)
            actions = {
                name: room_action(name, state, **args)
                for name, state, args in (
                    ("start_cleaning", "CHECKOUT_DIRTY", {}),
                    ("finish_cleaning", "CLEANING_IN_PROGRESS", {}),
                    ("inspect", "CLEANED_UNINSPECTED", {}),
                    ("fail_inspection", "CLEANED_UNINSPECTED", {}),
                    ("mark_dirty", "READY_FOR_GUEST", {}),
                    ("report_maintenance", "CHECKOUT_DIRTY", {"priority": "HIGH", "notes": "AC"}),
                    ("flag_maintenance", "CHECKOUT_DIRTY", {"priority": "LOW"}),
                    ("update_maintenance", "flagged", {"priority": "URGENT", "notes": "x"}),
                    ("clear_maintenance", "flagged", {"notes": "fixed"}),
                    ("set_out_of_order", "CHECKOUT_DIRTY", {"reason": "Leak"}),
                    ("clear_out_of_order", "OUT_OF_ORDER", {"return_status": "READY_FOR_GUEST"}),
                    ("set_dnd", "CHECKOUT_DIRTY", {}),
                    ("clear_dnd", "dnd", {}),
                )
            }
            assert set(actions) == set(ROOM_ACTIONS)
            for name, walk in WALK.items():
                await walker.check(name, walk, "as documented", walk.build, "ack")
                if name == "room.action":
                    for action, build in actions.items():
                        await walker.check(name, walk, action, build, "ack")
                for flag in walk.flags:
                    await walker.check(name, walk, flag.label, flag.build, flag.expect)
            # every role sent every command
            for name in WALK:
                senders = {s.split(":")[2] for s in walker.seen if s.startswith(name + ":")}
                assert senders == set(LOGIN.values()), (name, senders)
            for peer in world.others:
                await peer.close()

    run(scenario)
