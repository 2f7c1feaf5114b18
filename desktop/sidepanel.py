"""The side panel beside the board, in two tabs: the selected room (its controls over its
details and history) and today's reservations. It builds and holds the three panels; what
they show comes from the models and from desktop/live.py, what they ask for leaves by their
signals (`controls.command`, `res_panel.reservation_action`)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QToolButton, QVBoxLayout, QWidget

from desktop.controls import ControlsPanel
from desktop.details import DetailsPanel
from desktop.model import RoomModel
from desktop.reservations import ReservationModel, ReservationsPanel
from desktop.theme import named

ROOM_TAB, TODAY_TAB = 0, 1


class SidePanel(QFrame):
    """The selected room's controls and details, and today's reservations."""

    def __init__(
        self, rooms: RoomModel, reservations: ReservationModel, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sidePanel")
        self.controls = ControlsPanel(rooms)
        self.controls.has_arrival = reservations.has_arrival
        self.controls.has_guest = reservations.has_guest
        self.details = DetailsPanel(rooms)
        self.res_panel = ReservationsPanel(reservations)
        self.res_panel.room_of = rooms.room

        side_lay = QVBoxLayout(self)
        side_lay.setContentsMargins(8, 4, 8, 4)
        self.side_tabs = QTabWidget()
        room_page = QWidget()
        rp = QVBoxLayout(room_page)
        rp.setContentsMargins(2, 4, 2, 0)
        # compact controls and their keys hint behind a toggle: at 1366x768 a manager's 17
        # buttons still leave the details half of the height
        self.controls.grid.setVerticalSpacing(3)
        self.controls.keys_hint.hide()
        self.keys_button = named(QToolButton(), "keysToggle")
        self.keys_button.setText("Keys")
        self.keys_button.setCheckable(True)
        self.keys_button.setToolTip("Show the keyboard keys of the actions")
        self.keys_button.toggled.connect(self.controls.keys_hint.setVisible)
        self.side_tabs.setCornerWidget(self.keys_button, Qt.Corner.TopRightCorner)
        self.details_scroll = QScrollArea()
        self.details_scroll.setWidgetResizable(True)
        self.details_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.details_scroll.setWidget(self.details)
        self.details_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.details_scroll.viewport().setStyleSheet("background: #FFFFFF;")
        rp.addWidget(self.controls)
        rp.addWidget(self.details_scroll, 1)
        self.side_tabs.addTab(room_page, "Selected room")
        self.side_tabs.addTab(self.res_panel, "Today")
        side_lay.addWidget(self.side_tabs)
        self.setMinimumWidth(330)

    def show_room_tab(self) -> None:
        self.side_tabs.setCurrentIndex(ROOM_TAB)

    def show_today_tab(self) -> None:
        self.side_tabs.setCurrentIndex(TODAY_TAB)

    def set_login(self, role: str, timezone: str) -> None:
        """Who is logged in (what they may do) and the hotel's time zone."""
        self.details.set_timezone(timezone)
        self.controls.set_role(role)
        self.res_panel.set_role(role)
