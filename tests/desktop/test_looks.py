"""How the cards and the sheets look: the words that matter are whole, offline is grey."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QRect, QRectF, QSize
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QStandardItemModel
from PySide6.QtWidgets import QStyleOptionViewItem

from desktop.board import GAP
from desktop.delegate import (
    CARD_W,
    RoomCardDelegate,
    people_line,
    status_lines,
)
from desktop.details import FIELDS
from desktop.mainwindow import MainWindow
from desktop.model import Roles
from tests.desktop.conftest import login
from tests.support import ServerThread
from tools.operations_screenshots import render_pdf_pages

pytestmark = pytest.mark.gui

# the board's width at 1366x768 and 1920x1080 (the side panel keeps ~440 px)
BOARD_WIDTHS = (916, 1470)


def card_text_width(available: int) -> tuple[RoomCardDelegate, int]:
    """The delegate as the board fits it, and the width of a card's text lines."""
    d = RoomCardDelegate()
    d.fit(available, GAP)
    return d, d.card_size().width() - 6 - 12 - 7


def status_font(bold: bool = True) -> QFontMetrics:
    f = QFont()
    f.setPointSizeF(8.2)
    f.setBold(bold)
    return QFontMetrics(f)


@pytest.mark.parametrize("available", BOARD_WIDTHS)
def test_a_block_and_its_end_are_whole_on_the_card(qapp: Any, available: int) -> None:
    _d, width = card_text_width(available)
    fm = status_font()
    for block in ("OOS until Wed 14:00", "OOO until Fri 11:30", "OOS until 20 Feb"):
        lines = status_lines("Ready", block, False, True, True, fm, width)
        assert block in lines, lines  # its own line, "until" and the time unchanged
        assert all(fm.horizontalAdvance(t) <= width for t in lines)
        assert lines[0].startswith("RUSH · Ready") and "DND" in lines[0]
        ooo = status_lines("Out of order", block, True, False, False, fm, width)
        assert ooo == [block]
    # short enough: one line
    assert status_lines("Dirty", "OOS until 14:00", False, False, False, fm, 400) == [
        "Dirty · OOS until 14:00"
    ]
    # very narrow (a small zoom): the end time is kept, the word "until" goes first
    narrow = fm.horizontalAdvance("OOS → Wed 14:00") + 2
    assert status_lines("Ready", "OOS until Wed 14:00", False, False, False, fm, narrow)[1] == (
        "OOS → Wed 14:00"
    )


@pytest.mark.parametrize("available", BOARD_WIDTHS)
def test_ends_soon_and_attendant_names_are_whole(qapp: Any, available: int) -> None:
    d, width = card_text_width(available)
    image = QImage(QSize(400, 200), QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    f = QFont()
    f_num = QFont(f)
    f_num.setPointSizeF(14)
    f_num.setBold(True)
    room = width - QFontMetrics(f_num).horizontalAdvance("M01") - 6
    w = d._occupancy_badge(painter, f, QRectF(0, 0, width, 22), "ending_soon", 1.0, fit=room)
    painter.end()
    badge_font = QFont(f)
    badge_font.setPointSizeF(7.2)
    badge_font.setBold(True)
    words = QFontMetrics(badge_font).horizontalAdvance("ENDS SOON")
    assert words < w <= room  # it says ENDS SOON (not just SOON) on cards this wide

    fm = status_font(bold=False)
    badge = 70  # an URGENT / MEDIUM repair badge and its gap
    for guests in (0, 1, 12):
        for who in ("Aoife", "Tomasz", "★ yours"):
            text = people_line(guests, who, fm, width - badge)
            assert text.endswith(who), text
            assert fm.horizontalAdvance(text) <= width - badge
    assert people_line(2, "Aoife", fm, 400) == "2 guests · Aoife"
    assert people_line(0, "", fm, 400) == "No guests"


def test_cards_are_wider_than_their_base_width(qapp: Any) -> None:
    for available in BOARD_WIDTHS:
        d, _ = card_text_width(available)
        assert d.card_size().width() >= CARD_W


def paint_card(stale: bool) -> QImage:
    model = QStandardItemModel(1, 1)
    idx = model.index(0, 0)
    for role, value in {
        Roles.Number: "101",
        Roles.Status: "OCCUPIED_DIRTY",
        Roles.Occupancy: "occupied",
        Roles.MinutesToFree: 90,
        Roles.Guests: 2,
        Roles.Maintenance: True,
        Roles.Priority: "URGENT",
        Roles.Stale: stale,
        Roles.Attendant: "Aoife Murphy",
    }.items():
        model.setData(idx, value, int(role))
    d = RoomCardDelegate()
    size = d.card_size()
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(QColor("#FFFFFF"))
    painter = QPainter(image)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, size.width(), size.height())
    option.font = QFont()
    d.paint(painter, option, idx)
    painter.end()
    return image


def saturation_max(image: QImage) -> int:
    return max(
        image.pixelColor(x, y).hsvSaturation()
        for y in range(0, image.height(), 2)
        for x in range(0, image.width(), 2)
    )


