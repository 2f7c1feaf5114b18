"""What a benchmark run is asked to do: the options and the command line that sets them."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.pgcluster import PgCluster

TARGETS = ("baseline", "roomrack", "roomrack-tls", "release")
MODES = ("paced", "burst", "connect")
STORES = ("sqlite", "postgresql")
WRITE_VIA = ("first", "all")
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
    store: str = "sqlite"  # Roomrack's store: an SQLite file, or a PostgreSQL database
    servers: list[int] = field(default_factory=lambda: [1])  # server processes per case
    write_via: str = "first"  # the commander writes through the first server, or all
    pg: PgCluster | None = None  # the throw-away PostgreSQL server of --store postgresql
    pin: bool = False  # servers on one half of the CPUs, the load generator on the other
    compression: bool = True  # the clients offer per-message compression, as the desktop does


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
        default=None,
        help="baseline, roomrack, roomrack-tls and/or release (the current release over plain"
        " ws, from bench/RELEASE or --release); default baseline,roomrack, or roomrack with"
        " --store postgresql",
    )
    p.add_argument(
        "--release",
        metavar="REF",
        help="the commit of the `release` target (default: bench/RELEASE)",
    )
    p.add_argument(
        "--store",
        choices=STORES,
        default="sqlite",
        help="Roomrack's store (default sqlite): postgresql starts a throw-away PostgreSQL"
        " server (tools/pgcluster.py) and gives each run a new database",
    )
    p.add_argument(
        "--servers",
        default="1",
        help="Roomrack server processes on one store, e.g. 1,2 (default 1; more than one"
        " needs --store postgresql); the subscribers are split evenly across them",
    )
    p.add_argument(
        "--write-via",
        choices=WRITE_VIA,
        default="first",
        help="with several servers, the commander writes through the first one (default)"
        " or spreads its connections over all of them",
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
    p.add_argument(
        "--pin",
        action="store_true",
        help="servers on the first half of the CPUs, subscribers and commander on the rest "
        "(by default they share every CPU)",
    )
    p.add_argument(
        "--compression",
        choices=["on", "off"],
        default="on",
        help="on (default): the subscribers and the commander offer per-message compression "
        "as the desktop does (servers without it answer without); off: they do not offer it",
    )
    a = p.parse_args(argv)
    ns = [int(x) for x in a.n.split(",") if x.strip()]
    duration = a.duration
    if a.quick:
        ns, duration = [10, 50], 3.0
    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    pg = a.store == "postgresql"
    chosen = a.targets or ("roomrack" if pg else "baseline,roomrack")
    targets = [t.strip() for t in chosen.split(",") if t.strip()]
    for m in modes:
        if m not in MODES:
            p.error(f"unknown mode {m!r}")
    for t in targets:
        if t not in TARGETS:
            p.error(f"unknown target {t!r}")
    servers = [int(x) for x in a.servers.split(",") if x.strip()]
    if not servers or any(k < 1 for k in servers):
        p.error("--servers takes counts of at least 1, e.g. 1,2")
    if a.store == "sqlite" and max(servers) > 1:
        p.error("several servers share a PostgreSQL database only: add --store postgresql")
    other = [t for t in targets if t not in ("roomrack", "roomrack-tls")]
    if pg and "connect" in modes:
        p.error("the connect mode runs on SQLite only")
    if pg and other:
        p.error(f"--store postgresql measures roomrack and roomrack-tls only, not {other}")
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
        store=a.store,
        servers=servers,
        write_via=a.write_via,
        pin=a.pin,
        compression=a.compression == "on",
    )
