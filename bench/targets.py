"""The servers measured: the bare baseline, Roomrack over plain ws and Roomrack over TLS, each
started as a subprocess on 127.0.0.1 with a fresh store (with `--servers 2`, two Roomrack
processes on one new PostgreSQL database); and py-spy, if asked for.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from bench.machine import cpu_halves, pin_to
from bench.options import ROOT, Options
from bench.wsclient import HOST, BenchWS, open_ws


@dataclass
class ServerProc:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    token: str
    channel: str
    tls: bool = False


def make_hotel(db_path: Path | str, floors: int, rooms_per_floor: int, src: Path = ROOT) -> None:
    """A generated hotel with the demo staff in the store at `db_path` (an SQLite file or a
    PostgreSQL URL), in a child process: it owns peewee's db."""
    where = "__import__('pathlib').Path(sys.argv[1])"
    if str(db_path).startswith("postgresql://"):
        where = "__import__('server.engine').engine.store_at(sys.argv[1])"
    code = (
        "import sys\n"
        "from server import db as m\n"
        "from server.demo import DemoSpec, load_demo\n"
        "from shared.clock import SystemClock\n"
        f"m.open_db({where})\n"
        "try:\n"
        "    load_demo(SystemClock().now(), DemoSpec(floors=int(sys.argv[2]),"
        " rooms_per_floor=int(sys.argv[3]), with_staff=True))\n"
        "finally:\n"
        "    m.close_db()\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(db_path), str(floors), str(rooms_per_floor)],
        check=True,
        cwd=src,
        timeout=120,
    )


def start_servers(
    target: str, workdir: Path, opts: Options, where: str, count: int
) -> list[ServerProc]:
    """`count` server processes of `target` on the store at `where` (made here, with its
    hotel); every one of them takes the token the first one gave."""
    first = start_server(target, workdir, opts, where)
    servers = [first]
    try:
        for k in range(1, count):
            sp = start_server(target, workdir, opts, where, k)
            sp.token, sp.channel = first.token, first.channel
            servers.append(sp)
    except BaseException:
        for sp in servers:
            stop_server(sp)
        raise
    return servers


def start_server(
    target: str, workdir: Path, opts: Options, where: str | None = None, k: int = 0
) -> ServerProc:
    """Server `k` of `target` on the store at `where` (default: a file in `workdir`); the
    first one (k = 0) puts the hotel in the store and logs in."""
    db_path = where or str(workdir / f"{target}.db")
    log = workdir / (f"{target}.log" if k == 0 else f"{target}-{k + 1}.log")
    src = opts.release_src if target == "release" and opts.release_src else opts.src
    roomrack = target.startswith("roomrack") or target == "release"
    if roomrack:
        if k == 0:
            make_hotel(db_path, opts.floors, opts.rooms_per_floor, src)
        cmd = [
            sys.executable,
            "-m",
            "server.cli",
            "--db",
            db_path,
            "--log-level",
            "WARNING",
            "serve",
            "--host",
            HOST,
            "--port",
            "0",
            "--rate-limit",
            "0",
            "--synchronous",
            opts.synchronous,
            "--heartbeat-overview",
            "3600",
            "--no-discovery",
        ]
        if target in ("roomrack", "release"):
            cmd.append("--insecure")
    else:
        cmd = [
            sys.executable,
            "-m",
            "bench.baseline_server",
            "--db",
            db_path,
            "--host",
            HOST,
            "--port",
            "0",
            "--synchronous",
            opts.synchronous,
            "--frame-bytes",
            str(opts.frame_bytes),
        ]
    cwd = src if roomrack else ROOT
    halves = cpu_halves(opts.pin)
    with log.open("wb") as err:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=err,
            # pinned before it runs (its threads inherit it)
            preexec_fn=(lambda: pin_to(0, halves[0])) if halves else None,
        )
    try:
        port = _read_port(proc, 60)
    except BaseException:
        proc.kill()
        proc.wait(10)
        raise
    if roomrack:
        tls = target == "roomrack-tls"
        if k > 0:
            return ServerProc(proc, port, log, "", "", tls)
        try:
            token, slug = asyncio.run(_login(port, tls))
        except BaseException:
            stop_server(ServerProc(proc, port, log, "", "", tls))
            raise
        return ServerProc(proc, port, log, token, f"{slug}.rooms", tls)
    return ServerProc(proc, port, log, "baseline", "hotel-baseline.rooms")


def _read_port(proc: subprocess.Popen[bytes], timeout: float) -> int:
    box: list[bytes] = []

    def read() -> None:
        assert proc.stdout is not None
        box.append(proc.stdout.readline())

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(timeout)
    line = box[0].decode() if box else ""
    if "ready on ws://" not in line and "ready on wss://" not in line:
        raise RuntimeError(f"the server did not start (said {line!r})")
    return int(line.strip().rsplit(":", 1)[1])


async def _login(port: int, tls: bool = False) -> tuple[str, str]:
    ws = await open_ws(HOST, port, lambda: BenchWS(), 30, tls)
    try:
        reply = await ws.request(
            {"type": "auth.login", "request_id": "l", "login": "manager", "password": "demo"}, 60
        )
        result = reply["result"]
        return str(result["token"]), str(result["hotel"]["slug"])
    finally:
        ws.close()


def stop_server(sp: ServerProc) -> None:
    if sp.proc.poll() is None:
        sp.proc.send_signal(signal.SIGINT)
        try:
            sp.proc.wait(20)
        except subprocess.TimeoutExpired:
            sp.proc.kill()
            sp.proc.wait(10)
    if sp.proc.stdout is not None:
        sp.proc.stdout.close()


def start_profiler(opts: Options, pid: int, name: str) -> subprocess.Popen[bytes] | None:
    """py-spy (if asked for and installed) samples the server, every thread, for the commands'
    duration; it writes collapsed stacks to PROFILE/<name>.txt."""
    if opts.profile is None:
        return None
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        raise RuntimeError("--profile needs py-spy (pip install py-spy)")
    opts.profile.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "record", "--pid", str(pid), "--duration", str(math.ceil(opts.duration))]
    cmd += ["--rate", "250", "--threads", "--format", "raw", "--nonblocking"]
    cmd += ["--output", str(opts.profile / f"{name}.txt")]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
