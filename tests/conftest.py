"""Shared fixtures: a demo store in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from shared.clock import ManualClock
from tests.support import make_store


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def demo_db(tmp_path: Path, clock: ManualClock) -> Path:
    """A fresh store file holding the demo hotel, loaded at the manual clock's time."""
    path = tmp_path / "roomrack.db"
    make_store(path, clock)
    return path
