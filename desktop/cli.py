"""`roomrack`: open the desktop. `roomrack demo`: a living demo hotel, at once.

roomrack                         open the board (the first start asks for the server and a login)
roomrack --server HOST:PORT      use this server address (TLS; the first time, the desk asks
                                 whether to trust the server's certificate)
roomrack --server "A:PORT, B:PORT"  several addresses (a cluster's servers): tried in order,
                                 and the desk moves on to the next by itself
roomrack --insecure              allow plain ws:// (a server started with --insecure)
roomrack demo [--as LOGIN]       start a local demo server and open the board logged in
roomrack demo --simulate         ... and let simulated staff move rooms every few seconds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes.util
import json
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

import platformdirs

from server.startup import port_number
from server.version import version

log = logging.getLogger("roomrack.desktop")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="roomrack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--server",
        help="server address, e.g. reception-pc:8765, or several separated by commas "
        "(a cluster's servers; remembered)",
    )
    p.add_argument("--settings", type=Path, help="settings file (default: the platform's place)")
    p.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="how much the program logs to standard error (default: WARNING)",
    )
    p.add_argument("--version", action="version", version=f"roomrack {version()}")
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow a plain ws:// server (no encryption; the header says so)",
    )
    p.add_argument(
        "--no-discovery",
        action="store_true",
        help="do not look for servers on the LAN (mDNS) in the login dialog",
    )
    sub = p.add_subparsers(dest="command")
    d = sub.add_parser("demo", help="start a local demo server and open the board")
    d.add_argument("--as", dest="login", default="manager", help="demo login (default: manager)")
    d.add_argument("--simulate", action="store_true", help="simulated staff move rooms")
    d.add_argument(
        "--port", type=port_number, default=0, help="port of the demo server (default: free)"
    )
    d.add_argument("--db", type=Path, help="demo store file (default: per user, fresh each time)")
    d.add_argument("--keep", action="store_true", help="keep the demo store of the last run")
    p.add_argument("--quit-after", type=float, help=argparse.SUPPRESS)  # smoke tests
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_db_path() -> Path:
    return Path(platformdirs.user_data_dir("roomrack", appauthor=False)) / "demo.db"


def start_demo_server(db: Path, port: int, fresh: bool = True) -> subprocess.Popen[bytes]:
    """`python -m server.cli --db DB serve --demo --port PORT` as a child process."""
    db.parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(str(db) + suffix)
    cmd = [
        sys.executable,
        "-m",
        "server.cli",
        "--log-level",
        "WARNING",
        "--db",
        str(db),
        "serve",
        "--demo",
        "--port",
        str(port),
        "--synchronous",
        "NORMAL",
        "--no-discovery",
    ]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)


def demo_certificate(db: Path) -> bytes:
    """The DER bytes of the demo server's certificate, read from its folder on this PC."""
    pem = db.with_name(f"{db.stem}-tls").joinpath("cert.pem").read_text()
    return ssl.PEM_cert_to_DER_cert(pem)


def _die_with_parent() -> None:
    """On Linux the demo server gets SIGTERM if the desktop dies without cleaning up."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_healthy(
    port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30
) -> bool:
    deadline = time.monotonic() + timeout
    url = f"https://127.0.0.1:{port}/healthz"
    # the demo server's certificate is checked by its pin afterwards (pair_with_demo)
    unchecked = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    unchecked.check_hostname = False
    unchecked.verify_mode = ssl.CERT_NONE
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1, context=unchecked) as resp:
                if json.loads(resp.read()).get("status") == "ok":
                    return True
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return False


def preload_desktop() -> None:
    """Import what the desktop's window needs (Qt above all) ahead of time."""
    import qasync  # noqa: F401
    from PySide6 import QtWidgets  # noqa: F401

    import desktop.mainwindow  # noqa: F401


# the X11 libraries Qt's xcb platform plugin loads, and the Debian/Ubuntu package of each
XCB_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0",
    "xcb-icccm": "libxcb-icccm4",
    "xcb-keysyms": "libxcb-keysyms1",
    "xcb-image": "libxcb-image0",
    "xcb-render-util": "libxcb-render-util0",
    "xcb-shape": "libxcb-shape0",
    "xcb-xkb": "libxcb-xkb1",
    "xkbcommon-x11": "libxkbcommon-x11-0",
}


