"""Print the board (or save it as PDF): the cards as they are on screen, page after page.

The cards carry words and marks beside their colours, so a black-and-white printout reads too.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPainter, QRegion
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QWidget


def make_printer(pdf: Path | None = None) -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    printer.setPageOrientation(QPageLayout.Orientation.Landscape)
    if pdf is not None:
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(pdf))
    return printer


def print_widget(
    content: QWidget,
    printer: QPrinter,
    title: str,
    when: datetime,
    breaks: list[int] | None = None,
) -> int:
    """Render `content` (the board's inner widget, at its full height) across pages, scaled
    to the page width, with a title line on each page. Pages end at the last of `breaks` (y
    positions between rows of cards) that fits, so no card is cut. Returns the pages."""
    painter = QPainter()
    if not painter.begin(printer):
        return 0
    try:
        page = printer.pageRect(QPrinter.Unit.DevicePixel).toRect()
        header_h = int(page.height() * 0.05)
        width = max(1, content.width())
        scale = page.width() / width
        slice_h = max(1, int((page.height() - header_h) / scale))
        total = max(1, content.height())
        pages = 0
        y = 0
        font = QFont(content.font())
        font.setPointSize(11)
        while y < total:
            if pages:
                printer.newPage()
            pages += 1
            painter.resetTransform()
            painter.setFont(font)
            painter.drawText(
                QRect(0, 0, page.width(), header_h),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                f"{title} — {when:%d %b %Y %H:%M} — page {pages}",
            )
            painter.translate(0, header_h)
            painter.scale(scale, scale)
            end = min(total, y + slice_h)
            fitting = [b for b in (breaks or []) if y < b <= end]
            if end < total and fitting:
                end = max(fitting)
            content.render(painter, QPoint(0, 0), QRegion(0, y, width, end - y))
            y = end
        return pages
    finally:
        painter.end()
