"""The command table is complete: every command the protocol parses has one entry, with who
may send it, what runs it, a walk entry that sends it over a real connection
(tests/server/protocol_walk/) and a place in docs/protocol.md."""

from __future__ import annotations

from server.commands.entry import EDGE, READ, WRITE
from server.commands.registry import FEATURES, REGISTRY
from shared import protocol
from tests.server.protocol_walk.document import Document
from tests.server.protocol_walk.walks import WALK


def test_every_command_the_protocol_parses_has_exactly_one_entry() -> None:
    assert set(REGISTRY) == set(protocol.COMMANDS)
    declared = [entry.name for feature in FEATURES for entry in feature.COMMANDS]
    assert len(declared) == len(set(declared))


def test_every_entry_parses_its_own_protocol_class() -> None:
    for name, entry in REGISTRY.items():
        assert protocol.COMMANDS[name] is entry.command, name


def test_every_entry_says_who_may_send_it() -> None:
    for name, entry in REGISTRY.items():
        assert entry.roles, f"{name}: no role may send it (shared/access.py)"


def test_writes_and_reads_name_what_runs_them_and_edges_are_the_transport_s() -> None:
    for name, entry in REGISTRY.items():
        assert entry.kind in (WRITE, READ, EDGE), name
        assert (entry.run is None) == (entry.kind == EDGE), name


def test_every_command_is_sent_over_a_real_connection_and_documented() -> None:
    doc = Document.read()
    for name in REGISTRY:
        assert name in WALK, f"{name}: no entry in the protocol walk"
        assert name in doc.commands, f"{name}: not in docs/protocol.md"
