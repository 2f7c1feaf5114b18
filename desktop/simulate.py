"""Simulated staff for the demo: a few real clients that make random legal moves.

Each demo account logs in on its own connection; one of them watches the board. Every few
seconds someone does something the shared rules allow: start or finish cleaning, inspect,
flag or clear maintenance, check a guest in or out, book or cancel a meeting room.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import uuid
from datetime import timedelta
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from desktop.pinning import client_context
from shared.clock import Clock, SystemClock
from shared.rules import RoomView, check_in_allowed, check_room_action
from shared.timeutil import to_iso

log = logging.getLogger("roomrack.simulate")

STAFF = ("housekeeping", "attendant2", "supervisor", "maintenance", "frontdesk")
WEIGHTS = {
    "start_cleaning": 6,
    "finish_cleaning": 6,
    "inspect": 5,
    "fail_inspection": 1,
    "flag_maintenance": 1,
    "clear_maintenance": 2,
    "mark_dirty": 1,
    "set_dnd": 1,
    "clear_dnd": 1,
}
NOTES = ["AC not working", "Leaking tap", "TV remote missing", "Door lock sticks", "Bulb out"]


class Simulator:
    def __init__(
        self,
        url: str,
        password: str = "demo",
        interval: tuple[float, float] = (2.0, 5.0),
        rng: random.Random | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.url = url
        self.password = password
        self.interval = interval
        self.rng = rng or random.Random()
        self.clock = clock or SystemClock()
        self.rooms: dict[str, dict[str, Any]] = {}
        self.reservations: dict[int, dict[str, Any]] = {}
        self.conns: dict[str, tuple[ClientConnection, str]] = {}
        self.steps = 0
        self._ids = itertools.count(1)
        self._run_id = uuid.uuid4().hex[:12]  # request ids are never reused across runs
        self._tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        try:
            await self._open()
            while True:
                await asyncio.sleep(self.rng.uniform(*self.interval))
                with contextlib.suppress(Exception):
                    await self.step()
        finally:
            await self.close()

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for ws, _ in self.conns.values():
            with contextlib.suppress(Exception):
                await ws.close()
        self.conns.clear()

    async def _open(self) -> None:
        for login in STAFF:
            # the demo's own server on this PC (the desktop has pinned it already)
            tls = client_context() if self.url.startswith("wss://") else None
            ws = await connect(self.url, ssl=tls, compression=None, max_size=2**25)
            await ws.recv()  # hello
            await ws.send(
                json.dumps(
                    {
                        "type": "auth.login",
                        "request_id": f"sim-login-{self._run_id}-{login}",
                        "login": login,
                        "password": self.password,
                        "workstation": "simulation",
                    }
                )
            )
            reply = json.loads(await ws.recv())
            if reply.get("type") != "ack":
                await ws.close()
                continue
            result = reply["result"]
            self.conns[login] = (ws, result["staff"]["role"])
            if len(self.conns) == 1:
                await ws.send(
                    json.dumps(
                        {
                            "type": "subscribe",
                            "request_id": f"sim-sub-{self._run_id}",
                            "channels": result["channels"],
                        }
                    )
                )
                self._tasks.append(asyncio.ensure_future(self._watch(ws)))
            else:
                self._tasks.append(asyncio.ensure_future(self._drain(ws)))

    async def _drain(self, ws: ClientConnection) -> None:
        async for _ in ws:
            pass

    async def _watch(self, ws: ClientConnection) -> None:
        async for frame in ws:
            msg = json.loads(frame)
            kind = msg.get("type")
            if kind == "rooms.status":
                self.rooms = {r["room_number"]: r for r in msg["rooms"]}
            elif kind == "reservations.status":
                self.reservations = {r["id"]: r for r in msg["reservations"]}
            elif kind == "room_updated":
                p = msg["payload"]
                self.rooms.setdefault(p["room_number"], {}).update(p)
            elif str(kind).startswith("reservation."):
                res = msg["payload"].get("reservation") or {}
                if kind == "reservation.deleted":
                    self.reservations.pop(int(res.get("id") or 0), None)
                elif "id" in res:
                    self.reservations[res["id"]] = res

    async def _send(self, login: str, kind: str, **fields: Any) -> None:
        ws, _ = self.conns[login]
        rid = f"sim-{self._run_id}-{next(self._ids)}"
        await ws.send(json.dumps({"type": kind, "request_id": rid, **fields}))
        self.steps += 1

    def candidates(self) -> list[tuple[float, str, str, dict[str, Any]]]:
        """(weight, login, command type, fields) of every legal move now."""
        out: list[tuple[float, str, str, dict[str, Any]]] = []
        for login, (_, role) in self.conns.items():
            for number, room in self.rooms.items():
                try:
                    view = RoomView.from_payload(room)
                except (KeyError, ValueError):
                    continue
                for action, weight in WEIGHTS.items():
                    if not check_room_action(action, role, view):
                        continue
                    fields: dict[str, Any] = {
                        "room_number": number,
                        "action": action,
                        "expected_version": room.get("version", 0),
                    }
                    if action == "flag_maintenance":
                        fields["priority"] = self.rng.choice(["LOW", "MEDIUM", "HIGH", "URGENT"])
                        fields["notes"] = self.rng.choice(NOTES)
                    out.append((weight, login, "room.action", fields))
        if "frontdesk" in self.conns:
            now = self.clock.now()
            for r in self.reservations.values():
                found = self.rooms.get(r.get("room_number", ""))
                if found is None:
                    continue
                room = found
                if r.get("state") == "checked_in" and r.get("end", "") <= to_iso(
                    now + timedelta(hours=12)
                ):
                    out.append(
                        (
                            2,
                            "frontdesk",
                            "room.check_out",
                            {"room_number": r["room_number"], "expected_version": room["version"]},
                        )
                    )
                elif r.get("state") in ("pending", "confirmed"):
                    if check_in_allowed(RoomView.from_payload(room)):
                        out.append(
                            (
                                3,
                                "frontdesk",
                                "room.check_in",
                                {
                                    "room_number": r["room_number"],
                                    "expected_version": room["version"],
                                },
                            )
                        )
                    out.append(
                        (0.4, "frontdesk", "reservation.cancel", {"reservation_id": r["id"]})
                    )
            for number, room in self.rooms.items():
                if number.startswith("M") and room.get("occupancy_status", "free") == "free":
                    start = now + timedelta(minutes=1)
                    out.append(
                        (
                            0.5,
                            "frontdesk",
                            "reservation.create",
                            {
                                "room_number": number,
                                "guest_name": self.rng.choice(["Sales", "Board", "Training"])
                                + " meeting",
                                "start": to_iso(start),
                                "end": to_iso(start + timedelta(minutes=self.rng.randint(16, 45))),
                                "guests": self.rng.randint(4, 12),
                            },
                        )
                    )
        return out

    async def step(self) -> bool:
        options = self.candidates()
        if not options:
            return False
        weights = [o[0] for o in options]
        _, login, kind, fields = self.rng.choices(options, weights=weights, k=1)[0]
        await self._send(login, kind, **fields)
        return True
