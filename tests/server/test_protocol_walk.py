"""docs/protocol.md, walked: every command and flag it names, sent from every role to a real
server, gets the reply the document names.

Three things are checked against each other:
- the document: every table with a `request` and a `who` column, the room actions' table,
  the `### \\`command\\`` headings;
- `shared.protocol.COMMANDS` and `shared.access.COMMAND_ROLES` (who may send what);
- the server, through `WALK` below: one entry per command. A command without an entry fails
  `test_every_command_has_a_walk_entry`, so a new command comes with its entry.

A `Walk` entry says how to build a request that the document promises an ack for (`build`,
given the world and the sending login: it may prepare rooms, reservations... with the
manager's connection first) and its `flags`: variants with the code the document names for
them. Every role of the command's *who* sends a freshly built request and must get an ack;
every other role sends the same request and must get `forbidden` (the role is checked
before anything else is looked at, so any request does).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from server import db as m
from server import tls
from shared import access, protocol
from shared.clock import ManualClock
from shared.pairing import new_nonce
from shared.rules import ROOM_ACTIONS, Role
from shared.timeutil import to_iso
from tests.server.live import run
from tests.support import SLUG, LiveServer, Peer

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
LOGIN = {
    Role.HOUSEKEEPING: "housekeeping",
    Role.SUPERVISOR: "supervisor",
    Role.MAINTENANCE: "maintenance",
    Role.FRONT_DESK: "frontdesk",
    Role.MANAGER: "manager",
}
ROLE_NAMES = "|".join(r.value for r in Role)


# --- the document ------------------------------------------------------------------------


def doc_tables(text: str) -> list[list[dict[str, str]]]:
    """Every markdown table of the document (also one indented in a list), as rows of
    {header: cell}."""
    tables: list[list[dict[str, str]]] = []
    lines = [line.strip() for line in text.splitlines()]
    for i, line in enumerate(lines[:-1]):
        if line.startswith("|") and re.fullmatch(r"\|(\s*-+\s*\|)+", lines[i + 1].strip()):
            head = cells(line)
            rows = []
            for row in itertools.takewhile(lambda r: r.startswith("|"), lines[i + 2 :]):
                rows.append(dict(zip(head, cells(row), strict=False)))
            tables.append(rows)
    return tables


def cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"\s\|\s", line.strip().strip("|").strip())]


def names_in(cell: str) -> list[str]:
    """`reservation.confirm` / `.cancel`: the command names of a request cell."""
    found = re.findall(r"`([a-z_.]+)`", cell)
    base = found[0].split(".", 1)[0] if found else ""
    return [base + n if n.startswith(".") else n for n in found]


def result_keys(cell: str) -> frozenset[str] | None:
    """The top-level names of a result written as `{"a", "b": [...], "c"}`; None if the
    cell does not spell the result out ("session (below)", "see below")."""
    found = re.search(r"`(\{[^`]*\})`", cell)
    if found is None:
        return None
    text, depth, names = found.group(1), 0, set()
    for i, ch in enumerate(text):
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif ch == '"' and depth == 1 and text[:i].count('"') % 2 == 0:
            names.add(text[i + 1 : text.index('"', i + 1)])
    return frozenset(names)


def roles_in(cell: str) -> frozenset[Role]:
    if cell.strip().startswith("everyone"):
        return frozenset(Role)
    return frozenset(Role(r) for r in re.findall(rf"\b({ROLE_NAMES})\b", cell))


@dataclass(frozen=True)
class Document:
    who: dict[str, frozenset[Role]]  # command -> its who column
    headings: set[str]  # commands with a section of their own under "## Commands"
    actions: dict[str, tuple[frozenset[Role], tuple[str, ...]]]  # room action -> roles, args
    results: dict[str, frozenset[str]]  # command -> the names its ack's result carries

    @classmethod
    def read(cls) -> Document:
        text = DOC.read_text(encoding="utf-8")
        who: dict[str, frozenset[Role]] = {}
        actions: dict[str, tuple[frozenset[Role], tuple[str, ...]]] = {}
        results: dict[str, frozenset[str]] = {}
        for table in doc_tables(text):
            previous: frozenset[str] | None = None
            for row in table:
                if "request" in row and "who" in row:
                    cell = row.get("result", "")
                    keys = previous if re.match(r"(the )?same\b", cell) else result_keys(cell)
                    for name in names_in(row["request"]):
                        who[name] = roles_in(row["who"])
                        if keys is not None:
                            results[name] = keys
                    previous = keys
                if "action" in row and "roles" in row:
                    first, _, rest = row["action"].partition(" (")
                    args = tuple(re.findall(r"`([a-z_]+)`", rest))
                    for name in names_in(first):
                        actions[name] = (roles_in(row["roles"]), args)
        commands = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
        headings = set(re.findall(r"^###\s+`([a-z_.]+)`", commands, re.MULTILINE))
        for name in headings:  # "Result: `{...}`" in the command's own section
            section = commands.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
            said = re.search(r"[Rr]esult(?: is|:)\s*(`\{[^`]*\}`)", section)
            keys = result_keys(said.group(1)) if said else None
            if keys is not None:
                results[name] = keys
        return cls(who, headings, actions, results)

    @property
    def commands(self) -> set[str]:
        return set(self.who) | self.headings


@pytest.fixture(scope="module")
def doc() -> Document:
    return Document.read()


def test_the_document_names_every_command_and_no_other(doc: Document) -> None:
    assert doc.commands == set(protocol.COMMANDS), (
        f"not in docs/protocol.md: {sorted(set(protocol.COMMANDS) - doc.commands)}; "
        f"documented but unknown: {sorted(doc.commands - set(protocol.COMMANDS))}"
    )


def test_who_may_send_each_command_is_the_same_in_the_document_and_the_server(
    doc: Document,
) -> None:
    assert set(access.COMMAND_ROLES) == set(protocol.COMMANDS), (
        "shared/access.py COMMAND_ROLES needs a row for: "
        f"{sorted(set(protocol.COMMANDS) - set(access.COMMAND_ROLES))}"
    )
    for name, roles in doc.who.items():
        assert access.COMMAND_ROLES[name] == roles, name
    for name in doc.headings - set(doc.who):  # room.action, rooms.batch: by their actions
        assert access.COMMAND_ROLES[name] == frozenset().union(
            *(roles for roles, _ in doc.actions.values())
        ), name


def test_the_room_actions_table_is_the_rules_table(doc: Document) -> None:
    assert set(doc.actions) == set(ROOM_ACTIONS)
    for name, rule in ROOM_ACTIONS.items():
        assert doc.actions[name] == (rule.roles, rule.args), name


# --- the world the walk builds its requests in ---------------------------------------------


def clean_store(path: Path) -> None:
    """The demo hotel with nothing going on: every room vacant and dirty, no reservation,
    block or discrepancy, so that the walk knows what each request finds."""
    m.open_db(path)
    try:
        with m.db.atomic():
            m.Discrepancy.delete().execute()
            m.Block.delete().execute()
            m.Reservation.delete().execute()
            m.Room.update(
                room_status="CHECKOUT_DIRTY",
                is_occupied=False,
                guests_in_room=0,
                is_out_of_order=False,
                out_of_order_reason=None,
                maintenance_required=False,
                maintenance_priority=None,
                maintenance_notes=None,
                do_not_disturb=False,
                dnd_since=None,
                hk_occupancy=None,
                hk_observed_at=None,
                is_out_of_service=False,
                block_id=None,
                block_kind=None,
                block_reason=None,
                block_start=None,
                block_end=None,
                block_return_status=None,
                assigned_to_id=None,
                assigned_to_name=None,
                rush_requested_at=None,
                rush_requested_by_id=None,
                rush_requested_by=None,
                rush_workstation=None,
                rush_note=None,
            ).execute()
    finally:
        m.close_db()


# from a vacant CHECKOUT_DIRTY room without flags, the manager's steps to each state
PATHS: dict[str, tuple[str, ...]] = {
    "CHECKOUT_DIRTY": (),
    "CLEANING_IN_PROGRESS": ("start_cleaning",),
    "CLEANED_UNINSPECTED": ("start_cleaning", "finish_cleaning"),
    "READY_FOR_GUEST": ("start_cleaning", "finish_cleaning", "inspect"),
    "MAINTENANCE_REQUIRED": ("report_maintenance",),
    "OUT_OF_ORDER": ("set_out_of_order",),
    "flagged": ("flag_maintenance",),
    "dnd": ("set_dnd",),
}


class World:
    """The server, a connection per role, and the manager's hands to set things up."""

    def __init__(self, srv: LiveServer, peers: dict[str, Peer], staff: list[dict[str, Any]]):
        self.srv, self.peers, self.clock = srv, peers, srv.clock
        self.mgr = peers["manager"]
        self.staff = staff
        self.numbers: list[str] = []
        self.action_rooms: itertools.cycle[str] = itertools.cycle([""])
        self.fresh_rooms: list[str] = []
        self.days = itertools.count(3, 2)
        self.serial = itertools.count(1)  # for new logins, room numbers, room type names
        self.passwords = {login: "demo" for login in LOGIN.values()}
        self.others: list[Peer] = []  # connections of the walk's own accounts

    async def load(self) -> None:
        board = await self.ok("board.at", at=self.now(0))
        self.numbers = sorted(r["room_number"] for r in board["rooms"])
        self.action_rooms = itertools.cycle(self.numbers[:6])
        self.fresh_rooms = self.numbers[6:-2]
        # reservations days ahead go to the last room, which is ready (a check-in of one
        # of them is refused for the day, not for the room)
        await self.room("READY_FOR_GUEST", self.numbers[-1])

    def now(self, minutes: float) -> str:
        return to_iso(self.clock.now() + timedelta(minutes=minutes)) or ""

    def staff_id(self, role: str) -> int:
        return next(int(s["id"]) for s in self.staff if s["role"] == role)

    async def ok(self, kind: str, /, **fields: Any) -> dict[str, Any]:
        reply = await self.mgr.request(kind, **fields)
        assert reply["type"] == "ack", (kind, fields, reply)
        self.mgr.skipped.clear()
        result: dict[str, Any] = reply["result"]
        return result

    async def room_now(self, number: str) -> dict[str, Any]:
        board = await self.ok("board.at", at=self.now(0))
        room: dict[str, Any] = next(r for r in board["rooms"] if r["room_number"] == number)
        return room

    async def act(self, room: dict[str, Any], action: str, **args: Any) -> dict[str, Any]:
        await self.ok(
            "room.action",
            room_number=room["room_number"],
            action=action,
            expected_version=room["version"],
            **args,
        )
        return await self.room_now(room["room_number"])

    async def room(
        self, state: str = "CHECKOUT_DIRTY", number: str | None = None
    ) -> dict[str, Any]:
        """A vacant room brought to `state` (a status, "flagged" or "dnd") by the manager."""
        room = await self.room_now(number or next(self.action_rooms))
        if room["do_not_disturb"]:
            room = await self.act(room, "clear_dnd")
        if room["rush"] is not None:
            await self.ok(
                "room.rush_cancel",
                room_number=room["room_number"],
                expected_version=room["version"],
            )
            room = await self.room_now(room["room_number"])
        if room["block"] is not None:
            await self.ok("block.end", block_id=room["block"]["id"])
            room = await self.room_now(room["room_number"])
        if room["is_out_of_order"]:
            room = await self.act(room, "clear_out_of_order")
        if room["maintenance_required"]:
            room = await self.act(room, "clear_maintenance")
        back = {
            "CLEANING_IN_PROGRESS": ("finish_cleaning", "fail_inspection"),
            "CLEANED_UNINSPECTED": ("fail_inspection",),
            "READY_FOR_GUEST": ("mark_dirty",),
        }
        for action in back.get(room["room_status"], ()):
            room = await self.act(room, action)
        assert room["room_status"] == "CHECKOUT_DIRTY" and not room["is_occupied"], room
        for action in PATHS[state]:
            room = await self.act(room, action)
        return room

    async def fresh_room(self, state: str = "CHECKOUT_DIRTY") -> dict[str, Any]:
        """A room nobody has used in the walk yet (for reservations due today)."""
        return await self.room(state, self.fresh_rooms.pop())

    async def booking(
        self, room: dict[str, Any] | None = None, *, today: bool = False, confirmed: bool = True
    ) -> dict[str, Any]:
        """A reservation: arriving in an hour (today) or some days ahead."""
        if room is None:
            room = await self.room_now(self.numbers[-1])
        start = 60 if today else next(self.days) * 24 * 60
        made = await self.ok(
            "reservation.create",
            room_number=room["room_number"],
            guest_name="A. Byrne",
            start=self.now(start),
            end=self.now(start + 24 * 60),
            confirmed=confirmed,
        )
        reservation: dict[str, Any] = made["reservation"]
        return reservation

    async def guest_in(self) -> dict[str, Any]:
        """A room with a guest checked in; returns the reservation."""
        room = await self.fresh_room("READY_FOR_GUEST")
        booked = await self.booking(room, today=True)
        done = await self.ok("reservation.check_in", reservation_id=booked["id"])
        reservation: dict[str, Any] = done["reservation"]
        return reservation

    # --- staff accounts and rooms of the walk's own (the roles' accounts stay as they are)

    def next_name(self, prefix: str) -> str:
        return f"{prefix}{next(self.serial)}"

    async def account(self, *, disabled: bool = False) -> dict[str, Any]:
        """A new housekeeping account (password ACCOUNT_PASSWORD), disabled if asked."""
        login = self.next_name("walker")
        made = await self.ok(
            "staff.create",
            login=login,
            name=f"Walker {login}",
            role="housekeeping",
            password=ACCOUNT_PASSWORD,
        )
        account: dict[str, Any] = made["staff"]
        if disabled:
            await self.ok("staff.disable", staff_id=account["id"])
        return account

    async def session(self) -> int:
        """The id of an open session of a new account (logged in on a connection of its own)."""
        account = await self.account()
        self.others.append(await Peer.open(self.srv.url, account["login"], ACCOUNT_PASSWORD))
        sessions = (await self.ok("staff.sessions", staff_id=account["id"]))["sessions"]
        return int(sessions[0]["id"])

    async def room_type(self, *, with_room: bool = False) -> dict[str, Any]:
        """A new room type (with a room of its own if asked)."""
        made = await self.ok("room_type.create", name=self.next_name("Walk type "))
        room_type: dict[str, Any] = made["room_type"]
        if with_room:
            await self.new_room(room_type["name"])
        return room_type

    async def new_room(self, room_type: str = "Suite") -> dict[str, Any]:
        """A new room (on floor 9), vacant and ready: {"room_number", "version", ...}."""
        number = self.next_name("W")
        return await self.ok("room.create", room_number=number, room_type=room_type, floor=9)

    async def discrepancy(self, kind: str) -> dict[str, Any]:
        """An open discrepancy of `kind` (arrival_room_not_ready or occupancy_mismatch)."""
        if kind == "arrival_room_not_ready":
            await self.booking(await self.fresh_room(), today=True)
        else:
            room = await self.room()
            self.clock.advance(1)  # a new observation (one at the same moment is the same)
            await self.ok(
                "room.observe",
                room_number=room["room_number"],
                occupancy="occupied",
                expected_version=room["version"],
            )
        await self.srv.server.discrepancies_now()
        listed = (await self.ok("discrepancies.list"))["discrepancies"]
        found: dict[str, Any] = [d for d in listed if d["kind"] == kind][-1]
        return found


