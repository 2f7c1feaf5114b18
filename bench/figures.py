"""The figures of one run, and the median of several runs (also re-read from a --json file)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RunResult:
    target: str
    n: int
    mode: str
    commands: int = 0
    cmd_rate: float = 0.0
    events_per_s: float = 0.0
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    lost: int = 0
    server_cpu: float = 0.0  # share of one core during the run
    server_peak_mb: float = 0.0
    subs_cpu: float = 0.0  # all subscriber workers together, share of one core
    subs_cpu_max: float = 0.0  # the busiest subscriber worker
    cmd_cpu: float = 0.0
    machine_busy: float = 0.0  # all CPUs of the machine, busy share
    softirq: float = 0.0
    steal: float = 0.0
    other_load: float = 0.0  # CPU used by processes outside the benchmark, in cores
    runs: int = 1
    spread: tuple[float, float] = (0.0, 0.0)  # events/s, lowest and highest of the runs
    lost_any: int = 0
    ack_p50_ms: float = math.nan
    ack_p99_ms: float = math.nan
    errors: int = 0
    dropped: int = 0
    window_s: float = 0.0
    store: str = "sqlite"  # Roomrack's store: sqlite or postgresql
    servers: int = 1  # Roomrack server processes on that store
    write_via: str = "first"  # the commander wrote through the first server, or all
    commits_per_s: float = 0.0  # PostgreSQL: transactions that wrote, per second
    pg_cpu: float = 0.0  # PostgreSQL: all its processes, share of one core
    disordered: int = 0  # subscribers whose events were not the journal's, once each, in order
    notes: list[str] = field(default_factory=list)

    @property
    def case(self) -> tuple[str, int, str, int]:
        """What was measured: the target (and its store), N, the mode and the servers."""
        return (label(self), self.n, self.mode, self.servers)


def label(r: RunResult) -> str:
    """The target as the tables name it: `roomrack`, or `roomrack pg×2` for two servers on
    PostgreSQL (`+all` when the commander wrote through every server)."""
    if r.store == "sqlite" and r.servers == 1:
        return r.target
    via = "+all" if r.write_via == "all" and r.servers > 1 else ""
    return f"{r.target} {'pg' if r.store == 'postgresql' else r.store}×{r.servers}{via}"


def pct(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return math.nan
    k = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[k] / 1e6


def median_run(runs: list[RunResult]) -> RunResult:
    """One row for several runs of a case: the median of each figure, the worst loss, the
    highest peak memory, and the range of delivered events per second."""
    if len(runs) == 1:
        return runs[0]

    def med(get: Callable[[RunResult], float]) -> float:
        values = sorted(get(r) for r in runs)
        k = len(values)
        return values[k // 2] if k % 2 else (values[k // 2 - 1] + values[k // 2]) / 2

    first = runs[0]
    out = RunResult(first.target, first.n, first.mode)
    for f in dataclasses.fields(RunResult):
        value = getattr(first, f.name)
        if isinstance(value, float | int) and not isinstance(value, bool):
            name = f.name
            merged = med(lambda r: float(getattr(r, name)))  # noqa: B023
            setattr(out, f.name, round(merged) if isinstance(value, int) else merged)
    out.store, out.write_via = first.store, first.write_via
    out.lost = out.lost_any = max(r.lost for r in runs)
    out.disordered = max(r.disordered for r in runs)
    out.dropped = max(r.dropped for r in runs)
    out.server_peak_mb = max(r.server_peak_mb for r in runs)
    out.runs = len(runs)
    rates = sorted(r.events_per_s for r in runs)
    out.spread = (rates[0], rates[-1])
    out.notes = sorted({note for r in runs for note in r.notes})
    return out


def from_json(path: Path) -> tuple[str, list[RunResult]]:
    """Re-read a --json file: every run as it was printed; a run that other programs
    disturbed and that was then done once more is left out, as in the live report."""
    doc = json.loads(path.read_text())
    runs = []
    for row in doc["runs"]:
        row["spread"] = tuple(row.get("spread", (0.0, 0.0)))
        runs.append(RunResult(**row))
    kept: dict[tuple[str, int, str, int], list[RunResult]] = {}
    for i, r in enumerate(runs):
        nxt = runs[i + 1] if i + 1 < len(runs) else None
        redone = nxt is not None and r.other_load > 0.25 and nxt.case == r.case
        if not redone:
            kept.setdefault(r.case, []).append(r)
    return str(doc["machine"]), [median_run(v) for v in kept.values()]