def test_offline_cards_grey_their_badges_too(qapp: Any) -> None:
    live, stale = paint_card(False), paint_card(True)
    assert saturation_max(live) > 200  # the red OCCUPIED and URGENT badges
    assert saturation_max(stale) < 140  # everything muted, badges included


def test_the_legend_explains_rush_dnd_and_yours(qapp: Any) -> None:
    from desktop.mainwindow import Legend

    legend = Legend()
    words = " ".join(text for text, _draw in legend._items())
    for needed in ("rush", "do not disturb", "assigned to you"):
        assert needed.lower() in words.lower(), words


def test_a_manager_sees_ten_detail_lines_at_1366x768(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server, "manager")
    window.resize(1366, 768)
    window.board.select(["111"])
    qtbot.waitUntil(lambda: window.details.number == "111", timeout=5000)
    qtbot.wait(50)
    viewport = window.details_scroll.viewport()
    labels = [window.details.values[key] for key, _ in FIELDS[:10]]
    for label in labels:
        assert label.isVisibleTo(window)
        bottom = label.mapTo(viewport, label.rect().bottomLeft()).y()
        assert 0 <= bottom <= viewport.height(), (label.text(), bottom, viewport.height())
    # the keys hint is one click away, not in the way
    assert not window.controls.keys_hint.isVisibleTo(window)
    window.keys_button.click()
    assert window.controls.keys_hint.isVisibleTo(window)
    assert "start cleaning" in window.controls.keys_hint.text()


LONG_NOTE = (
    "Carpet shampoo in the bedroom and the corridor, then leave the windows open for two "
    "hours; the guest in 305 asked for a quiet morning, so start after ten"
)


def sheet_rooms(n: int) -> list[dict[str, Any]]:
    rooms = []
    for i in range(n):
        rooms.append(
            {
                "room_number": str(101 + i),
                "floor": 1,
                "room_status": "OCCUPIED_DIRTY",
                "is_occupied": True,
                "guests_in_room": 2,
                "assigned_to": {"staff_id": 1, "name": "Aoife Murphy"},
                "maintenance_required": i % 3 == 0,
                "maintenance_priority": "HIGH",
                "maintenance_notes": LONG_NOTE if i % 3 == 0 else None,
            }
        )
    return rooms


def pdf_text(pdf: Path) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        text = " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    return " ".join(text.split())


@pytest.mark.parametrize("n", [6, 40])
def test_printed_notes_are_whole(qapp: Any, tmp_path: Path, n: int) -> None:
    from desktop.operations.sheets import sheets_for, write_attendant_sheets, write_status_report

    tz = ZoneInfo("Europe/Dublin")
    when = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    rooms = sheet_rooms(n)
    report = tmp_path / "report.pdf"
    pages = write_status_report(report, "Hotel", rooms, when, tz)
    text = pdf_text(report)
    assert text.count(LONG_NOTE) == len([r for r in rooms if r["maintenance_notes"]])
    assert "…" not in text
    assert pages == len(render_pdf_pages(report, dpi=30))
    sheet = tmp_path / "sheet.pdf"
    staff = [{"id": 1, "name": "Aoife Murphy"}]
    sheet_pages = write_attendant_sheets(sheet, "Hotel", sheets_for(rooms, staff), when, tz)
    text = pdf_text(sheet)
    assert text.count(LONG_NOTE) == len([r for r in rooms if r["maintenance_notes"]])
    assert all(f"{101 + i}" in text for i in range(n))
    assert sheet_pages == (1 if n <= 6 else 2)  # many long notes: continued overleaf


def test_toasts_show_on_the_roomrack_window_in_front(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QApplication, QPushButton

    from tests.desktop.ops_support import open_ops

    ops = open_ops(qtbot, window, server, "manager")
    ops.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is ops, timeout=5000)
    toast = window.toasts.show("warning", "Maintenance flagged: room 204", "AC not working")
    assert toast.window() is ops and toast.isVisible()
    assert ops.rect().contains(toast.geometry())
    assert not toast.isWindow()  # a child: it cannot take the keyboard from anyone
    for tab in range(ops.tabs.count()):  # it never hides a button of the tab in front
        ops.tabs.setCurrentIndex(tab)
        window.toasts.place()
        for b in ops.findChildren(QPushButton):
            if b.isVisible():
                box = QRect(b.mapTo(ops, QPoint(0, 0)), b.size())
                assert not box.intersects(toast.geometry()), (tab, b.text())
    # back to the main window: the toasts follow
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.waitUntil(lambda: toast.window() is window, timeout=5000)
    assert toast.isVisible()
    assert window.centralWidget().rect().contains(toast.geometry())
    # the Operations window in front again, then closed (hidden): back on the main window
    ops.activateWindow()
    qtbot.waitUntil(lambda: toast.window() is ops, timeout=5000)
    ops.close()
    second = window.toasts.show("info", "Back", "")
    assert second.window() is window and toast.window() is window