# --- the walk: one entry per command -------------------------------------------------------

Build = Callable[[World, str], Awaitable[dict[str, Any]]]
Expect = str | Mapping[str, str]  # a code for every role of the who, or login -> code


@dataclass(frozen=True)
class Flag:
    """A variant of a command and the code the document names for it."""

    label: str
    build: Build
    expect: Expect


@dataclass(frozen=True)
class Walk:
    build: Build
    flags: tuple[Flag, ...] = ()
    # "role": on the role's connection; "anonymous": a new connection, not logged in;
    # "token": a new connection logged in with the role's token; "session": a new one logged
    # in with the role's password (auth.logout ends the session on every connection)
    connection: str = "role"


async def _pairing(w: World, login: str) -> dict[str, Any]:
    """As `roomrack-server pair` does: a one-time code waiting in the server's TLS folder."""
    config = w.srv.config
    tls.TlsFolder(config.tls_dir or tls.default_dir(config.db_path)).new_pairing(w.clock.now())
    return {"nonce": new_nonce()}


def fields(**values: Any) -> Build:
    async def build(w: World, login: str) -> dict[str, Any]:
        return dict(values)

    return build


def room_action(action: str, state: str, **args: Any) -> Build:
    async def build(w: World, login: str) -> dict[str, Any]:
        room = await w.room(state)
        return {
            "room_number": room["room_number"],
            "action": action,
            "expected_version": room["version"],
            **args,
        }

    return build


