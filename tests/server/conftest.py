"""The server's tests run on both engines: every test that uses a store (`demo_db`, or the
`engine` fixture itself) runs once on an SQLite file and once on a PostgreSQL database of a
throw-away PostgreSQL server that the tests start themselves (tools/pgcluster.py).

A test about what only an SQLite file has (the file lock, the file's damage check, backups
of the file) is marked `@pytest.mark.sqlite_only` and runs once. ROOMRACK_TEST_ENGINES=sqlite
(or =postgresql) runs one engine only, for a quicker look while working.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.clock import ManualClock
from tests.pg import new_database, postgres_store

ENGINES = [e for e in os.environ.get("ROOMRACK_TEST_ENGINES", "sqlite,postgresql").split(",") if e]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" not in metafunc.fixturenames:
        return
    only = metafunc.definition.get_closest_marker("sqlite_only") is not None
    engines = ["sqlite"] if only else ENGINES
    metafunc.parametrize("engine", engines, indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def demo_db(
    engine: str, tmp_path: Path, clock: ManualClock, request: pytest.FixtureRequest
) -> object:
    """A fresh store holding the demo hotel at the manual clock's time: an SQLite file, or a
    new PostgreSQL database (a `Postgres` URL, which every server and command takes as a
    store just as it takes a path)."""
    if engine == "postgresql":
        return postgres_store(request, clock)
    return request.getfixturevalue("sqlite_demo_db")


@pytest.fixture
def fresh_store(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> object:
    """Where a new, empty store goes: an SQLite file that does not exist yet, or a new empty
    PostgreSQL database."""
    if engine == "postgresql":
        return new_database(request)
    return tmp_path / "fresh.db"
