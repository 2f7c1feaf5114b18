"""`roomrack demo`: a demo server as a child process and the board logged in; simulated staff."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from desktop.cli import XCB_LIBRARIES, build_parser, free_port, missing_display_packages
from desktop.mainwindow import MainWindow
from desktop.simulate import Simulator
from tests.desktop.conftest import login, run
from tests.support import ServerThread, server_config


def test_parser() -> None:
    args = build_parser().parse_args(["--server", "pc:8765"])
    assert args.server == "pc:8765" and args.command is None
    args = build_parser().parse_args(["demo", "--as", "frontdesk", "--simulate"])
    assert args.command == "demo" and args.login == "frontdesk" and args.simulate


def roomrack(*args: str) -> subprocess.CompletedProcess[str]:
    """`roomrack ARGS` in a process of its own, off screen, with no OS keyring."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.slow
def test_roomrack_demo_starts_a_server_opens_the_board_and_stops_it(tmp_path: Path) -> None:
    port = free_port()
    # no keyring: the demo keeps its pin and token in a file beside its settings (tmp_path)
    proc = roomrack(
        "--quit-after",
        "4",
        "demo",
        "--simulate",
        "--port",
        str(port),
        "--db",
        str(tmp_path / "demo.db"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Demo board live: Hotel Killarney (demo) (68 rooms), logged in as manager" in proc.stdout
    assert "Certificate code: " in proc.stdout  # over TLS, paired by itself
    kept = (tmp_path / "demo-settings-secrets.json").read_text()
    assert "pin:127.0.0.1:" in kept
    assert "token" not in (tmp_path / "demo-settings.ini").read_text()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass  # the demo server stopped with the window


def test_simulated_staff_move_the_board(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    login(qtbot, window, server)
    before = {r["room_number"]: r["version"] for r in window.rooms.rooms()}
    sim = Simulator(server.url, rng=random.Random(5))
    run(qtbot, sim._open())
    qtbot.waitUntil(lambda: len(sim.rooms) == 68, timeout=5000)
    for _ in range(5):
        assert run(qtbot, sim.step())
    qtbot.waitUntil(
        lambda: sum(r["version"] != before[r["room_number"]] for r in window.rooms.rooms()) >= 3,
        timeout=5000,
    )
    run(qtbot, sim.close())


def test_missing_x11_libraries_are_named_with_their_packages() -> None:
    have = {"xcb-cursor", "xcb-image", "xcb-render-util", "xcb-shape", "xcb-xkb", "xkbcommon-x11"}

    def find(lib: str) -> str | None:
        return f"lib{lib}.so" if lib in have else None

    x11 = {"DISPLAY": ":0"}
    assert missing_display_packages(x11, "linux", find) == ["libxcb-icccm4", "libxcb-keysyms1"]
    assert missing_display_packages({**x11, "QT_QPA_PLATFORM": "xcb"}, "linux", find)
    # nothing to say: all there, another platform or OS, Wayland, or no display at all
    assert missing_display_packages(x11, "linux", lambda lib: "found") == []
    assert missing_display_packages({**x11, "QT_QPA_PLATFORM": "offscreen"}, "linux", find) == []
    assert missing_display_packages({**x11, "WAYLAND_DISPLAY": "wayland-0"}, "linux", find) == []
    assert missing_display_packages({}, "linux", find) == []
    assert missing_display_packages(x11, "win32", find) == []
    assert len(set(XCB_LIBRARIES.values())) == len(XCB_LIBRARIES)


def test_a_settings_file_in_a_missing_folder_is_said_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from desktop.cli import main

    assert main(["--settings", str(tmp_path / "nowhere" / "roomrack.ini")]) == 1
    err = capsys.readouterr().err
    assert f"the folder {tmp_path / 'nowhere'} does not exist" in err
    assert not (tmp_path / "nowhere").exists()


def test_a_demo_store_in_an_impossible_place_is_said_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from desktop.cli import main

    (tmp_path / "a-file").write_text("not a folder")
    assert main(["demo", "--db", str(tmp_path / "a-file" / "demo.db")]) == 1
    assert "The demo server cannot keep its store in" in capsys.readouterr().err


@pytest.mark.slow
def test_roomrack_on_a_workstation_opens_and_asks_for_a_login(
    demo_db: Path, tmp_path: Path
) -> None:
    """`roomrack --server HOST:PORT`, as every workstation starts it (not the demo): the
    window opens on the login, with no store of its own, and closes cleanly."""
    desk = tmp_path / "desk"  # the workstation's own folder
    desk.mkdir()
    srv = ServerThread(server_config(demo_db, insecure=False)).start()
    try:
        assert srv.server is not None
        proc = roomrack(
            "--quit-after",
            "3",
            "--server",
            f"127.0.0.1:{srv.server.port}",
            "--settings",
            str(desk / "desk.ini"),
            "--no-discovery",
        )
    finally:
        srv.stop()
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert f"127.0.0.1:{srv.server.port}" in (desk / "desk.ini").read_text()
    assert not list(desk.glob("*.db"))  # a workstation keeps no store
