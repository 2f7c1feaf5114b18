"""How long until 1,000 desks are back on the board: N desktops, each with its own kept
session token, connect at once, log in with the token, subscribe to the hotel's overview and
hold its snapshot (as after a restart of the server in the middle of the day).

    python -m bench.connect                      # N=1000, this tree and the release
    python -m bench.connect --n 200 --release none --target roomrack-tls

For each source tree (this one and, unless `--release none`, the current release exported
from git into a temporary folder) the script starts the server as the realtime benchmark does
(bench/targets.py: a generated hotel of 200 rooms, 127.0.0.1, a free port), makes N sessions
in its store beforehand (one per desk, spread over the demo staff), then opens the N
connections from `--workers` processes at once and prints: the time from the first connection
to the last snapshot held, desks per second, the time each desk waited (median, p99, worst),
the server's CPU over the run and its peak memory. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from bench.machine import cpu_seconds, peak_rss, settle
from bench.options import ROOT, Options
from bench.release import export_release, release_ref
from bench.targets import ServerProc, start_server, stop_server
from bench.wsclient import HOST, BenchWS, open_ws


@dataclass
class ConnectFigures:
    source: str
    n: int
    rooms: int
    seconds: float  # first connection opened to last snapshot held
    desks_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    failed: int
    server_cpu: float  # share of one core over the run
    server_rss_mb: float


def make_tokens(sp: ServerProc, src: Path, n: int) -> list[str]:
    """N open sessions in the server's store, one per desk (in a child process run from
    `src`: it opens the store as the command line does, beside the running server)."""
    code = (
        "import json, sys\n"
        "from datetime import timedelta\n"
        "from server import db as m\n"
        "from server.accounts import Accounts\n"
        "from shared.clock import SystemClock\n"
        "m.open_db(__import__('pathlib').Path(sys.argv[1]))\n"
        "acc = Accounts(SystemClock().now)\n"
        "staff = [s.id for s in m.Staff.select().where(m.Staff.active == True)]\n"
        "out = []\n"
        "for i in range(int(sys.argv[2])):\n"
        "    _, token, _, _ = acc.open_session(staff[i % len(staff)], f'desk-{i}',\n"
        "                                      timedelta(hours=12), '127.0.0.1')\n"
        "    out.append(token)\n"
        "m.close_db()\n"
        "print(json.dumps(out))\n"
    )
    db_path = sp.log.with_suffix(".db")
    run = subprocess.run(
        [sys.executable, "-c", code, str(db_path), str(n)],
        check=True,
        cwd=src,
        timeout=300,
        capture_output=True,
    )
    tokens: list[str] = json.loads(run.stdout)
    return tokens


async def _desks(
    tokens: list[str], port: int, channel: str, tls: bool, deflate: bool
) -> list[float]:
    """Connect every desk at once; each one's wait (s) until it holds its snapshot, or -1."""

    async def one(token: str) -> float:
        start = time.monotonic()
        ws: BenchWS | None = None
        try:
            ws = await open_ws(HOST, port, lambda: BenchWS(), 120, tls, deflate)
            await ws.request({"type": "auth.token", "request_id": "t", "token": token}, 120)
            await ws.request({"type": "subscribe", "request_id": "s", "channels": [channel]}, 120)
            while (await ws.recv(120)).get("type") != "rooms.status":
                pass
            return time.monotonic() - start
        except Exception:
            return -1.0
        finally:
            if ws is not None:
                ws.close()

    # the connections stay open until every desk holds its snapshot: all N at once
    return await asyncio.gather(*(one(t) for t in tokens))


def _worker(
    pipe: Connection, tokens: list[str], port: int, channel: str, tls: bool, deflate: bool
) -> None:
    pipe.send("ready")
    pipe.recv()  # go
    pipe.send(asyncio.run(_desks(tokens, port, channel, tls, deflate)))


