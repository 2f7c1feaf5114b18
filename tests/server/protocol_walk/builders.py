"""How the walk builds a request: `Walk` (one per command) and its `Flag`s, and the builders
they are made of (given the world and the sending login)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from server import tls
from shared.pairing import new_nonce
from tests.server.protocol_walk.world import ACCOUNT_PASSWORD, LOGIN, World
from tests.support import SLUG

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


async def pairing(w: World, login: str) -> dict[str, Any]:
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


async def block(w: World, login: str, kind: str = "out_of_service") -> dict[str, Any]:
    room = await w.room()
    return {
        "room_number": room["room_number"],
        "kind": kind,
        "reason": "Leak under the sink",
        "end": w.now(120),
        "expected_version": room["version"],
    }


async def block_to_end(w: World, login: str) -> dict[str, Any]:
    made = await w.ok("block.create", **await block(w, login))
    return {"block_id": made["block"]["id"]}


async def ended_block(w: World, login: str) -> dict[str, Any]:
    made = await block_to_end(w, login)
    await w.ok("block.end", **made)
    return made


async def arrival_block(w: World, login: str) -> dict[str, Any]:
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


async def batch(w: World, login: str) -> dict[str, Any]:
    a, b = await w.room(), await w.room()
    return {
        "items": [
            {"room_number": r["room_number"], "action": "start_cleaning", "expected_version": v}
            for r, v in ((a, a["version"]), (b, b["version"]))
        ]
    }


async def assign(w: World, login: str) -> dict[str, Any]:
    room = await w.room()
    who = w.staff_id("housekeeping")
    who = who if room["assigned_to"] is None or room["assigned_to"]["staff_id"] != who else None
    return {"items": [{"room_number": room["room_number"], "staff_id": who}]}


async def split(w: World, login: str) -> dict[str, Any]:
    room = await w.room()
    return {
        "staff_ids": [w.staff_id("supervisor")],
        "by": "floor",
        "room_numbers": [room["room_number"]],
    }


def booked(*, confirmed: bool = True, today: bool = False, state: str = "") -> Build:
    async def build(w: World, login: str) -> dict[str, Any]:
        if state == "checked_in":
            return {"reservation_id": (await w.guest_in())["id"]}
        room = await w.fresh_room("READY_FOR_GUEST") if today else None
        return {"reservation_id": (await w.booking(room, today=today, confirmed=confirmed))["id"]}

    return build


async def check_in(w: World, login: str) -> dict[str, Any]:
    room = await w.fresh_room("READY_FOR_GUEST")
    await w.booking(room, today=True)
    room = await w.room_now(room["room_number"])
    return {"room_number": room["room_number"], "expected_version": room["version"]}


async def check_in_naming(w: World, login: str) -> dict[str, Any]:
    """A check-in that names its reservation (`reservation_id?`)."""
    room = await w.fresh_room("READY_FOR_GUEST")
    booking = await w.booking(room, today=True)
    room = await w.room_now(room["room_number"])
    return {
        "room_number": room["room_number"],
        "expected_version": room["version"],
        "reservation_id": booking["id"],
    }


async def resume(w: World, login: str) -> dict[str, Any]:
    """A first subscribe that resumes (`since`) from the journal's head as it is now."""
    head = (await w.ok("rooms.status"))["seq"]
    since = {"epoch": w.peers[login].hello["epoch"], "seq": head}
    return {"channels": [OVERVIEW], "since": since}


async def out_of_order_over_a_guest(w: World, login: str) -> dict[str, Any]:
    """`set_out_of_order` on a room with a guest checked in."""
    guest = await w.guest_in()
    room = await w.room_now(guest["room_number"])
    return {
        "room_number": room["room_number"],
        "action": "set_out_of_order",
        "reason": "Leak",
        "expected_version": room["version"],
    }


async def check_out(w: World, login: str) -> dict[str, Any]:
    guest = await w.guest_in()
    room = await w.room_now(guest["room_number"])
    return {"room_number": room["room_number"], "expected_version": room["version"]}


