"""Paints one room card from the model's roles only."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop.cards import card_from_roles
from desktop.model import CardReader, Roles
from desktop.room_facts import format_minutes, in_house_words
from desktop.theme import OCCUPANCY_COLOURS, PRIORITY_COLOURS, status_colours

# 170 px: at 1920 px eight cards a row, wide enough for "ENDS SOON", a block's end and the
# attendant beside a repair badge; at 1366 px five a row, as before
CARD_W, CARD_H = 170, 100
BADGE_TEXT = {
    "free": "FREE",
    "occupied": "OCCUPIED",
    "ending_soon": "ENDS SOON",
    "overdue": "OVERDUE",
}
SHORT_BADGE_TEXT = {"free": "FREE", "occupied": "IN USE", "ending_soon": "SOON", "overdue": "LATE"}
RUSH_COLOUR = "#C0392B"
STALE_GREY = "#95A5A6"  # offline: every colour of the card, badges too, is mixed with it
# what every card paints with, made once
LEFT_MIDDLE = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
SELECTED = QStyle.StateFlag.State_Selected.value
RUSH, GLOW, WHITE = QColor(RUSH_COLOUR), QColor("#F1C40F"), QColor("#FFFFFF")
INK, DETAIL_INK, QUIET_INK = QColor("#17202A"), QColor("#283747"), QColor("#566573")
SELECTED_BORDER, HATCH = QColor("#1F3A4D"), QColor(80, 90, 90, 60)
# a badge copied takes this many pixels of its card's plain colour around it (clear of the
# room number, the card's border and the lines above and below); a few hundred kept
STAMP_MARGIN, STAMPS = 2, 512


def occupancy_line(known: bool, occ: str, today: int, minutes: int | None, nxt: str) -> str:
    """The card's occupancy line: bookings today when free, when it frees up when in use; on a
    rewound board (occupancy not known for the past) only whether a guest was in house."""
    if not known:
        return in_house_words(occ == "occupied")
    if occ == "free":
        return f"Free · {today} booking{'s' if today != 1 else ''} today"
    detail = f"Free in {format_minutes(minutes)}" if minutes is not None else "In use"
    return f"{detail} · {nxt}" if nxt else detail


class RoomCardDelegate(QStyledItemDelegate):
    def __init__(self, parent: QWidget | None = None, scale: float = 1.0) -> None:
        super().__init__(parent)
        self.scale = scale
        self.width: int | None = None  # stretched to fill the row (set by the board)
        # made once, not for every card painted
        self._fonts: dict[tuple[str, float, bool], tuple[QFont, QFontMetrics]] = {}
        self._status: dict[tuple[str, bool], tuple[QColor, QColor]] = {}
        self._stamps: dict[tuple[Any, ...], QImage] = {}  # badges drawn once (see _stamp)
        self._base, self._base_key = QFont(), QFont().key()  # the last base font asked

    def card_size(self) -> QSize:
        return QSize(self.width or int(CARD_W * self.scale), int(CARD_H * self.scale))

    def fit(self, available: int, gap: int) -> bool:
        """Stretch cards so whole columns fill `available` pixels; True if the width changed."""
        base = int(CARD_W * self.scale) + gap
        cols = max(1, available // base)
        width = min(int(CARD_W * self.scale * 1.25), available // cols - gap)
        if width != self.width:
            self.width = max(40, width)
            return True
        return False

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return self.card_size()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        s = self.scale
        reader = index.data(Roles.Card)
        # (a board of another model: role by role)
        card = reader.card() if isinstance(reader, CardReader) else card_from_roles(index.data)
        occ, stale, rush = card.occ, card.stale, card.rush
        selected = bool(option.state.value & SELECTED)  # (ints: quicker than flags)
        bg, accent = self._colours(card.status, stale)

        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        r = QRectF(option.rect).adjusted(3 * s, 3 * s, -3 * s, -3 * s)
        path = QPainterPath()
        path.addRoundedRect(r, 7 * s, 7 * s)
        painter.fillPath(path, QBrush(bg))
        if card.ooo:
            painter.save()
            painter.setClipPath(path)
            painter.fillRect(r, QBrush(HATCH, Qt.BrushStyle.BDiagPattern))
            painter.restore()
        # status stripe on the left
        stripe = QRectF(r.left(), r.top(), 6 * s, r.height())
        sp = QPainterPath()
        sp.addRoundedRect(stripe.adjusted(0, 0, 6 * s, 0), 7 * s, 7 * s)
        painter.save()
        painter.setClipRect(stripe)
        painter.fillPath(sp, QBrush(accent))
        painter.restore()
        painter.setPen(
            QPen(SELECTED_BORDER if selected else accent.lighter(130), 3 if selected else 1)
        )
        painter.drawPath(path)
        if rush and not selected:  # wanted for a waiting arrival: a heavy border
            painter.setPen(QPen(_muted(RUSH) if stale else RUSH, 3.5 * s))
            painter.drawPath(path)
        elif card.recent and not selected:  # just changed: a soft glow
            painter.setPen(QPen(GLOW, 3 * s))
            painter.drawPath(path)

        left = r.left() + 12 * s
        right = r.right() - 7 * s
        width = right - left
        # line 1: number (big) and occupancy badge
        f_num, fm_num = self._font(option.font, 14 * s, True)
        painter.setFont(f_num)
        painter.setPen(INK)
        num_h = fm_num.height()
        top = r.top() + 4 * s
        number = card.number
        painter.drawText(QRectF(left, top, width * 0.5, num_h), LEFT_MIDDLE, number)
        room_for_badge = width - fm_num.horizontalAdvance(number) - 6 * s
        self._occupancy_badge(
            painter,
            option.font,
            QRectF(left, top, width, num_h),
            occ,
            s,
            fit=room_for_badge,
            muted=stale,
            under=None if card.ooo else bg,
        )

        f_small, fm = self._font(option.font, 8.2 * s, False)
        line_h = fm.height()
        y = top + num_h + 1 * s
        # line 2: housekeeping status in words; a block and when it ends on the line below
        # when both do not fit on one
        f_status, fm_status = self._font(option.font, 8.2 * s, True)
        painter.setFont(f_status)
        status_pen = RUSH if rush else accent.darker(140)
        if stale:
            status_pen = _muted(status_pen)
        painter.setPen(status_pen)
        lines = status_lines(
            card.label, card.block, card.ooo, card.dnd, rush, fm_status, int(width)
        )
        for text in lines:
            painter.drawText(QRectF(left, y, width, line_h), LEFT_MIDDLE, text)
            y += line_h
        # line 3: occupancy detail
        painter.setFont(f_small)
        painter.setPen(DETAIL_INK)
        if card.known and occ == "overdue":
            detail = card.overdue or "Overdue departure"
        else:
            detail = occupancy_line(card.known, occ, card.today, card.minutes, card.nxt)
        painter.drawText(
            QRectF(left, y, width, line_h),
            LEFT_MIDDLE,
            fm.elidedText(detail, Qt.TextElideMode.ElideRight, int(width)),
        )
        y += line_h
        # line 4: guests and who cleans it (or the room type), maintenance badge on the right
        # (who cleans it matters more on the floor than the room type)
        who = "★ yours" if card.mine else card.attendant.split(" ")[0] or card.rtype
        bottom = QRectF(left, y, width, line_h)
        badge_w = 0.0
        if card.maintenance:
            badge_w = self._maintenance_badge(
                painter,
                f_small,
                bottom,
                card.priority,
                s,
                muted=stale,
            )
        painter.setPen(QUIET_INK)
        painter.setFont(f_small)
        room = int(width - badge_w - 4 * s) if badge_w else int(width)
        painter.drawText(
            QRectF(left, y, room, line_h), LEFT_MIDDLE, people_line(card.guests, who, fm, room)
        )
        painter.restore()

    def _font(self, base: QFont, size: float, bold: bool) -> tuple[QFont, QFontMetrics]:
        """`base` at `size` points (bold or not) and its metrics, made once."""
        if base != self._base:  # (a font's key is a string made each time it is asked)
            self._base, self._base_key = QFont(base), base.key()
        key = (self._base_key, size, bold)
        hit = self._fonts.get(key)
        if hit is None:
            font = QFont(base)
            font.setPointSizeF(size)
            font.setBold(bold)
            hit = self._fonts[key] = (font, QFontMetrics(font))
        return hit

    def _colours(self, status: str, stale: bool) -> tuple[QColor, QColor]:
        """A status's card background and accent (greyed when offline), made once."""
        key = (status, stale)
        hit = self._status.get(key)
        if hit is None:
            bg, accent, _code = status_colours(status)
            if stale:
                bg = _mix(bg, QColor("#E5E7E9"), 0.6)
                accent = _muted(accent)
            hit = self._status[key] = (bg, accent)
        return hit

    def _occupancy_badge(
        self,
        painter: QPainter,
        base: QFont,
        line: QRectF,
        occ: str,
        s: float,
        left: bool = False,
        fit: float | None = None,
        muted: bool = False,
        under: QColor | None = None,
    ) -> float:
        """The occupancy badge at the right of `line` (at its left: `left`), as narrow as
        `fit` needs; `under`, the plain colour it is drawn on (a drawn one is copied)."""
        text = BADGE_TEXT.get(occ, occ.upper())
        colour = QColor(OCCUPANCY_COLOURS.get(occ, "#566573"))
        if muted:  # offline: greyed like the rest of the card
            colour = _muted(colour)
        f, fm = self._font(base, 7.2 * s, True)
        icon = 10 * s
        pad = 14 * s
        w = fm.horizontalAdvance(text) + icon + pad
        if fit is not None and w > fit:  # a narrow card: less padding, then the short word
            pad = 9 * s
            w = fm.horizontalAdvance(text) + icon + pad
            if w > fit:
                text = SHORT_BADGE_TEXT.get(occ, text)
                w = fm.horizontalAdvance(text) + icon + pad
        h = fm.height() + 4 * s
        x = line.left() if left else line.right() - w
        box = QRectF(x, line.center().y() - h / 2, w, h)

        def draw(p: QPainter, box: QRectF) -> None:
            self._draw_occupancy(p, f, fm, box, occ, text, colour, icon, pad, s)

        # (copied only where it keeps clear of the room number drawn before it)
        if under is not None and (fit is None or w <= fit):
            self._stamp(painter, box, under, ("occupancy", occ, text, pad, muted, s), draw)
        else:
            draw(painter, box)
        return w

    def _draw_occupancy(
        self,
        painter: QPainter,
        f: QFont,
        fm: QFontMetrics,
        box: QRectF,
        occ: str,
        text: str,
        colour: QColor,
        icon: float,
        pad: float,
        s: float,
    ) -> None:
        h = box.height()
        painter.setFont(f)
        painter.setPen(QPen(colour, 1.2 * s))
        if occ == "free":
            painter.setBrush(WHITE)
        else:
            painter.setBrush(colour)
        painter.drawRoundedRect(box, h / 2, h / 2)
        fg = colour if occ == "free" else WHITE
        # the mark: hollow circle = free, person = occupied, hourglass = ending soon,
        # a clock = overdue (past the departure time)
        c = QPointF(box.left() + pad * 5 / 14 + icon / 2, box.center().y())
        painter.setPen(QPen(fg, 1.4 * s))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if occ == "free":
            painter.drawEllipse(c, icon * 0.38, icon * 0.38)
        elif occ == "overdue":
            painter.drawEllipse(c, icon * 0.42, icon * 0.42)
            painter.drawLine(c, QPointF(c.x(), c.y() - icon * 0.3))
            painter.drawLine(c, QPointF(c.x() + icon * 0.24, c.y()))
        elif occ == "ending_soon":
            q = icon * 0.4
            painter.drawLine(QPointF(c.x() - q, c.y() - q), QPointF(c.x() + q, c.y() - q))
            painter.drawLine(QPointF(c.x() - q, c.y() + q), QPointF(c.x() + q, c.y() + q))
            painter.drawLine(QPointF(c.x() - q, c.y() - q), QPointF(c.x() + q, c.y() + q))
            painter.drawLine(QPointF(c.x() + q, c.y() - q), QPointF(c.x() - q, c.y() + q))
        else:
            painter.setBrush(fg)
            painter.drawEllipse(QPointF(c.x(), c.y() - icon * 0.22), icon * 0.2, icon * 0.2)
            painter.drawPie(
                QRectF(c.x() - icon * 0.38, c.y() + icon * 0.02, icon * 0.76, icon * 0.7),
                0,
                180 * 16,
            )
        painter.setPen(fg)
        painter.drawText(
            QRectF(box.left() + icon + pad / 2, box.top(), fm.horizontalAdvance(text) + 2 * s, h),
            LEFT_MIDDLE,
            text,
        )

    def _maintenance_badge(
        self,
        painter: QPainter,
        base: QFont,
        line: QRectF,
        priority: str,
        s: float,
        left: bool = False,
        muted: bool = False,
    ) -> float:
        """The repair badge at the right of `line` (at its left: `left`). (Drawn each time:
        it reaches into the descenders of the line above it, drawn before it.)"""
        colour = QColor(PRIORITY_COLOURS.get(priority, "#7D3C98"))
        if muted:
            colour = _muted(colour)
        f, fm = self._font(base, 7.4 * s, True)
        text = priority or "FIX"
        tri = 11 * s
        w = fm.horizontalAdvance(text) + tri + 10 * s
        h = fm.height() + 2 * s
        x = line.left() if left else line.right() - w
        box = QRectF(x, line.center().y() - h / 2, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(box, 3 * s, 3 * s)
        # warning triangle with "!"
        tx, ty = box.left() + 3 * s, box.center().y()
        tri_path = QPainterPath()
        tri_path.moveTo(tx + tri / 2, ty - tri / 2)
        tri_path.lineTo(tx + tri, ty + tri / 2 - 1)
        tri_path.lineTo(tx, ty + tri / 2 - 1)
        tri_path.closeSubpath()
        painter.setBrush(WHITE)
        painter.drawPath(tri_path)
        painter.setPen(QPen(colour, 1.3 * s))
        painter.drawLine(QPointF(tx + tri / 2, ty - tri / 5), QPointF(tx + tri / 2, ty + tri / 6))
        painter.drawPoint(QPointF(tx + tri / 2, ty + tri / 3))
        painter.setFont(f)
        painter.setPen(WHITE)
        painter.drawText(
            QRect(int(tx + tri + 3 * s), int(box.top()), int(w - tri), int(h)),
            LEFT_MIDDLE,
            text,
        )
        return w

    def _stamp(
        self,
        painter: QPainter,
        box: QRectF,
        under: QColor,
        key: tuple[Any, ...],
        draw: Callable[[QPainter, QRectF], None],
    ) -> None:
        """Draw a badge by copying it, drawn once on its plain colour `under` at the same
        fraction of a pixel: the pixels of drawing it there (but for a shade or two in a few
        edge pixels of its mark), in a fraction of the time (a burst over the board repaints
        every card it shows)."""
        ratio = painter.device().devicePixelRatioF()
        x0, y0 = math.floor(box.left()) - STAMP_MARGIN, math.floor(box.top()) - STAMP_MARGIN
        local = box.translated(-x0, -y0)
        size = (
            math.ceil(box.right()) + STAMP_MARGIN - x0,
            math.ceil(box.bottom()) + STAMP_MARGIN - y0,
        )
        full = (*key, local.x(), local.y(), local.width(), local.height(), under.rgba(), ratio)
        stamp = self._stamps.get(full)
        if stamp is None:
            if len(self._stamps) >= STAMPS:
                self._stamps.clear()
            stamp = QImage(
                round(size[0] * ratio),
                round(size[1] * ratio),
                QImage.Format.Format_ARGB32_Premultiplied,
            )
            stamp.setDevicePixelRatio(ratio)
            stamp.fill(under)
            p = QPainter(stamp)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            draw(p, local)
            p.end()
            self._stamps[full] = stamp
        painter.drawImage(QPoint(x0, y0), stamp)


LegendMark = Callable[[QPainter, QRectF], float]  # draws at the left of a rect, returns width


def legend_marks(base: QFont) -> list[tuple[str, LegendMark]]:
    """The legend's entries for the card's other marks: the rush border, OOS (an
    out-of-service block in force), DND, ★ yours."""

    def rush(p: QPainter, r: QRectF) -> float:
        box = QRectF(r.left() + 1, r.top() + 3, 22, r.height() - 6)
        p.setPen(QPen(QColor(RUSH_COLOUR), 2.5))
        p.setBrush(QColor("#FFFFFF"))
        p.drawRoundedRect(box, 3, 3)
        return 24.0

    def word(text: str, colour: str, bold: bool) -> LegendMark:
        def draw(p: QPainter, r: QRectF) -> float:
            f = QFont(base)
            f.setPointSizeF(8.2)
            f.setBold(bold)
            p.setFont(f)
            p.setPen(QColor(colour))
            p.drawText(r, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
            return float(QFontMetrics(f).horizontalAdvance(text))

        return draw

    return [
        ("rush: an arrival waits", rush),
        ("out of service until … (still sellable)", word("OOS", "#283747", True)),
        ("do not disturb", word("DND", "#283747", True)),
        ("assigned to you", word("★ yours", "#566573", False)),
    ]


def status_lines(
    label: str, block: str, ooo: bool, dnd: bool, rush: bool, fm: QFontMetrics, width: int
) -> list[str]:
    """The status line of a card, and a second line for a block when both do not fit on one.

    The end of a block is what the board must show, so it is never the part cut off: the
    block gets a line of its own, then "until" becomes an arrow, and only then is it elided.
    """
    head = "RUSH · " if rush else ""
    tail = "  · DND" if dnd else ""
    if ooo:  # out of order: the block (or the words) replace the status
        return [_fit(head + (block or "OUT OF ORDER") + tail, fm, width)]
    one = f"{head}{label}{' · ' + block if block else ''}{tail}"
    if not block or fm.horizontalAdvance(one) <= width:
        return [fm.elidedText(one, Qt.TextElideMode.ElideRight, width)]
    first = fm.elidedText(f"{head}{label}{tail}", Qt.TextElideMode.ElideRight, width)
    return [first, _fit(block, fm, width)]


def _fit(text: str, fm: QFontMetrics, width: int) -> str:
    """`text` whole if it fits; else with 'until' as an arrow; else elided on the right."""
    if fm.horizontalAdvance(text) > width:
        text = text.replace(" until ", " → ")
    return fm.elidedText(text, Qt.TextElideMode.ElideRight, width)


def people_line(guests: int, who: str, fm: QFontMetrics, width: int) -> str:
    """'2 guests · Aoife'; when that is too long the guests shorten ('2 pax') or, in an empty
    room (its FREE badge says so), go, so that the attendant's name stays whole."""
    full = f"{guests} guest{'s' if guests != 1 else ''}" if guests else "No guests"
    candidates = [f"{full} · {who}" if who else full]
    if who:
        candidates += [f"{guests} pax · {who}"] if guests else []
        candidates += [who]
    for text in candidates:
        if fm.horizontalAdvance(text) <= width:
            return text
    return fm.elidedText(candidates[-1], Qt.TextElideMode.ElideRight, width)


def _muted(c: QColor) -> QColor:
    """A colour greyed as the offline board shows it (each made once: not to be changed)."""
    rgba = c.rgba()
    hit = _MUTED.get(rgba)
    if hit is None:
        hit = _MUTED[rgba] = _mix(c, QColor(STALE_GREY), 0.6)
    return hit


_MUTED: dict[int, QColor] = {}


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(
        int(a.red() * (1 - t) + b.red() * t),
        int(a.green() * (1 - t) + b.green() * t),
        int(a.blue() * (1 - t) + b.blue() * t),
    )
