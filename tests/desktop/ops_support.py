"""Helpers for the Operations tests: a logged-in main window with its Operations window,
and moving the test server's clock."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

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


def pdf_to_pngs(pdf: Path, outdir: Path, dpi: int = 60) -> list[Path] | None:
    """Every page of `pdf` as a PNG (pdftoppm from poppler-utils); None if it is missing."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        return None
    subprocess.run([tool, "-png", "-r", str(dpi), str(pdf), str(outdir / pdf.stem)], check=True)
    return sorted(outdir.glob(f"{pdf.stem}*.png"))