def missing_display_packages(
    env: Mapping[str, str], platform: str, find: Callable[[str], str | None]
) -> list[str]:
    """The packages to install before Qt can open a window on this Linux X11 session (an
    empty list elsewhere, or when nothing is missing). Qt's own message only says that the
    "xcb" plugin could not be loaded."""
    if not platform.startswith("linux"):
        return []
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen and not chosen.startswith("xcb"):
        return []
    if not chosen and (env.get("WAYLAND_DISPLAY") or not env.get("DISPLAY")):
        return []
    return [pkg for lib, pkg in XCB_LIBRARIES.items() if find(lib) is None]


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    missing = missing_display_packages(os.environ, sys.platform, ctypes.util.find_library)
    if missing:
        print(
            "Roomrack cannot open its window: Qt needs these X11 libraries, which this PC does "
            f"not have. Install them once, then start Roomrack again:\n\n"
            f"    sudo apt install {' '.join(missing)}\n",
            file=sys.stderr,
        )
        return 1
    if args.settings is not None and not args.settings.parent.is_dir():
        print(
            f"Roomrack cannot keep its settings in {args.settings}: the folder "
            f"{args.settings.parent} does not exist. Create it, or give another --settings.",
            file=sys.stderr,
        )
        return 1
    proc: subprocess.Popen[bytes] | None = None
    url: str | None = None
    db: Path | None = None  # the demo's store (a workstation has none)
    settings_path = args.settings
    if args.command == "demo":
        port = args.port or free_port()
        db = args.db or demo_db_path()
        try:
            proc = start_demo_server(db, port, fresh=not args.keep)
        except OSError as exc:
            print(
                f"The demo server cannot keep its store in {db}: {exc.strerror or exc}. "
                "Give another with --db.",
                file=sys.stderr,
            )
            return 1
        print(f"Starting the demo server on port {port} (store {db})…", flush=True)
        preload_desktop()  # while the server starts: the two take about as long
        if not wait_healthy(port, proc):
            stop_process(proc)
            print("The demo server did not start; see the messages above.", file=sys.stderr)
            return 1
        url = f"wss://127.0.0.1:{port}"
        if settings_path is None:
            settings_path = db.with_name("demo-settings.ini")
    try:
        return run_desktop(args, url, settings_path, demo_db=db)
    finally:
        if proc is not None:
            stop_process(proc)


def run_desktop(
    args: argparse.Namespace,
    demo_url: str | None,
    settings_path: Path | None,
    demo_db: Path | None = None,
) -> int:
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    import resources
    from desktop.collector import GuiThreadCollector
    from desktop.discovery import ServerBrowser
    from desktop.mainwindow import MainWindow
    from desktop.members import parse_addresses
    from desktop.pinning import PinStore
    from desktop.session import Session
    from desktop.settings import Settings
    from desktop.simulate import Simulator

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Roomrack")
    app.setQuitOnLastWindowClosed(False)
    GuiThreadCollector(parent=app)  # Qt objects are freed on this thread only
    app.setWindowIcon(QIcon(str(resources.path("roomrack.png"))))
    settings = Settings(settings_path)
    if args.server:  # one address, or several (a cluster's members)
        settings.server_urls = parse_addresses(args.server, args.insecure)
    elif not args.insecure and any(u.startswith("ws://") for u in settings.server_urls):
        # kept by a version before TLS: the server speaks wss:// now (the desk asks once)
        settings.server_urls = [
            "wss://" + u[5:] if u.startswith("ws://") else u for u in settings.server_urls
        ]
    if demo_url is not None and demo_db is not None:
        # the demo pairs itself: its server's certificate is a file on this very PC
        from shared.pairing import fingerprint

        PinStore(settings.secrets).pin(demo_url, fingerprint(demo_certificate(demo_db)))

    async def run() -> int:
        session = Session(allow_insecure=args.insecure)
        window = MainWindow(session, settings)
        if not args.no_discovery and demo_url is None:
            window.browser = ServerBrowser()
        done = asyncio.Event()
        window.closed.connect(done.set)
        app.aboutToQuit.connect(done.set)
        sim_task: asyncio.Task[None] | None = None
        if demo_url is not None:
            settings.server_url = demo_url
            settings.token = None
            window.show()
            ok = await window.login(demo_url, args.login, "demo")
            if not ok:
                window.show_login("The demo login failed.")
            else:
                for _ in range(200):
                    if window.rooms.rowCount():
                        break
                    await asyncio.sleep(0.05)
                print(
                    f"Demo board live: {session.hotel.get('name')} "
                    f"({window.rooms.rowCount()} rooms), logged in as {args.login}",
                    flush=True,
                )
                if args.simulate:
                    sim_task = asyncio.ensure_future(Simulator(demo_url).run())
                    window.toasts.show(
                        "info", "Demo with simulated staff", "Rooms will move by themselves."
                    )
        elif settings.token and settings.has_server:
            window.show()
            session.resume(settings.server_url, settings.token)
        else:
            window.show_login()
        # Ctrl+C or a terminate closes the window properly (and so stops the demo server)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        wake = QTimer()
        wake.timeout.connect(lambda: None)  # lets Python see signals while Qt waits
        wake.start(300)
        if args.quit_after:
            QTimer.singleShot(int(args.quit_after * 1000), done.set)
        await done.wait()
        window.hide()
        if sim_task is not None:
            sim_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sim_task
        await session.stop()
        return 0

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        return int(loop.run_until_complete(run()))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
