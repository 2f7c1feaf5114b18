"""How long `roomrack demo` takes from start to a live board.

    python bench/cold_start.py [--runs 3]

Starts `roomrack demo` (the desktop's own command line, in a child process: offscreen unless
QT_QPA_PLATFORM says otherwise, its demo store and settings in a temporary folder) several
times and prints, for each run, the time from starting the process to the moment its board
is live (logged in, the snapshot shown, the stream running). The first run also makes what a
first start makes (the demo server's certificate, Python's byte code); the figure to read is
the runs after it. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(db: Path) -> int:
    """Run `roomrack demo`; print the monotonic time at which the board went live."""
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.cli import main
    from desktop.mainwindow import MainWindow
    from desktop.session import State

    def look() -> None:
        app = QApplication.instance()
        for w in QApplication.topLevelWidgets() if app is not None else []:
            if isinstance(w, MainWindow) and w.session.state is State.LIVE and w.rooms.rowCount():
                print(f"live {time.monotonic():.6f}", flush=True)
                w.close()
                QApplication.quit()
                return
        QTimer.singleShot(5, look)

    QTimer.singleShot(0, look)  # runs once the desktop's event loop does
    return main(["demo", "--db", str(db)])


def one_run(tmp: Path) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    env["XDG_CONFIG_HOME"] = str(tmp / "config")  # settings of this run only
    env["XDG_DATA_HOME"] = str(tmp / "data")
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(tmp / "demo.db")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("live "):
            return float(line.split()[1]) - start
    raise RuntimeError(f"the board did not go live:\n{done.stdout}\n{done.stderr[-2000:]}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--runs", type=int, default=3, help="runs (the first one warms up)")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        return child(args.child)
    with tempfile.TemporaryDirectory(prefix="roomrack-cold-") as tmp:
        times = [one_run(Path(tmp)) for _ in range(max(2, args.runs))]
    print("roomrack demo, from start to a live board:")
    print(f"  first run             : {times[0]:.2f} s (makes the demo's certificate etc.)")
    later = times[1:]
    print(
        f"  after the first run   : median {statistics.median(later):.2f} s,"
        f" worst {max(later):.2f} s ({len(later)} runs; goal < 2 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
