"""The main window: it makes the parts and wires them together, each part in its own module.

    header.py      the header strip (hotel, who, who is online, the connection badge of
                   badge.py, the buttons, the settings menu) and the statistics tiles
    filterbar.py   the search, filters and sort over the board
    board.py       the board of room cards (delegate.py paints them)
    sidepanel.py   the selected room's controls and details, today's reservations
    legend.py      the colours and marks of the cards
    toasts.py      the notifications
    live.py        the session's signals to the models, the side panel and the toasts

The parts talk by Qt signals; the window keeps what belongs to no part: logging in and out,
the trust questions, the settings, printing, the keyboard shortcuts."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QKeySequence, QShortcut
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

import resources
from desktop import trust
from desktop.account import ChangePasswordDialog, changed_words
from desktop.actions import CONTROLS
from desktop.badge import badge
from desktop.board import Board
from desktop.discovery import ServerBrowser
from desktop.filterbar import INPUT_WIDGETS, FilterBar, TypingGuard
from desktop.filtering import RoomFilter
from desktop.header import Header, SettingsMenu, StatsBar
from desktop.legend import Legend as Legend
from desktop.live import Live
from desktop.login import LoginDialog
from desktop.model import RoomModel
from desktop.operations import make_operations, open_operations
from desktop.pinning import PinStore
from desktop.reservations import ReservationModel
from desktop.restored import RestoredBanner
from desktop.session import LoginError, Session, State, UntrustedServer
from desktop.settings import Settings
from desktop.sidepanel import SidePanel
from desktop.theme import STYLE, named
from desktop.toasts import ToastManager
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
        self.quit_on_cancel = True
        self.setWindowTitle("Roomrack")
        self.setWindowIcon(QIcon(str(resources.path("roomrack.png"))))
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

        # wiring: the session speaks, the window and its parts listen
        s = session
        s.logged_in.connect(self._on_logged_in)
        s.auth_lost.connect(self._on_auth_lost)
        s.certificate_refused.connect(self._on_certificate_refused)
        s.state_changed.connect(self._on_state)
        s.presence_changed.connect(self.header.show_presence)
        self.live = Live(
            session,
            self.clock,
            self.rooms,
            self.reservations,
            self.board,
            self.side,
            self.toasts,
            parent=self,
        )
        self.live.connection_changed.connect(self.update_connection_label)
        self.live.rooms_loaded.connect(self.filter_bar.refresh_choices)
        self.live.rooms_loaded.connect(self.filter_bar.update_shown)
        self.rooms.stats_changed.connect(self.stats_bar.show_stats)
        # rooms added, retired, moved to another floor or type: the filter lists follow
        self.rooms.groups_changed.connect(self.filter_bar.refresh_choices)
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

        self._status_timer = QTimer(self)
        self._status_timer.setInterval(1000)
        self._status_timer.timeout.connect(self.update_connection_label)
        self._status_timer.timeout.connect(self.live.check_day)
        self._status_timer.start()
        self._pending_tasks: set[asyncio.Future[Any]] = set()
        self._install_shortcuts()
        self.typing_guard = TypingGuard(self)
        for w in self.findChildren(QWidget):
            if isinstance(w, INPUT_WIDGETS):
                w.installEventFilter(self.typing_guard)
        self._on_state(session.state.value)
        self.live.on_state(session.state.value)
        self.stats_bar.show_stats(self.rooms.stats or {})

    def _name_the_parts(self) -> None:
        """The parts' widgets, by the names they had when the window built them itself."""
        h, f, side = self.header, self.filter_bar, self.side
        self.hotel_label, self.who_label = h.hotel_label, h.who_label
        self.online_label, self.conn_dot, self.conn_label = h.online_label, h.conn_dot, h.conn_label
        self.transport_icon, self.transport_label = h.transport_icon, h.transport_label
        self.ops_button, self.reconnect_button = h.ops_button, h.reconnect_button
        self.settings_button, self.logout_button = h.settings_button, h.logout_button
        self.tiles = self.stats_bar.tiles
        self.search, self.shown_label, self.sort_combo = f.search, f.shown_label, f.sort_combo
        self.status_combo, self.floor_combo = f.status_combo, f.floor_combo
        self.occ_combo, self.maint_combo, self.type_combo = f.occ_combo, f.maint_combo, f.type_combo
        self.controls, self.details, self.res_panel = side.controls, side.details, side.res_panel
        self.side_tabs, self.keys_button = side.side_tabs, side.keys_button
        self.details_scroll = side.details_scroll

    # --- what the live board knows, under the names it had here --------------------------------

    @property
    def tz(self) -> ZoneInfo:
        """The hotel's time zone (from the login)."""
        return self.live.tz

    @tz.setter
    def tz(self, tz: ZoneInfo) -> None:
        self.live.tz = tz

    @property
    def business_date(self) -> str | None:
        return self.live.business_date

    @property
    def day_counts(self) -> dict[str, int]:
        return self.live.day_counts

    def hotel_day(self) -> date:
        return self.live.hotel_day()

    def check_day(self) -> None:
        self.live.check_day()

    def send_command(self, kind: str, label: str, fields: dict[str, Any]) -> str:
        return self.live.send_command(kind, label, fields)

    # --- keys -----------------------------------------------------------------------------

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
        self.settings.server_urls = self.session.members.urls
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
            self.session.resume(self.session.members.urls, self.settings.token)

    def _on_auth_lost(self, message: str) -> None:
        """The server no longer takes this session (ended by a manager, the account disabled,
        the password reset or changed elsewhere, expired): forget the token, clear the board
        and ask for a login at once, saying why."""
        self.settings.token = None
        self._clear_board()
        self.show_login(message or "Your session has ended; please log in again.")

    def _clear_board(self) -> None:
        """Nothing of the last person stays on screen: toasts, selection, rooms, bookings."""
        self.live.clear()
        self.hide()

    def _on_state(self, state: str) -> None:
        if state != State.LIVE.value:
            self.header.show_offline()

    def update_connection_label(self) -> None:
        """The header's connection badge, and the banner over a board that may be stale."""
        b = badge(self.session, self.tz, self.rooms.rowCount() > 0)
        if b.banner is None:
            self.stale_banner.hide()
        else:
            self.stale_banner.setText(b.banner)
            self.stale_banner.show()
        self.header.show_badge(b)

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
        # a new board: the session must load fresh snapshots, not resume into an empty one;
        # the old connection is closed first, so none of its events land on the new board
        await self.session.stop()
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
