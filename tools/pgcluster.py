"""A throw-away PostgreSQL server for the tests and benchmarks: `initdb` in a temporary folder,
`pg_ctl start` on a free port of 127.0.0.1, gone again at `stop()`.

Debian's `postgresql` package (installed by .ci/run) puts its programs in
/usr/lib/postgresql/<version>/bin, which is not on PATH; they are looked for there first.
PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` account that
the package creates. The cluster is made for speed, not safety (no fsync): it holds nothing
that must outlive it.

    python -m tools.pgcluster     # start one and print its URL, until Enter is pressed
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "128MB",
    "listen_addresses": "'127.0.0.1'",
}


class NoPostgres(RuntimeError):
    """PostgreSQL's server programs are not installed here."""


def find_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if found:
        return found[0]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise NoPostgres(f"{name} not found (install Debian's postgresql package)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    def __init__(self, base: Path | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="roomrack-pg-", dir=base))
        self.data = self.folder / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self._started = False

    def _run(self, *argv: str) -> None:
        cmd = list(argv)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> PgCluster:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run(find_bin("initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust")
        with open(self.data / "postgresql.conf", "a") as conf:
            for key, value in SETTINGS.items():
                conf.write(f"{key} = {value}\n")
            conf.write(f"port = {self.port}\nunix_socket_directories = '{self.folder}'\n")
        self._run(
            find_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "start"
        )
        self._started = True
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def sql(self, statement: str, dbname: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as con:
            con.execute(statement.encode())

    def create_database(self, name: str, template: str | None = None) -> str:
        like = f" TEMPLATE {template}" if template else ""
        self.sql(f'CREATE DATABASE "{name}"{like}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._run(find_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


if __name__ == "__main__":
    cluster = PgCluster().start()
    print(cluster.url(), flush=True)
    try:
        input("PostgreSQL is running; press Enter to stop it. ")
    finally:
        cluster.stop()
