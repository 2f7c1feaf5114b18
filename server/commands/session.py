"""The commands of a connection itself: logging in and out, subscribing to channels, saying
which room this desk looks at (presence), pinging, and proving a pairing code. They need the
connection or the server's own state, so their handlers live with the transport
(server/sessions.py); who may send them is in shared/access.py like every command's."""

from __future__ import annotations

from server.commands.entry import EDGE, Entry
from shared import protocol

COMMANDS = tuple(
    Entry(cls, EDGE)
    for cls in (
        protocol.Login,
        protocol.TokenLogin,
        protocol.Logout,
        protocol.Subscribe,
        protocol.Unsubscribe,
        protocol.PresenceViewing,
        protocol.Ping,
        protocol.PairProve,
    )
)
