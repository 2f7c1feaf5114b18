"""Screenshots and sheets for docs/: `python -m tools.operations_screenshots [OUTDIR]`.

Runs the demo server in a background thread, logs in as the manager, lets a second
workstation (the front desk) rush rooms, splits the rooms between the attendants, creates
blocks, rewinds the board, locks an account with wrong passwords from three other addresses of
the loopback network (127.0.0.2-4, as if from other machines), and saves each Operations tab
and the first page of the PDF sheets (the PDF pages become PNG with PDFium, through
pypdfium2)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QImage


def render_pdf_pages(pdf: Path, dpi: int = 80) -> list[QImage]:
    """Every page of a PDF as an image (PDFium, through pypdfium2 from the test extras)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    doc = pdfium.PdfDocument(str(pdf))
    images = []
    try:
        for i in range(len(doc)):
            bitmap = doc[i].render(scale=dpi / 72, force_bitmap_format=pdfium_c.FPDFBitmap_BGRA)
            image = QImage(
                bytes(bitmap.buffer),
                bitmap.width,
                bitmap.height,
                bitmap.stride,
                QImage.Format.Format_ARGB32,  # BGRA in memory, little-endian
            )
            images.append(image.copy())  # own the pixels once the buffer is gone
    finally:
        doc.close()
    return images


def pdf_page_png(pdf: Path, out: Path, page: int = 1, dpi: int = 80) -> bool:
    """Save one page of a PDF as a PNG."""
    pages = render_pdf_pages(pdf, dpi)
    return len(pages) >= page and pages[page - 1].save(str(out))


