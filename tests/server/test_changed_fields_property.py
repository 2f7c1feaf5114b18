"""`changed_fields` tells the whole truth, whatever happens: random sequences of commands of
every kind, sent by every role to a real server, and the server's clock moving on (blocks
starting and ending, discrepancies, the night roll-over).

A watcher keeps the rooms of its snapshot and applies to them, for each `room_updated`, only
the fields named in `changed_fields` (plus `version` and `updated_at`, which every change
moves). After each event, that must give the event's whole payload, and each named field
must really have moved; after each step, the watcher's rooms must be exactly those of a
fresh snapshot taken at the same seq."""

from __future__ import annotations

from collections import deque
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from shared.clock import ManualClock
from shared.errors import ErrorCode
from shared.rules import RETURN_STATUSES, ROOM_ACTIONS, Role, RoomView, actions_for
from shared.timeutil import to_iso
from tests.support import SLUG, ServerThread, SyncPeer, server_config

LOGINS = ("housekeeping", "supervisor", "maintenance", "frontdesk", "manager")
ROLE_OF = {login: Role(login.replace("frontdesk", "front_desk")) for login in LOGINS}
ALWAYS_NEW = ("version", "updated_at")
CODES = {c.value for c in ErrorCode} - {ErrorCode.INTERNAL_ERROR.value}
OVERVIEW, RESERVATIONS = f"{SLUG}.rooms", f"{SLUG}.reservations"
NEW_ROOMS = ("X1", "X2", "X3")  # rooms the sequences create (the demo has none of these)
ROOM_TYPES = ("Suite", "Twin Room", "Loft", "Garden Room")  # two of the demo's, two new


class Watcher:
    """A client that keeps rooms from a snapshot, by `changed_fields` alone."""

    def __init__(self, url: str, token: str) -> None:
        self.peer = SyncPeer.logged_in(url, token=token)
        self.queue: deque[dict[str, Any]] = deque()
        self.seq = 0
        self.rooms: dict[str, dict[str, Any]] = {}
        self.retired: dict[str, dict[str, Any]] = {}  # the last known state of retired rooms
        self.events = 0

    def start_over(self) -> None:
        """Forget everything and start again from a fresh snapshot of all channels."""
        self.peer.request("unsubscribe", channels=[OVERVIEW, RESERVATIONS])
        ack = self.peer.request("subscribe", channels=[OVERVIEW, RESERVATIONS])
        assert ack["type"] == "ack" and ack["result"]["mode"] == "snapshot", ack
        self.queue.clear()
        self.peer.frames.clear()  # what came before the new subscription
        snap = self.next_of("rooms.status")
        self.seq = snap["seq"]
        self.rooms = {r["room_number"]: dict(r) for r in snap["rooms"]}
        for number in self.rooms:  # brought back while nobody watched
            self.retired.pop(number, None)

    def next_frame(self) -> dict[str, Any]:
        if self.queue:
            return self.queue.popleft()
        if self.peer.frames:
            self.queue.extend(self.peer.frames)
            self.peer.frames.clear()
            return self.queue.popleft()
        return self.peer.recv()

    def next_of(self, kind: str) -> dict[str, Any]:
        while True:
            frame = self.next_frame()
            if frame.get("type") == kind:
                return frame

    def apply_upto(self, seq: int) -> None:
        """Apply every event up to `seq` (they come in order, every seq: this client holds
        all of its hotel's channels); later ones wait for the next call."""
        held: list[dict[str, Any]] = []
        while self.seq < seq:
            frame = self.next_frame()
            meta = frame.get("meta")
            if not isinstance(meta, dict):
                continue  # heartbeats, presence
            if meta["seq"] > seq:
                held.append(frame)
                continue
            assert meta["seq"] == self.seq + 1, (meta["seq"], self.seq)
            self.seq = meta["seq"]
            payload = frame["payload"]
            if frame["type"] == "room_updated":
                self.apply(payload)
            elif frame["type"] == "room_created":  # a new card, or a retired room back
                assert payload["changed_fields"] == [], payload
                room = {k: v for k, v in payload.items() if k not in ("reinstated",)}
                self.rooms[payload["room_number"]] = room
                self.retired.pop(payload["room_number"], None)
            elif frame["type"] == "room_retired":  # the card leaves
                self.retired[payload["room_number"]] = self.rooms.pop(payload["room_number"])
        self.queue.extendleft(reversed(held))

    def apply(self, payload: dict[str, Any]) -> None:
        before = self.rooms[payload["room_number"]]
        changed = payload["changed_fields"]
        assert len(set(changed)) == len(changed), changed
        for name in changed:
            assert name not in ALWAYS_NEW
            assert before.get(name) != payload[name], f"{name} is named but did not move"
        after = {**before, **{k: payload[k] for k in (*changed, *ALWAYS_NEW)}}
        for name, value in payload.items():
            if name != "changed_fields":
                assert after.get(name) == value, f"{name} moved but is not named: {changed}"
        self.rooms[payload["room_number"]] = after
        self.events += 1


