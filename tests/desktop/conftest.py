"""Desktop fixtures: a qasync loop inside pytest-qt, a real server, a logged-in window."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync

from desktop.backoff import Backoff
from desktop.collector import GuiThreadCollector
from desktop.mainwindow import MainWindow
from desktop.session import Session
from desktop.settings import Settings
from shared.clock import ManualClock
from tests.support import Peer, ServerThread, server_config


@pytest.fixture(scope="session")
def _qasync_loop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    """One qasync loop for the whole run (Qt allows one per application)."""
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.events._set_running_loop(None)
    yield loop


@pytest.fixture(autouse=True)
def _collect_on_the_gui_thread(qapp: Any) -> Iterator[None]:
    """As in the application: this test's widgets are freed on the GUI thread, never by a
    collection that starts in a server thread of the same process."""
    collector = GuiThreadCollector()
    try:
        yield
    finally:
        collector.stop()
        collector.deleteLater()


@pytest.fixture
def qloop(
    qapp: Any, _qasync_loop: asyncio.AbstractEventLoop
) -> Iterator[asyncio.AbstractEventLoop]:
    """The qasync loop, marked running for this test only, so that Qt's event processing
    (qtbot.waitUntil) drives asyncio callbacks just as in the application, and tests of
    other packages can still use asyncio.run afterwards."""
    asyncio.set_event_loop(_qasync_loop)
    asyncio.events._set_running_loop(_qasync_loop)
    try:
        yield _qasync_loop
    finally:
        # Stop every window's connection and let every task finish here, while its widgets
        # still exist: a task left pending would be collected later, in another test.
        stopping = [asyncio.ensure_future(win.session.stop()) for win in _opened]
        _opened.clear()
        _settle(qapp, _qasync_loop, stopping)
        for task in asyncio.all_tasks(_qasync_loop):
            task.cancel()
        _settle(qapp, _qasync_loop, [])
        asyncio.events._set_running_loop(None)
        asyncio.set_event_loop(None)


_opened: list[MainWindow] = []  # windows made by this test, stopped when it ends


def _settle(qapp: Any, loop: asyncio.AbstractEventLoop, tasks: list[asyncio.Future[Any]]) -> None:
    """Process events until the given tasks (or, with none given, all tasks) are done; bounded."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        waiting = tasks or list(asyncio.all_tasks(loop))
        if all(t.done() for t in waiting):
            return
        qapp.processEvents()
        time.sleep(0.002)


def run(qtbot: Any, coro: Coroutine[Any, Any, Any], timeout: int = 15000) -> Any:
    """Run a coroutine on the qasync loop while Qt processes events; return its result."""
    fut = asyncio.ensure_future(coro)
    qtbot.waitUntil(fut.done, timeout=timeout)
    return fut.result()


@pytest.fixture
def server(demo_db: Path, clock: ManualClock) -> Iterator[ServerThread]:
    # the server has its own clock at the same instant (the test moves only the desktop's)
    st = ServerThread(
        server_config(demo_db, rate_per_second=0), clock=ManualClock(clock.now())
    ).start()
    yield st
    st.stop()


def act(server: ServerThread, login: str, kind: str, /, **fields: Any) -> dict[str, Any]:
    """A second client (another workstation) sends one command and returns the reply."""

    async def go() -> dict[str, Any]:
        peer = await Peer.open(server.url, login)
        try:
            return await peer.request(kind, request_id=f"t-{uuid.uuid4().hex}", **fields)
        finally:
            await peer.close()

    return server.call(go)


def start_cleaning(server: ServerThread, window: MainWindow, number: str) -> None:
    """Housekeeping starts cleaning the room through `server` (another workstation)."""
    version = window.rooms.room(number)["version"]
    reply = act(
        server,
        "housekeeping",
        "room.action",
        room_number=number,
        action="start_cleaning",
        expected_version=version,
    )
    assert reply["type"] == "ack", reply


def make_window(clock: ManualClock, tmp_path: Path, name: str = "settings.ini") -> MainWindow:
    # the shared test server speaks plain ws (tests/support.py); TLS tests use their own
    session = Session(
        clock=clock,
        backoff=Backoff(base=1.0, cap=8.0, rng=random.Random(3)),
        allow_insecure=True,
    )
    window = MainWindow(session, Settings(tmp_path / name), clock=clock, flush_ms=5)
    window.resize(1366, 768)
    _opened.append(window)
    return window


@pytest.fixture
def window(qtbot: Any, qloop: Any, clock: ManualClock, tmp_path: Path) -> Iterator[MainWindow]:
    win = make_window(clock, tmp_path)
    qtbot.addWidget(win)
    yield win
    run(qtbot, win.session.stop())


def logged_in(
    qtbot: Any, clock: ManualClock, tmp_path: Path, server: ServerThread, who: str, name: str
) -> MainWindow:
    """Another workstation: a window of its own (settings file `name`), logged in as `who`."""
    win = make_window(clock, tmp_path, name)
    qtbot.addWidget(win)
    login(qtbot, win, server, who)
    return win


def login(qtbot: Any, win: MainWindow, server: ServerThread, who: str = "manager") -> None:
    """Log in and wait for this login's snapshots. (A window logged in before may still
    take an event of its old connection after it emptied its lists: a non-empty list alone
    does not say the new reservations snapshot came.)"""
    win.show()
    listed: list[int] = []

    def note(items: Any, seq: int) -> None:
        listed.append(seq)

    win.session.reservations_snapshot.connect(note)
    try:
        assert run(qtbot, win.login(server.url, who, "demo"))
        qtbot.waitUntil(
            lambda: (
                bool(listed)
                and win.rooms.rowCount() > 0
                and win.reservations.rowCount() > 0
                and win.session.is_live()
            ),
            timeout=10000,
        )
    finally:
        win.session.reservations_snapshot.disconnect(note)