def discrepancy(kind: str) -> Build:
    async def build(w: World, login: str) -> dict[str, Any]:
        return {"discrepancy_id": (await w.discrepancy(kind))["id"], "note": "seen to"}

    return build


async def resolve_mine(w: World, login: str) -> dict[str, Any]:
    """One that concerns `login`'s role."""
    kind = "arrival_room_not_ready" if login == "housekeeping" else "occupancy_mismatch"
    return await discrepancy(kind)(w, login)


async def resolved(w: World, login: str) -> dict[str, Any]:
    found = await resolve_mine(w, login)
    await w.ok("discrepancy.resolve", **found)
    return found


async def new_reservation(w: World, login: str) -> dict[str, Any]:
    start = next(w.days) * 24 * 60
    return {
        "room_number": w.numbers[-2],
        "guest_name": "Ms Daly",
        "start": w.now(start),
        "end": w.now(start + 600),
    }


async def token(w: World, login: str) -> dict[str, Any]:
    return {"token": w.peers[login].login["token"]}


async def viewing(w: World, login: str) -> dict[str, Any]:
    return {"room_number": w.numbers[0]}


async def history(w: World, login: str) -> dict[str, Any]:
    return {"room_number": w.numbers[0], "limit": 5}


# --- staff accounts and rooms: the walk's own accounts and rooms, made by the manager ----

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


async def new_staff(w: World, login: str) -> dict[str, Any]:
    new = w.next_name("colleague")
    return {
        "login": new,
        "name": f"Colleague {new}",
        "role": "front_desk",
        "password": ACCOUNT_PASSWORD,
    }


async def a_session(w: World, login: str) -> dict[str, Any]:
    return {"session_id": await w.session()}


async def own_session(w: World, login: str) -> dict[str, Any]:
    sessions = (await w.ok("staff.sessions", staff_id=w.staff_id("manager")))["sessions"]
    return {"session_id": next(int(s["id"]) for s in sessions if s["current"])}


def new_password(*, old: str = "", new: str = "") -> Build:
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


async def room_type(w: World, login: str) -> dict[str, Any]:
    return {"name": w.next_name("Walk type "), "max_occupancy": 3}


def on_room_type(*, with_room: bool = False, **more: Any) -> Build:
    """A new room type, named with its version (and `more`)."""

    async def build(w: World, login: str) -> dict[str, Any]:
        rt = await w.room_type(with_room=with_room)
        return {"room_type": rt["name"], "expected_version": rt["version"], **more}

    return build


async def retired_type_again(w: World, login: str) -> dict[str, Any]:
    made = await on_room_type()(w, login)
    await w.ok("room_type.retire", **made)
    return {"name": made["room_type"]}


async def new_room(w: World, login: str) -> dict[str, Any]:
    return {"room_number": w.next_name("W"), "room_type": "Suite", "floor": 9}


def on_new_room(**more: Any) -> Build:
    """A room made for the walk, with its version (and `more`)."""

    async def build(w: World, login: str) -> dict[str, Any]:
        room = await w.new_room()
        return {"room_number": room["room_number"], "expected_version": room["version"], **more}

    return build


async def retired_room_again(w: World, login: str) -> dict[str, Any]:
    room = await on_new_room()(w, login)
    await w.ok("room.retire", **room)
    return {"room_number": room["room_number"], "room_type": "Twin Room", "floor": 2}


async def booked_new_room(w: World, login: str) -> dict[str, Any]:
    room = await on_new_room()(w, login)
    await w.booking(await w.room_now(room["room_number"]))
    return {**room, "expected_version": (await w.room_now(room["room_number"]))["version"]}


OVERVIEW = f"{SLUG}.rooms"


def everyone(code: str) -> dict[str, str]:
    """The same code for every role: a refusal that comes before the role is looked at."""
    return {login: code for login in LOGIN.values()}


STALE = {"expected_version": lambda out, w: out["expected_version"] - 1}


async def rushed(w: World) -> dict[str, Any]:
    room = await w.room()
    await w.ok("room.rush", room_number=room["room_number"], expected_version=room["version"])
    room = await w.room_now(room["room_number"])
    return {"room_number": room["room_number"], "expected_version": room["version"]}