def minutes(clock: ManualClock, n: float) -> str:
    return to_iso(clock.now() + timedelta(minutes=n)) or ""


class Hotel:
    """The server and the connections the state machine works with (one per test)."""

    def __init__(self, srv: ServerThread, clock: ManualClock) -> None:
        self.srv, self.clock = srv, clock
        self.peers = {login: SyncPeer.logged_in(srv.url, login) for login in LOGINS}
        self.token = self.peers["manager"].login["token"]
        self.checker = SyncPeer.logged_in(srv.url, token=self.token)
        self.watcher = Watcher(srv.url, self.token)
        mgr = self.peers["manager"]
        staff = mgr.request("staff.list")["result"]["staff"]
        self.attendants = [s["id"] for s in staff if s["role"] in ("housekeeping", "supervisor")]
        self.others = [s["id"] for s in staff if s["id"] not in self.attendants]
        board = mgr.request("board.at", at=to_iso(clock.now()))["result"]["rooms"]
        self.payload_keys = set(board[0]) - {"changed_fields"}
        numbers = sorted(r["room_number"] for r in board)
        self.rooms = numbers[::5]  # a spread of rooms, so that commands meet often
        self.replies: dict[str, int] = {}

    def fresh_snapshot(self) -> dict[str, Any]:
        self.checker.request("unsubscribe", channels=[OVERVIEW])
        ack = self.checker.request("subscribe", channels=[OVERVIEW])
        assert ack["type"] == "ack" and ack["result"]["mode"] == "snapshot", ack
        while True:
            frame = self.checker.recv()
            if frame.get("type") == "rooms.status":
                self.checker.frames.clear()
                return frame

    def advance(self, mins: float) -> None:
        async def step() -> None:
            assert self.srv.server is not None
            self.clock.advance(mins * 60)
            await self.srv.server.clock_round()

        self.srv.call(step)


logins = st.sampled_from(LOGINS)
# setting the hotel up is a manager's: the others are refused, the manager mostly sends them
setup_logins = st.sampled_from(("manager", "manager", "manager", *LOGINS))
room_index = st.integers(0, 13)
actions = st.sampled_from(sorted(ROOM_ACTIONS))
optional_args = st.fixed_dictionaries(
    {},
    optional={
        "priority": st.sampled_from(["LOW", "MEDIUM", "HIGH", "URGENT", "SOON"]),
        "notes": st.sampled_from(["Tap drips", "", "AC not working"]),
        "reason": st.sampled_from(["Leak", "Paint"]),
        "return_status": st.sampled_from([*sorted(RETURN_STATUSES), "OUT_OF_ORDER"]),
    },
)


