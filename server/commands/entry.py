"""One row of the command table: a command's name, who may send it, what it parses, and what
runs it. Every feature module in server/commands/ declares its rows in a `COMMANDS` tuple;
server/commands/registry.py collects them, and the transport (server/app.py) looks a frame's
command up there and knows nothing else of it.

Kinds:
- WRITE: `run(services, staff, cmd) -> Outcome`, inside the store's write transaction (group
  commit); the events it journals are published after the commit (server/publish.py).
- READ: `run(services, staff, cmd) -> result`, on the store thread; the reply is an ack with
  that result.
- EDGE: needs the connection or the server itself (logging in, subscribing, presence,
  pairing, ending other desks' sessions); `run` is None and the transport names its handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared import access, protocol
from shared.rules import Role

WRITE, READ, EDGE = "write", "read", "edge"


@dataclass(frozen=True)
class Entry:
    command: type[protocol.Command]  # parsed with shared.protocol (its `type` is the name)
    kind: str  # WRITE, READ or EDGE
    run: Callable[..., Any] | None = None

    @property
    def name(self) -> str:
        return self.command.type

    @property
    def roles(self) -> frozenset[Role]:
        """Who may send it: the one table of shared/access.py (the desktop reads it too)."""
        return access.COMMAND_ROLES.get(self.name, frozenset())


def hotel_list(key: str, read: Callable[[Any, int], Any]) -> Callable[..., dict[str, Any]]:
    """A READ that answers `{key: read(services, hotel id), "seq": head}` for the sender's
    hotel; `seq` is the journal head the list is consistent with (read in the same turn of the
    store's thread), so a client knows which events are newer than the list."""

    def run(services: Any, staff: Any, cmd: protocol.Command) -> dict[str, Any]:
        return {key: read(services, staff.hotel_id), "seq": services.head_seq(staff.hotel_id)}

    return run
