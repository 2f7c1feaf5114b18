"""The main window: header with the connection, statistics, filters, the board, the side panel
(selected room: controls, details, history; today's reservations), the legend and toasts."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop import trust
from desktop.account import ChangePasswordDialog, changed_words
from desktop.actions import CONTROLS
from desktop.badge import badge
from desktop.board import Board
from desktop.discovery import ServerBrowser
from desktop.filterbar import INPUT_WIDGETS, FilterBar, TypingGuard
from desktop.header import Header, SettingsMenu, StatsBar
from desktop.legend import Legend as Legend
from desktop.login import LoginDialog
from desktop.model import RoomFilter, RoomModel
from desktop.notify import Note, ending_soon_notes, notes_for_event
from desktop.operations import make_operations, open_operations
from desktop.pinning import PinStore
from desktop.reservations import ReservationModel
from desktop.restored import RestoredBanner
from desktop.session import LoginError, Session, State, UntrustedServer, error_text
from desktop.settings import Settings
from desktop.sidepanel import SidePanel
from desktop.theme import STYLE, named
from desktop.toasts import ToastManager
from shared import daybook
from shared.clock import Clock, SystemClock

log = logging.getLogger("roomrack.desktop")


class MainWindow(QMainWindow):
    closed = Signal()  # the person closed the window (or cancelled the first login)

    def __init__(
        self,
        session: Session,
        settings: Settings,
        clock: Clock | None = None,
        flush_ms: int = 30,
    ) -> None:
        super().__init__()
        self.session = session
        self.settings = settings
        self.clock = clock or SystemClock()
        self.tz = ZoneInfo("UTC")
        self.quit_on_cancel = True
        self.setWindowTitle("Roomrack")
        self.setStyleSheet(STYLE)
        self.resize(1366, 768)

        self.rooms = RoomModel(self.clock.now, flush_ms=flush_ms, parent=self)
        self.filter = RoomFilter(self)
        self.filter.setSourceModel(self.rooms)
        self.reservations = ReservationModel(self.clock.now, self)

        central = named(QWidget(), "central")
        self.setCentralWidget(central)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        menu = SettingsMenu(settings.toast_corner, settings.toast_seconds, settings.sound, self)
        self.header = Header(menu)
        outer.addWidget(self.header)
        self.stale_banner = named(QLabel(""), "staleBanner")
        self.stale_banner.hide()
        outer.addWidget(self.stale_banner)
        # the server's data went back to an earlier time (a restore): said until read
        self.restored_banner = RestoredBanner(session)
        outer.addWidget(self.restored_banner)
        self.stats_bar = StatsBar()
        outer.addWidget(self.stats_bar)
        self.filter_bar = FilterBar(self.rooms, self.filter)
        outer.addWidget(self.filter_bar)

        self.board = Board(self.filter)
        self.side = SidePanel(self.rooms, self.reservations)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.board)
        self.splitter.addWidget(self.side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([926, 440])  # at 1366 px: five cards a row, whole guest names
        outer.addWidget(self.splitter, 1)
        legend_frame = named(QFrame(), "legend")
        lf = QHBoxLayout(legend_frame)
        lf.setContentsMargins(0, 0, 0, 0)
        self.legend = Legend()
        lf.addWidget(self.legend)
        outer.addWidget(legend_frame)

        self.toasts = ToastManager(
            central, settings.toast_corner, settings.toast_seconds, settings.sound
        )
        self.login_dialog: LoginDialog | None = None
        self.trust_dialog: trust.TrustDialog | None = None  # while a server's trust is asked
        self.browser: ServerBrowser | None = None  # servers on the LAN, for the login dialog
        if not self.session.pins_given:  # pins kept with this settings file's secrets
            self.session.pins = PinStore(settings.secrets)
        # made now (hidden), so discrepancy and block toasts arrive while it is closed
        self.operations = make_operations(session, self, self.rooms, self.toasts)
        self.operations.attention_changed.connect(self.header.show_attention)
        self._name_the_parts()

        # wiring: the session speaks, the window listens
        s = session
        s.logged_in.connect(self._on_logged_in)
        s.auth_lost.connect(self._on_auth_lost)
        s.certificate_refused.connect(self._on_certificate_refused)
        s.state_changed.connect(self._on_state)
        s.rooms_snapshot.connect(self._on_rooms_snapshot)
        s.reservations_snapshot.connect(self._on_reservations_snapshot)
        s.reservation_replayed.connect(self.reservations.apply_event)
        s.event_received.connect(self._on_event)
        s.heartbeat_received.connect(self._on_heartbeat)
        s.command_done.connect(self._on_command_done)
        s.resumed.connect(self._on_resumed)
        s.presence_changed.connect(self.header.show_presence)
        s.presence_changed.connect(self._on_presence)
        self.controls.command.connect(self.send_command)
        self.res_panel.reservation_action.connect(self._on_reservation_action)
        self.board.selection_changed.connect(self._on_selection)
        self.board.room_activated.connect(self.side.show_room_tab)
        self.rooms.rooms_changed.connect(self._on_rooms_changed)
        self.rooms.stats_changed.connect(self.stats_bar.show_stats)
        self.reservations.changed.connect(self.controls.refresh)
        self.rooms.rooms_changed.connect(lambda _numbers: self.res_panel.refresh())
        self.rooms.modelReset.connect(self.res_panel.refresh)
        # rooms added, retired, moved to another floor or type: the filter lists follow
        self.rooms.groups_changed.connect(self.filter_bar.refresh_choices)

        self._history_timer = QTimer(self)
        self._history_timer.setSingleShot(True)
        self._history_timer.setInterval(400)
        self._history_timer.timeout.connect(self.load_history)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(1000)
        self._status_timer.timeout.connect(self.update_connection_label)
        self._status_timer.timeout.connect(self.check_day)
        self._status_timer.start()
        self._tick_timer = QTimer(self)
        self._tick_timer.setInterval(30_000)
        self._tick_timer.timeout.connect(self.rooms.tick)
        self._tick_timer.start()
        self._had_live = False
        self._reservations_day: date | None = None  # the hotel's date of the reservations list
        self._day_asked_at: float | None = None  # when a new day's list was last asked for
        self.business_date: str | None = None  # the business day (changes at the roll-over)
        self.day_counts: dict[str, int] = daybook.empty()  # its work so far, kept live
        self._reloading_reservations = False
        self._pending_tasks: set[asyncio.Future[Any]] = set()
        self._install_shortcuts()
        self.typing_guard = TypingGuard(self)
        for w in self.findChildren(QWidget):
            if isinstance(w, INPUT_WIDGETS):
                w.installEventFilter(self.typing_guard)
        self._on_state(session.state.value)
        self.stats_bar.show_stats(self.rooms.stats or {})
        self.header.operations_clicked.connect(lambda: self.open_operations())
        self.header.reconnect_clicked.connect(session.reconnect_now)
        self.header.logout_clicked.connect(self.logout)
        menu.corner_chosen.connect(self.set_toast_corner)
        menu.seconds_chosen.connect(self.set_toast_seconds)
        menu.sound_toggled.connect(self.set_sound)
        menu.password_wanted.connect(self.change_password)
        menu.print_wanted.connect(lambda: self.print_board())
        menu.zoom_wanted.connect(self.zoom)
        self.stats_bar.quick_filter.connect(self.filter_bar.apply_quick_filter)
        self.filter_bar.sort_changed.connect(self.board.rebuild)

    def _name_the_parts(self) -> None:
        """The parts' widgets, by the names they had when the window built them itself."""
        h = self.header
        self.hotel_label, self.who_label = h.hotel_label, h.who_label
        self.online_label, self.conn_dot, self.conn_label = h.online_label, h.conn_dot, h.conn_label
        self.transport_icon, self.transport_label = h.transport_icon, h.transport_label
        self.ops_button, self.reconnect_button = h.ops_button, h.reconnect_button
        self.settings_button, self.logout_button = h.settings_button, h.logout_button
        self.tiles = self.stats_bar.tiles
        f = self.filter_bar
        self.search, self.shown_label, self.sort_combo = f.search, f.shown_label, f.sort_combo
        self.status_combo, self.floor_combo = f.status_combo, f.floor_combo
        self.occ_combo, self.maint_combo, self.type_combo = f.occ_combo, f.maint_combo, f.type_combo
        side = self.side
        self.controls, self.details, self.res_panel = side.controls, side.details, side.res_panel
        self.side_tabs, self.keys_button = side.side_tabs, side.keys_button
        self.details_scroll = side.details_scroll

    # --- building ---------------------------------------------------------------------------

    def _install_shortcuts(self) -> None:
        self.shortcuts: dict[str, QShortcut] = {}
        for c in CONTROLS:
            if not c.shortcut:
                continue
            sc = QShortcut(QKeySequence(c.shortcut), self)
            sc.activated.connect(lambda a=c.action, k=c.shortcut: self._run_shortcut(a, k))
            self.shortcuts[c.action] = sc
        for keys, fn in (
            ("Ctrl+F", self.focus_search),
            ("F5", self.session.reconnect_now),
            ("Esc", self.board.clear_selection),
            ("Ctrl+A", self.board.select_all_visible),
            ("Ctrl+H", self.side.show_room_tab),
            ("Ctrl+T", self.side.show_today_tab),
            ("Ctrl+P", self.print_board),
            ("Ctrl+Shift+O", lambda: self.open_operations()),
            ("Ctrl+=", lambda: self.zoom(1.1)),
            ("Ctrl++", lambda: self.zoom(1.1)),
            ("Ctrl+-", lambda: self.zoom(1 / 1.1)),
        ):
            sc = QShortcut(QKeySequence(keys), self)
            sc.activated.connect(lambda fn=fn: fn())

    def _run_shortcut(self, action: str, keys: str) -> None:
        """A control's shortcut; a single letter is typing, not a command, while a text
        field, combo box, spin box or other input has the keyboard (see TypingGuard)."""
        combo = QKeySequence(keys)[0]  # type: ignore[index]
        plain = not combo.keyboardModifiers() & ~Qt.KeyboardModifier.ShiftModifier
        if plain and isinstance(QApplication.focusWidget(), INPUT_WIDGETS):
            return  # an input the typing guard does not watch: at least send nothing
        self.controls.run(action)

    # --- settings -------------------------------------------------------------------------

    def set_toast_corner(self, corner: str) -> None:
        self.settings.toast_corner = corner
        self.toasts.corner = corner
        self.toasts.place()

    def set_toast_seconds(self, seconds: float) -> None:
        self.settings.toast_seconds = seconds
        self.toasts.seconds = seconds

    def set_sound(self, on: bool) -> None:
        self.settings.sound = on
        self.toasts.sound = on
        if on:
            self.toasts.play()

    def print_board(self, pdf: Path | None = None) -> int:
        """Print the board as shown (filters apply), or save it as a PDF file."""
        from PySide6.QtPrintSupport import QPrintDialog

        from desktop.printing import make_printer, print_widget

        printer = make_printer(pdf)
        if pdf is None:
            dialog = QPrintDialog(printer, self)
            if dialog.exec() != QPrintDialog.DialogCode.Accepted:
                return 0
        title = f"{self.hotel_label.text()} — room board"
        return print_widget(
            self.board.inner,
            printer,
            title,
            self.clock.now().astimezone(self.tz),
            self.board.row_breaks(),
        )

    def open_operations(self, tab: str | None = None) -> None:
        open_operations(self.session, self, self.rooms, self.toasts, tab)

    def zoom(self, factor: float) -> None:
        self.board.set_scale(self.board.delegate.scale * factor)

    def focus_search(self) -> None:
        self.filter_bar.focus_search()

    def apply_quick_filter(self, filt: dict[str, Any]) -> None:
        self.filter_bar.apply_quick_filter(filt)

    def clear_filters(self) -> None:
        self.filter_bar.clear_filters()

    # --- session events -------------------------------------------------------------------------

    def _on_logged_in(self, result: dict[str, Any]) -> None:
        staff, hotel = result.get("staff") or {}, result.get("hotel") or {}
        role = str(staff.get("role", ""))
        try:
            self.tz = ZoneInfo(str(hotel.get("timezone") or "UTC"))
        except Exception:
            self.tz = ZoneInfo("UTC")
        staff_id = staff.get("id")
        self.rooms.set_viewer(int(staff_id) if staff_id is not None else None, self.tz)
        self.reservations.set_timezone(str(hotel.get("timezone") or "UTC"))
        self.side.set_login(role, str(hotel.get("timezone") or "UTC"))
        self.header.show_login(hotel, staff)
        self.setWindowTitle(f"Roomrack — {hotel.get('name', '')}")
        if self.session.token:
            self.settings.token = self.session.token
        self.settings.server_url = self.session.url
        if staff.get("login"):
            self.settings.last_login = str(staff["login"])
        if self.login_dialog is not None:
            self.login_dialog.hide()
            self.login_dialog.deleteLater()
            self.login_dialog = None
        if self.browser is not None:
            self.browser.stop()
        if not self.isVisible():
            self.show()

    def _on_certificate_refused(self, problem: UntrustedServer) -> None:
        """While reconnecting, the server presented another certificate: stop and warn."""
        self.update_connection_label()
        self._spawn(self._settle_refused(problem))

    async def _settle_refused(self, problem: UntrustedServer) -> None:
        if await trust.settle(self, self.session, problem) and self.settings.token:
            self.session.resume(problem.url, self.settings.token)

    def _on_auth_lost(self, message: str) -> None:
        """The server no longer takes this session (ended by a manager, the account disabled,
        the password reset or changed elsewhere, expired): forget the token, clear the board
        and ask for a login at once, saying why."""
        self.settings.token = None
        self._clear_board()
        self.show_login(message or "Your session has ended; please log in again.")

    def _clear_board(self) -> None:
        """Nothing of the last person stays on screen: toasts, selection, rooms, bookings."""
        self._had_live = False
        self.toasts.clear()
        self.board.clear_selection()
        self.rooms.clear()
        self.reservations.set_reservations([])
        self.hide()

    def _on_state(self, state: str) -> None:
        self.rooms.set_stale(state != State.LIVE.value)
        self.controls.set_online(state == State.LIVE.value)
        if state != State.LIVE.value:
            self.header.show_offline()
        if state == State.LIVE.value:
            if self._had_live:
                self.toasts.show("success", "Back online", "The board is live again.")
            self._had_live = True
            if self.details.number:  # a new connection starts viewing nothing: say it again
                self.session.tell("presence.viewing", room_number=self.details.number)
        self.update_connection_label()

    def update_connection_label(self) -> None:
        """The header's connection badge, and the banner over a board that may be stale."""
        b = badge(self.session, self.tz, self.rooms.rowCount() > 0)
        if b.banner is None:
            self.stale_banner.hide()
        else:
            self.stale_banner.setText(b.banner)
            self.stale_banner.show()
        self.header.show_badge(b)

    def _on_rooms_snapshot(self, rooms: list[dict[str, Any]], seq: int) -> None:
        day = self.session.business_day or {}
        self.business_date = day.get("business_date")
        self.day_counts = {**daybook.empty(), **(day.get("counts") or {})}
        self.res_panel.set_day(self.business_date, self.day_counts)
        selected = self.board.selected_rooms()
        self.rooms.set_rooms(rooms)
        self.filter_bar.refresh_choices()
        self.filter_bar.update_shown()
        if selected:
            self.board.select(selected)

    def _on_reservations_snapshot(self, items: list[dict[str, Any]], seq: int) -> None:
        # the day the server made the list for (its clock decides), else this desk's day
        listed = self.session.reservations_date
        try:
            self._reservations_day = date.fromisoformat(listed) if listed else self.hotel_day()
        except ValueError:
            self._reservations_day = self.hotel_day()
        self.reservations.set_reservations(items)

    def hotel_day(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    def check_day(self) -> None:
        """The server lists only the day's reservations: when the hotel's date moves on
        (midnight), ask for the new day's list."""
        day = self._reservations_day
        if day is None or self.hotel_day() == day or not self.session.is_live():
            return
        # a desk whose clock runs ahead of the server's gets yesterday's list again until
        # the server's date moves on: ask once a minute then, not on every tick
        now = self.clock.monotonic()
        if self._day_asked_at is not None and now - self._day_asked_at < 60:
            return
        self._day_asked_at = now
        self.reload_reservations()

    def reload_reservations(self) -> None:
        if self._reloading_reservations:
            return
        self._reloading_reservations = True

        async def go() -> None:
            try:
                await self.session.reload_reservations()
            finally:
                self._reloading_reservations = False

        self._spawn(go())

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
            self.res_panel.set_day(self.business_date, self.day_counts)
        elif daybook.tally(kind, p):
            self.day_counts = daybook.add(self.day_counts, kind, p)
            self.res_panel.set_day(self.business_date, self.day_counts)
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
        self.update_connection_label()
        self.check_day()

    def _on_resumed(self, replayed: int) -> None:
        if replayed:
            self.toasts.show(
                "info", "Caught up", f"{replayed} change(s) made while offline are on the board."
            )

    def notify(self, note: Note) -> None:
        self.toasts.show(note.kind, note.title, note.text, important=note.important)

    # --- commands -------------------------------------------------------------------------

    def send_command(self, kind: str, label: str, fields: dict[str, Any]) -> str:
        return self.session.command(kind, label, **fields)

    def _on_command_done(self, rid: str, label: str, ok: bool, reply: dict[str, Any]) -> None:
        if ok:
            self.toasts.show("success", "Done", label)
        else:
            self.toasts.show("error", f"Not done: {label}", error_text(reply), important=True)

    def _on_reservation_action(self, action: str, res: dict[str, Any]) -> None:
        label = {
            "check_in": "Check in",
            "confirm": "Confirm booking",
            "cancel": "Cancel booking",
            "check_out": "Check out",
        }.get(action, action)
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

    # --- selection and details ---------------------------------------------------------------

    def _on_presence(self, online: list[dict[str, Any]]) -> None:
        self.details.set_viewers(self._viewers(self.details.number))

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
        self.controls.set_selection(numbers)
        one = numbers[0] if len(numbers) == 1 else None
        if one != self.details.number:
            self.session.tell("presence.viewing", room_number=one)
        self.details.show_room(one)
        self.details.set_viewers(self._viewers(one))
        if len(numbers) == 1:
            self._history_timer.start(50)

    def _on_rooms_changed(self, numbers: list[str]) -> None:
        sel = set(self.controls.selection)
        if sel & set(numbers):
            self.controls.refresh()
            if self.details.number in numbers:
                self.details.show_room(self.details.number)
                self._history_timer.start()

    def load_history(self) -> None:
        number = self.details.number
        if number and self.session.is_live():
            self._spawn(self._load_history(number))

    async def _load_history(self, number: str) -> None:
        reply = await self.session.call("room.history", room_number=number, limit=50)
        if reply.get("type") == "ack":
            self.details.set_history(number, list(reply["result"].get("events") or []))

    def _spawn(self, coro: Any) -> asyncio.Future[Any]:
        task: asyncio.Future[Any] = asyncio.ensure_future(coro)
        self._pending_tasks.add(task)
        task.add_done_callback(self._pending_tasks.discard)
        return task

    # --- log in / log out -----------------------------------------------------------------

    def show_login(self, message: str = "") -> LoginDialog:
        if self.login_dialog is None:
            self.login_dialog = LoginDialog(
                self.settings.server_url, self.settings.last_login, browser=self.browser
            )
            self.login_dialog.submitted.connect(self._login_submitted)
            self.login_dialog.rejected.connect(self._login_cancelled)
        if message:
            self.login_dialog.show_error(message)
        self.login_dialog.show()
        self.login_dialog.raise_()
        self.login_dialog.activateWindow()
        return self.login_dialog

    def _login_submitted(self, server: str, login: str, password: str) -> None:
        self._spawn(self.login(server, login, password))

    def _login_cancelled(self) -> None:
        if self.quit_on_cancel and not self.isVisible():
            self.closed.emit()

    async def login(self, server: str, login: str, password: str) -> bool:
        # a new board: the session must load fresh snapshots, not resume into an empty one
        self.rooms.clear()
        self.reservations.set_reservations([])
        self.session.forget_stream()
        for _attempt in range(2):  # once more after the person trusted the server
            try:
                await self.session.login(server, login, password)
            except UntrustedServer as problem:
                if self.login_dialog is not None:
                    self.login_dialog.busy(True)
                if await trust.settle(self, self.session, problem, self.login_dialog):
                    continue
                if self.login_dialog is not None:
                    self.login_dialog.show_error("Not connected: the server is not trusted.")
                return False
            except LoginError as exc:
                if self.login_dialog is not None:
                    self.login_dialog.show_error(exc.message)
                return False
            return True
        return False

    def change_password(self) -> ChangePasswordDialog:
        """The person's own password (the current one is asked); their other sessions end."""
        dialog = ChangePasswordDialog(self.session, self)
        dialog.changed.connect(
            lambda n: self.toasts.show("success", "Password changed", changed_words(n))
        )
        dialog.show()
        return dialog

    def logout(self) -> None:
        self._spawn(self._logout())

    async def _logout(self) -> None:
        await self.session.logout()
        self.settings.token = None
        self._clear_board()
        self.show_login()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.browser is not None:
            self.browser.stop()
        self.toasts.clear()
        super().closeEvent(event)
        self.closed.emit()

    def sizeHint(self) -> QSize:
        return QSize(1366, 768)