async def _pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def wrong_passwords(url: str, address: str, login: str, workstation: str, n: int) -> None:
    """Someone at another machine (`address`, any 127.x.y.z reaches the server on 127.0.0.1)
    tries `login` with wrong passwords, each on a new connection."""
    from websockets.asyncio.client import connect

    from desktop.pinning import client_context

    for i in range(n):
        async with connect(url, ssl=client_context(), local_addr=(address, 0)) as ws:
            await ws.recv()  # the hello
            rid = f"guess-{i}"
            await ws.send(
                json.dumps(
                    {
                        "type": "auth.login",
                        "request_id": rid,
                        "login": login,
                        "password": f"Guess{i}-{address}",
                        "workstation": workstation,
                    }
                )
            )
            while json.loads(await ws.recv()).get("request_id") != rid:
                pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("outdir", nargs="?", default="docs", type=Path)
    p.add_argument("--size", default="1366x768")
    args = p.parse_args(argv)
    w, h = (int(x) for x in args.size.split("x"))
    out: Path = args.outdir
    out.mkdir(parents=True, exist_ok=True)

    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop.mainwindow import MainWindow
    from desktop.operations import OperationsWindow, open_operations
    from desktop.session import Session
    from desktop.settings import Settings
    from shared.timeutil import to_iso
    from tools.screenshots import pinned, run_server

    tmp = Path(tempfile.mkdtemp(prefix="roomrack-ops-shots-"))
    port, box = run_server(tmp / "demo.db")
    url = f"wss://127.0.0.1:{port}"
    app = QApplication.instance() or QApplication(sys.argv[:1])

    async def shoot() -> None:
        window = MainWindow(
            Session(workstation="Manager office", pins=pinned(url, box)), Settings(tmp / "s.ini")
        )
        window.resize(w, h)
        window.show()
        assert await window.login(url, "manager", "demo")
        for _ in range(100):
            if window.rooms.rowCount():
                break
            await _pause(0.05)
        await _pause(0.5)
        ops = open_operations(window.session, window, window.rooms, window.toasts)
        ops.resize(w, h)
        desk = Session(workstation="Front desk 1", pins=pinned(url, box))
        await desk.login(url, "frontdesk", "demo")
        await _pause(1.0)
        before = window.session.clock.now()
        await _pause(1.2)

        # the discrepancies the demo starts with
        ops.show_tab("Discrepancies")
        await _pause(0.5)
        if ops.discrepancies.table.rowCount():
            ops.discrepancies.table.selectRow(0)
        ops.discrepancies.note.setText("Guest called: late check-out agreed")
        await _pause(0.3)
        ops.grab().save(str(out / "screenshot-ops-discrepancies.png"))

        # rush rooms, asked for by the front desk at another workstation, while the manager
        # looks at the board (toasts show on the Roomrack window in front)
        window.activateWindow()
        await _pause(0.3)
        dirty = [
            r
            for r in window.rooms.rooms()
            if r["room_status"] in ("CHECKOUT_DIRTY", "CLEANING_IN_PROGRESS") and r["floor"] == 1
        ]
        for room, note in zip(
            dirty[:2],
            ("Mr Ryan waiting in the lobby", "Family of four, arriving early"),
            strict=False,
        ):
            await desk.call(
                "room.rush",
                room_number=room["room_number"],
                expected_version=room["version"],
                note=note,
            )
        await _pause(1.0)
        window.board.ensure_visible(dirty[0]["room_number"])
        await _pause(1.0)
        window.grab().save(str(out / "screenshot-ops-rush.png"))
        window.toasts.clear()
        ops.activateWindow()
        ops.show_tab("Rush")
        await _pause(0.3)
        ops.grab().save(str(out / "screenshot-ops-rushqueue.png"))

        # attendants: split by floor, then the sheets and the report
        staff = {s["login"]: s for s in ops.attendants.staff}
        ops.attendants.split("floor", [staff["housekeeping"]["id"], staff["attendant2"]["id"]])
        await _pause(1.5)
        ops.show_tab("Attendants")
        await _pause(0.3)
        ops.grab().save(str(out / "screenshot-ops-attendants.png"))
        pages = ops.attendants.print_sheets(tmp / "sheets.pdf")
        ops.attendants.print_report(tmp / "report.pdf")
        pdf_page_png(tmp / "sheets.pdf", out / "sheet-attendant.png")
        pdf_page_png(tmp / "report.pdf", out / "sheet-status-report.png")
        print(f"attendant sheets: {pages} page(s)")

        # an attendant's own view: a window on its own (its own copy of the board)
        attendant = Session(workstation="Floor 3 pantry", pins=pinned(url, box))
        mine = OperationsWindow(attendant)
        mine.resize(w, h)
        await attendant.login(url, "attendant2", "demo")
        for _ in range(100):
            if mine.rooms.rowCount() and mine.attendants.staff:
                break
            await _pause(0.05)
        mine.show_tab("Attendants")
        mine.show()
        await _pause(0.8)
        mine.grab().save(str(out / "screenshot-ops-my-rooms.png"))
        mine.hide()
        await attendant.stop()

        # blocks: one out of service now, one out of order next week
        vacant = [
            r
            for r in window.rooms.rooms()
            if not r.get("is_occupied") and r["floor"] == 3 and not r.get("is_out_of_order")
        ]
        now = window.session.clock.now()
        await window.session.call(
            "block.create",
            **dict(
                room_number=vacant[0]["room_number"],
                kind="out_of_service",
                reason="Repainting the bathroom",
                end=to_iso(now + timedelta(hours=6)),
                expected_version=vacant[0]["version"],
                return_status="CLEANED_UNINSPECTED",
            ),
        )
        await window.session.call(
            "block.create",
            **dict(
                room_number=vacant[1]["room_number"],
                kind="out_of_order",
                reason="Window replacement",
                start=to_iso(now + timedelta(days=3)),
                end=to_iso(now + timedelta(days=5)),
                expected_version=vacant[1]["version"],
            ),
        )
        await _pause(1.0)
        ops.show_tab("Blocks")
        dialog = ops.blocks_tab.open_dialog(vacant[2]["room_number"])
        dialog.reason.setText("Window seal replacement")
        await _pause(0.5)
        ops.grab().save(str(out / "screenshot-ops-blocks.png"))
        dialog.grab().save(str(out / "screenshot-ops-block-dialog.png"))
        dialog.reject()

        # history: the board before the rush, and the rushed room's timeline
        ops.show_tab("History")
        ops.history.set_moment(before)
        ops.history.load_board()
        await _pause(1.0)
        ops.history.board.select([dirty[0]["room_number"]])
        ops.history.board.ensure_visible(dirty[0]["room_number"])
        await _pause(1.0)
        ops.grab().save(str(out / "screenshot-ops-rewind.png"))

        # rooms and room types (a manager's): the list, and the form of a new room
        ops.show_tab("Rooms")
        await _pause(0.8)
        ops.rooms_tab.select("101")
        await _pause(0.3)
        ops.grab().save(str(out / "screenshot-ops-rooms.png"))
        room_form = ops.rooms_tab.open_room_dialog()
        room_form.number.setText("50 1")  # a typo: the shared rules' words say why
        room_form.room_type.setCurrentIndex(room_form.room_type.findData("Suite"))
        room_form.floor.setValue(5)
        room_form.section.setText("Penthouse")
        room_form.submit()
        await _pause(0.3)
        room_form.grab().save(str(out / "screenshot-ops-room-dialog.png"))
        room_form.reject()

        # who is online
        desk.tell("presence.viewing", room_number=dirty[0]["room_number"])
        await _pause(0.8)
        ops.show_tab("Online")
        await _pause(0.3)
        ops.grab().save(str(out / "screenshot-ops-online.png"))

        # staff accounts (a manager's): the supervisor is logged in at their own desk, then
        # wrong passwords for that login from three other machines lock the account (its own
        # desk stays in); the manager selects it, ready to unlock it
        supervisor = Session(workstation="Housekeeping office", pins=pinned(url, box))
        await supervisor.login(url, "supervisor", "demo")
        for address, where, tries in (
            ("127.0.0.2", "Lobby PC", 4),
            ("127.0.0.3", "Bar till", 3),
            ("127.0.0.4", "Spa desk", 3),
        ):
            await wrong_passwords(url, address, "supervisor", where, tries)
        await _pause(0.5)
        ops.show_tab("Staff")
        ops.staff_tab.reload()
        await _pause(1.0)
        ops.staff_tab.select_login("supervisor")
        await _pause(0.3)
        ops.grab().save(str(out / "screenshot-ops-staff.png"))
        await supervisor.stop()

        await desk.stop()
        await window.session.stop()
        ops.hide()
        window.close()

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot())
    print(f"screenshots saved in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
