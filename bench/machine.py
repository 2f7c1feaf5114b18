"""What the machine and its processes do: CPU seconds, peak memory, waiting for quiet."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def cpu_halves(pin: bool) -> tuple[set[int], set[int]] | None:
    """With `pin`, the CPUs this process may use split in two: the first half for the
    servers, the rest for the load generator (None when not asked, or fewer than 2 CPUs, or
    an OS without CPU affinity). The load generator's own work (decrypting TLS for every
    desk, above all) then stays off the servers' cores, but the servers have only those
    (bench/README.md, *Each side on its own CPUs*)."""
    if not pin or not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    half = len(cpus) // 2
    return set(cpus[:half]), set(cpus[half:])


def pin_to(pid: int, cpus: set[int] | None) -> None:
    """Keep a process (0: this one) on `cpus`; threads it makes afterwards inherit it."""
    if cpus is not None:
        os.sched_setaffinity(pid, cpus)


def run_pinned(cpus: set[int] | None, main: Callable[..., None], *args: Any) -> None:
    """A load process's entry: pinned to `cpus` first, then `main(*args)`."""
    pin_to(0, cpus)
    main(*args)


def pinned_note(halves: tuple[set[int], set[int]] | None) -> str:
    if halves is None:
        return "not pinned (servers and load generator share every CPU)"
    servers, load = (",".join(map(str, sorted(s))) for s in halves)
    return f"servers pinned to CPU {servers}, load generator to CPU {load}"
