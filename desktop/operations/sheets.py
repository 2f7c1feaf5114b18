"""Printable sheets as PDF: one attendant sheet per page, and the housekeeping status report.

Drawn with QPainter on a QPdfWriter in black, greys and words only, so they read the same on
a black-and-white printer: statuses are spelled out, flags are words (DND, RUSH), and every
room has empty tick boxes for the attendant's pen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)

from desktop.filtering import natural_key
from desktop.operations.common import local_text
from desktop.room_facts import status_label
from shared.rules import STATUS_LABELS, RoomStatus

BLACK = QColor("#000000")
GREY = QColor("#555555")
LIGHT = QColor("#E6E6E6")


@dataclass
class Sheet:
    """One attendant's page: who, and their rooms in the order they will walk them."""

    name: str
    rooms: list[dict[str, Any]] = field(default_factory=list)


def room_order(room: dict[str, Any]) -> tuple[Any, ...]:
    return (
        int(room.get("floor") or 0),
        str(room.get("section") or ""),
        natural_key(room["room_number"]),
    )


def sheets_for(
    rooms: Sequence[dict[str, Any]], staff: Sequence[dict[str, Any]], only: int | None = None
) -> list[Sheet]:
    """One sheet per attendant who has rooms (in staff order), rooms in floor order; rush
    rooms first, because they are wanted now."""
    by_id: dict[int, list[dict[str, Any]]] = {}
    for r in rooms:
        a = r.get("assigned_to")
        if isinstance(a, dict) and a.get("staff_id") is not None:
            by_id.setdefault(int(a["staff_id"]), []).append(r)
    names = {int(s["id"]): str(s.get("name")) for s in staff}
    for sid, rs in by_id.items():
        names.setdefault(sid, str((rs[0].get("assigned_to") or {}).get("name") or sid))
    out = []
    for sid, name in names.items():
        if sid not in by_id or (only is not None and sid != only):
            continue
        rs = sorted(by_id[sid], key=lambda r: (r.get("rush") is None, room_order(r)))
        out.append(Sheet(name, rs))
    return out


def occupancy_words(room: dict[str, Any]) -> str:
    if room.get("is_occupied"):
        n = int(room.get("guests_in_room") or 0)
        return f"Occupied ({n})" if n else "Occupied"
    return "Vacant"


def flags_words(room: dict[str, Any], tz: ZoneInfo) -> str:
    out = []
    rush = room.get("rush")
    if isinstance(rush, dict):
        out.append("RUSH " + local_text(rush.get("requested_at"), tz, "%H:%M"))
    if room.get("do_not_disturb"):
        since = room.get("dnd_since")
        out.append("DND" + (f" since {local_text(since, tz, '%H:%M')}" if since else ""))
    if room.get("is_out_of_order"):
        out.append("OUT OF ORDER")
    elif room.get("is_out_of_service"):
        out.append("OUT OF SERVICE")
    if room.get("maintenance_required"):
        out.append(f"REPAIR {room.get('maintenance_priority') or ''}".strip())
    return " · ".join(out)


def notes_words(room: dict[str, Any], tz: ZoneInfo) -> str:
    out = []
    rush = room.get("rush")
    if isinstance(rush, dict) and rush.get("note"):
        out.append(f"Rush: {rush['note']}")
    block = room.get("block")
    if isinstance(block, dict):
        out.append(f"{block.get('reason') or 'Blocked'} until {local_text(block.get('end'), tz)}")
    elif room.get("out_of_order_reason"):
        out.append(str(room["out_of_order_reason"]))
    if room.get("maintenance_notes"):
        out.append(str(room["maintenance_notes"]))
    return "; ".join(out)


