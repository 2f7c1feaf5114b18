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


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def demo_db(tmp_path: Path, clock: ManualClock) -> Path:
    """A fresh store file holding the demo hotel, loaded at the manual clock's time."""
    path = tmp_path / "roomrack.db"
    make_store(path, clock)
    return path
