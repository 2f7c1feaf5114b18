"""Draw the application icon, resources/roomrack.png: `python -m tools.make_icon [--size 256]`.

A rounded square in the header's colour holding a rack of room cards, three rows of four, in
the status colours of the board (resources/colours.json): each card its status background
with the accent stripe on its left, as on the board."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "roomrack.png"
HEADER = "#1F3A4D"  # the header strip's background (resources/style.qss)
# the rack, row by row: mostly ready rooms, some dirty, one being cleaned, one to inspect...
RACK = (
    ("READY_FOR_GUEST", "CHECKOUT_DIRTY", "READY_FOR_GUEST", "CLEANING_IN_PROGRESS"),
    ("CLEANED_UNINSPECTED", "READY_FOR_GUEST", "OCCUPIED_DIRTY", "READY_FOR_GUEST"),
    ("READY_FOR_GUEST", "MAINTENANCE_REQUIRED", "READY_FOR_GUEST", "OUT_OF_ORDER"),
)


def draw(size: int, colours: dict[str, list[str]]) -> QImage:
    """The icon, `size` x `size` pixels (transparent around the square)."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    u = size / 256  # the drawing is made on a 256 px grid
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(HEADER))
    p.drawRoundedRect(QRectF(8 * u, 8 * u, 240 * u, 240 * u), 48 * u, 48 * u)
    rows, cols = len(RACK), len(RACK[0])
    pad, gap = 32 * u, 10 * u
    width = (size - 2 * pad - (cols - 1) * gap) / cols
    height = (size - 2 * pad - (rows - 1) * gap) / rows
    for r, row in enumerate(RACK):
        for c, status in enumerate(row):
            bg, accent = colours[status][0], colours[status][1]
            cell = QRectF(pad + c * (width + gap), pad + r * (height + gap), width, height)
            p.setBrush(QColor(bg))
            p.drawRoundedRect(cell, 7 * u, 7 * u)
            p.setBrush(QColor(accent))
            stripe = QRectF(cell.left(), cell.top(), 9 * u, cell.height())
            p.drawRoundedRect(stripe, 4 * u, 4 * u)
    p.end()
    return image


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.make_icon", description=__doc__)
    ap.add_argument("--size", type=int, default=256, help="width and height in pixels")
    ap.add_argument("--out", type=Path, default=OUT, help="the PNG file to write")
    args = ap.parse_args(argv)

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    table = json.loads((ROOT / "resources" / "colours.json").read_text(encoding="utf-8"))
    image = draw(args.size, table["status"])
    if not image.save(str(args.out)):
        print(f"could not write {args.out}", file=sys.stderr)
        return 1
    print(f"icon saved as {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
