"""One run: a server, its subscribers and its commander, measured from go to drained."""

from __future__ import annotations

import math
import multiprocessing as mp
import shutil
import subprocess
import tempfile
import time
from array import array
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

from bench.commander import MAX_BURST_COMMANDS, Plan, commander_main
from bench.figures import RunResult, pct
from bench.machine import cpu_seconds, peak_rss, process_cpu, settle, wait_quiet
from bench.options import Options
from bench.subscribers import subscriber_main
from bench.targets import ServerProc, start_profiler, start_server, stop_server
from bench.wsclient import HOST


def _expect(pipe: Connection, timeout: float, what: str) -> dict[str, Any]:
    if not pipe.poll(timeout):
        raise RuntimeError(f"timed out waiting for {what}")
    msg: dict[str, Any] = pipe.recv()
    if "error" in msg:
        raise RuntimeError(f"{what}: {msg['error']}")
    return msg


def run_one(target: str, n: int, mode: str, opts: Options) -> RunResult:
    ctx = mp.get_context("spawn")
    res = RunResult(target, n, mode)
    busy = wait_quiet(opts.quiet_wait)
    if busy >= 0.15:
        res.notes.append(f"the machine was {busy:.0%} busy before the run")
    workdir = Path(tempfile.mkdtemp(prefix=f"roomrack-bench-{target}-"))
    procs: list[Any] = []
    sp: ServerProc | None = None
    spy: subprocess.Popen[bytes] | None = None
    try:
        sp = start_server(target, workdir, opts)
        k = max(1, min(opts.workers, n))
        sub_pipes: list[Connection] = []
        for w in range(k):
            share = n // k + (1 if w < n % k else 0)
            mine, theirs = ctx.Pipe()
            p = ctx.Process(
                target=subscriber_main,
                args=(theirs, HOST, sp.port, sp.token, sp.channel, share, sp.tls),
                daemon=True,
                name=f"bench-subscribers-{w}",
            )
            p.start()
            procs.append(p)
            sub_pipes.append(mine)
        connected = 0
        for pipe in sub_pipes:
            connected += int(_expect(pipe, 120 + n, "the subscribers")["ready"])
        if connected != n:
            raise RuntimeError(f"only {connected} of {n} subscribers connected")
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
            target=commander_main,
            args=(theirs, HOST, sp.port, sp.token, sp.channel, plan, sp.tls),
            daemon=True,
            name="bench-commander",
        )
        cp.start()
        procs.append(cp)
        _expect(cmd_pipe, 120, "the commander")
        settle(sp.proc.pid, 120)
        pids = [sp.proc.pid] + [p.pid for p in procs]
        cpu0 = {pid: cpu_seconds(pid) for pid in pids}
        sys0 = psutil.cpu_times()
        others0 = process_cpu()
        wall0 = time.monotonic()
        spy = start_profiler(opts, sp.proc.pid, f"{target}-{n}-{mode}")
        cmd_pipe.send("go")
        c = _expect(cmd_pipe, opts.duration + 180, "the commander's report")
        send_ns = c.pop("send_ns")
        for pipe in sub_pipes:
            pipe.send(("finish", send_ns, c["acked"], 30.0 + n / 50))
        drained = [_expect(pipe, 120 + n / 10, "the subscribers' drain") for pipe in sub_pipes]
        wall = time.monotonic() - wall0
        cpu = {pid: cpu_seconds(pid) - cpu0[pid] for pid in pids}
        sys1 = psutil.cpu_times()
        spent = {f: getattr(sys1, f) - getattr(sys0, f) for f in sys1._fields}
        total = sum(spent.values()) or 1.0
        res.machine_busy = 1 - (spent.get("idle", 0.0) + spent.get("iowait", 0.0)) / total
        busy_s = total - spent.get("idle", 0.0) - spent.get("iowait", 0.0)
        ours = sum(cpu.values()) + spent.get("softirq", 0.0)
        res.other_load = max(0.0, busy_s - ours) / wall
        if res.other_load > 0.25:
            others1 = process_cpu()
            busiest = sorted(
                ((t - others0.get(k, 0.0), k[1]) for k, t in others1.items() if k[0] not in cpu),
                reverse=True,
            )[:2]
            who = ", ".join(f"{name} {t / wall:.0%}" for t, name in busiest)
            res.notes.append(f"other programs used {res.other_load:.0%} of a CPU meanwhile ({who})")
        res.softirq = spent.get("softirq", 0.0) / total
        res.steal = spent.get("steal", 0.0) / total
        for p, d in zip(procs, drained, strict=False):
            cpu[p.pid] = float(d["drained"]) - cpu0[p.pid]
        if spy is not None:
            spy.wait(opts.duration + 60)
        reports = [_expect(pipe, 120 + n / 10, "a subscriber report") for pipe in sub_pipes]
        res.server_peak_mb = peak_rss(sp.proc.pid) / 2**20
        res.window_s = wall
        res.server_cpu = cpu[sp.proc.pid] / wall
        sub_cpu = [cpu[p.pid] / wall for p in procs[:-1]]
        res.subs_cpu = sum(sub_cpu)
        res.subs_cpu_max = max(sub_cpu)
        res.cmd_cpu = cpu[cp.pid] / wall
        res.commands = int(c["acked"])
        res.errors = int(c["errors"]) + int(c["unanswered"])
        if c["error_codes"]:
            res.notes.append(f"errors {c['error_codes']}")
        if c["unanswered"]:
            res.notes.append(f"{c['unanswered']} commands unanswered")
        res.cmd_rate = res.commands / c["send_window"] if c["send_window"] else 0.0
        res.ack_p50_ms, res.ack_p99_ms = c["ack_p50"], c["ack_p99"]
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
        span = (last_ns - int(c["t0"])) / 1e9
        res.events_per_s = received / span if span > 0 else 0.0
        ordered = sorted(lat)
        res.p50_ms, res.p99_ms = pct(ordered, 0.5), pct(ordered, 0.99)
        res.max_ms = ordered[-1] / 1e6 if ordered else math.nan
        if res.dropped:
            res.notes.append(f"{res.dropped} subscribers were disconnected")
    except Exception as exc:
        res.notes.append(f"FAILED: {exc}")
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
            spy.wait(10)
        for p in procs:
            if p.is_alive():
                p.join(5)
            if p.is_alive():
                p.terminate()
                p.join(5)
            if p.is_alive():
                p.kill()
                p.join(5)
        if sp is not None:
            stop_server(sp)
            tail = sp.log.read_text(errors="replace").strip().splitlines()[-3:]
            if any("Traceback" in t or "ERROR" in t or "WARNING" in t for t in tail):
                res.notes.append("server log: " + " | ".join(tail))
        if not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return res
