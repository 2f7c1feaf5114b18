"""How fast the desktop board takes a snapshot and live updates, and how much memory it uses.

    python bench/desktop_board.py [--rooms 2000] [--floors 20] [--size 1920x1080]

Builds the real main window (offscreen unless QT_QPA_PLATFORM says otherwise), feeds it server
frames as text through the session's frame handler (JSON parsing, sequence check, model,
coalescing, proxies, sections, statistics, painting), and prints:
- the time to apply a snapshot of N rooms (until the window has painted);
- one room_updated event, end to end (median and worst of many);
- a burst of 1,000 events (median and worst of several bursts);
- the resident memory of the process.
No assertions: it prints its figures.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
from PySide6.QtWidgets import QApplication

from shared import protocol
from shared.rules import Priority, RoomStatus

STATUSES = [s.value for s in RoomStatus]
TYPES = ["Standard Double", "Twin Room", "Family Room", "Suite"]


def make_rooms(n: int, floors: int) -> list[dict[str, Any]]:
    rnd = random.Random(1)
    per_floor = max(1, n // floors)
    rooms = []
    for i in range(n):
        floor = i // per_floor + 1
        occupied = rnd.random() < 0.5
        rooms.append(
            {
                "room_number": f"{floor}{i % per_floor + 1:03d}",
                "room_status": rnd.choice(STATUSES),
                "is_occupied": occupied,
                "is_out_of_order": False,
                "maintenance_required": rnd.random() < 0.1,
                "maintenance_priority": rnd.choice(list(Priority)).value,
                "maintenance_notes": "Leaking tap",
                "room_type": rnd.choice(TYPES),
                "guests_in_room": 2 if occupied else 0,
                "floor": floor,
                "section": f"{floor}A",
                "building": "Main",
                "capacity": 2,
                "do_not_disturb": False,
                "version": 1,
                "occupancy_status": "occupied" if occupied else "free",
                "time_until_free": 600 if occupied else 0,
                "free_at": None,
                "next_available": "11:00",
                "reservations_today": 1,
                "current_attendees": 2 if occupied else 0,
            }
        )
    return rooms


class Feeder:
    """Server frames as text, with increasing sequence numbers."""

    def __init__(self, rooms: list[dict[str, Any]]) -> None:
        self.rooms = rooms
        self.seq = 0
        self.rnd = random.Random(2)

    def snapshot(self) -> str:
        return protocol.dumps({"type": "rooms.status", "seq": self.seq, "rooms": self.rooms})

    def event(self) -> str:
        self.seq += 1
        room = dict(self.rnd.choice(self.rooms))
        room["room_status"] = self.rnd.choice(STATUSES)
        room["version"] = self.seq + 1
        room["changed_fields"] = ["room_status"]
        return protocol.dumps(
            {
                "category": "rooms",
                "type": "room_updated",
                "payload": room,
                "meta": {
                    "hotel_slug": "bench",
                    "event_id": str(self.seq),
                    "ts": "2026-01-15T09:00:00Z",
                    "scope": {"room_number": room["room_number"]},
                    "seq": self.seq,
                    "source": "housekeeping",
                    "actor": {"name": "Bench", "role": "housekeeping"},
                },
            }
        )


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rooms", type=int, default=2000)
    p.add_argument("--floors", type=int, default=20)
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--single", type=int, default=50, help="single updates to time")
    p.add_argument("--bursts", type=int, default=8, help="bursts of 1,000 to time")
    args = p.parse_args()
    w, h = (int(x) for x in args.size.split("x"))

    base = rss_mb()
    app = QApplication(sys.argv[:1])
    from desktop.mainwindow import MainWindow
    from desktop.session import Session
    from desktop.settings import Settings

    session = Session()
    settings = Settings(Path(tempfile.mkdtemp()) / "bench.ini")
    window = MainWindow(session, settings, flush_ms=0)
    window._on_logged_in(
        {
            "staff": {"name": "Bench", "role": "manager", "login": "bench"},
            "hotel": {"name": "Bench hotel", "slug": "bench", "timezone": "UTC"},
        }
    )
    window.resize(w, h)
    window.show()
    app.processEvents()
    qt_ready = rss_mb()

    rooms = make_rooms(args.rooms, args.floors)
    feed = Feeder(rooms)
    text = feed.snapshot()

    def handle(frame: str) -> None:
        session._on_frame(protocol.parse_server_frame(frame))

    def settle() -> None:
        window.rooms.flush()
        app.processEvents()
        window.repaint()

    gc.collect()
    t0 = time.perf_counter()
    handle(text)
    settle()
    snapshot_s = time.perf_counter() - t0
    after_snapshot = rss_mb()
    # the snapshot's own events settle before the updates are timed
    for _ in range(3):
        settle()

    singles = []
    for _ in range(args.single):
        frame = feed.event()
        t0 = time.perf_counter()
        handle(frame)
        settle()
        singles.append(time.perf_counter() - t0)

    bursts = []
    for _ in range(args.bursts):
        frames = [feed.event() for _ in range(1000)]
        t0 = time.perf_counter()
        for f in frames:
            handle(f)
        settle()
        bursts.append(time.perf_counter() - t0)
    end = rss_mb()

    resets = window.rooms.resets
    ms = 1000.0
    print(f"Roomrack desktop board: {args.rooms} rooms on {args.floors} floors, window {w}x{h}")
    print(f"  snapshot applied and painted : {snapshot_s * ms:8.1f} ms")
    print(
        f"  one update, end to end       : median {statistics.median(singles) * ms:6.2f} ms,"
        f" worst {max(singles) * ms:6.2f} ms  ({len(singles)} runs)"
    )
    print(
        f"  1,000 updates in a burst     : median {statistics.median(bursts) * ms:6.1f} ms,"
        f" worst {max(bursts) * ms:6.1f} ms  ({len(bursts)} bursts,"
        f" {window.rooms.flushes} flushes in all)"
    )
    print(
        f"  memory (RSS)                 : {base:.0f} MB at start, {qt_ready:.0f} MB with the"
        f" window, {after_snapshot:.0f} MB with the board, {end:.0f} MB at the end"
    )
    print(f"  model resets: {resets} (the snapshot only)")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
