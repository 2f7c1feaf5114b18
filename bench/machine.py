"""What the machine and its processes do: CPU seconds, peak memory, waiting for quiet."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import psutil


def peak_rss(pid: int) -> int:
    """Peak resident memory of a process (VmHWM) in bytes."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return int(psutil.Process(pid).memory_info().rss)


def process_cpu() -> dict[tuple[int, str], float]:
    """CPU seconds of every process on the machine, by (pid, name)."""
    out: dict[tuple[int, str], float] = {}
    for p in psutil.process_iter(["pid", "name", "cpu_times"]):
        t = p.info["cpu_times"]
        if t is not None:
            out[(p.info["pid"], p.info["name"] or "?")] = float(t.user + t.system)
    return out


def cpu_seconds(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def settle(pid: int, limit: float) -> None:
    """Wait until the server is idle (what the connections and subscriptions set off, such
    as snapshots and presence updates, has been sent), at most `limit` seconds."""
    proc = psutil.Process(pid)
    deadline = time.monotonic() + limit
    proc.cpu_percent()
    while time.monotonic() < deadline:
        if proc.cpu_percent(interval=0.5) < 5:
            return


def wait_quiet(limit: float) -> float:
    """Wait (at most `limit` seconds) until the machine is nearly idle; returns the busy share
    of the last second sampled. Other programs running at the same time skew every figure."""
    deadline = time.monotonic() + limit
    while True:
        busy = float(psutil.cpu_percent(interval=1.0)) / 100
        if busy < 0.15 or time.monotonic() >= deadline:
            return busy
        time.sleep(2)
