"""What a benchmark run is asked to do: the options and the command line that sets them."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

TARGETS = ("baseline", "roomrack", "roomrack-tls", "release")
MODES = ("paced", "burst", "connect")
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Options:
    ns: list[int]
    modes: list[str]
    targets: list[str]
    duration: float
    rate: float
    inflight: int
    workers: int
    commander_conns: int
    floors: int
    rooms_per_floor: int
    synchronous: str
    frame_bytes: int
    markdown: bool
    keep: bool = False
    profile: Path | None = None
    quiet_wait: float = 120.0
    json: Path | None = None
    repeat: int = 1
    from_json: Path | None = None
    src: Path = ROOT
    release: str | None = None  # the commit measured as the `release` target (bench/RELEASE)
    release_src: Path | None = None  # that commit's tree, exported for the run


def parse_args(argv: list[str] | None, description: str = "") -> Options:
    """The options of a command line; `description` heads its --help."""
    p = argparse.ArgumentParser(
        prog="python -m bench.realtime",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--n", default="50,200,1000", help="subscriber counts (default 50,200,1000)")
    p.add_argument(
        "--modes",
        default="paced,burst",
        help="paced, burst and/or connect (N desks with their own tokens connect at once)",
    )
    p.add_argument(
        "--targets",
        default="baseline,roomrack",
        help="baseline, roomrack, roomrack-tls and/or release (the current release over plain"
        " ws, from bench/RELEASE or --release)",
    )
    p.add_argument(
        "--release",
        metavar="REF",
        help="the commit of the `release` target (default: bench/RELEASE)",
    )
    p.add_argument("--duration", type=float, default=10.0, help="seconds of commands per run")
    p.add_argument("--rate", type=float, default=200.0, help="paced: commands per second")
    p.add_argument("--inflight", type=int, default=32, help="burst: commands in flight")
    p.add_argument("--workers", type=int, default=2, help="subscriber processes")
    p.add_argument("--commander-conns", type=int, default=4, help="commander connections")
    p.add_argument("--floors", type=int, default=8)
    p.add_argument("--rooms-per-floor", type=int, default=25)
    p.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    p.add_argument(
        "--frame-bytes",
        type=int,
        default=900,
        help="the baseline pads its event frames to this size (about Roomrack's)",
    )
    p.add_argument(
        "--repeat", type=int, default=1, help="runs of each case; the median run is reported"
    )
    p.add_argument("--quick", action="store_true", help="a short smoke run (N=10,50; 3 s)")
    p.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    p.add_argument("--keep", action="store_true", help="keep the stores and server logs")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.add_argument(
        "--roomrack-src",
        type=Path,
        default=ROOT,
        metavar="DIR",
        help="run Roomrack from this source tree (e.g. an exported commit; default: this one)",
    )
    p.add_argument(
        "--from-json", type=Path, metavar="FILE", help="print the report of a --json file again"
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="before each run, wait up to this long for the machine to be idle (default 120)",
    )
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample the server with py-spy during each run (collapsed stacks in DIR)",
    )
    a = p.parse_args(argv)
    ns = [int(x) for x in a.n.split(",") if x.strip()]
    duration = a.duration
    if a.quick:
        ns, duration = [10, 50], 3.0
    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    targets = [t.strip() for t in a.targets.split(",") if t.strip()]
    for m in modes:
        if m not in MODES:
            p.error(f"unknown mode {m!r}")
    for t in targets:
        if t not in TARGETS:
            p.error(f"unknown target {t!r}")
    if any(n < 1 for n in ns) or a.rate <= 0 or a.inflight < 1 or duration <= 0:
        p.error("N, rate, in-flight and duration must be positive")
    return Options(
        ns=ns,
        modes=modes,
        targets=targets,
        duration=duration,
        rate=a.rate,
        inflight=a.inflight,
        workers=a.workers,
        commander_conns=a.commander_conns,
        floors=a.floors,
        rooms_per_floor=a.rooms_per_floor,
        synchronous=a.synchronous,
        frame_bytes=a.frame_bytes,
        markdown=a.markdown,
        keep=a.keep,
        profile=a.profile,
        quiet_wait=a.quiet_wait,
        json=a.json,
        repeat=max(1, a.repeat),
        from_json=a.from_json,
        src=a.roomrack_src.resolve(),
        release=a.release,
    )
