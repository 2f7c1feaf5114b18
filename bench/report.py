"""The report: the table of runs, Roomrack against the baseline, TLS against plain ws, and
one server against several on PostgreSQL."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from pathlib import Path

from bench.figures import RunResult, label
from bench.machine import cpu_halves, pinned_note
from bench.options import ROOT, Options

COLUMNS = [
    ("target", "target"),
    ("N", "N"),
    ("mode", "mode"),
    ("cmds", "commands"),
    ("cmd/s", "cmd/s"),
    ("events/s", "events/s"),
    ("range", "events/s of all runs"),
    ("p50 ms", "p50 ms"),
    ("p99 ms", "p99 ms"),
    ("max ms", "max ms"),
    ("lost", "lost"),
    ("srv CPU", "server CPU"),
    ("srv peak MB", "server peak RSS MB"),
    ("gen CPU", "load gen CPU (subs+cmd)"),
    ("busiest sub", "busiest sub worker"),
]


RATIO_HEAD = [
    "N",
    "mode",
    "events/s vs baseline",
    "p99 vs baseline",
    "release: events/s / p99 ms",
    "lost",
    "goal (burst ≥ 2×, paced 100 %; p99 ≤ 1×)",
]

TLS_HEAD = [
    "N",
    "mode",
    "plain events/s",
    "TLS events/s",
    "TLS vs plain",
    "p99 ms plain / TLS",
    "server CPU plain / TLS",
    "lost",
    "TLS ≤ 15 % cost",
]


SERVERS_HEAD = [
    "target",
    "N",
    "mode",
    "servers",
    "events/s",
    "vs 1 server",
    "p99 ms",
    "cmd/s",
    "commits/s",
    "cmds/commit",
    "server CPU",
    "PostgreSQL CPU",
    "lost",
    "not in order",
]


def row_of(r: RunResult) -> list[str]:
    return [
        label(r),
        str(r.n),
        r.mode,
        str(r.commands),
        f"{r.cmd_rate:.0f}",
        f"{r.events_per_s:,.0f}",
        f"{r.spread[0] / 1000:.0f}k–{r.spread[1] / 1000:.0f}k" if r.runs > 1 else "",
        f"{r.p50_ms:.1f}",
        f"{r.p99_ms:.1f}",
        f"{r.max_ms:.1f}",
        str(max(r.lost, r.lost_any)),
        f"{r.server_cpu:.0%}",
        f"{r.server_peak_mb:.0f}",
        f"{r.subs_cpu:.0%}+{r.cmd_cpu:.0%}",
        f"{r.subs_cpu_max:.0%}",
    ]


def by_case(results: list[RunResult], target: str) -> dict[tuple[int, str, int], RunResult]:
    """The runs of one target by their case (N, mode, servers)."""
    return {(r.n, r.mode, r.servers): r for r in results if r.target == target}


def pairs(results: list[RunResult], target: str, against: str) -> list[tuple[RunResult, RunResult]]:
    """Each run of `target`, in order, with the run of `against` of the same case (N, mode,
    servers); a case `against` did not run is left out."""
    other = by_case(results, against)
    return [
        (r, other[(r.n, r.mode, r.servers)])
        for r in results
        if r.target == target and (r.n, r.mode, r.servers) in other
    ]


def ratio_rows(results: list[RunResult]) -> list[list[str]]:
    """Roomrack against the bare baseline (and the release, if measured), case by case. The
    goals: in bursts at least twice the baseline's events per second with a p99 no higher;
    paced, every event (100 %) with a p99 no higher; nothing lost."""
    release = by_case(results, "release")
    rows = []
    for r, b in pairs(results, "roomrack", "baseline"):
        thr = r.events_per_s / b.events_per_s if b.events_per_s else math.nan
        p99 = r.p99_ms / b.p99_ms if b.p99_ms else math.nan
        lost = max(r.lost, r.lost_any)
        want = 2.0 if r.mode == "burst" else 0.99
        ok = thr >= want and p99 <= 1.0 and lost == 0 and max(b.lost, b.lost_any) == 0
        rel = release.get((r.n, r.mode, r.servers))
        rows.append(
            [
                str(r.n),
                r.mode,
                f"{thr:.0%}",
                f"{p99:.2f}×",
                "–" if rel is None else f"{rel.events_per_s:,.0f} / {rel.p99_ms:.1f}",
                str(lost),
                "met" if ok else "MISSED",
            ]
        )
    return rows


def tls_rows(results: list[RunResult]) -> list[list[str]]:
    """Roomrack over TLS against Roomrack over plain ws, case by case; the goal: TLS costs at
    most 15 % of the delivered events per second."""
    rows = []
    for r, p in pairs(results, "roomrack-tls", "roomrack"):
        thr = r.events_per_s / p.events_per_s if p.events_per_s else math.nan
        lost = max(r.lost, r.lost_any)
        rows.append(
            [
                str(r.n),
                r.mode,
                f"{p.events_per_s:,.0f}",
                f"{r.events_per_s:,.0f}",
                f"{thr:.0%}",
                f"{p.p99_ms:.1f} / {r.p99_ms:.1f}",
                f"{p.server_cpu:.0%} / {r.server_cpu:.0%}",
                str(lost),
                "met" if thr >= 0.85 and lost == 0 else "MISSED",
            ]
        )
    return rows


def servers_rows(results: list[RunResult]) -> list[list[str]]:
    """Roomrack on PostgreSQL (or with several servers): delivered events, latency, the
    transactions that wrote, and CPU, with each case beside its run on one server."""
    one = {(r.target, r.n, r.mode): r for r in results if r.servers == 1}
    rows = []
    for r in results:
        if r.store == "sqlite" and r.servers == 1:
            continue
        base = one.get((r.target, r.n, r.mode))
        vs = f"{r.events_per_s / base.events_per_s:.0%}" if base and base.events_per_s else "–"
        per_commit = r.cmd_rate / r.commits_per_s if r.commits_per_s else math.nan
        rows.append(
            [
                label(r),
                str(r.n),
                r.mode,
                str(r.servers),
                f"{r.events_per_s:,.0f}",
                vs if r.servers > 1 else "",
                f"{r.p99_ms:.1f}",
                f"{r.cmd_rate:.0f}",
                f"{r.commits_per_s:.0f}" if r.store == "postgresql" else "–",
                f"{per_commit:.1f}" if r.store == "postgresql" else "–",
                f"{r.server_cpu:.0%}",
                f"{r.pg_cpu:.0%}" if r.store == "postgresql" else "–",
                str(max(r.lost, r.lost_any)),
                str(r.disordered),
            ]
        )
    return rows


def render(head: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    out = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    out += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


def source_version(src: Path = ROOT) -> str:
    """The Roomrack commit measured, marked if server/ or shared/ have local changes."""
    stamp = src / "SOURCE_COMMIT"
    if stamp.exists():
        return stamp.read_text().strip() + f" (exported to {src})"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=src,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "server", "shared"],
            cwd=src,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (head or "unknown") + (" with local changes" if changed else "")


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as con:
        row = con.execute(b"SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


def machine_facts(opts: Options) -> str:
    from importlib.metadata import version

    store = f"SQLite synchronous={opts.synchronous} (WAL)"
    if opts.pg is not None:
        store = f"PostgreSQL {postgres_version(opts.pg.url())} (throw-away: fsync off)"
    return (
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Linux {platform.release()}, Python {platform.python_version()}, "
        f"websockets {version('websockets')}, {store}, "
        f"{COMPRESSION[opts.compression]}, {opts.workers} subscriber processes + 1 commander "
        f"({opts.commander_conns} connections), {pinned_note(cpu_halves(opts.pin))}; "
        f"Roomrack at {source_version(opts.src)}"
    )


COMPRESSION = {
    True: "compression offered (per-message deflate; the baseline declines it)",
    False: "compression off",
}


def report(results: list[RunResult], opts: Options) -> str:
    head = [c[0] if not opts.markdown else c[1] for c in COLUMNS]
    parts = [render(head, [row_of(r) for r in results], opts.markdown)]
    ratios = ratio_rows(results)
    if ratios:
        parts.append(render(RATIO_HEAD, ratios, opts.markdown))
    tls = tls_rows(results)
    if tls:
        parts.append(render(TLS_HEAD, tls, opts.markdown))
    several = servers_rows(results)
    if several:
        parts.append(render(SERVERS_HEAD, several, opts.markdown))
    notes = [f"{r.target} N={r.n} {r.mode}: {'; '.join(r.notes)}" for r in results if r.notes]
    if notes:
        parts.append("\n".join(notes))
    return "\n\n".join(parts)
