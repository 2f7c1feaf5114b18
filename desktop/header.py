"""The top of the main window: the dark header strip (the hotel's name, who is logged in, who
is online, the connection badge with its lock, the buttons and the settings menu) and the row
of statistics tiles under it.

The parts only show and tell: what a button, a menu entry or a tile asks for leaves by a
signal, and the window decides what it does."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QPushButton, QToolButton, QWidget

from desktop import trust
from desktop.badge import Badge
from desktop.fitting import ElidedLabel
from desktop.settings import CORNERS
from desktop.theme import ROLE_NAMES, STATUS_COLOURS, named
from desktop.tiles import StatTile, tile_words
from shared.rules import RoomStatus


def role_name(role: Any) -> Any:
    """A role as people say it ("Front desk"); an unknown one as it came."""
    return ROLE_NAMES.get(str(role), role)


class SettingsMenu(QMenu):
    """The header's Settings menu: where and how long notifications show, their sound, the
    person's password, printing and the size of the cards."""

    corner_chosen = Signal(str)
    seconds_chosen = Signal(float)
    sound_toggled = Signal(bool)
    password_wanted = Signal()
    print_wanted = Signal()
    zoom_wanted = Signal(float)  # the factor: bigger above 1

    def __init__(
        self, corner: str, seconds: float, sound: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        menu = self.addMenu("Notifications corner")
        group = QActionGroup(self)
        for c in CORNERS:
            a = QAction(c.replace("-", " ").capitalize(), self, checkable=True)
            a.setChecked(c == corner)
            a.triggered.connect(lambda _=False, c=c: self.corner_chosen.emit(c))
            group.addAction(a)
            menu.addAction(a)
        dur = self.addMenu("Notifications stay for")
        group2 = QActionGroup(self)
        for secs in (3, 5, 8, 15):
            a = QAction(f"{secs} seconds", self, checkable=True)
            a.setChecked(abs(seconds - secs) < 0.1)
            a.triggered.connect(lambda _=False, s=secs: self.seconds_chosen.emit(s))
            group2.addAction(a)
            dur.addAction(a)
        self.sound_action = QAction("Sound for important notifications", self, checkable=True)
        self.sound_action.setChecked(sound)
        self.sound_action.toggled.connect(self.sound_toggled)
        self.addAction(self.sound_action)
        self.addSeparator()
        self.password_action = self.addAction("Change password…")
        self.password_action.triggered.connect(self.password_wanted)
        self.addSeparator()
        printing = self.addAction("Print the board…  (Ctrl+P)")
        printing.triggered.connect(self.print_wanted)
        bigger = self.addAction("Larger cards  (Ctrl+=)")
        bigger.triggered.connect(lambda: self.zoom_wanted.emit(1.1))
        smaller = self.addAction("Smaller cards  (Ctrl+-)")
        smaller.triggered.connect(lambda: self.zoom_wanted.emit(1 / 1.1))


class Header(QFrame):
    """The dark strip at the top of the window."""

    operations_clicked = Signal()
    reconnect_clicked = Signal()
    logout_clicked = Signal()

    def __init__(self, menu: SettingsMenu, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("header")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(14, 6, 10, 6)
        # the connection's words give way first; a name only when it is truly long
        self.hotel_label = named(ElidedLabel("Roomrack", 24), "hotelName")
        self.who_label = named(ElidedLabel("", 28), "who")
        lay.addWidget(self.hotel_label)
        lay.addSpacing(12)
        lay.addWidget(self.who_label)
        lay.addStretch(1)
        self.online_label = named(QLabel(""), "who")
        self.online_label.setToolTip("Who is logged in now")
        lay.addWidget(self.online_label)
        lay.addSpacing(12)
        self.conn_dot = QLabel("●")
        self.conn_label = ElidedLabel("Offline", 16)
        self.conn_label.setToolTip("Connection to the Roomrack server")
        lay.addWidget(self.conn_dot)
        lay.addWidget(self.conn_label)
        self.transport_icon = QLabel()  # the lock and the certificate's code (TLS)
        self.transport_label = QLabel("")
        lay.addSpacing(8)
        lay.addWidget(self.transport_icon)
        lay.addWidget(self.transport_label)
        lay.addSpacing(8)
        self.ops_button = named(QPushButton("Operations"), "headerButton")
        self.ops_button.setToolTip(
            "Discrepancies, rush queue, blocks, attendants and sheets, history, who is online"
            " (Ctrl+Shift+O)"
        )
        self.ops_button.clicked.connect(self.operations_clicked)
        lay.addWidget(self.ops_button)
        self.reconnect_button = named(QPushButton("Reconnect"), "headerButton")
        self.reconnect_button.setToolTip("Try to reach the server again now (F5)")
        self.reconnect_button.clicked.connect(self.reconnect_clicked)
        lay.addWidget(self.reconnect_button)
        self.settings_button = named(QToolButton(), "headerButton")
        self.settings_button.setText("Settings")
        self.settings_button.setStyleSheet(
            "QToolButton { color: white; border: 1px solid #5D7B91; border-radius: 4px;"
            " padding: 5px 10px; } QToolButton::menu-indicator { image: none; }"
        )
        self.settings_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.settings_button.setMenu(menu)
        lay.addWidget(self.settings_button)
        self.logout_button = named(QPushButton("Log out"), "headerButton")
        self.logout_button.setToolTip("Log out of this workstation")
        self.logout_button.clicked.connect(self.logout_clicked)
        lay.addWidget(self.logout_button)

    def show_login(self, hotel: dict[str, Any], staff: dict[str, Any]) -> None:
        """The hotel's name and who is logged in, with their role."""
        self.hotel_label.setText(str(hotel.get("name") or hotel.get("slug") or "Roomrack"))
        role = str(staff.get("role", ""))
        self.who_label.setText(f"{staff.get('name', '')} · {role_name(role)}")

    def show_badge(self, b: Badge) -> None:
        """The connection: the dot, its words, the lock and the mark beside it."""
        self.conn_dot.setStyleSheet(f"color: {b.colour}; font-size: 14pt;")
        self.conn_label.setText(b.text)
        self.conn_label.setToolTip(b.server_tip or "Connection to the Roomrack server")
        self.transport_label.setText(b.mark)
        self.transport_label.setToolTip(b.tip)
        self.transport_label.setStyleSheet(f"color: {b.mark_colour}; font-weight: 600;")
        self.transport_icon.setToolTip(b.tip)
        if b.mark:
            self.transport_icon.setPixmap(trust.lock_pixmap(b.mark_colour, 16, open_=not b.locked))
        else:
            self.transport_icon.clear()

    def show_presence(self, online: list[dict[str, Any]]) -> None:
        """How many are online; who, where and viewing which room in the tooltip."""
        n = len(online)
        self.online_label.setText(f"{n} online" if n else "")
        lines = []
        for p in online:
            line = f"{p.get('name')} ({role_name(p.get('role'))})"
            if p.get("workstation"):
                line += f" at {p['workstation']}"
            if p.get("viewing"):
                line += f", viewing room {p['viewing']}"
            lines.append(line)
        self.online_label.setToolTip("\n".join(lines) or "Who is logged in now")

    def show_offline(self) -> None:
        """Not live: nobody is known to be online (the tooltip keeps the last list)."""
        self.online_label.setText("")

    def show_attention(self, discrepancies: int, rush: int) -> None:
        """What waits in the Operations window for this person, on its button."""
        n = discrepancies + rush
        self.ops_button.setText(f"Operations ({n})" if n else "Operations")
        self.ops_button.setToolTip(
            f"{discrepancies} open discrepancies for your role, {rush} room(s) rushed"
            " (Ctrl+Shift+O)"
        )


class StatsBar(QFrame):
    """The row of statistics tiles under the header; a click on one asks for the filter that
    shows its rooms (`quick_filter`, with the filter bar's keys and values)."""

    quick_filter = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stats")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(6)
        self.tiles: dict[str, StatTile] = {}
        specs: list[tuple[str, str | None, dict[str, Any]]] = [
            ("total", "#1F3A4D", {}),
            ("available", "#1E8449", {"status": "READY_FOR_GUEST", "occupancy": "free"}),
            ("occupied", "#B03A2E", {"occupancy": "occupied"}),
            ("ending_soon", "#B9770E", {"occupancy": "ending_soon"}),
            ("maintenance", "#7D3C98", {"maintenance": "yes"}),
        ]
        for status in RoomStatus:
            specs.append((status.value, STATUS_COLOURS[status][1], {"status": status.value}))
        for key, accent, filt in specs:
            label, tip = tile_words(key)  # short words, the meaning in the tooltip
            tile = StatTile(label, accent, tip)
            tile.clicked.connect(lambda f=filt: self.quick_filter.emit(f))
            self.tiles[key] = tile
            lay.addWidget(tile, 1)

    def show_stats(self, stats: dict[str, int]) -> None:
        for key, tile in self.tiles.items():
            tile.set(int(stats.get(key, 0)))
