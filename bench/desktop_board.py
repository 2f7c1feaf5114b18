"""How fast the desktop board takes a snapshot and live updates, and how much memory it uses:
this tree and the current release, measured in the same run.

    python bench/desktop_board.py [--rooms 2000] [--floors 20] [--size 1920x1080]
    python bench/desktop_board.py --release none          # this tree only

Each tree is measured in its own process (`--src DIR --json-out FILE`; the release is
exported from git, bench/release.py). The real main window (offscreen unless QT_QPA_PLATFORM
says otherwise) is fed server frames as text through the session's frame handler (JSON
parsing, sequence check, model, coalescing, proxies, sections, statistics), and each figure
runs until Qt has processed everything the frames set off, painting included (what a change
dirties is repainted, as in the program; the snapshot repaints the whole window):
- a snapshot of N rooms applied and on screen;
- one room_updated event, end to end (median and worst of many);
- a burst of 1,000 events, each in its own frame (median and worst of several bursts);
- the same burst in one batched `events` frame (a tree that does not know batches: n/a);
- the resident memory of the process with the board, and at the end.
No assertions: it prints its figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
# a child measures the tree named by --src: its packages come first
_SRC = sys.argv[sys.argv.index("--src") + 1] if "--src" in sys.argv else None
sys.path.insert(0, str(ROOT))
if _SRC is not None:
    sys.path.insert(0, _SRC)

import psutil  # noqa: E402 (after the path is set)
from PySide6.QtWidgets import QApplication  # noqa: E402 (after the path is set)

from shared import protocol  # noqa: E402 (after the path is set)
from shared.rules import Priority, RoomStatus  # noqa: E402 (after the path is set)

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
                # the rest of what the server's payload always carries
                "room_id": i + 1,
                "room_name": f"Room {floor}{i % per_floor + 1:03d}",
                "last_cleaned_at": None,
                "last_inspected_at": None,
                "cleaned_by_staff": None,
                "inspected_by_staff": None,
                "out_of_order_reason": None,
                "dnd_since": None,
                "hk_occupancy": None,
                "hk_observed_at": None,
                "is_out_of_service": False,
                "block": None,
                # a third of the rooms are given to attendants (none to the bench's viewer)
                "assigned_to": {"staff_id": 100 + floor % 7, "name": f"Attendant {floor % 7}"}
                if rnd.random() < 0.33
                else None,
                "rush": None,
                "updated_at": "2026-01-15T08:00:00Z",
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

    def batch(self, n: int) -> str:
        """`n` events in one batched frame (docs/protocol.md, *Batched events*)."""
        events = [protocol.parse_server_frame(self.event()) for _ in range(n)]
        return protocol.dumps({"type": "events", "events": events})


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def measure(
    rooms_n: int, floors: int, w: int, h: int, singles_n: int, bursts_n: int
) -> dict[str, Any]:
    """Every figure of one tree (the one `desktop` is imported from)."""
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

    rooms = make_rooms(rooms_n, floors)
    feed = Feeder(rooms)
    text = feed.snapshot()

    def handle(frame: str) -> None:
        session._on_frame(protocol.parse_server_frame(frame))

    def settle() -> None:
        window.rooms.flush()
        app.processEvents()

    gc.collect()
    t0 = time.perf_counter()
    handle(text)
    settle()
    window.repaint()
    snapshot_s = time.perf_counter() - t0
    after_snapshot = rss_mb()
    for _ in range(3):  # the snapshot's own events settle before the updates are timed
        settle()
        window.repaint()

    singles = []
    for _ in range(singles_n):
        frame = feed.event()
        t0 = time.perf_counter()
        handle(frame)
        settle()
        singles.append(time.perf_counter() - t0)

    bursts = []
    for _ in range(bursts_n):
        frames = [feed.event() for _ in range(1000)]
        t0 = time.perf_counter()
        for f in frames:
            handle(f)
        settle()
        bursts.append(time.perf_counter() - t0)

    batched: list[float] = []
    for _ in range(bursts_n):
        frame = feed.batch(1000)
        last = protocol.parse_server_frame(frame)["events"][-1]
        t0 = time.perf_counter()
        handle(frame)
        settle()
        batched.append(time.perf_counter() - t0)
        shown = window.rooms.room(last["payload"]["room_number"]) or {}
        if shown.get("version") != last["payload"]["version"]:
            batched = []  # this tree does not know batched frames
            break
    end = rss_mb()
    window.close()
    ms = 1000.0
    return {
        "rooms": rooms_n,
        "snapshot_ms": snapshot_s * ms,
        "one_median_ms": statistics.median(singles) * ms,
        "one_worst_ms": max(singles) * ms,
        "burst_median_ms": statistics.median(bursts) * ms,
        "burst_worst_ms": max(bursts) * ms,
        "batched_median_ms": statistics.median(batched) * ms if batched else None,
        "batched_worst_ms": max(batched) * ms if batched else None,
        "rss_start_mb": base,
        "rss_board_mb": after_snapshot,
        "rss_end_mb": end,
        "resets": window.rooms.resets,
    }


ROWS = [
    ("snapshot applied and on screen", "snapshot_ms", "ms", "< 150 ms"),
    ("one update, median", "one_median_ms", "ms", "< 1 ms"),
    ("one update, worst", "one_worst_ms", "ms", "< 8 ms"),
    ("1,000 updates, one frame each, median", "burst_median_ms", "ms", ""),
    ("1,000 updates, one frame each, worst", "burst_worst_ms", "ms", ""),
    ("1,000 updates in one batched frame, median", "batched_median_ms", "ms", "< 50 ms"),
    ("1,000 updates in one batched frame, worst", "batched_worst_ms", "ms", ""),
    ("memory with the board (RSS)", "rss_board_mb", "MB", ""),
    ("memory at the end (RSS)", "rss_end_mb", "MB", "< 150 MB"),
]


def table(columns: list[tuple[str, dict[str, Any]]]) -> str:
    head = "| figure | " + " | ".join(name for name, _ in columns) + " | goal |\n"
    head += "|---|" + "---|" * len(columns) + "---|\n"
    lines = []
    for label, key, unit, goal in ROWS:
        cells = []
        for _, fig in columns:
            v = fig.get(key)
            cells.append("n/a" if v is None else f"{v:.2f} {unit}" if v < 10 else f"{v:.0f} {unit}")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {goal} |\n")
    return head + "".join(lines)


def run_tree(src: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Measure the tree at `src` in a child process of its own."""
    with tempfile.TemporaryDirectory(prefix="roomrack-board-") as tmp:
        out = Path(tmp) / "figures.json"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--src",
            str(src),
            "--json-out",
            str(out),
            "--rooms",
            str(args.rooms),
            "--floors",
            str(args.floors),
            "--size",
            args.size,
            "--single",
            str(args.single),
            "--bursts",
            str(args.bursts),
        ]
        subprocess.run(cmd, check=True, cwd=src, stderr=subprocess.DEVNULL, timeout=900)
        figures: dict[str, Any] = json.loads(out.read_text())
        return figures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rooms", type=int, default=2000)
    p.add_argument("--floors", type=int, default=20)
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--single", type=int, default=50, help="single updates to time")
    p.add_argument("--bursts", type=int, default=8, help="bursts of 1,000 to time")
    p.add_argument(
        "--release",
        default=None,
        metavar="REF",
        help="the release measured beside this tree (default: bench/RELEASE; none: skip)",
    )
    p.add_argument("--src", type=Path, help=argparse.SUPPRESS)  # a child: measure this tree
    p.add_argument("--json-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    if args.src is not None:
        figures = measure(args.rooms, args.floors, w, h, args.single, args.bursts)
        args.json_out.write_text(json.dumps(figures))
        return 0
    from bench.release import export_release, release_ref

    columns = [("this tree", run_tree(ROOT, args))]
    ref = release_ref(args.release)
    if ref is not None:
        with export_release(ref) as src:
            columns.append((f"release {ref[:10]}", run_tree(src, args)))
    print(f"Roomrack desktop board: {args.rooms} rooms on {args.floors} floors, window {w}x{h}")
    print(table(columns), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