def run_one(
    src: Path, label: str, n: int, workers: int, target: str, deflate: bool = True
) -> ConnectFigures:
    opts = _options(src)
    with tempfile.TemporaryDirectory(prefix="roomrack-connect-") as tmp:
        sp = start_server(target, Path(tmp), opts)
        try:
            tokens = make_tokens(sp, src, n)
            ctx = mp.get_context("spawn")
            pipes, procs = [], []
            for w in range(workers):
                mine, theirs = ctx.Pipe()
                share = tokens[w::workers]
                args = (theirs, share, sp.port, sp.channel, sp.tls, deflate)
                p = ctx.Process(target=_worker, args=args)
                p.start()
                pipes.append(mine)
                procs.append(p)
            for pipe in pipes:
                pipe.recv()
            settle(sp.proc.pid, 30)
            cpu0, t0 = cpu_seconds(sp.proc.pid), time.monotonic()
            for pipe in pipes:
                pipe.send("go")
            waits: list[float] = [w for pipe in pipes for w in pipe.recv()]
            elapsed = time.monotonic() - t0
            cpu = cpu_seconds(sp.proc.pid) - cpu0
            rss = peak_rss(sp.proc.pid)
            for p in procs:
                p.join(30)
        finally:
            stop_server(sp)
    ok = sorted(w for w in waits if w >= 0)
    q = statistics.quantiles(ok, n=100) if len(ok) >= 2 else ok * 99
    return ConnectFigures(
        source=label,
        n=n,
        rooms=opts.floors * opts.rooms_per_floor,
        seconds=round(max(ok, default=elapsed), 3),
        desks_per_s=round(len(ok) / max(ok, default=elapsed), 1),
        p50_ms=round(statistics.median(ok) * 1000, 1) if ok else 0.0,
        p99_ms=round(q[98] * 1000, 1) if ok else 0.0,
        max_ms=round(ok[-1] * 1000, 1) if ok else 0.0,
        failed=len(waits) - len(ok),
        server_cpu=round(cpu / elapsed, 2),
        server_rss_mb=round(rss / 2**20, 1),
    )


def _options(src: Path) -> Options:
    return Options(
        ns=[],
        modes=[],
        targets=[],
        duration=0,
        rate=0,
        inflight=0,
        workers=0,
        commander_conns=0,
        floors=8,
        rooms_per_floor=25,
        synchronous="FULL",
        frame_bytes=0,
        markdown=True,
        src=src,
    )


def report(rows: list[ConnectFigures]) -> str:
    head = (
        "| source | desks | rooms | all holding their snapshot (s) | desks/s | p50 ms | p99 ms "
        "| max ms | failed | server CPU | server peak RSS MB |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r.source} | {r.n} | {r.rooms} | {r.seconds:.2f} | {r.desks_per_s:,.0f} "
        f"| {r.p50_ms:.0f} | {r.p99_ms:.0f} | {r.max_ms:.0f} | {r.failed} "
        f"| {r.server_cpu:.0%} | {r.server_rss_mb:.0f} |\n"
        for r in rows
    )
    return head + body


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.connect", description=__doc__)
    p.add_argument("--n", type=int, default=1000, help="desks (default 1000)")
    p.add_argument("--workers", type=int, default=2, help="processes opening the connections")
    p.add_argument("--target", choices=["roomrack", "roomrack-tls"], default="roomrack")
    p.add_argument(
        "--release",
        default=None,
        metavar="REF",
        help="the release to measure beside this tree (default: bench/RELEASE; none: skip)",
    )
    p.add_argument(
        "--compression",
        choices=["on", "off"],
        default="on",
        help="whether the desks offer per-message compression, as the desktop does (default on)",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    a = p.parse_args(argv)
    deflate = a.compression == "on"
    if a.n < 1 or a.workers < 1:
        p.error("--n and --workers must be positive")
    rows = [run_one(ROOT, "this tree", a.n, a.workers, a.target, deflate)]
    print(report(rows), flush=True)
    ref = release_ref(a.release)
    if ref is not None:
        with export_release(ref) as src:
            rows.append(run_one(src, f"release {ref[:10]}", a.n, a.workers, a.target, deflate))
        print(report(rows), flush=True)
    if a.json is not None:
        a.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
