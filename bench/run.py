"""One run: a server, its subscribers and its commander, measured from go to drained.

`run_one` starts the target's server (or servers, on one PostgreSQL database), connects N
subscribers from `--workers` processes (split evenly across the servers) and the commander;
once the server is idle it says "go", waits for the commander's report, tells the
subscribers which commands were sent when, waits for them to drain, checks that every
subscriber got the journal's events once each and in its order, and fills a RunResult. A
failure at any step is a note starting with "FAILED", never an exception; every process it
started is stopped before it returns.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import shutil
import subprocess
import tempfile
import time
from array import array
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from pathlib import Path
from typing import Any

import psutil

from bench.commander import MAX_BURST_COMMANDS, Plan, commander_main
from bench.figures import RunResult, pct
from bench.machine import (
    cpu_halves,
    cpu_seconds,
    peak_rss,
    process_cpu,
    run_pinned,
    settle,
    wait_quiet,
)
from bench.options import Options
from bench.store import (
    commits_between,
    cpu_spent,
    drop_store,
    journal_order,
    new_store,
    postgres_cpu,
    wal_position,
)
from bench.subscribers import subscriber_main
from bench.targets import ServerProc, start_profiler, start_servers, stop_server
from bench.wsclient import HOST


def _expect(pipe: Connection, timeout: float, what: str) -> dict[str, Any]:
    if not pipe.poll(timeout):
        raise RuntimeError(f"timed out waiting for {what}")
    msg: dict[str, Any] = pipe.recv()
    if "error" in msg:
        raise RuntimeError(f"{what}: {msg['error']}")
    return msg


@dataclass
class Started:
    """What one run has started, so that it can all be stopped."""

    workdir: Path
    sps: list[ServerProc] | None = None
    where: str | None = None
    spy: subprocess.Popen[bytes] | None = None
    procs: list[Any] | None = None


def split_ports(ports: list[int], n: int, workers: int) -> list[list[int]]:
    """The server port of each subscriber, worker by worker: about N/K subscribers in each
    of K workers, and subscriber g (counting across workers) on server g mod S."""
    k = max(1, min(workers, n))
    out, g = [], 0
    for w in range(k):
        share = n // k + (1 if w < n % k else 0)
        out.append([ports[(g + j) % len(ports)] for j in range(share)])
        g += share
    return out


def load_cpus(opts: Options) -> set[int] | None:
    halves = cpu_halves(opts.pin)
    return halves[1] if halves else None


def start_subscribers(
    ctx: SpawnContext, sps: list[ServerProc], n: int, opts: Options, procs: list[Any]
) -> list[Connection]:
    """K worker processes holding about N/K subscribers each, spread evenly over the
    servers; returns when all are in."""
    sp = sps[0]
    pipes: list[Connection] = []
    for w, ports in enumerate(split_ports([s.port for s in sps], n, opts.workers)):
        mine, theirs = ctx.Pipe()
        p = ctx.Process(
            target=run_pinned,
            args=(
                load_cpus(opts),
                subscriber_main,
                theirs,
                HOST,
                ports,
                sp.token,
                sp.channel,
                sp.tls,
                opts.compression,
            ),
            daemon=True,
            name=f"bench-subscribers-{w}",
        )
        p.start()
        procs.append(p)
        pipes.append(mine)
    connected = 0
    for pipe in pipes:
        connected += int(_expect(pipe, 120 + n, "the subscribers")["ready"])
    if connected != n:
        raise RuntimeError(f"only {connected} of {n} subscribers connected")
    return pipes


def start_commander(
    ctx: SpawnContext, sps: list[ServerProc], mode: str, opts: Options, procs: list[Any]
) -> Connection:
    """The commander process, connected (to the first server, or with `--write-via all` to
    each in turn) and ready for "go"."""
    sp = sps[0]
    ports = [s.port for s in sps] if opts.write_via == "all" else [sp.port]
    plan = Plan(
        mode,
        opts.rate,
        opts.duration,
        opts.inflight,
        opts.commander_conns,
        int(opts.rate * opts.duration) if mode == "paced" else MAX_BURST_COMMANDS,
    )
    cmd_pipe, theirs = ctx.Pipe()
    cp = ctx.Process(
        target=run_pinned,
        args=(
            load_cpus(opts),
            commander_main,
            theirs,
            HOST,
            ports,
            sp.token,
            sp.channel,
            plan,
            sp.tls,
            opts.compression,
        ),
        daemon=True,
        name="bench-commander",
    )
    cp.start()
    procs.append(cp)
    _expect(cmd_pipe, 120, "the commander")
    return cmd_pipe


@dataclass
class Meter:
    """CPU seconds of our processes, of the machine and of every other process, from a start."""

    pids: list[int]
    cpu0: dict[int, float]
    sys0: Any
    others0: dict[tuple[int, str], float]
    wall0: float

    @classmethod
    def start(cls, pids: list[int]) -> Meter:
        cpu0 = {pid: cpu_seconds(pid) for pid in pids}
        return cls(pids, cpu0, psutil.cpu_times(), process_cpu(), time.monotonic())

    def stop(
        self, res: RunResult, extra: dict[int, float] | None = None
    ) -> tuple[dict[int, float], float]:
        """Our processes' CPU seconds and the wall time since the start; the machine's shares
        and the other programs' load go into `res`. `extra`: CPU seconds of more of ours
        (PostgreSQL's processes), measured elsewhere."""
        wall = time.monotonic() - self.wall0
        cpu = {pid: cpu_seconds(pid) - self.cpu0[pid] for pid in self.pids}
        theirs = {**(extra or {}), **cpu}
        sys1 = psutil.cpu_times()
        spent = {f: getattr(sys1, f) - getattr(self.sys0, f) for f in sys1._fields}
        total = sum(spent.values()) or 1.0
        res.machine_busy = 1 - (spent.get("idle", 0.0) + spent.get("iowait", 0.0)) / total
        busy_s = total - spent.get("idle", 0.0) - spent.get("iowait", 0.0)
        ours = sum(theirs.values()) + spent.get("softirq", 0.0)
        res.other_load = max(0.0, busy_s - ours) / wall
        if res.other_load > 0.25:
            res.notes.append(self.others_note(res.other_load, theirs, wall))
        res.softirq = spent.get("softirq", 0.0) / total
        res.steal = spent.get("steal", 0.0) / total
        return cpu, wall

    def others_note(self, load: float, cpu: dict[int, float], wall: float) -> str:
        others1 = process_cpu()
        busiest = sorted(
            ((t - self.others0.get(k, 0.0), k[1]) for k, t in others1.items() if k[0] not in cpu),
            reverse=True,
        )[:2]
        who = ", ".join(f"{name} {t / wall:.0%}" for t, name in busiest)
        return f"other programs used {load:.0%} of a CPU meanwhile ({who})"


def note_commands(res: RunResult, c: dict[str, Any]) -> None:
    """The commander's figures: commands acknowledged, errors, rate, acknowledgement times."""
    res.commands = int(c["acked"])
    res.errors = int(c["errors"]) + int(c["unanswered"])
    if c["error_codes"]:
        res.notes.append(f"errors {c['error_codes']}")
    if c["unanswered"]:
        res.notes.append(f"{c['unanswered']} commands unanswered")
    res.cmd_rate = res.commands / c["send_window"] if c["send_window"] else 0.0
    res.ack_p50_ms, res.ack_p99_ms = c["ack_p50"], c["ack_p99"]


def note_deliveries(res: RunResult, reports: list[dict[str, Any]], n: int, t0: int) -> None:
    """The subscribers' figures: events delivered and lost, events per second, latency."""
    lat: array[int] = array("q")
    received = 0
    last_ns = 0
    for r in reports:
        lat.frombytes(r["latencies"])
        received += int(r["received"])
        last_ns = max(last_ns, int(r["last_ns"]))
        res.dropped += int(r["closed"])
        if r["stray"]:
            res.notes.append(f"{r['stray']} events of unacknowledged commands")
    expected = res.commands * n
    res.lost = expected - received
    span = (last_ns - t0) / 1e9
    res.events_per_s = received / span if span > 0 else 0.0
    ordered = sorted(lat)
    res.p50_ms, res.p99_ms = pct(ordered, 0.5), pct(ordered, 0.99)
    res.max_ms = ordered[-1] / 1e6 if ordered else math.nan
    if res.dropped:
        res.notes.append(f"{res.dropped} subscribers were disconnected")


def measure(res: RunResult, run: Started, opts: Options) -> None:
    """Everything from starting the server(s) to the subscribers' reports."""
    ctx = mp.get_context("spawn")
    n = res.n
    procs = run.procs = []
    where = run.where = new_store(res.target, run.workdir, opts)
    sps = run.sps = start_servers(res.target, run.workdir, opts, where, res.servers)
    sub_pipes = start_subscribers(ctx, sps, n, opts, procs)
    cmd_pipe = start_commander(ctx, sps, res.mode, opts, procs)
    for sp in sps:
        settle(sp.proc.pid, 120)
    pg = opts.pg is not None
    wal0 = wal_position(where) if pg else ""
    pg0 = postgres_cpu(opts)
    meter = Meter.start([sp.proc.pid for sp in sps] + [p.pid for p in procs])
    run.spy = start_profiler(opts, sps[0].proc.pid, f"{res.target}-{n}-{res.mode}")
    cmd_pipe.send("go")
    c = _expect(cmd_pipe, opts.duration + 180, "the commander's report")
    send_ns = c.pop("send_ns")
    for pipe in sub_pipes:
        pipe.send(("finish", send_ns, c["acked"], 30.0 + n / 50))
    drained = [_expect(pipe, 120 + n / 10, "the subscribers' drain") for pipe in sub_pipes]
    pg1 = postgres_cpu(opts)
    pg_spent = {pid: t - pg0.get(pid, 0.0) for pid, t in pg1.items()}
    cpu, wall = meter.stop(res, pg_spent)
    wal1 = wal_position(where) if pg else ""
    for p, d in zip(procs, drained, strict=False):
        cpu[p.pid] = float(d["drained"]) - meter.cpu0[p.pid]
    if run.spy is not None:
        run.spy.wait(opts.duration + 60)
    reports = [_expect(pipe, 120 + n / 10, "a subscriber report") for pipe in sub_pipes]
    res.server_peak_mb = max(peak_rss(sp.proc.pid) for sp in sps) / 2**20
    res.window_s = wall
    per_server = [cpu[sp.proc.pid] / wall for sp in sps]
    res.server_cpu = sum(per_server)
    if len(sps) > 1:
        res.notes.append("server CPU by server " + " / ".join(f"{x:.0%}" for x in per_server))
    if pg:
        res.pg_cpu = cpu_spent(pg0, pg1) / wall
        commits = commits_between(opts, where, wal0, wal1)
        if commits is None:
            res.notes.append("the commits could not be counted (pg_waldump)")
        else:
            res.commits_per_s = commits / wall
    sub_cpu = [cpu[p.pid] / wall for p in procs[:-1]]
    res.subs_cpu = sum(sub_cpu)
    res.subs_cpu_max = max(sub_cpu)
    res.cmd_cpu = cpu[procs[-1].pid] / wall
    note_commands(res, c)
    note_deliveries(res, reports, n, int(c["t0"]))
    if res.target != "baseline":  # the baseline keeps no journal to compare with
        note_order(res, reports, where)


def note_order(res: RunResult, reports: list[dict[str, Any]], where: str) -> None:
    """How many subscribers did not get exactly the journal's benchmark events, each once,
    in journal order (their sequences are compared by fingerprint)."""
    digest, count = journal_order(where)
    same = sum(int(r["orders"].get(digest, 0)) for r in reports)
    res.disordered = res.n - same
    if res.disordered:
        res.notes.append(
            f"{res.disordered} subscribers did not get the journal's {count} events once each"
            " in its order"
        )


def stop_all(run: Started, res: RunResult, opts: Options) -> None:
    """Stop the profiler, the load processes and the server; note what the server logged."""
    if run.spy is not None and run.spy.poll() is None:
        run.spy.kill()
        run.spy.wait(10)
    for p in run.procs or []:
        if p.is_alive():
            p.join(5)
        if p.is_alive():
            p.terminate()
            p.join(5)
        if p.is_alive():
            p.kill()
            p.join(5)
    for sp in run.sps or []:
        stop_server(sp)
        tail = sp.log.read_text(errors="replace").strip().splitlines()[-3:]
        name = "server" if len(run.sps or []) == 1 else sp.log.stem
        if any("Traceback" in t or "ERROR" in t or "WARNING" in t for t in tail):
            res.notes.append(f"{name} log: " + " | ".join(tail))
    if not opts.keep:
        if run.where is not None:
            try:
                drop_store(run.where, opts)
            except Exception as exc:
                res.notes.append(f"the run's database was not dropped: {exc}")
        shutil.rmtree(run.workdir, ignore_errors=True)


def run_one(target: str, n: int, mode: str, opts: Options, servers: int = 1) -> RunResult:
    """One case, measured once (see the module's docstring)."""
    res = RunResult(target, n, mode, store=opts.store, servers=servers)
    res.write_via = opts.write_via if servers > 1 else "first"
    busy = wait_quiet(opts.quiet_wait)
    if busy >= 0.15:
        res.notes.append(f"the machine was {busy:.0%} busy before the run")
    run = Started(Path(tempfile.mkdtemp(prefix=f"roomrack-bench-{target}-")))
    try:
        measure(res, run, opts)
    except Exception as exc:
        res.notes.append(f"FAILED: {exc}")
    finally:
        stop_all(run, res, opts)
    return res
