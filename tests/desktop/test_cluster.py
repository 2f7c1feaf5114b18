"""A desk given several server addresses, with real servers on 127.0.0.1: it connects to the
first member that answers, moves to the next by itself when the one it is on stops (resuming
with its epoch and last seq), says in the header which one it is on, accepts one pinned
certificate on every member and refuses a member with another; the servers announcing one
cluster id are one entry of the login dialog.

Two servers on one database are the server side's to test. Here each server has its own
SQLite store; where a second server must stand for a member of the first one's cluster, its
store is a copy of the first one's, made after the desk logged in: it holds the desk's
session and the same epoch, as the shared database would.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from desktop.discovery import ServerBrowser
from desktop.mainwindow import MainWindow
from desktop.members import parse_addresses
from desktop.session import State
from server.config import Config
from shared.clock import ManualClock
from tests.desktop.conftest import run, start_cleaning
from tests.desktop.test_discovery import LOOPBACK, entries_listed
from tests.desktop.test_live import rooms_with
from tests.desktop.test_trust import the_question
from tests.support import ServerThread, make_store, server_config, tls_config

Start = Callable[[Config], ServerThread]


@pytest.fixture
def start(clock: ManualClock) -> Iterator[Start]:
    """Start a server (its own clock at the test's instant); those still running at the end
    are stopped."""
    started: list[ServerThread] = []

    def go(config: Config) -> ServerThread:
        st = ServerThread(config, clock=ManualClock(clock.now())).start()
        started.append(st)
        return st

    yield go
    for st in started:
        if st._thread is not None:
            st.stop()


@contextlib.contextmanager
def held_port() -> Iterator[int]:
    """A port on 127.0.0.1 that nothing listens on while held (a connection is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def store(tmp_path: Path, name: str, clock: ManualClock) -> Path:
    path = tmp_path / name / "roomrack.db"
    path.parent.mkdir()
    make_store(path, clock)
    return path


def copy_store(src: Path, dst: Path, new_epoch: bool = False) -> Path:
    """A copy of a (running) server's store and its certificate, by SQLite's online backup:
    the same sessions and journal, and the same epoch unless `new_epoch`."""
    dst.parent.mkdir(parents=True)
    with (
        contextlib.closing(sqlite3.connect(src)) as source,
        contextlib.closing(sqlite3.connect(dst)) as copy,
    ):
        source.backup(copy)
        if new_epoch:
            copy.execute("UPDATE meta SET value = ? WHERE key = 'epoch'", (uuid.uuid4().hex,))
            copy.commit()
    tls = src.with_name("roomrack-tls")
    if tls.is_dir():
        shutil.copytree(tls, dst.with_name("roomrack-tls"))
    return dst


def header_says(win: MainWindow, server: ServerThread) -> bool:
    return f"Live on 127.0.0.1:{server.port}" in win.conn_label.text()


def test_a_desk_given_a_and_b_connects_to_b_when_a_is_not_listening(
    qtbot: Any, window: MainWindow, start: Start, demo_db: Path
) -> None:
    b = start(server_config(demo_db, rate_per_second=0))
    with held_port() as dead:
        typed = f"127.0.0.1:{dead}, {b.url}"
        window.show()
        assert run(qtbot, window.login(typed, "manager", "demo"))
        qtbot.waitUntil(lambda: window.session.is_live() and window.rooms.rowCount() > 0)
        a_url = f"ws://127.0.0.1:{dead}"
        assert window.session.url == b.url
        assert window.session.members.urls == [a_url, b.url]
        assert window.settings.server_urls == [a_url, b.url]  # remembered as a list
        qtbot.waitUntil(lambda: header_says(window, b))
        assert "2 of 2" in window.conn_label.toolTip()


def test_a_desk_given_only_unreachable_addresses_says_so(qtbot: Any, window: MainWindow) -> None:
    with held_port() as one, held_port() as two:
        window.show_login()
        assert not run(qtbot, window.login(f"127.0.0.1:{one} 127.0.0.1:{two}", "manager", "x"))
    assert window.login_dialog is not None
    words = window.login_dialog.error.text()
    assert "None of the 2 server addresses answered" in words and str(two) in words
    assert window.session.state is State.OFFLINE


@pytest.mark.parametrize("one_timeline", [True, False], ids=["same-epoch", "another-epoch"])
def test_a_desk_on_a_moves_to_b_by_itself_when_a_stops(
    qtbot: Any,
    window: MainWindow,
    start: Start,
    demo_db: Path,
    tmp_path: Path,
    one_timeline: bool,
) -> None:
    """With the epoch kept, B continues A's stream: the desk resumes on B with its epoch and
    last seq and gets exactly the change made through B while it was on A (no snapshot).
    With another epoch (two separate stores), B's stream is not A's: the desk loads a fresh
    snapshot from B, which shows that change too."""
    a = start(server_config(demo_db, rate_per_second=0))
    with held_port() as b_port:
        window.show()
        assert run(qtbot, window.login(f"{a.url}, ws://127.0.0.1:{b_port}", "manager", "demo"))
        qtbot.waitUntil(lambda: window.session.is_live() and window.rooms.rowCount() == 68)
    assert window.session.url == a.url
    qtbot.waitUntil(lambda: header_says(window, a))
    b_db = copy_store(demo_db, tmp_path / "b" / "roomrack.db", new_epoch=not one_timeline)
    b = start(server_config(b_db, rate_per_second=0, port=b_port))
    resets, seq = window.rooms.resets, window.session.last_seq
    number = rooms_with(window, "CHECKOUT_DIRTY")[0]
    start_cleaning(b, window, number)
    assert window.rooms.room(number)["room_status"] == "CHECKOUT_DIRTY"  # A does not know
    a.stop()
    qtbot.waitUntil(lambda: window.session.is_live() and window.session.url == b.url)
    qtbot.waitUntil(
        lambda: window.rooms.room(number)["room_status"] == "CLEANING_IN_PROGRESS", timeout=10000
    )
    qtbot.waitUntil(lambda: header_says(window, b))
    if one_timeline:
        assert window.rooms.resets == resets  # resumed from its seq: no new snapshot
        assert window.session.last_seq == (seq or 0) + 1  # exactly the one it missed
        assert any(t.title == "Caught up" for t in window.toasts.toasts)
    else:
        qtbot.waitUntil(lambda: window.rooms.resets == resets + 1)  # a fresh snapshot
        assert window.rooms.rowCount() == 68
    assert window.settings.token == window.session.token  # the login holds on B too


def test_one_pinned_certificate_serves_every_member_and_another_one_is_refused(
    qtbot: Any, window: MainWindow, start: Start, clock: ManualClock, tmp_path: Path
) -> None:
    a_db = store(tmp_path, "a", clock)
    a = start(tls_config(a_db, rate_per_second=0))
    with held_port() as b_port:
        b_url = f"wss://127.0.0.1:{b_port}"
        window.show()
        fut = asyncio.ensure_future(window.login(f"{a.url}, {b_url}", "manager", "demo"))
        question = the_question(qtbot, window)  # asked about A, the first member
        assert question.problem.url == a.url and not question.changed
        qtbot.mouseClick(question.trust_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(fut.done, timeout=15000)
        assert fut.result() is True
    fingerprint = window.session.fingerprint
    pinned = window.session.pins.get(b_url)
    assert pinned is not None and pinned.fingerprint == fingerprint  # pinned for the list
    b = start(tls_config(copy_store(a_db, tmp_path / "b" / "roomrack.db"), port=b_port))
    a.stop()
    qtbot.waitUntil(lambda: window.session.is_live() and window.session.url == b.url)
    assert window.trust_dialog is None and window.session.fingerprint == fingerprint
    # a member that presents another certificate than the list's is refused with the warning
    c = start(tls_config(store(tmp_path, "c", clock), rate_per_second=0))
    run(qtbot, window.session.stop())
    typed = ", ".join([a.url, c.url])  # A is stopped: C is the one that answers
    assert parse_addresses(typed) == [a.url, c.url]
    fut = asyncio.ensure_future(window.login(typed, "manager", "demo"))
    warning = the_question(qtbot, window)
    assert warning.changed and warning.trust_button is None
    assert warning.problem.url == c.url and warning.problem.pinned == fingerprint
    qtbot.mouseClick(warning.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(fut.done, timeout=15000)
    assert fut.result() is False
    assert window.session.pins.get(c.url) is None  # nothing trusted, nothing sent


def test_the_servers_of_one_cluster_are_one_entry_and_another_cluster_its_own(
    qtbot: Any, window: MainWindow, start: Start, clock: ManualClock, tmp_path: Path
) -> None:
    def announced(db: Path) -> Config:
        return tls_config(db, discovery=True, discovery_interfaces=LOOPBACK)

    a_db = store(tmp_path, "a", clock)
    a = start(announced(a_db))
    b = start(announced(copy_store(a_db, tmp_path / "b" / "roomrack.db")))  # one cluster
    c = start(announced(store(tmp_path, "c", clock)))  # another database
    window.browser = ServerBrowser(LOOPBACK)
    window.show_login()
    ports = {a.port, b.port, c.port}

    def ours() -> list[Any]:
        return [e for e in entries_listed(window) if {m.port for m in e.members} <= ports]

    qtbot.waitUntil(lambda: sorted(len(e.members) for e in ours()) == [1, 2], timeout=20000)
    cluster = next(e for e in ours() if len(e.members) == 2)
    alone = next(e for e in ours() if len(e.members) == 1)
    assert {m.port for m in cluster.members} == {a.port, b.port}
    assert alone.members[0].port == c.port
    assert cluster.title == "Hotel Killarney (demo) — 2 servers"
    assert cluster.code == a.server.fingerprint_code  # type: ignore[union-attr]
    assert a.server is not None and cluster.members[0].cluster == a.server.store.epoch[:12]
    dialog = window.login_dialog
    assert dialog is not None
    item = next(
        dialog.found.item(i)
        for i in range(dialog.found.count())
        if dialog.found.item(i).data(Qt.ItemDataRole.UserRole) == cluster
    )
    assert "2 servers" in item.text() and cluster.addresses in item.text()
    rect = dialog.found.visualItemRect(item)
    qtbot.mouseClick(dialog.found.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert parse_addresses(dialog.server.text()) == [
        f"wss://127.0.0.1:{m.port}" for m in cluster.members
    ]
    window.browser.stop()


@pytest.fixture
def pg_demo(request: Any, clock: ManualClock) -> Any:
    """A PostgreSQL database with the demo hotel (set up before `start`, so that it is
    dropped only after the servers on it have stopped)."""
    from tests.pg import postgres_store

    return postgres_store(request, clock)


def test_a_desk_resumes_on_another_server_of_one_postgresql_database(
    qtbot: Any, pg_demo: Any, window: MainWindow, start: Start
) -> None:
    """Two servers on one PostgreSQL database: what is done through B reaches the desk on A;
    when A stops, the desk resumes on B with its epoch and last seq and gets exactly what it
    missed (no new snapshot, nothing twice)."""
    a = start(server_config(pg_demo, rate_per_second=0))
    b = start(server_config(pg_demo, rate_per_second=0))
    window.show()
    assert run(qtbot, window.login(f"{a.url}, {b.url}", "manager", "demo"))
    qtbot.waitUntil(lambda: window.session.is_live() and window.rooms.rowCount() == 68)
    assert window.session.url == a.url
    resets, seq = window.rooms.resets, window.session.last_seq or 0
    first, second = rooms_with(window, "CHECKOUT_DIRTY")[:2]
    start_cleaning(b, window, first)  # through B, while the desk is on A
    qtbot.waitUntil(
        lambda: window.rooms.room(first)["room_status"] == "CLEANING_IN_PROGRESS", timeout=10000
    )
    a.stop()
    start_cleaning(b, window, second)  # while the desk has no server
    qtbot.waitUntil(lambda: window.session.is_live() and window.session.url == b.url)
    qtbot.waitUntil(
        lambda: window.rooms.room(second)["room_status"] == "CLEANING_IN_PROGRESS", timeout=10000
    )
    qtbot.waitUntil(lambda: header_says(window, b))
    assert window.rooms.resets == resets  # resumed from its seq: no new snapshot
    assert window.session.last_seq == seq + 2  # each change once
