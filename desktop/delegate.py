"""Paints one room card from the model's roles only."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop.model import Roles
from desktop.room_facts import format_minutes, in_house_words
from desktop.theme import OCCUPANCY_COLOURS, PRIORITY_COLOURS, SHORT_LABELS, status_colours

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
        data = index.data(Roles.Card) or index.data  # (a board of another model: role by role)
        number = str(data(Roles.Number))
        status = data(Roles.Status)
        label = SHORT_LABELS.get(str(status), str(data(Roles.StatusLabel) or ""))
        occ = str(data(Roles.Occupancy) or "free")
        # a rewound board's past room states carry the front office's flag, not bookings
        known = data(Roles.OccupancyKnown) is not False
        if not known:
            past = data(Roles.Room) or {}
            occ = "occupied" if past.get("is_occupied") else "free"
        minutes = data(Roles.MinutesToFree)
        minutes = None if minutes is None or minutes < 0 else int(minutes)
        nxt = data(Roles.NextAvailable)
        today = int(data(Roles.ReservationsToday) or 0)
        guests = int(data(Roles.Guests) or 0)
        maintenance = bool(data(Roles.Maintenance))
        priority = data(Roles.Priority)
        ooo = bool(data(Roles.OutOfOrder))
        dnd = bool(data(Roles.DoNotDisturb))
        rtype = str(data(Roles.RoomType) or "")
        stale = bool(data(Roles.Stale))
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        bg, accent, _code = status_colours(status)
        if stale:
            bg = _mix(bg, QColor("#E5E7E9"), 0.6)
            accent = _mix(accent, QColor(STALE_GREY), 0.6)

        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        r = QRectF(option.rect).adjusted(3 * s, 3 * s, -3 * s, -3 * s)
        path = QPainterPath()
        path.addRoundedRect(r, 7 * s, 7 * s)
        painter.fillPath(path, QBrush(bg))
        if ooo:
            painter.save()
            painter.setClipPath(path)
            painter.fillRect(r, QBrush(QColor(80, 90, 90, 60), Qt.BrushStyle.BDiagPattern))
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
            QPen(QColor("#1F3A4D") if selected else accent.lighter(130), 3 if selected else 1)
        )
        painter.drawPath(path)
        rush = bool(data(Roles.Rush))
        if rush and not selected:  # wanted for a waiting arrival: a heavy border
            rush_pen = QColor(RUSH_COLOUR)
            painter.setPen(
                QPen(_mix(rush_pen, QColor(STALE_GREY), 0.6) if stale else rush_pen, 3.5 * s)
            )
            painter.drawPath(path)
        elif bool(data(Roles.Recent)) and not selected:  # just changed: a soft glow
            painter.setPen(QPen(QColor("#F1C40F"), 3 * s))
            painter.drawPath(path)

        left = r.left() + 12 * s
        right = r.right() - 7 * s
        width = right - left
        # line 1: number (big) and occupancy badge
        f_num = QFont(option.font)
        f_num.setPointSizeF(14 * s)
        f_num.setBold(True)
        painter.setFont(f_num)
        painter.setPen(QColor("#17202A"))
        num_h = QFontMetrics(f_num).height()
        top = r.top() + 4 * s
        painter.drawText(
            QRectF(left, top, width * 0.5, num_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            number,
        )
        room_for_badge = width - QFontMetrics(f_num).horizontalAdvance(number) - 6 * s
        self._occupancy_badge(
            painter,
            option.font,
            QRectF(left, top, width, num_h),
            occ,
            s,
            fit=room_for_badge,
            muted=stale,
        )

        f_small = QFont(option.font)
        f_small.setPointSizeF(8.2 * s)
        fm = QFontMetrics(f_small)
        line_h = fm.height()
        y = top + num_h + 1 * s
        # line 2: housekeeping status in words; a block and when it ends on the line below
        # when both do not fit on one
        f_status = QFont(f_small)
        f_status.setBold(True)
        fm_status = QFontMetrics(f_status)
        painter.setFont(f_status)
        status_pen = QColor(RUSH_COLOUR) if rush else accent.darker(140)
        if stale:
            status_pen = _mix(status_pen, QColor(STALE_GREY), 0.6)
        painter.setPen(status_pen)
        block = str(data(Roles.Block) or "")
        for text in status_lines(label, block, ooo, dnd, rush, fm_status, int(width)):
            painter.drawText(
                QRectF(left, y, width, line_h),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
            y += line_h
        # line 3: occupancy detail
        painter.setFont(f_small)
        painter.setPen(QColor("#283747"))
        if known and occ == "overdue":
            detail = str(data(Roles.OverdueLine) or "") or "Overdue departure"
        else:
            detail = occupancy_line(known, occ, today, minutes, str(nxt or ""))
        painter.drawText(
            QRectF(left, y, width, line_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            fm.elidedText(detail, Qt.TextElideMode.ElideRight, int(width)),
        )
        y += line_h
        # line 4: guests and who cleans it (or the room type), maintenance badge on the right
        if bool(data(Roles.Mine)):
            who = "★ yours"
        else:  # who cleans it matters more on the floor than the room type
            who = str(data(Roles.Attendant) or "").split(" ")[0] or rtype
        bottom = QRectF(left, y, width, line_h)
        badge_w = 0.0
        if maintenance:
            badge_w = self._maintenance_badge(
                painter, f_small, bottom, str(priority or ""), s, muted=stale
            )
        painter.setPen(QColor("#566573"))
        painter.setFont(f_small)
        room = int(width - badge_w - 4 * s) if badge_w else int(width)
        painter.drawText(
            QRectF(left, y, room, line_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            people_line(guests, who, fm, room),
        )
        painter.restore()

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
    ) -> float:
        text = BADGE_TEXT.get(occ, occ.upper())
        colour = QColor(OCCUPANCY_COLOURS.get(occ, "#566573"))
        if muted:  # offline: greyed like the rest of the card
            colour = _mix(colour, QColor(STALE_GREY), 0.6)
        f = QFont(base)
        f.setPointSizeF(7.2 * s)
        f.setBold(True)
        fm = QFontMetrics(f)
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
        painter.setFont(f)
        painter.setPen(QPen(colour, 1.2 * s))
        if occ == "free":
            painter.setBrush(QColor("#FFFFFF"))
        else:
            painter.setBrush(colour)
        painter.drawRoundedRect(box, h / 2, h / 2)
        fg = colour if occ == "free" else QColor("#FFFFFF")
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
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            text,
        )
        return w

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
        colour = QColor(PRIORITY_COLOURS.get(priority, "#7D3C98"))
        if muted:
            colour = _mix(colour, QColor(STALE_GREY), 0.6)
        f = QFont(base)
        f.setBold(True)
        f.setPointSizeF(7.4 * s)
        fm = QFontMetrics(f)
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
        painter.setBrush(QColor("#FFFFFF"))
        painter.drawPath(tri_path)
        painter.setPen(QPen(colour, 1.3 * s))
        painter.drawLine(QPointF(tx + tri / 2, ty - tri / 5), QPointF(tx + tri / 2, ty + tri / 6))
        painter.drawPoint(QPointF(tx + tri / 2, ty + tri / 3))
        painter.setFont(f)
        painter.setPen(QColor("#FFFFFF"))
        painter.drawText(
            QRect(int(tx + tri + 3 * s), int(box.top()), int(w - tri), int(h)),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            text,
        )
        return w


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


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(
        int(a.red() * (1 - t) + b.red() * t),
        int(a.green() * (1 - t) + b.green() * t),
        int(a.blue() * (1 - t) + b.blue() * t),
    )
