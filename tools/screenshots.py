"""Make the screenshots of docs/: `python -m tools.screenshots [OUTDIR] [--size 1366x768]`.

Runs a demo server in a background thread on a free port, opens the desktop logged in (off
screen if QT_QPA_PLATFORM=offscreen), and saves the board, the controls, one room's details,
a toast, today's reservations, the board offline and the login dialog as PNG files.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def run_server(db: Path) -> tuple[int, Any]:
    from server import db as m
    from server.app import RoomrackServer
    from server.config import Config
    from server.demo import DemoSpec, load_demo
    from shared.clock import SystemClock

    m.open_db(db)
    try:
        load_demo(SystemClock().now(), DemoSpec())
    finally:
        m.close_db()
    ready = threading.Event()
    box: dict[str, Any] = {}

    def main() -> None:
        async def serve() -> None:
            server = RoomrackServer(Config(port=0, db_path=db, synchronous="NORMAL"))
            await server.start()
            box["port"] = server.port
            cert = server.tls.current() if server.tls else None
            box["fingerprint"] = cert.sha256 if cert else None
            box["loop"] = asyncio.get_running_loop()
            box["stop"] = asyncio.Event()
            ready.set()
            await box["stop"].wait()
            await server.stop()

        asyncio.run(serve())

    t = threading.Thread(target=main, daemon=True)
    t.start()
    ready.wait(30)
    return int(box["port"]), box


def pinned(url: str, box: dict[str, Any]) -> Any:
    """Pins (in memory) that trust the screenshot server's certificate, as a paired desk."""
    from desktop.pinning import PinStore

    pins = PinStore()
    pins.pin(url, box["fingerprint"])
    return pins


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("outdir", nargs="?", default="docs", type=Path)
    p.add_argument("--size", default="1366x768")
    p.add_argument("--login", default="manager")
    p.add_argument("--prefix", default="screenshot-")
    args = p.parse_args(argv)
    w, h = (int(x) for x in args.size.split("x"))
    args.outdir.mkdir(parents=True, exist_ok=True)

    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop.mainwindow import MainWindow
    from desktop.session import Session
    from desktop.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="roomrack-shots-"))
    port, box = run_server(tmp / "demo.db")
    url = f"wss://127.0.0.1:{port}"
    app = QApplication.instance() or QApplication(sys.argv[:1])

    async def shoot() -> None:
        settings = Settings(tmp / "settings.ini")
        session = Session(pins=pinned(url, box))
        window = MainWindow(session, settings)
        window.resize(w, h)
        window.show()
        dialog = window.show_login()
        dialog.server.setText("reception-pc:8765")
        dialog.login.setText("frontdesk")
        dialog.password.setText("demo")
        dialog.adjustSize()
        await asyncio.sleep(0.3)
        dialog.grab().save(str(args.outdir / f"{args.prefix}login.png"))
        dialog.hide()
        ok = await window.login(url, args.login, "demo")
        assert ok, "login failed"
        for _ in range(100):
            if window.rooms.rowCount():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        window.grab().save(str(args.outdir / f"{args.prefix}board.png"))
        # controls: several dirty rooms selected at once
        dirty = [
            r["room_number"] for r in window.rooms.rooms() if r["room_status"] == "CHECKOUT_DIRTY"
        ]
        window.board.select(dirty[:3])
        await asyncio.sleep(1.0)
        window.grab().save(str(args.outdir / f"{args.prefix}controls.png"))
        # one room: its details and history under the controls
        repair = [r["room_number"] for r in window.rooms.rooms() if r.get("maintenance_required")]
        window.board.select(repair[:1])
        await asyncio.sleep(1.5)
        window.grab().save(str(args.outdir / f"{args.prefix}details.png"))
        window.board.select(dirty[:3])
        await asyncio.sleep(0.5)
        # a toast: the reply to a command, and an event for this role
        window.controls.run("start_cleaning")
        await asyncio.sleep(0.8)
        window.toasts.show(
            "warning", "Maintenance flagged: room 204", "High priority — AC not working"
        )
        await asyncio.sleep(0.5)
        window.grab().save(str(args.outdir / f"{args.prefix}toast.png"))
        window.board.clear_selection()
        window.toasts.clear()
        window.side_tabs.setCurrentIndex(1)
        await asyncio.sleep(0.5)
        window.grab().save(str(args.outdir / f"{args.prefix}today.png"))
        # offline: the board stays, greyed, with the banner
        window.side_tabs.setCurrentIndex(0)
        box["loop"].call_soon_threadsafe(box["stop"].set)
        for _ in range(100):
            if session.state.value == "reconnecting":
                break
            await asyncio.sleep(0.05)
        window.update_connection_label()
        await asyncio.sleep(0.3)
        window.grab().save(str(args.outdir / f"{args.prefix}offline.png"))
        await session.stop()
        window.close()

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot())
    print(f"screenshots saved in {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