def on_room(state: str = "CHECKOUT_DIRTY", *, fresh: bool = False, **more: Any) -> Build:
    async def build(w: World, login: str) -> dict[str, Any]:
        room = await (w.fresh_room(state) if fresh else w.room(state))
        return {"room_number": room["room_number"], "expected_version": room["version"], **more}

    return build


def changed(base: Build, **values: Any) -> Build:
    """`base`, with some fields set (None: left out)."""

    async def build(w: World, login: str) -> dict[str, Any]:
        out = await base(w, login)
        for k, v in values.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = v(out, w) if callable(v) else v
        return out

    return build


async def _block(w: World, login: str, kind: str = "out_of_service") -> dict[str, Any]:
    room = await w.room()
    return {
        "room_number": room["room_number"],
        "kind": kind,
        "reason": "Leak under the sink",
        "end": w.now(120),
        "expected_version": room["version"],
    }


async def _block_to_end(w: World, login: str) -> dict[str, Any]:
    made = await w.ok("block.create", **await _block(w, login))
    return {"block_id": made["block"]["id"]}


async def _ended_block(w: World, login: str) -> dict[str, Any]:
    made = await _block_to_end(w, login)
    await w.ok("block.end", **made)
    return made


async def _arrival_block(w: World, login: str) -> dict[str, Any]:
    room = await w.fresh_room()
    await w.booking(room, today=True)
    room = await w.room_now(room["room_number"])
    return {
        "room_number": room["room_number"],
        "kind": "out_of_order",
        "reason": "Leak under the sink",
        "end": w.now(24 * 60),
        "expected_version": room["version"],
    }


