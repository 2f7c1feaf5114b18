"""docs/protocol.md against the server's tables: the commands it names, who may send each,
the room actions, the results it spells out."""

from __future__ import annotations

from shared import access, protocol
from shared.rules import ROOM_ACTIONS
from tests.server.protocol_walk.document import Document


def test_the_document_names_every_command_and_no_other(doc: Document) -> None:
    assert doc.commands == set(protocol.COMMANDS), (
        f"not in docs/protocol.md: {sorted(set(protocol.COMMANDS) - doc.commands)}; "
        f"documented but unknown: {sorted(doc.commands - set(protocol.COMMANDS))}"
    )


def test_who_may_send_each_command_is_the_same_in_the_document_and_the_server(
    doc: Document,
) -> None:
    assert set(access.COMMAND_ROLES) == set(protocol.COMMANDS), (
        "shared/access.py COMMAND_ROLES needs a row for: "
        f"{sorted(set(protocol.COMMANDS) - set(access.COMMAND_ROLES))}"
    )
    for name, roles in doc.who.items():
        assert access.COMMAND_ROLES[name] == roles, name
    for name in doc.headings - set(doc.who):  # room.action, rooms.batch: by their actions
        assert access.COMMAND_ROLES[name] == frozenset().union(
            *(roles for roles, _ in doc.actions.values())
        ), name


def test_the_room_actions_table_is_the_rules_table(doc: Document) -> None:
    assert set(doc.actions) == set(ROOM_ACTIONS)
    for name, rule in ROOM_ACTIONS.items():
        assert doc.actions[name] == (rule.roles, rule.args), name


def test_the_document_spells_out_the_result_of_nearly_every_command(doc: Document) -> None:
    """Where a result is not written as `{...}` the document describes it in prose."""
    assert set(protocol.COMMANDS) - set(doc.results) == {"auth.login", "auth.token", "subscribe"}
    assert doc.results["room.action"] == {"room_number", "version", "room_status", "seq"}
    assert doc.results["room.rush_cancel"] == doc.results["room.rush"]
    assert doc.results["rooms.assign_split"] == {"rooms", "split", "seq"}
