"""PostgreSQL for the tests: one throw-away server per test run (tools/pgcluster.py), started
at the first test that needs it, and a new database for every test, copied from a template
that holds the demo hotel (a copy takes a few hundredths of a second; loading the demo
again would take ten times that).

Where PostgreSQL is not installed, its tests are skipped saying so; under CI (CI set) they
fail instead, since .ci/run installs it.
"""

from __future__ import annotations

import atexit
import itertools
import os
from datetime import datetime

import pytest

from server.engine import Postgres
from shared.clock import ManualClock
from tests.support import make_store
from tools.pgcluster import NoPostgres, PgCluster

_cluster: PgCluster | None = None
_templates: dict[datetime, str] = {}
_names = itertools.count()


def cluster() -> PgCluster:
    global _cluster
    if _cluster is None:
        try:
            _cluster = PgCluster().start()
        except NoPostgres as exc:
            if os.environ.get("CI"):
                raise
            pytest.skip(f"PostgreSQL is not installed here ({exc})")
        atexit.register(_cluster.stop)
    return _cluster


def new_database(request: pytest.FixtureRequest, template: str | None = None) -> Postgres:
    """A new database, dropped when the test ends."""
    c = cluster()
    name = f"t{os.getpid()}_{next(_names)}"
    url = c.create_database(name, template)
    request.addfinalizer(lambda: c.drop_database(name))
    return Postgres(url)


def postgres_store(request: pytest.FixtureRequest, clock: ManualClock) -> Postgres:
    """A new database holding the demo hotel loaded at `clock`'s time."""
    c = cluster()
    template = _templates.get(clock.now())
    if template is None:
        template = f"demo_{len(_templates)}"
        make_store(Postgres(c.create_database(template)), clock)
        _templates[clock.now()] = template
    return new_database(request, template)
