"""The live board: what the session says reaches the models, the side panel and the toasts,
and what a person asks for there reaches the session.

Snapshots and events go into the room and reservation models, the business day's counts
follow the events, the events that concern this person become toasts (not the replies to
their own commands: `command_done` says those), the selected room's details, history and
viewers follow the selection, and the day's reservations are asked for again when the hotel's
date moves on. The header is told by `connection_changed`; the filter bar by `rooms_loaded`.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.board import Board
from desktop.model import RoomModel
from desktop.notify import Note, ending_soon_notes, notes_for_event
from desktop.reservations import ReservationModel
from desktop.session import Session, State, error_text
from desktop.sidepanel import SidePanel
from desktop.toasts import ToastManager
from shared import daybook
from shared.clock import Clock

RESERVATION_LABELS = {
    "check_in": "Check in",
    "confirm": "Confirm booking",
    "cancel": "Cancel booking",
    "check_out": "Check out",
}


class Live(QObject):
    """The session's signals wired to the board's parts (made and owned by the window)."""

    connection_changed = Signal()  # the connection's badge is to be drawn again
    rooms_loaded = Signal()  # a rooms snapshot is on the board (floors and types may be new)

    def __init__(
        self,
        session: Session,
        clock: Clock,
        rooms: RoomModel,
        reservations: ReservationModel,
        board: Board,
        side: SidePanel,
        toasts: ToastManager,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session, self.clock = session, clock
        self.rooms, self.reservations = rooms, reservations
        self.board, self.side, self.toasts = board, side, toasts
        self.tz = ZoneInfo("UTC")  # the hotel's, from the login
        self.had_live = False
        self.reservations_day: date | None = None  # the hotel's date of the reservations list
        self.day_asked_at: float | None = None  # when a new day's list was last asked for
        self.business_date: str | None = None  # the business day (changes at the roll-over)
        self.day_counts: dict[str, int] = daybook.empty()  # its work so far, kept live
        self.reloading_reservations = False
        self._pending_tasks: set[asyncio.Future[Any]] = set()

        s = session
        s.state_changed.connect(self.on_state)
        s.rooms_snapshot.connect(self._on_rooms_snapshot)
        s.reservations_snapshot.connect(self._on_reservations_snapshot)
        s.reservation_replayed.connect(reservations.apply_event)
        s.event_received.connect(self._on_event)
        s.heartbeat_received.connect(self._on_heartbeat)
        s.command_done.connect(self._on_command_done)
        s.resumed.connect(self._on_resumed)
        s.presence_changed.connect(self._on_presence)
        side.controls.command.connect(self.send_command)
        side.res_panel.reservation_action.connect(self._on_reservation_action)
        board.selection_changed.connect(self._on_selection)
        board.room_activated.connect(side.show_room_tab)
        rooms.rooms_changed.connect(self._on_rooms_changed)
        reservations.changed.connect(side.controls.refresh)
        res_panel = side.res_panel
        rooms.rooms_changed.connect(lambda _numbers: res_panel.refresh())
        rooms.modelReset.connect(res_panel.refresh)

        self.history_timer = QTimer(self)
        self.history_timer.setSingleShot(True)
        self.history_timer.setInterval(400)
        self.history_timer.timeout.connect(self.load_history)
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(30_000)
        self.tick_timer.timeout.connect(rooms.tick)
        self.tick_timer.start()

    def clear(self) -> None:
        """Nothing of the last person stays: toasts, selection, rooms, bookings."""
        self.had_live = False
        self.toasts.clear()
        self.board.clear_selection()
        self.rooms.clear()
        self.reservations.set_reservations([])

    # --- the connection and the snapshots ---------------------------------------------------

    def on_state(self, state: str) -> None:
        live = state == State.LIVE.value
        self.rooms.set_stale(not live)
        self.side.controls.set_online(live)
        if live:
            if self.had_live:
                self.toasts.show("success", "Back online", "The board is live again.")
            self.had_live = True
            number = self.side.details.number
            if number:  # a new connection starts viewing nothing: say it again
                self.session.tell("presence.viewing", room_number=number)
        self.connection_changed.emit()

    def _on_rooms_snapshot(self, rooms: list[dict[str, Any]], seq: int) -> None:
        day = self.session.business_day or {}
        self.business_date = day.get("business_date")
        self.day_counts = {**daybook.empty(), **(day.get("counts") or {})}
        self.side.res_panel.set_day(self.business_date, self.day_counts)
        selected = self.board.selected_rooms()
        self.rooms.set_rooms(rooms)
        self.rooms_loaded.emit()
        if selected:
            self.board.select(selected)

    def _on_reservations_snapshot(self, items: list[dict[str, Any]], seq: int) -> None:
        # the day the server made the list for (its clock decides), else this desk's day
        listed = self.session.reservations_date
        try:
            self.reservations_day = date.fromisoformat(listed) if listed else self.hotel_day()
        except ValueError:
            self.reservations_day = self.hotel_day()
        self.reservations.set_reservations(items)

    def hotel_day(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    def check_day(self) -> None:
        """The server lists only the day's reservations: when the hotel's date moves on
        (midnight), ask for the new day's list."""
        day = self.reservations_day
        if day is None or self.hotel_day() == day or not self.session.is_live():
            return
        # a desk whose clock runs ahead of the server's gets yesterday's list again until
        # the server's date moves on: ask once a minute then, not on every tick
        now = self.clock.monotonic()
        if self.day_asked_at is not None and now - self.day_asked_at < 60:
            return
        self.day_asked_at = now
        self.reload_reservations()

    def reload_reservations(self) -> None:
        if self.reloading_reservations:
            return
        self.reloading_reservations = True

        async def go() -> None:
            try:
                await self.session.reload_reservations()
            finally:
                self.reloading_reservations = False

        self._spawn(go())

    # --- events -----------------------------------------------------------------------------

    def _on_event(self, msg: dict[str, Any]) -> None:
        p = msg.get("payload") or {}
        number = p.get("room_number")
        before = dict(self.rooms.room(number) or {}) if isinstance(number, str) else None
        self.rooms.apply_event(msg)
        self.reservations.apply_event(msg)
        kind = str(msg.get("type"))
        if kind == "hotel.rollover":
            self.reload_reservations()  # the business day moved on
            self.business_date = p.get("business_date")
            self.day_counts = daybook.empty()
            self.side.res_panel.set_day(self.business_date, self.day_counts)
        elif daybook.tally(kind, p):
            self.day_counts = daybook.add(self.day_counts, kind, p)
            self.side.res_panel.set_day(self.business_date, self.day_counts)
        meta = msg.get("meta") or {}
        if meta.get("request_id") in self.session.mine:
            return  # the reply to this person's own command says it already
        for note in notes_for_event(msg, self.session.role, before):
            self.notify(note)

    def _on_heartbeat(self, msg: dict[str, Any]) -> None:
        entries = msg.get("rooms") or []
        for entry in entries:
            number = entry.get("room_number")
            before = self.rooms.room(number) if isinstance(number, str) else None
            if before is not None:
                for note in ending_soon_notes(entry, before, self.session.role):
                    self.notify(note)
        self.rooms.apply_heartbeat(entries)
        self.connection_changed.emit()
        self.check_day()

    def _on_resumed(self, replayed: int) -> None:
        if replayed:
            self.toasts.show(
                "info", "Caught up", f"{replayed} change(s) made while offline are on the board."
            )

    def notify(self, note: Note) -> None:
        self.toasts.show(note.kind, note.title, note.text, important=note.important)

    # --- commands ---------------------------------------------------------------------------

    def send_command(self, kind: str, label: str, fields: dict[str, Any]) -> str:
        return self.session.command(kind, label, **fields)

    def _on_command_done(self, rid: str, label: str, ok: bool, reply: dict[str, Any]) -> None:
        if ok:
            self.toasts.show("success", "Done", label)
        else:
            self.toasts.show("error", f"Not done: {label}", error_text(reply), important=True)

    def _on_reservation_action(self, action: str, res: dict[str, Any]) -> None:
        label = RESERVATION_LABELS.get(action, action)
        fields: dict[str, Any] = {
            "reservation_id": res["id"],
            "expected_version": res.get("version"),
        }
        room = self.rooms.room(str(res.get("room_number")))
        if action in ("check_in", "check_out") and room is not None:
            fields["room_version"] = room.get("version")  # the room as this desk shows it
        self.send_command(
            f"reservation.{action}",
            f"{label} — {res.get('guest_name')}, room {res.get('room_number')}",
            fields,
        )

    # --- the selection and its details ------------------------------------------------------

    def _on_presence(self, online: list[dict[str, Any]]) -> None:
        details = self.side.details
        details.set_viewers(self._viewers(details.number))

    def _viewers(self, number: str | None) -> list[str]:
        if not number:
            return []
        me = (self.session.staff.get("id"), self.session.workstation)
        return [
            str(p.get("name"))
            for p in self.session.presence
            if p.get("viewing") == number and (p.get("staff_id"), p.get("workstation")) != me
        ]

    def _on_selection(self, numbers: list[str]) -> None:
        details = self.side.details
        self.side.controls.set_selection(numbers)
        one = numbers[0] if len(numbers) == 1 else None
        if one != details.number:
            self.session.tell("presence.viewing", room_number=one)
        details.show_room(one)
        details.set_viewers(self._viewers(one))
        if len(numbers) == 1:
            self.history_timer.start(50)

    def _on_rooms_changed(self, numbers: list[str]) -> None:
        controls, details = self.side.controls, self.side.details
        if set(controls.selection) & set(numbers):
            controls.refresh()
            if details.number in numbers:
                details.show_room(details.number)
                self.history_timer.start()

    def load_history(self) -> None:
        number = self.side.details.number
        if number and self.session.is_live():
            self._spawn(self._load_history(number))

    async def _load_history(self, number: str) -> None:
        reply = await self.session.call("room.history", room_number=number, limit=50)
        if reply.get("type") == "ack":
            self.side.details.set_history(number, list(reply["result"].get("events") or []))

    def _spawn(self, coro: Any) -> asyncio.Future[Any]:
        task: asyncio.Future[Any] = asyncio.ensure_future(coro)
        self._pending_tasks.add(task)
        task.add_done_callback(self._pending_tasks.discard)
        return task
