"""The Operations window: discrepancies, the rush queue, blocks, room attendants, history and
who is online, in tabs, all fed live by the session."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from desktop.model import RoomModel
from desktop.operations.attendants import AttendantsTab
from desktop.operations.blocks import BlocksTab
from desktop.operations.common import (
    ASSIGN_ROLES,
    OPS_STYLE,
    Spawner,
    role_name,
)
from desktop.operations.discrepancies import DiscrepanciesTab
from desktop.operations.history import HistoryTab
from desktop.operations.presence import OnlineTab
from desktop.operations.rooms import ROOM_ADMIN_ROLES, RoomsTab
from desktop.operations.rush import RushTab
from desktop.operations.staff import StaffTab
from desktop.session import Session, State, error_text
from desktop.theme import STYLE, named
from desktop.toasts import ToastManager

Done = Callable[[dict[str, Any]], None]


class OperationsWindow(QWidget):
    """A window of its own (parented to the main window, so it closes with it)."""

    # what wants attention: open discrepancies that concern this role, and rushed rooms
    attention_changed = Signal(int, int)

    def __init__(
        self,
        session: Session,
        rooms: RoomModel | None = None,
        toasts: ToastManager | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.session = session
        self.spawner = Spawner(self)
        self.tz = ZoneInfo("UTC")
        self._waiting: dict[str, Done] = {}
        self._dirty: set[Any] = set()
        # recent block and discrepancy events, to lay again on top of a list that is older
        self._list_events: deque[tuple[int, dict[str, Any]]] = deque(maxlen=2000)
        self.setWindowTitle("Roomrack — Operations")
        self.setStyleSheet(STYLE + OPS_STYLE)
        self.resize(1366, 768)
        self.setProperty("toastReserve", 64)  # toasts stay above each tab's row of buttons
        if rooms is None:
            # standalone: keep our own copy of the board
            rooms = RoomModel(session.clock.now, flush_ms=30, parent=self)
            session.rooms_snapshot.connect(lambda items, _seq: rooms.set_rooms(items))
            self._own_rooms = True
        else:
            self._own_rooms = False
        self.rooms: RoomModel = rooms
        # with the main window's toasts, the main window already shows command replies
        self.own_toasts = toasts is None
        self.toasts = toasts or ToastManager(self)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        self.heading = named(QLabel("Operations"), "tabTitle")
        lay.addWidget(self.heading)
        self.tabs = QTabWidget()
        self.discrepancies = DiscrepanciesTab(self)
        self.rush = RushTab(self)
        self.blocks_tab = BlocksTab(self)
        self.attendants = AttendantsTab(self)
        self.history = HistoryTab(self)
        self.online = OnlineTab(self)
        self.staff_tab = StaffTab(self)  # a manager's only (shown at login)
        self.rooms_tab = RoomsTab(self)  # a manager's (hidden for the others)
        self._titles: dict[QWidget, str] = {}
        for tab, title in (
            (self.discrepancies, "Discrepancies"),
            (self.rush, "Rush queue"),
            (self.blocks_tab, "Blocks"),
            (self.attendants, "Attendants"),
            (self.history, "History"),
            (self.online, "Online"),
            (self.staff_tab, "Staff"),
            (self.rooms_tab, "Rooms"),
        ):
            self.tabs.addTab(tab, title)
            self._titles[tab] = title
        self.tabs.currentChanged.connect(self._on_tab)
        lay.addWidget(self.tabs, 1)

        s = session
        s.logged_in.connect(self._on_logged_in)
        s.state_changed.connect(self._on_state)
        s.event_received.connect(self._on_event)
        s.presence_changed.connect(self.online.set_presence)
        s.command_done.connect(self._on_command_done)
        self.rooms.rooms_changed.connect(self._on_rooms_changed)
        self.rooms.modelReset.connect(self._on_rooms_reset)
        self._rooms_timer = QTimer(self)
        self._rooms_timer.setSingleShot(True)
        self._rooms_timer.setInterval(250)
        self._rooms_timer.timeout.connect(self._rooms_settled)
        self._tick = QTimer(self)
        self._tick.setInterval(30_000)  # waiting times and "ends in" move with the clock
        self._tick.timeout.connect(self._refresh_times)
        self._tick.start()
        if session.staff:
            self._on_logged_in({"staff": session.staff, "hotel": session.hotel})
        if session.presence:
            self.online.set_presence(session.presence)
        self._on_rooms_reset()
        if session.is_live():
            self.reload()
        if parent is not None:
            parent.installEventFilter(self)  # the main window hides itself on log-out

    # --- who is logged in ----------------------------------------------------------------

    @property
    def role(self) -> str:
        return self.session.role

    @property
    def staff_id(self) -> int | None:
        sid = self.session.staff.get("id")
        return int(sid) if sid is not None else None

    @property
    def hotel_name(self) -> str:
        return str(self.session.hotel.get("name") or self.session.slug or "Hotel")

    def now(self) -> datetime:
        return self.session.clock.now()

    def _on_logged_in(self, result: dict[str, Any]) -> None:
        hotel = result.get("hotel") or {}
        try:
            self.tz = ZoneInfo(str(hotel.get("timezone") or "UTC"))
        except Exception:
            self.tz = ZoneInfo("UTC")
        staff = result.get("staff") or {}
        role = str(staff.get("role", ""))
        self.heading.setText(
            f"Operations · {hotel.get('name', '')} · {staff.get('name', '')} ({role_name(role)})"
        )
        self.rush.set_role(role)
        self.blocks_tab.set_role(role)
        self.attendants.set_role(role)
        self.tabs.setTabVisible(self.tabs.indexOf(self.rooms_tab), role in ROOM_ADMIN_ROLES)
        self.tabs.setTabToolTip(
            self.tabs.indexOf(self.attendants),
            "Assign rooms and print sheets"
            if role in ASSIGN_ROLES
            else "Who has which room; print sheets",
        )
        self.history.start_times((hotel.get("slug"), staff.get("id")))
        self.tabs.setTabVisible(self.tabs.indexOf(self.staff_tab), self.staff_tab.allowed())

    def _on_state(self, state: str) -> None:
        if state == State.LIVE.value:
            self.reload()
        elif state == State.OFFLINE.value:
            # the session forgets its token right after it stops: look once it has
            QTimer.singleShot(0, self._check_logged_out)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent():
            if event.type() == QEvent.Type.Hide:
                self._check_logged_out()
            elif event.type() == QEvent.Type.Close:
                self.hide()
        return False

    def _check_logged_out(self) -> None:
        if self.session.state is State.OFFLINE and not self.session.token:
            self.clear()  # logged out: nothing of the last person stays on screen

    def clear(self) -> None:
        self.hide()
        self.discrepancies.set_items([])
        self.blocks_tab.set_blocks([])
        self.online.set_presence([])
        self.history.clear()
        self.staff_tab.set_accounts([])
        self.staff_tab.set_log([])
        self.rooms_tab.clear()
        self._waiting.clear()

    def reload(self) -> None:
        """Lists that are not in the room snapshot: asked for again on every (re)connect."""
        self.spawner.spawn(
            self.session.call("discrepancies.list"),
            self._list_reply(lambda r: self.discrepancies.set_items(r.get("discrepancies") or [])),
        )
        self.spawner.spawn(
            self.session.call("blocks.list"),
            self._list_reply(lambda r: self.blocks_tab.set_blocks(r.get("blocks") or [])),
        )
        self.spawner.spawn(
            self.session.call("staff.list"),
            self._list_reply(lambda r: self.attendants.set_staff(r.get("staff") or [])),
        )
        self.staff_tab.reload()  # (a manager's only)
        if self.role in ROOM_ADMIN_ROLES:
            self.spawner.spawn(
                self.session.call("room_types.list"),
                self._list_reply(lambda r: self.rooms_tab.set_types(r.get("room_types") or [])),
            )

    def _list_reply(self, apply: Callable[[dict[str, Any]], None]) -> Done:
        """Fill a list from its reply, then apply again the events that are newer than it (they
        can be read before the reply is: the list must not undo them)."""

        def done(reply: dict[str, Any]) -> None:
            if reply.get("type") == "ack":
                result = reply.get("result") or {}
                apply(result)
                head = result.get("seq")
                if isinstance(head, int):
                    for seq, msg in self._list_events:
                        if seq > head:
                            self._apply_list_event(msg)

        return done

    # --- events --------------------------------------------------------------------------

    def _on_event(self, msg: dict[str, Any]) -> None:
        kind = str(msg.get("type", ""))
        p = msg.get("payload") or {}
        if self._own_rooms:
            self.rooms.apply_event(msg)
        if kind.startswith(("block.", "discrepancy.", "room_type_")):
            seq = (msg.get("meta") or {}).get("seq")
            if isinstance(seq, int):
                self._list_events.append((seq, msg))
            self._apply_list_event(msg)
        if kind == "discrepancy.raised":
            d = p.get("discrepancy") or {}
            if d and self.role in (d.get("roles") or []):
                room = f": room {d['room_number']}" if d.get("room_number") else ""
                self.toast(
                    "warning",
                    f"{d.get('label', 'Discrepancy')}{room}",
                    str(d.get("message") or ""),
                    important=True,
                )
        elif kind == "hotel.rollover":
            rooms = p.get("rooms_needing_service") or []
            if self.role in ("housekeeping", "supervisor", "manager"):
                self.toast(
                    "info",
                    f"New business day: {p.get('business_date', '')}",
                    f"{len(rooms)} occupied room(s) now need service.",
                )

    def _apply_list_event(self, msg: dict[str, Any]) -> None:
        kind = str(msg.get("type", ""))
        p = msg.get("payload") or {}
        if kind == "discrepancy.raised" and p.get("discrepancy"):
            self.discrepancies.raised(p["discrepancy"])
        elif kind == "discrepancy.resolved" and p.get("discrepancy"):
            self.discrepancies.resolved(p["discrepancy"])
        elif kind.startswith("room_type_"):
            self.rooms_tab.type_event(kind, p)
        elif kind.startswith("block.") and p.get("block"):
            b = p["block"]
            if kind == "block.ended" and b.get("state") not in ("ended", "cancelled"):
                b = {**b, "state": "ended"}
            self.blocks_tab.upsert(b)

    def _on_rooms_changed(self, numbers: list[str]) -> None:
        # bursts of changes are coalesced: the lists follow within a quarter of a second
        if not self._rooms_timer.isActive():
            self._rooms_timer.start()

    def _rooms_settled(self) -> None:
        self.rush.refresh_view()
        self._render_later(self.attendants)
        self._render_later(self.rooms_tab)

    def _on_rooms_reset(self) -> None:
        self.rush.refresh_view()
        self._render_later(self.attendants)
        self._render_later(self.rooms_tab)

    def _render_later(self, tab: Any) -> None:
        if self.isVisible() and self.tabs.currentIndex() == self.tabs.indexOf(tab):
            tab.refresh_view()
        else:
            self._dirty.add(tab)

    def _on_tab(self, index: int) -> None:
        tab: Any = self.tabs.widget(index)
        if tab in self._dirty:
            self._dirty.discard(tab)
            tab.refresh_view()

    def _refresh_times(self) -> None:
        self.rush.refresh_view()
        self.discrepancies.refresh_view()
        self.blocks_tab.refresh_view()

    def set_tab_count(self, tab: QWidget, title: str, n: int) -> None:
        index = self.tabs.indexOf(tab) if hasattr(self, "tabs") else -1
        if index >= 0:
            self.tabs.setTabText(index, f"{title} ({n})" if n else title)
        if hasattr(self, "online") and tab in (self.discrepancies, self.rush):
            self.attention_changed.emit(*self.attention())

    def attention(self) -> tuple[int, int]:
        """(open discrepancies that concern this role, rooms in the rush queue)."""
        mine = sum(1 for d in self.discrepancies.items.values() if self.role in d.get("roles", []))
        return mine, self.rush.table.rowCount()

    # --- commands ------------------------------------------------------------------------

    def send(self, kind: str, label: str, fields: dict[str, Any], done: Done | None = None) -> str:
        """A write through the session (its reply also reaches the main window's toasts)."""
        rid = self.session.command(kind, label, **fields)
        self._waiting[rid] = done or (lambda _reply: None)
        return rid

    def _on_command_done(self, rid: str, label: str, ok: bool, reply: dict[str, Any]) -> None:
        done = self._waiting.pop(rid, None)
        if done is None:
            return
        if self.own_toasts:
            if ok:
                self.toasts.show("success", "Done", label)
            else:
                self.toasts.show("error", f"Not done: {label}", error_text(reply), important=True)
        done(reply)

    def toast(self, kind: str, title: str, text: str = "", important: bool = False) -> None:
        self.toasts.show(kind, title, text, important=important)

    # --- window --------------------------------------------------------------------------

    def show_tab(self, name: str) -> None:
        for tab, title in self._titles.items():
            if title.lower().startswith(name.lower()):
                self.tabs.setCurrentWidget(tab)
                self._on_tab(self.tabs.currentIndex())

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._on_tab(self.tabs.currentIndex())

    def closeEvent(self, event: QCloseEvent) -> None:
        # closing only hides it: it keeps listening, so discrepancy toasts still arrive
        event.ignore()
        self.hide()
