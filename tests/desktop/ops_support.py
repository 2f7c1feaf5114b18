"""Helpers for the Operations tests: a logged-in main window with its Operations window,
and moving the test server's clock."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QImage

from desktop.mainwindow import MainWindow
from desktop.operations import OperationsWindow, open_operations
from shared.clock import ManualClock
from tests.desktop.conftest import login
from tests.support import ServerThread


def open_ops(qtbot: Any, window: MainWindow, server: ServerThread, who: str) -> OperationsWindow:
    """Log the main window in as `who` and open Operations the way its header button does."""
    login(qtbot, window, server, who)
    ops = open_operations(window.session, window, window.rooms, window.toasts)
    ops.resize(1366, 768)
    qtbot.waitUntil(lambda: bool(ops.attendants.staff), timeout=5000)
    return ops


def advance_server(server: ServerThread, seconds: float) -> None:
    """Move the server's manual clock (on the server's own loop) and let what wakes run."""
    clock = server.clock
    assert isinstance(clock, ManualClock)

    async def go() -> None:
        clock.advance(seconds)

    server.call(go)


def scan_discrepancies(server: ServerThread) -> int:
    """Let the server look for discrepancies now (it does so once a minute by itself)."""
    assert server.server is not None
    srv = server.server
    return server.call(srv.discrepancies_now)


def dark_share(image: QImage, step: int = 3) -> float:
    """The share of sampled pixels that are dark (ink), to tell a page with text from a blank
    one."""
    dark = total = 0
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            total += 1
            if image.pixelColor(x, y).lightness() < 128:
                dark += 1
    return dark / max(1, total)