class _Pdf:
    def __init__(self, path: Path, title: str) -> None:
        self.writer = QPdfWriter(str(path))
        self.writer.setTitle(title)
        self.writer.setCreator("Roomrack")
        self.writer.setResolution(150)
        self.writer.setPageLayout(
            QPageLayout(
                QPageSize(QPageSize.PageSizeId.A4),
                QPageLayout.Orientation.Portrait,
                QMarginsF(12, 12, 12, 12),
                QPageLayout.Unit.Millimeter,
            )
        )
        self.painter = QPainter(self.writer)
        self.pages = 1
        rect = self.writer.pageLayout().paintRectPixels(self.writer.resolution())
        self.w, self.h = float(rect.width()), float(rect.height())
        self.px = self.writer.resolution() / 72.0  # pixels per point

    def new_page(self) -> None:
        self.writer.newPage()
        self.pages += 1

    def font(self, size: float, bold: bool = False) -> QFont:
        f = QFont("DejaVu Sans")
        f.setPointSizeF(size)
        f.setBold(bold)
        self.painter.setFont(f)
        return f

    def text(
        self, rect: QRectF, text: str, flags: Qt.AlignmentFlag | int = 0, colour: QColor = BLACK
    ) -> None:
        self.painter.setPen(colour)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        self.painter.drawText(rect, int(flags or align), text)

    def wrapped_height(self, text: str, width: float) -> float:
        """The height of `text` wrapped at word boundaries into `width`, in the current font."""
        if not text:
            return 0.0
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap)
        return self.painter.boundingRect(QRectF(0, 0, width, 1e6), flags, text).height()

    def line(self, y: float, width: float = 1.0, colour: QColor = BLACK) -> None:
        self.painter.setPen(QPen(colour, width))
        self.painter.drawLine(0, int(y), int(self.w), int(y))

    def box(self, x: float, y: float, size: float) -> None:
        self.painter.setPen(QPen(BLACK, 2))
        self.painter.setBrush(Qt.BrushStyle.NoBrush)
        self.painter.drawRect(QRectF(x, y, size, size))

    def footer(self, left: str) -> None:
        self.font(7.5)
        r = QRectF(0, self.h - 14 * self.px, self.w, 14 * self.px)
        self.line(r.top(), 1, GREY)
        self.text(r, left, colour=GREY)
        self.text(
            r,
            f"Page {self.pages}",
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            GREY,
        )

    def end(self) -> int:
        self.painter.end()
        return self.pages


# columns of the attendant sheet: title, share of the width
SHEET_COLUMNS = [
    ("Room", 0.08),
    ("Status now", 0.18),
    ("Occupancy", 0.14),
    ("Flags", 0.16),
    ("Notes", 0.26),
    ("Cleaned", 0.09),
    ("Checked", 0.09),
]


def write_attendant_sheets(
    path: Path, hotel: str, sheets: Sequence[Sheet], when: datetime, tz: ZoneInfo
) -> int:
    """One page per attendant; returns the number of pages."""
    pdf = _Pdf(path, f"Attendant sheets — {hotel}")
    p = pdf.painter
    stamp = local_text(when, tz, "%A %d %B %Y, %H:%M")
    if not sheets:
        pdf.font(14, True)
        pdf.text(QRectF(0, 0, pdf.w, 30 * pdf.px), "No rooms are assigned to anyone.")
        return pdf.end()
    for n, sheet in enumerate(sheets):
        if n:
            pdf.new_page()
        y = 0.0
        pdf.font(17, True)
        h = 24 * pdf.px
        pdf.text(QRectF(0, y, pdf.w, h), sheet.name)
        pdf.font(9)
        pdf.text(
            QRectF(0, y, pdf.w, h),
            f"{hotel}\n{stamp}",
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
        )
        y += h + 2 * pdf.px
        counts = _counts(sheet.rooms)
        n_rooms = len(sheet.rooms)
        summary = f"{n_rooms} room{'s' if n_rooms != 1 else ''} · " + ", ".join(
            f"{k.lower()} {v}" for k, v in counts.items()
        )
        rush = sum(1 for r in sheet.rooms if isinstance(r.get("rush"), dict))
        if rush:
            summary += f" · RUSH {rush} (do these first)"
        pdf.font(9.5)
        pdf.text(QRectF(0, y, pdf.w, 14 * pdf.px), summary)
        y += 16 * pdf.px
        pdf.line(y, 3)
        y += 3 * pdf.px
        # header row
        xs = _columns(pdf.w, SHEET_COLUMNS)
        footer_h = 20 * pdf.px
        y = _sheet_header(pdf, xs, y)
        rows = [_sheet_cells(room, tz) for room in sheet.rooms]
        # one page per attendant when it fits: rows share the page, the font follows; long
        # notes wrap and make their row taller (never cut), in a slightly smaller font if
        # that keeps the page; else in the first font, continued overleaf
        room_h = min(34 * pdf.px, (pdf.h - y - footer_h) / max(1, len(rows)))
        first = min(9.0, max(6.0, room_h / pdf.px / 2.6))
        size = first
        while True:
            heights = [_row_height(pdf, xs, cells, size, room_h) for cells in rows]
            if sum(heights) <= pdf.h - y - footer_h + 1:
                break
            if size <= max(6.0, first - 1.5):
                size = first
                heights = [_row_height(pdf, xs, cells, size, room_h) for cells in rows]
                break
            size -= 0.5
        flags = (
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap
        )
        for i, (cells, row_h) in enumerate(zip(rows, heights, strict=True)):
            if y + row_h > pdf.h - footer_h + 1 and i:  # (+1: sums of floats)
                pdf.footer(f"Attendant sheet · {sheet.name} (continued overleaf)")
                pdf.new_page()
                pdf.font(11, True)
                pdf.text(QRectF(0, 0, pdf.w, 18 * pdf.px), f"{sheet.name} (continued)")
                y = _sheet_header(pdf, xs, 20 * pdf.px)
            top = y
            if i % 2:
                p.fillRect(QRectF(0, top, pdf.w, row_h), QColor("#F4F4F4"))
            for c, ((x, w), value) in enumerate(zip(xs[:5], cells, strict=True)):
                bold = c == 0 or (c == 3 and "RUSH" in value)
                pdf.font(size + (2 if c == 0 else 0), bold)
                pdf.text(QRectF(x + 3 * pdf.px, top, w - 6 * pdf.px, row_h), value, flags)
            side = min(room_h * 0.6, 12 * pdf.px)
            for x, w in xs[5:]:
                pdf.box(x + (w - side) / 2, top + (row_h - side) / 2, side)
            p.setPen(QPen(QColor("#999999"), 1))
            p.drawLine(0, int(top + row_h), int(pdf.w), int(top + row_h))
            y += row_h
        pdf.footer(
            f"Attendant sheet · {sheet.name} · tick Cleaned when done, Checked when inspected"
        )
    return pdf.end()