async def _batch(w: World, login: str) -> dict[str, Any]:
    a, b = await w.room(), await w.room()
    return {
        "items": [
            {"room_number": r["room_number"], "action": "start_cleaning", "expected_version": v}
            for r, v in ((a, a["version"]), (b, b["version"]))
        ]
    }


async def _assign(w: World, login: str) -> dict[str, Any]:
    room = await w.room()
    who = w.staff_id("housekeeping")
    who = who if room["assigned_to"] is None or room["assigned_to"]["staff_id"] != who else None
    return {"items": [{"room_number": room["room_number"], "staff_id": who}]}


async def _split(w: World, login: str) -> dict[str, Any]:
    room = await w.room()
    return {
        "staff_ids": [w.staff_id("supervisor")],
        "by": "floor",
        "room_numbers": [room["room_number"]],
    }


def _booked(*, confirmed: bool = True, today: bool = False, state: str = "") -> Build:
    async def build(w: World, login: str) -> dict[str, Any]:
        if state == "checked_in":
            return {"reservation_id": (await w.guest_in())["id"]}
        room = await w.fresh_room("READY_FOR_GUEST") if today else None
        return {"reservation_id": (await w.booking(room, today=today, confirmed=confirmed))["id"]}

    return build


async def _check_in(w: World, login: str) -> dict[str, Any]:
    room = await w.fresh_room("READY_FOR_GUEST")
    await w.booking(room, today=True)
    room = await w.room_now(room["room_number"])
    return {"room_number": room["room_number"], "expected_version": room["version"]}


async def _check_out(w: World, login: str) -> dict[str, Any]:
    guest = await w.guest_in()
    room = await w.room_now(guest["room_number"])
    return {"room_number": room["room_number"], "expected_version": room["version"]}


def _discrepancy(kind: str) -> Build:
    async def build(w: World, login: str) -> dict[str, Any]:
        return {"discrepancy_id": (await w.discrepancy(kind))["id"], "note": "seen to"}

    return build


async def _resolve_mine(w: World, login: str) -> dict[str, Any]:
    """One that concerns `login`'s role."""
    kind = "arrival_room_not_ready" if login == "housekeeping" else "occupancy_mismatch"
    return await _discrepancy(kind)(w, login)


async def _resolved(w: World, login: str) -> dict[str, Any]:
    found = await _resolve_mine(w, login)
    await w.ok("discrepancy.resolve", **found)
    return found


async def _new_reservation(w: World, login: str) -> dict[str, Any]:
    start = next(w.days) * 24 * 60
    return {
        "room_number": w.numbers[-2],
        "guest_name": "Ms Daly",
        "start": w.now(start),
        "end": w.now(start + 600),
    }


