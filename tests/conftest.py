"""Shared fixtures: a demo store in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from shared.clock import ManualClock
from tests.support import FileKeyring, make_store


@pytest.fixture(autouse=True)
def test_keyring(tmp_path: Path) -> FileKeyring:
    """Every test keeps its secrets in a keyring file of its own, never the machine's."""
    backend = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(backend)
    return backend


@pytest.fixture(autouse=True)
def own_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This account's data folder (platformdirs) is the test's own, never the machine's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sqlite_demo_db(tmp_path: Path, clock: ManualClock) -> Path:
    """A fresh store file holding the demo hotel, loaded at the manual clock's time."""
    path = tmp_path / "roomrack.db"
    make_store(path, clock)
    return path


@pytest.fixture
def demo_db(sqlite_demo_db: Path) -> Path:
    """The demo store (tests/server/conftest.py makes it a PostgreSQL one half the time)."""
    return sqlite_demo_db
