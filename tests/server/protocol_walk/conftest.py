"""The document, read once per test module."""

from __future__ import annotations

import pytest

from tests.server.protocol_walk.document import Document


@pytest.fixture(scope="module")
def doc() -> Document:
    return Document.read()