def write_status_report(
    path: Path, hotel: str, rooms: Sequence[dict[str, Any]], when: datetime, tz: ZoneInfo
) -> int:
    """Counts per housekeeping status, then every room; returns the number of pages."""
    pdf = _Pdf(path, f"Housekeeping status — {hotel}")
    p = pdf.painter
    stamp = local_text(when, tz, "%A %d %B %Y, %H:%M")
    y = 0.0
    pdf.font(17, True)
    h = 24 * pdf.px
    pdf.text(QRectF(0, y, pdf.w, h), "Housekeeping status report")
    pdf.font(9)
    pdf.text(
        QRectF(0, y, pdf.w, h),
        f"{hotel}\n{stamp}",
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
    )
    y += h + 6 * pdf.px
    row_h = 15 * pdf.px
    pdf.font(10, True)
    pdf.text(QRectF(0, y, pdf.w, row_h), "Rooms per status")
    y += row_h
    total = len(rooms)
    for status in RoomStatus:
        n = sum(1 for r in rooms if r.get("room_status") == status.value)
        occupied = sum(
            1 for r in rooms if r.get("room_status") == status.value and r.get("is_occupied")
        )
        pdf.font(9.5)
        pdf.text(QRectF(10 * pdf.px, y, pdf.w * 0.4, row_h), STATUS_LABELS[status])
        pdf.font(9.5, True)
        pdf.text(
            QRectF(pdf.w * 0.4, y, 40 * pdf.px, row_h),
            str(n),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
        )
        pdf.font(9)
        # a bar in black outline, filled grey: length is the count, the number says it too
        bar_w = (pdf.w * 0.3) * (n / total if total else 0)
        p.setPen(QPen(BLACK, 1))
        p.setBrush(QColor("#888888"))
        p.drawRect(QRectF(pdf.w * 0.4 + 50 * pdf.px, y + 3 * pdf.px, bar_w, row_h - 6 * pdf.px))
        p.setBrush(Qt.BrushStyle.NoBrush)
        pdf.text(
            QRectF(pdf.w * 0.75 + 50 * pdf.px, y, pdf.w * 0.25 - 50 * pdf.px, row_h),
            f"{occupied} occupied" if occupied else "",
        )
        y += row_h
    flagged = [
        ("Do not disturb", sum(1 for r in rooms if r.get("do_not_disturb"))),
        ("Rush requests", sum(1 for r in rooms if isinstance(r.get("rush"), dict))),
        ("Repairs flagged", sum(1 for r in rooms if r.get("maintenance_required"))),
        ("Out of service", sum(1 for r in rooms if r.get("is_out_of_service"))),
        ("Rooms in all", total),
    ]
    for label, n in flagged:
        pdf.font(9.5, label == "Rooms in all")
        pdf.text(QRectF(10 * pdf.px, y, pdf.w * 0.4, row_h), label)
        pdf.text(
            QRectF(pdf.w * 0.4, y, 40 * pdf.px, row_h),
            str(n),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
        )
        y += row_h
    y += 8 * pdf.px
    columns = [
        ("Room", 0.09),
        ("Status", 0.22),
        ("Occupancy", 0.13),
        ("Attendant", 0.17),
        ("Flags", 0.17),
        ("Notes", 0.22),
    ]
    xs = _columns(pdf.w, columns)
    footer_h = 20 * pdf.px

    def header(y: float) -> float:
        p.fillRect(QRectF(0, y, pdf.w, row_h), LIGHT)
        pdf.font(8.5, True)
        for (title, _), (x, w) in zip(columns, xs, strict=True):
            pdf.text(QRectF(x + 3 * pdf.px, y, w - 6 * pdf.px, row_h), title)
        return y + row_h

    y = header(y)
    line_h = 13 * pdf.px
    for room in sorted(rooms, key=room_order):
        a = room.get("assigned_to")
        cells = [
            room["room_number"],
            status_label(room.get("room_status")),
            occupancy_words(room),
            a.get("name", "") if isinstance(a, dict) else "",
            flags_words(room, tz),
            notes_words(room, tz),
        ]
        # long notes wrap: the row grows, the words stay whole on paper
        pad = 0.0
        cell_h = line_h
        for c, ((_x, w), value) in enumerate(zip(xs, cells, strict=True)):
            pdf.font(8, c == 0)
            pad = (line_h - p.fontMetrics().height()) / 2
            cell_h = max(cell_h, pdf.wrapped_height(value, w - 6 * pdf.px) + 2 * pad)
        if y + cell_h > pdf.h - footer_h:
            pdf.footer("Housekeeping status report")
            pdf.new_page()
            y = header(0.0)
        top = Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap
        for c, ((x, w), value) in enumerate(zip(xs, cells, strict=True)):
            pdf.font(8, c == 0)
            pdf.text(QRectF(x + 3 * pdf.px, y + pad, w - 6 * pdf.px, cell_h - 2 * pad), value, top)
        p.setPen(QPen(QColor("#BBBBBB"), 1))
        p.drawLine(0, int(y + cell_h), int(pdf.w), int(y + cell_h))
        y += cell_h
    pdf.footer("Housekeeping status report")
    return pdf.end()


