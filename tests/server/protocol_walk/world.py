"""The world the walk builds its requests in: a clean demo store, the server, a connection
per role and the manager's hands to set things up."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

from server import db as m
from shared.rules import Role
from shared.timeutil import to_iso
from tests.support import LiveServer, Peer

LOGIN = {
    Role.HOUSEKEEPING: "housekeeping",
    Role.SUPERVISOR: "supervisor",
    Role.MAINTENANCE: "maintenance",
    Role.FRONT_DESK: "frontdesk",
    Role.MANAGER: "manager",
}
ACCOUNT_PASSWORD = "Lough Leane at dawn"  # the walk's own accounts'


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