async def _token(w: World, login: str) -> dict[str, Any]:
    return {"token": w.peers[login].login["token"]}


async def _viewing(w: World, login: str) -> dict[str, Any]:
    return {"room_number": w.numbers[0]}


async def _history(w: World, login: str) -> dict[str, Any]:
    return {"room_number": w.numbers[0], "limit": 5}


# --- staff accounts and rooms: the walk's own accounts and rooms, made by the manager ----

ACCOUNT_PASSWORD = "Lough Leane at dawn"
UNKNOWN = 999_999


def on_account(*, disabled: bool = False, **more: Any) -> Build:
    """A new account's id (and `more`), for a manager's command on it."""

    async def build(w: World, login: str) -> dict[str, Any]:
        return {"staff_id": (await w.account(disabled=disabled))["id"], **more}

    return build


def of_login(role: str, **more: Any) -> Build:
    """The id of a role's own account of the walk (the manager's: their own)."""

    async def build(w: World, login: str) -> dict[str, Any]:
        return {"staff_id": w.staff_id(role), **more}

    return build


async def _new_staff(w: World, login: str) -> dict[str, Any]:
    new = w.next_name("colleague")
    return {
        "login": new,
        "name": f"Colleague {new}",
        "role": "front_desk",
        "password": ACCOUNT_PASSWORD,
    }


async def _a_session(w: World, login: str) -> dict[str, Any]:
    return {"session_id": await w.session()}


async def _own_session(w: World, login: str) -> dict[str, Any]:
    sessions = (await w.ok("staff.sessions", staff_id=w.staff_id("manager")))["sessions"]
    return {"session_id": next(int(s["id"]) for s in sessions if s["current"])}


def _new_password(*, old: str = "", new: str = "") -> Build:
    """`login`'s own password change: from the current one to a fresh strong one (which is
    the current one from then on), or with the `old` or `new` password given (refused)."""

    async def build(w: World, login: str) -> dict[str, Any]:
        current = w.passwords[login]
        if old or new:
            return {"old_password": old or current, "new_password": new or ACCOUNT_PASSWORD}
        fresh = f"Ross Castle boat {next(w.serial)}"
        w.passwords[login] = fresh
        return {"old_password": current, "new_password": fresh}

    return build


async def _room_type(w: World, login: str) -> dict[str, Any]:
    return {"name": w.next_name("Walk type "), "max_occupancy": 3}


def on_room_type(*, with_room: bool = False, **more: Any) -> Build:
    """A new room type, named with its version (and `more`)."""

    async def build(w: World, login: str) -> dict[str, Any]:
        rt = await w.room_type(with_room=with_room)
        return {"room_type": rt["name"], "expected_version": rt["version"], **more}

    return build


async def _retired_type_again(w: World, login: str) -> dict[str, Any]:
    made = await on_room_type()(w, login)
    await w.ok("room_type.retire", **made)
    return {"name": made["room_type"]}


async def _new_room(w: World, login: str) -> dict[str, Any]:
    return {"room_number": w.next_name("W"), "room_type": "Suite", "floor": 9}


def on_new_room(**more: Any) -> Build:
    """A room made for the walk, with its version (and `more`)."""

    async def build(w: World, login: str) -> dict[str, Any]:
        room = await w.new_room()
        return {"room_number": room["room_number"], "expected_version": room["version"], **more}

    return build


async def _retired_room_again(w: World, login: str) -> dict[str, Any]:
    room = await on_new_room()(w, login)
    await w.ok("room.retire", **room)
    return {"room_number": room["room_number"], "room_type": "Twin Room", "floor": 2}


async def _booked_new_room(w: World, login: str) -> dict[str, Any]:
    room = await on_new_room()(w, login)
    await w.booking(await w.room_now(room["room_number"]))
    return {**room, "expected_version": (await w.room_now(room["room_number"]))["version"]}


OVERVIEW = f"{SLUG}.rooms"


def everyone(code: str) -> dict[str, str]:
    """The same code for every role: a refusal that comes before the role is looked at."""
    return {login: code for login in LOGIN.values()}


STALE = {"expected_version": lambda out, w: out["expected_version"] - 1}