def _sheet_header(pdf: _Pdf, xs: Sequence[tuple[float, float]], y: float) -> float:
    head_h = 16 * pdf.px
    pdf.painter.fillRect(QRectF(0, y, pdf.w, head_h), LIGHT)
    pdf.font(8.5, True)
    for (title, _), (x, w) in zip(SHEET_COLUMNS, xs, strict=True):
        pdf.text(QRectF(x + 3 * pdf.px, y, w - 6 * pdf.px, head_h), title)
    return y + head_h


def _sheet_cells(room: dict[str, Any], tz: ZoneInfo) -> list[str]:
    """The written cells of an attendant sheet's row (the tick boxes follow)."""
    return [
        room["room_number"],
        status_label(room.get("room_status")),
        occupancy_words(room),
        flags_words(room, tz),
        notes_words(room, tz),
    ]


def _row_height(
    pdf: _Pdf, xs: Sequence[tuple[float, float]], cells: Sequence[str], size: float, least: float
) -> float:
    """A sheet row's height: `least`, or more when a cell's wrapped words need it."""
    need = 0.0
    for c, ((_x, w), value) in enumerate(zip(xs, cells, strict=False)):
        pdf.font(size + (2 if c == 0 else 0), c == 0 or (c == 3 and "RUSH" in value))
        need = max(need, pdf.wrapped_height(value, w - 6 * pdf.px))
    return max(least, need + 1 * pdf.px)


def _columns(width: float, columns: Sequence[tuple[str, float]]) -> list[tuple[float, float]]:
    out, x = [], 0.0
    for _, share in columns:
        out.append((x, width * share))
        x += width * share
    return out


def _counts(rooms: Sequence[dict[str, Any]]) -> dict[str, int]:
    words = {
        "CHECKOUT_DIRTY": "Dirty",
        "OCCUPIED_DIRTY": "Service",
        "CLEANING_IN_PROGRESS": "Cleaning",
        "CLEANED_UNINSPECTED": "To inspect",
        "READY_FOR_GUEST": "Ready",
        "MAINTENANCE_REQUIRED": "Maintenance",
        "OUT_OF_ORDER": "Out of order",
    }
    out: dict[str, int] = {}
    for status, word in words.items():
        n = sum(1 for r in rooms if r.get("room_status") == status)
        if n:
            out[word] = n
    return out


def pdf_page_count(path: Path) -> int:
    """Pages of a PDF written by Qt, counted from its page objects (no PDF library needed)."""
    import re

    data = Path(path).read_bytes()
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
