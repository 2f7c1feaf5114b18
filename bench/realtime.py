"""Realtime fan-out benchmark: Roomrack against a bare websockets + SQLite baseline.

For every target (the bare baseline of bench/baseline_server.py, then Roomrack), every number
of subscribers N and every mode, one run:

1. starts the server as a subprocess on 127.0.0.1 (a free port, a fresh store);
2. connects N subscribers to the hotel's overview channel from K worker processes
   (each holds about N/K connections on one asyncio loop);
3. a commander process pushes room commands through the server, as the manager:
   paced (`--rate` per second for `--duration` seconds) or burst (as many as `--inflight`
   commands in flight allow, for `--duration` seconds);
4. every subscriber notes the arrival of every event; the event is matched to its command by
   the request id the server echoes in it, and the latency is arrival minus the moment the
   commander wrote the command to its socket (CLOCK_MONOTONIC, shared by every process of
   the machine);
5. prints delivered events per second, latency (p50, p99, max), events lost, the server's
   CPU and peak memory, and the load generator's CPU.

The subscribers connect and subscribe on asyncio, then read their sockets with a plain epoll
loop and a minimal frame parser (no per-frame JSON parse, no per-frame callback chain), so
that the load generator costs as little as a Python process can. Before each run the script
waits for the machine to be idle; a run during which other programs used more than a quarter
of a CPU is done once more; with --repeat the median run is reported.

    python -m bench.realtime --repeat 3           # the full run (about 20 minutes)
    python -m bench.realtime --quick              # a smoke run
    python -m bench.realtime --n 200 --modes burst --targets roomrack --markdown
    python -m bench.realtime --n 200 --targets roomrack,roomrack-tls --repeat 3 --markdown
                                                  # what TLS costs (plain ws against wss)
    python -m bench.realtime --n 200,1000 --targets baseline,roomrack,release
                                                  # this tree beside the current release
    python -m bench.realtime --n 1000 --modes connect --targets roomrack,release
                                                  # 1,000 desks connecting at once

With `--store postgresql` the benchmark starts its own throw-away PostgreSQL server
(tools/pgcluster.py, 127.0.0.1 only) and gives each run a new database with the hotel;
`--servers 1,2` measures each case with one and with two Roomrack processes on that database
(the subscribers split evenly across them; the commander writes through the first, or with
`--write-via all` through each in turn), and adds a table of commits, CPU and 1 against 2:

    python -m bench.realtime --store postgresql --servers 1,2 --n 200,1000 --modes burst,paced

Targets: `baseline`, `roomrack` (plain ws, `serve --insecure`), `roomrack-tls` (wss with
the server's own certificate, as it runs by default) and `release` (the current release named
in bench/RELEASE, exported from git, over plain ws). With both Roomrack targets the report
adds a table of TLS against plain.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time

from bench import connect
from bench.figures import RunResult, from_json, label, median_run
from bench.options import Options, parse_args
from bench.release import export_release, release_ref
from bench.report import machine_facts, report
from bench.run import run_one
from tools.pgcluster import PgCluster


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv, __doc__ or "")
    if opts.from_json is not None:
        facts, medians = from_json(opts.from_json)
        print(facts)
        print()
        print(report(medians, opts))
        return 0
    with contextlib.ExitStack() as stack:
        if opts.store == "postgresql":
            opts.pg = PgCluster().start()
            stack.callback(opts.pg.stop)
        facts = machine_facts(opts)
        print(facts, flush=True)
        print(
            f"paced: {opts.rate:g} commands/s for {opts.duration:g} s; "
            f"burst: {opts.inflight} in flight for {opts.duration:g} s; "
            f"hotel of {opts.floors * opts.rooms_per_floor} rooms",
            flush=True,
        )
        if max(opts.servers) > 1:
            via = "every server in turn" if opts.write_via == "all" else "the first server"
            print(
                f"servers: {', '.join(map(str, opts.servers))} on one database; the"
                f" subscribers split evenly across them; the commander writes through {via}",
                flush=True,
            )
        if "release" in opts.targets:
            ref = release_ref(opts.release) or "none"
            opts.release_src = stack.enter_context(export_release(ref))
            print(f"release: Roomrack at {ref[:10]} (plain ws)", flush=True)
        return measure(opts, facts)


def measure(opts: Options, facts: str) -> int:
    if "connect" in opts.modes:
        desks = [
            connect.run_one(
                opts.release_src if t == "release" and opts.release_src else opts.src,
                t,
                n,
                opts.workers,
                "roomrack-tls" if t == "roomrack-tls" else "roomrack",
                opts.compression,
            )
            for n in opts.ns
            for t in opts.targets
            if t != "baseline"
        ]
        print(connect.report(desks), flush=True)
    every: list[RunResult] = []
    results: list[RunResult] = []
    cases = [(t, k) for k in opts.servers for t in opts.targets]
    for n in opts.ns:
        for mode in [m for m in opts.modes if m != "connect"]:
            runs: dict[tuple[str, int], list[RunResult]] = {c: [] for c in cases}
            for rep in range(opts.repeat):
                for target, k in cases:
                    for attempt in range(2):
                        t = time.monotonic()
                        r = run_one(target, n, mode, opts, k)
                        pg = (
                            f"  {r.commits_per_s:,.0f} commits/s  PostgreSQL CPU {r.pg_cpu:.0%}"
                            if opts.pg is not None
                            else ""
                        )
                        print(
                            f"  {label(r):12} N={n:<5} {mode:5} #{rep + 1}"
                            f" {r.events_per_s:>10,.0f} events/s  p50 {r.p50_ms:.1f} ms"
                            f"  p99 {r.p99_ms:.1f} ms  lost {r.lost}"
                            f"  server CPU {r.server_cpu:.0%}{pg}"
                            f"  gen CPU {r.subs_cpu:.0%}+{r.cmd_cpu:.0%}"
                            f"  machine {r.machine_busy:.0%} (softirq {r.softirq:.0%})"
                            f"  ({time.monotonic() - t:.0f} s)"
                            + ("  " + "; ".join(r.notes) if r.notes else ""),
                            flush=True,
                        )
                        every.append(r)
                        if r.other_load <= 0.25 or attempt == 1:
                            break
                        print("    (other programs were busy: once more)", flush=True)
                    runs[(target, k)].append(r)
            for c in cases:
                results.append(median_run(runs[c]))
    if not results:
        return 0
    print()
    print(report(results, opts))
    if opts.json is not None:
        doc = {
            "machine": facts,
            "medians": [dataclasses.asdict(r) for r in results],
            "runs": [dataclasses.asdict(r) for r in every],
        }
        opts.json.write_text(json.dumps(doc, indent=1))
    failed = any(any(n.startswith("FAILED") for n in r.notes) for r in every)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
