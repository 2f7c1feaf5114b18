"""The command table: every command the server takes, from every feature, by name.

Adding a command: its protocol class (shared/protocol.py), its row of who may send it
(shared/access.py), its handler and its `Entry` in the feature's module under
server/commands/, its section in docs/protocol.md and its walk entry
(tests/server/protocol_walk/walks.py). tests/server/commands/test_registry.py checks that all
of these exist for every command.
"""

from __future__ import annotations

from server.commands import (
    attendants,
    blocks,
    discrepancies,
    frontdesk,
    history,
    hotel,
    housekeeping,
    rooms,
    session,
    staff,
)
from server.commands.entry import Entry

FEATURES = (
    session,
    housekeeping,
    attendants,
    blocks,
    discrepancies,
    frontdesk,
    history,
    hotel,
    rooms,
    staff,
)


def _collect() -> dict[str, Entry]:
    table: dict[str, Entry] = {}
    for feature in FEATURES:
        for entry in feature.COMMANDS:
            if entry.name in table:
                raise RuntimeError(f"{entry.name} is declared twice")
            table[entry.name] = entry
    return table


REGISTRY: dict[str, Entry] = _collect()