class Commands(RuleBasedStateMachine):
    hotel: ClassVar[Hotel]

    def __init__(self) -> None:
        super().__init__()
        self.watcher = self.hotel.watcher
        self.watcher.start_over()  # each sequence: a client that starts from a snapshot

    # --- helpers -----------------------------------------------------------------------

    def room(self, i: int) -> dict[str, Any]:
        """One of the rooms the sequences work on (a retired one as it was last seen: its
        commands are refused with `unknown_room`)."""
        number = self.hotel.rooms[i % len(self.hotel.rooms)]
        return self.watcher.rooms.get(number) or self.watcher.retired[number]

    def version(self, room: dict[str, Any], stale: bool) -> int:
        return int(room["version"]) - (1 if stale else 0)

    def send(self, login: str, kind: str, /, **fields: Any) -> dict[str, Any]:
        reply = self.hotel.peers[login].request(kind, **fields)
        self.hotel.peers[login].frames.clear()
        if reply["type"] == "error":
            assert reply["code"] in CODES, reply
        key = f"{kind}:{reply['type']}" if reply["type"] == "ack" else f"{kind}:{reply['code']}"
        self.hotel.replies[key] = self.hotel.replies.get(key, 0) + 1
        return reply

    def ids(self, kind: str, key: str) -> list[int]:
        found = self.hotel.peers["manager"].request(kind)["result"][key]
        return [int(x["id"]) for x in found]

    # --- the rooms ---------------------------------------------------------------------

    @rule(
        login=logins,
        i=room_index,
        action=actions,
        args=optional_args,
        only_taken=st.booleans(),
        stale=st.booleans(),
        guided=st.booleans(),
    )
    def room_action(
        self,
        login: str,
        i: int,
        action: str,
        args: dict[str, Any],
        only_taken: bool,
        stale: bool,
        guided: bool,
    ) -> None:
        room = self.room(i)
        if guided and room["room_number"] in self.watcher.rooms:
            # what the desktop would offer: an action the rules allow here
            role = ROLE_OF[login]
            allowed = [a for a, d in actions_for(role, RoomView.from_payload(room)).items() if d]
            if allowed:
                action = allowed[i % len(allowed)]
                only_taken, stale = True, False
        if only_taken:
            args = {k: v for k, v in args.items() if k in ROOM_ACTIONS[action].args}
        self.send(
            login,
            "room.action",
            room_number=room["room_number"],
            action=action,
            expected_version=self.version(room, stale and i % 3 == 0),
            **args,
        )

    @rule(
        login=logins,
        picks=st.lists(st.tuples(room_index, actions), min_size=1, max_size=4),
    )
    def batch(self, login: str, picks: list[tuple[int, str]]) -> None:
        items, seen = [], set()
        for i, action in picks:
            room = self.room(i)
            if room["room_number"] in seen:
                continue
            seen.add(room["room_number"])
            items.append(
                {
                    "room_number": room["room_number"],
                    "action": action,
                    "expected_version": room["version"],
                }
            )
        self.send(login, "rooms.batch", items=items)

    @rule(login=logins, i=room_index, cancel=st.booleans(), note=st.sampled_from([None, "VIP"]))
    def rush(self, login: str, i: int, cancel: bool, note: str | None) -> None:
        room = self.room(i)
        fields: dict[str, Any] = {
            "room_number": room["room_number"],
            "expected_version": room["version"],
        }
        if cancel:
            self.send(login, "room.rush_cancel", **fields)
        else:
            self.send(login, "room.rush", **fields, **({"note": note} if note else {}))

    @rule(
        login=logins,
        picks=st.lists(st.tuples(room_index, st.integers(0, 4)), min_size=1, max_size=3),
    )
    def assign(self, login: str, picks: list[tuple[int, int]]) -> None:
        h = self.hotel
        people: list[int | None] = [*h.attendants, None, h.others[0]]
        items = {
            self.room(i)["room_number"]: {
                "room_number": self.room(i)["room_number"],
                "staff_id": people[who % len(people)],
            }
            for i, who in picks
        }
        self.send(login, "rooms.assign", items=list(items.values()))

    @rule(
        login=logins,
        by=st.sampled_from(["floor", "section"]),
        n=st.integers(1, 3),
        rooms=st.lists(room_index, min_size=1, max_size=5, unique=True),
    )
    def assign_split(self, login: str, by: str, n: int, rooms: list[int]) -> None:
        numbers = sorted({self.room(i)["room_number"] for i in rooms})
        self.send(
            login,
            "rooms.assign_split",
            staff_ids=self.hotel.attendants[:n],
            by=by,
            room_numbers=numbers,
        )

    @rule(login=logins, i=room_index, occupied=st.booleans())
    def observe(self, login: str, i: int, occupied: bool) -> None:
        room = self.room(i)
        self.send(
            login,
            "room.observe",
            room_number=room["room_number"],
            occupancy="occupied" if occupied else "vacant",
            expected_version=room["version"],
        )

    # --- setting the hotel up: rooms and room types ------------------------------------

    @rule(
        login=setup_logins,
        number=st.sampled_from(NEW_ROOMS),
        type_name=st.sampled_from(ROOM_TYPES),
        floor=st.sampled_from([0, 3, 9, 201]),
        extra=st.fixed_dictionaries(
            {},
            optional={
                "building": st.sampled_from(["Main", "Annex"]),
                "section": st.sampled_from(["", "East"]),
                "capacity": st.sampled_from([1, 2, 12, 0]),
                "max_occupancy": st.sampled_from([0, 1, 4]),
            },
        ),
    )
    def room_create(
        self, login: str, number: str, type_name: str, floor: int, extra: dict[str, Any]
    ) -> None:
        """A new room (or a retired one brought back), some refused: an unknown or retired
        type, a floor out of range, a capacity of 0, a number the hotel has."""
        reply = self.send(
            login, "room.create", room_number=number, room_type=type_name, floor=floor, **extra
        )
        if reply["type"] == "ack" and number not in self.hotel.rooms:
            self.hotel.rooms.append(number)

    @rule(
        login=setup_logins,
        i=room_index,
        stale=st.sampled_from([False, False, True]),
        changes=st.fixed_dictionaries(
            {},
            optional={
                "room_type": st.sampled_from(ROOM_TYPES),
                "floor": st.sampled_from([1, 2, 9]),
                "building": st.sampled_from(["Main", "Annex"]),
                "section": st.sampled_from(["", "East", "West"]),
                "capacity": st.sampled_from([1, 2, 4]),
                "max_occupancy": st.sampled_from([0, 2, 6]),
            },
        ),
    )
    def room_update(self, login: str, i: int, stale: bool, changes: dict[str, Any]) -> None:
        room = self.room(i)
        self.send(
            login,
            "room.update",
            room_number=room["room_number"],
            expected_version=self.version(room, stale),
            **changes,
        )

    @rule(login=setup_logins, i=room_index, stale=st.sampled_from([False, False, True]))
    def room_retire(self, login: str, i: int, stale: bool) -> None:
        """Refused while a guest, a booking to come or a block holds the room."""
        room = self.room(i)
        self.send(
            login,
            "room.retire",
            room_number=room["room_number"],
            expected_version=self.version(room, stale),
        )

    @rule(
        login=setup_logins,
        name=st.sampled_from(ROOM_TYPES),
        what=st.sampled_from(["create", "update", "rename", "retire"]),
        occupancy=st.sampled_from([1, 3, 5, 101]),
    )
    def room_type(self, login: str, name: str, what: str, occupancy: int) -> None:
        """Room types made, changed (every live room of the type follows), renamed and back,
        retired (refused while live rooms have the type) and brought back."""
        if what == "create":
            self.send(login, "room_type.create", name=name, max_occupancy=occupancy)
        elif what == "update":
            self.send(login, "room_type.update", room_type=name, max_occupancy=occupancy)
        elif what == "rename":
            others = [t for t in ROOM_TYPES if t != name]
            to = others[occupancy % len(others)]
            self.send(login, "room_type.update", room_type=name, name=to)
        else:
            self.send(login, "room_type.retire", room_type=name)

    # --- blocks ------------------------------------------------------------------------

    @rule(
        login=logins,
        i=room_index,
        kind=st.sampled_from(["out_of_order", "out_of_service"]),
        start=st.sampled_from([0, 0, 20, 180]),
        length=st.sampled_from([30, 120, 900]),
        back=st.sampled_from([None, *sorted(RETURN_STATUSES)]),
        override=st.booleans(),
    )
    def block_create(
        self,
        login: str,
        i: int,
        kind: str,
        start: int,
        length: int,
        back: str | None,
        override: bool,
    ) -> None:
        room = self.room(i)
        clock = self.hotel.clock
        fields: dict[str, Any] = {
            "room_number": room["room_number"],
            "kind": kind,
            "reason": "Leak",
            "start": minutes(clock, start),
            "end": minutes(clock, start + length),
            "expected_version": room["version"],
            "override": override,
        }
        if back is not None:
            fields["return_status"] = back
        self.send(login, "block.create", **fields)

    @rule(login=logins, pick=st.integers(0, 20))
    def block_end(self, login: str, pick: int) -> None:
        ids = self.ids("blocks.list", "blocks")
        if ids:
            self.send(login, "block.end", block_id=ids[pick % len(ids)])

    # --- the front desk ----------------------------------------------------------------

    @rule(login=logins, i=room_index, out=st.booleans())
    def check_in_or_out(self, login: str, i: int, out: bool) -> None:
        room = self.room(i)
        self.send(
            login,
            "room.check_out" if out else "room.check_in",
            room_number=room["room_number"],
            expected_version=room["version"],
        )

    @rule(login=st.sampled_from(["frontdesk", "manager"]), i=room_index)
    def a_guest_arrives_or_leaves(self, login: str, i: int) -> None:
        """What the desk does all day: a guest arriving in a ready room, or leaving."""
        room = self.room(i)
        fields = {"room_number": room["room_number"], "expected_version": room["version"]}
        if room["is_occupied"]:
            self.send(login, "room.check_out", **fields)
        elif room["room_status"] == "READY_FOR_GUEST" and not room["is_out_of_order"]:
            clock = self.hotel.clock
            self.send(
                "manager",
                "reservation.create",
                room_number=room["room_number"],
                guest_name="Mr Ryan",
                start=minutes(clock, 10),
                end=minutes(clock, 26 * 60),
            )
            self.send(login, "room.check_in", **fields)

    @rule(
        login=logins,
        i=room_index,
        start=st.sampled_from([-120, 0, 45, 600, 3000]),
        length=st.sampled_from([60, 900, 2880]),
        guests=st.sampled_from([0, 1, 1, 2]),
        confirmed=st.booleans(),
    )
    def reservation_create(
        self, login: str, i: int, start: int, length: int, guests: int, confirmed: bool
    ) -> None:
        clock = self.hotel.clock
        self.send(
            login,
            "reservation.create",
            room_number=self.room(i)["room_number"],
            guest_name="Ms Daly",
            start=minutes(clock, start),
            end=minutes(clock, start + length),
            guests=guests,
            confirmed=confirmed,
        )

    @rule(
        login=logins,
        action=st.sampled_from(["confirm", "cancel", "check_in", "check_out", "delete"]),
        pick=st.integers(0, 50),
    )
    def reservation_action(self, login: str, action: str, pick: int) -> None:
        listed = self.hotel.peers["manager"].request("reservations.list")["result"]
        ids = [r["id"] for r in listed["reservations"]]
        if ids:
            self.send(login, f"reservation.{action}", reservation_id=ids[pick % len(ids)])

    # --- discrepancies, settings, reads, the clock -------------------------------------

    @rule(login=logins, pick=st.integers(0, 20))
    def resolve(self, login: str, pick: int) -> None:
        ids = self.ids("discrepancies.list", "discrepancies")
        if ids:
            self.send(login, "discrepancy.resolve", discrepancy_id=ids[pick % len(ids)])

    @rule(login=logins, hour=st.integers(-1, 24), lead=st.sampled_from([None, 0, 90, 2000]))
    def configure(self, login: str, hour: int, lead: int | None) -> None:
        fields: dict[str, Any] = {"rollover_hour": hour}
        if lead is not None:
            fields["arrival_lead_minutes"] = lead
        self.send(login, "hotel.configure", **fields)

    @rule(
        login=logins,
        kind=st.sampled_from(
            ["staff.list", "blocks.list", "discrepancies.list", "rooms.status", "ping"]
        ),
        i=room_index,
    )
    def read(self, login: str, kind: str, i: int) -> None:
        self.send(login, kind)
        self.send(login, "room.history", room_number=self.room(i)["room_number"], limit=3)
        self.send(login, "presence.viewing", room_number=self.room(i)["room_number"])

    @rule(mins=st.sampled_from([1, 16, 61, 240, 700]))
    def time_passes(self, mins: int) -> None:
        self.hotel.advance(mins)

    # --- the property --------------------------------------------------------------------

    @invariant()
    def the_watcher_holds_what_a_fresh_snapshot_shows(self) -> None:
        snap = self.hotel.fresh_snapshot()
        self.watcher.apply_upto(snap["seq"])
        keys = self.hotel.payload_keys
        assert set(self.watcher.rooms) == {r["room_number"] for r in snap["rooms"]}
        for fresh in snap["rooms"]:
            assert keys <= set(fresh), keys - set(fresh)
            mine = self.watcher.rooms[fresh["room_number"]]
            for name in keys:
                assert mine.get(name) == fresh[name], (fresh["room_number"], name)


def test_a_client_applying_only_changed_fields_always_holds_the_true_room(
    demo_db: Path, clock: ManualClock
) -> None:
    srv = ServerThread(server_config(demo_db, rate_per_second=0), clock).start()
    try:
        hotel = Hotel(srv, clock)
        Commands.hotel = hotel
        run_state_machine_as_test(
            Commands,
            settings=settings(
                max_examples=25,
                stateful_step_count=30,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                database=None,
            ),
        )
        acked = {k for k, n in hotel.replies.items() if k.endswith(":ack") and n}
        assert len(acked) >= 10, hotel.replies  # the sequences did real work
        setup = {"room.create", "room.update", "room.retire", "room_type.update"}
        assert setup <= {k.split(":")[0] for k in acked}, sorted(hotel.replies.items())
    finally:
        srv.stop()