WALK: dict[str, Walk] = {
    "auth.login": Walk(
        lambda w, login: fields(login=login, password="demo")(w, login),
        (
            Flag(
                "a wrong password",
                lambda w, login: fields(login=login, password="x")(w, login),
                "auth_failed",
            ),
        ),
        connection="anonymous",
    ),
    "auth.token": Walk(
        _token,
        (Flag("a forged token", fields(token="forged"), "token_invalid"),),
        connection="anonymous",
    ),
    "auth.logout": Walk(fields(), connection="session"),
    "ping": Walk(fields(), connection="anonymous"),
    "pair.prove": Walk(
        _pairing,
        (Flag("no pairing code waiting", fields(nonce=new_nonce()), "pairing_unavailable"),),
        connection="anonymous",
    ),
    "subscribe": Walk(
        fields(channels=[OVERVIEW]),
        (
            Flag(
                "another hotel's channel", fields(channels=["elsewhere.rooms"]), "unknown_channel"
            ),
            Flag("no channel", fields(channels=[]), "bad_request"),
            Flag("an unknown room", fields(channels=[f"{SLUG}.rooms.nope"]), "unknown_room"),
            Flag(
                "since with an unknown key",
                fields(channels=[OVERVIEW], since={"epoch": "e", "seq": 1, "x": 1}),
                "bad_request",
            ),
        ),
        connection="token",
    ),
    "unsubscribe": Walk(fields(channels=[OVERVIEW])),
    "presence.viewing": Walk(
        _viewing, (Flag("an unknown room", fields(room_number="nope"), "unknown_room"),)
    ),
    "room.action": Walk(
        room_action("set_dnd", "CHECKOUT_DIRTY"),
        (
            Flag(
                "a stale version",
                changed(room_action("set_dnd", "CHECKOUT_DIRTY"), **STALE),
                "stale_version",
            ),
            Flag(
                "an unknown room",
                changed(room_action("set_dnd", "CHECKOUT_DIRTY"), room_number="nope"),
                "unknown_room",
            ),
            Flag(
                "an unknown action",
                changed(room_action("set_dnd", "CHECKOUT_DIRTY"), action="fly"),
                everyone("bad_request"),
            ),
            Flag(
                "a field the action does not take",
                room_action("set_dnd", "CHECKOUT_DIRTY", notes="x"),
                "bad_request",
            ),
            Flag(
                "a priority outside its set",
                room_action("flag_maintenance", "CHECKOUT_DIRTY", priority="SOON"),
                "bad_request",
            ),
            Flag(
                "a move not possible from the status",
                room_action("inspect", "CHECKOUT_DIRTY"),
                "invalid_transition",
            ),
            Flag(
                "a return status not allowed",
                room_action("clear_out_of_order", "OUT_OF_ORDER", return_status="OUT_OF_ORDER"),
                "bad_request",
            ),
            Flag(
                "true for a version",
                changed(room_action("set_dnd", "CHECKOUT_DIRTY"), expected_version=True),
                everyone("bad_request"),
            ),
        ),
    ),
    "rooms.batch": Walk(
        _batch,
        (
            Flag("no item", fields(items=[]), "bad_request"),
            Flag(
                "one room twice",
                changed(_batch, items=lambda out, w: [out["items"][0]] * 2),
                "bad_request",
            ),
            Flag(
                "an item refused",
                changed(
                    _batch,
                    items=lambda out, w: [
                        out["items"][0],
                        {**out["items"][1], "expected_version": 0},
                    ],
                ),
                "stale_version",
            ),
            Flag(
                "too many items",
                fields(
                    items=[{"room_number": "1", "action": "set_dnd", "expected_version": 1}] * 201
                ),
                everyone("bad_request"),
            ),
        ),
    ),
    "room.rush": Walk(
        on_room(note="Mr Ryan waiting"),
        (
            Flag("a ready room", on_room("READY_FOR_GUEST"), "invalid_transition"),
            Flag("an out of order room", on_room("OUT_OF_ORDER"), "room_not_ready"),
        ),
    ),
    "room.rush_cancel": Walk(
        lambda w, login: _rushed(w),
        (Flag("a room not rushed", on_room(), "invalid_transition"),),
    ),
    "rooms.assign": Walk(
        _assign,
        (
            Flag(
                "someone who is not an attendant",
                changed(
                    _assign,
                    items=lambda out, w: [
                        {**out["items"][0], "staff_id": w.staff_id("front_desk")}
                    ],
                ),
                "bad_request",
            ),
            Flag(
                "true for a version",
                changed(
                    _assign, items=lambda out, w: [{**out["items"][0], "expected_version": True}]
                ),
                "bad_request",
            ),
            Flag(
                "a field it does not take",
                changed(_assign, items=lambda out, w: [{**out["items"][0], "note": "x"}]),
                "bad_request",
            ),
        ),
    ),
    "rooms.assign_split": Walk(
        _split,
        (
            Flag("an unknown way to split", changed(_split, by="wing"), "bad_request"),
            Flag("nobody", changed(_split, staff_ids=[]), "bad_request"),
            Flag("an unknown room", changed(_split, room_numbers=["nope"]), "unknown_room"),
        ),
    ),
    "staff.list": Walk(fields()),
    "block.create": Walk(
        _block,
        (
            Flag(
                "an override that is not needed",
                changed(_block, override=True),
                {"manager": "ack", "maintenance": "forbidden"},
            ),
            Flag("out of order with an arrival due", _arrival_block, "override_required"),
            Flag(
                "an override of an arrival due",
                changed(_arrival_block, override=True),
                {"manager": "ack", "maintenance": "forbidden"},
            ),
            Flag("an unknown kind", changed(_block, kind="closed"), "bad_request"),
            Flag(
                "an end before the start",
                changed(_block, end=lambda out, w: w.now(-5)),
                "bad_request",
            ),
            Flag("a blank reason", changed(_block, reason="  "), "bad_request"),
            Flag(
                "a return status not allowed",
                changed(_block, return_status="OUT_OF_ORDER"),
                "bad_request",
            ),
            Flag("a stale version", changed(_block, **STALE), "stale_version"),
        ),
    ),
    "block.end": Walk(
        _block_to_end,
        (
            Flag("an unknown block", fields(block_id=999_999), "bad_request"),
            Flag("a block that is over", _ended_block, "invalid_transition"),
        ),
    ),
    "blocks.list": Walk(fields()),
    "room.observe": Walk(
        on_room(occupancy="vacant"),
        (Flag("an occupancy outside its set", on_room(occupancy="maybe"), "bad_request"),),
    ),
    "discrepancy.resolve": Walk(
        _resolve_mine,
        (
            Flag("an unknown discrepancy", fields(discrepancy_id=999_999), "bad_request"),
            Flag("one resolved already", _resolved, "invalid_transition"),
            Flag(
                "one of another team",
                _discrepancy("occupancy_mismatch"),
                {"housekeeping": "forbidden"},
            ),
        ),
    ),
    "discrepancies.list": Walk(fields()),
    "room.check_in": Walk(
        _check_in,
        (
            Flag("a room that is not ready", on_room(fresh=True), "room_not_ready"),
            Flag("no arrival due", on_room("READY_FOR_GUEST", fresh=True), "no_reservation"),
        ),
    ),
    "room.check_out": Walk(
        _check_out, (Flag("no guest in the room", on_room(), "no_reservation"),)
    ),
    "reservation.create": Walk(
        _new_reservation,
        (
            Flag("pending", changed(_new_reservation, confirmed=False), "ack"),
            Flag("no guest", changed(_new_reservation, guests=0), "bad_request"),
            Flag(
                "an end at the start",
                changed(_new_reservation, end=lambda out, w: out["start"]),
                "bad_request",
            ),
            Flag("a blank name", changed(_new_reservation, guest_name=" "), "bad_request"),
            Flag("an unknown room", changed(_new_reservation, room_number="nope"), "unknown_room"),
        ),
    ),
    "reservation.confirm": Walk(
        _booked(confirmed=False),
        (
            Flag("one confirmed already", _booked(), "invalid_transition"),
            Flag("an unknown reservation", fields(reservation_id=999_999), "unknown_reservation"),
            Flag(
                "a stale version",
                changed(_booked(confirmed=False), expected_version=5),
                "stale_version",
            ),
            Flag(
                "a stale room version",
                changed(_booked(confirmed=False), room_version=0),
                "stale_version",
            ),
        ),
    ),
    "reservation.cancel": Walk(
        _booked(), (Flag("a guest in house", _booked(state="checked_in"), "invalid_transition"),)
    ),
    "reservation.check_in": Walk(
        _booked(today=True),
        (Flag("not due yet", _booked(), "not_due"),),
    ),
    "reservation.check_out": Walk(
        _booked(state="checked_in"),
        (Flag("not checked in", _booked(), "invalid_transition"),),
    ),
    "reservation.delete": Walk(
        _booked(confirmed=False),
        (Flag("a confirmed one", _booked(), "invalid_transition"),),
    ),
    "room.history": Walk(
        _history, (Flag("an unknown room", fields(room_number="nope"), "unknown_room"),)
    ),
    "rooms.status": Walk(fields()),
    "reservations.list": Walk(fields()),
    "board.at": Walk(
        lambda w, login: fields(at=w.now(0))(w, login),
        (
            Flag(
                "a moment to come", lambda w, login: fields(at=w.now(60))(w, login), "bad_request"
            ),
            Flag("before the journal", fields(at="2001-01-01T00:00:00Z"), "history_unavailable"),
            Flag("not a time", fields(at="noon"), "bad_request"),
        ),
    ),
    "journal.range": Walk(
        lambda w, login: fields(since=w.now(-60), until=w.now(60))(w, login),
        (
            Flag(
                "until before since",
                lambda w, login: fields(since=w.now(60), until=w.now(-60))(w, login),
                "bad_request",
            ),
        ),
    ),
    "hotel.configure": Walk(
        fields(),
        (
            Flag("a roll-over hour", fields(rollover_hour=4), "ack"),
            Flag("an hour out of range", fields(rollover_hour=24), "bad_request"),
            Flag("a lead time out of range", fields(arrival_lead_minutes=1441), "bad_request"),
        ),
    ),
    # --- rooms and room types (a manager's)
    "room_type.create": Walk(
        _room_type,
        (
            Flag("the name of a retired one", _retired_type_again, "ack"),
            Flag("a name taken", changed(_room_type, name="Suite"), "duplicate_room_type"),
            Flag("a blank name", changed(_room_type, name=" "), "bad_request"),
            Flag("too many guests", changed(_room_type, max_occupancy=101), "bad_request"),
        ),
    ),
    "room_type.update": Walk(
        on_room_type(max_occupancy=4),
        (
            Flag("a new name", on_room_type(name="Walk suite"), "ack"),
            Flag("a type with rooms", on_room_type(with_room=True, max_occupancy=5), "ack"),
            Flag("a name taken", on_room_type(name="Suite"), "duplicate_room_type"),
            Flag(
                "a stale version", changed(on_room_type(max_occupancy=4), **STALE), "stale_version"
            ),
            Flag(
                "an unknown room type",
                fields(room_type="Palace", max_occupancy=4),
                "unknown_room_type",
            ),
            Flag("too many guests", on_room_type(max_occupancy=101), "bad_request"),
        ),
    ),
    "room_type.retire": Walk(
        on_room_type(),
        (
            Flag("a type with rooms", on_room_type(with_room=True), "room_type_in_use"),
            Flag("a stale version", changed(on_room_type(), **STALE), "stale_version"),
            Flag("an unknown room type", fields(room_type="Palace"), "unknown_room_type"),
        ),
    ),
    "room_types.list": Walk(
        fields(), (Flag("with the retired ones", fields(include_retired=True), "ack"),)
    ),
    "room.create": Walk(
        _new_room,
        (
            Flag("the number of a retired room", _retired_room_again, "ack"),
            Flag(
                "a number taken",
                changed(_new_room, room_number=lambda out, w: w.numbers[0]),
                "duplicate_room",
            ),
            Flag(
                "an unknown room type", changed(_new_room, room_type="Palace"), "unknown_room_type"
            ),
            Flag("a floor out of range", changed(_new_room, floor=201), "bad_request"),
            Flag("a number with a space", changed(_new_room, room_number="1 2"), "bad_request"),
        ),
    ),
    "room.update": Walk(
        on_new_room(floor=8),
        (
            Flag("another room type", on_new_room(room_type="Twin Room"), "ack"),
            Flag("a stale version", changed(on_new_room(floor=8), **STALE), "stale_version"),
            Flag(
                "an unknown room",
                changed(on_new_room(floor=8), room_number="nope"),
                "unknown_room",
            ),
            Flag("an unknown room type", on_new_room(room_type="Palace"), "unknown_room_type"),
            Flag("a floor out of range", on_new_room(floor=-6), "bad_request"),
        ),
    ),
    "room.retire": Walk(
        on_new_room(),
        (
            Flag("a room with a booking to come", _booked_new_room, "room_in_use"),
            Flag("a stale version", changed(on_new_room(), **STALE), "stale_version"),
            Flag("an unknown room", changed(on_new_room(), room_number="nope"), "unknown_room"),
        ),
    ),
    # --- staff accounts (a manager's; everyone changes their own password)
    "staff.accounts": Walk(fields()),
    "staff.sessions": Walk(
        fields(),
        (
            Flag("one person's", of_login("housekeeping"), "ack"),
            Flag("an unknown person", fields(staff_id=UNKNOWN), "unknown_staff"),
        ),
    ),
    "staff.create": Walk(
        _new_staff,
        (
            Flag("a weak password", changed(_new_staff, password="password1"), "weak_password"),
            Flag("a login taken", changed(_new_staff, login="housekeeping"), "conflict"),
            Flag("an unknown role", changed(_new_staff, role="porter"), "bad_request"),
            Flag("a login with a space", changed(_new_staff, login="a b"), "bad_request"),
        ),
    ),
    "staff.disable": Walk(
        on_account(),
        (
            Flag("one's own account", of_login("manager"), "bad_request"),
            Flag("an unknown person", fields(staff_id=UNKNOWN), "unknown_staff"),
        ),
    ),
    "staff.enable": Walk(
        on_account(disabled=True),
        (Flag("an unknown person", fields(staff_id=UNKNOWN), "unknown_staff"),),
    ),
    "staff.reset_password": Walk(
        on_account(password="Muckross House 1843"),
        (
            Flag("a weak password", on_account(password="password1"), "weak_password"),
            Flag("one's own", of_login("manager", password="Muckross House 1843"), "bad_request"),
            Flag(
                "an unknown person",
                fields(staff_id=UNKNOWN, password="Muckross House 1843"),
                "unknown_staff",
            ),
        ),
    ),
    "staff.unlock": Walk(
        on_account(), (Flag("an unknown person", fields(staff_id=UNKNOWN), "unknown_staff"),)
    ),
    "staff.end_sessions": Walk(
        on_account(),
        (
            Flag("one's own (the others end, this one stays)", of_login("manager"), "ack"),
            Flag("an unknown person", fields(staff_id=UNKNOWN), "unknown_staff"),
        ),
    ),
    "session.end": Walk(
        _a_session,
        (
            Flag("this connection's own", _own_session, "bad_request"),
            Flag("an unknown session", fields(session_id=UNKNOWN), "bad_request"),
        ),
    ),
    "staff.audit": Walk(
        fields(limit=20),
        (
            Flag("no limit given", fields(), "ack"),
            Flag("a limit out of range", fields(limit=0), "bad_request"),
        ),
    ),
    "auth.change_password": Walk(
        _new_password(),
        (
            Flag("a weak new password", _new_password(new="password1"), "weak_password"),
            Flag("a wrong old password", _new_password(old="not it at all"), "auth_failed"),
        ),
    ),
}


async def _rushed(w: World) -> dict[str, Any]:
    room = await w.room()
    await w.ok("room.rush", room_number=room["room_number"], expected_version=room["version"])
    room = await w.room_now(room["room_number"])
    return {"room_number": room["room_number"], "expected_version": room["version"]}


def test_every_command_has_a_walk_entry() -> None:
    missing = sorted(set(protocol.COMMANDS) - set(WALK))
    assert not missing, f"add a Walk entry to tests/server/test_protocol_walk.py for: {missing}"
    assert not set(WALK) - set(protocol.COMMANDS)


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


def test_the_document_spells_out_the_result_of_nearly_every_command(doc: Document) -> None:
    """Where a result is not written as `{...}` the document describes it in prose."""
    assert set(protocol.COMMANDS) - set(doc.results) == {"auth.login", "auth.token", "subscribe"}
    assert doc.results["room.action"] == {"room_number", "version", "room_status", "seq"}
    assert doc.results["room.rush_cancel"] == doc.results["room.rush"]
    assert doc.results["rooms.assign_split"] == {"rooms", "split", "seq"}
