"""Channel names: `{slug}.rooms` (the overview), `{slug}.rooms.{number}` (one room) and
`{slug}.reservations`."""

from __future__ import annotations

import re

from shared.errors import ErrorCode, ProtocolError

# Patterns of whole values: always matched with `fullmatch`.
SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
ROOM_NUMBER_RE = re.compile(r"[A-Za-z0-9\-]{1,16}")


def overview_channel(slug: str) -> str:
    return f"{slug}.rooms"


def room_channel(slug: str, room_number: str) -> str:
    return f"{slug}.rooms.{room_number}"


def reservations_channel(slug: str) -> str:
    return f"{slug}.reservations"


def parse_channel(name: str) -> tuple[str, str, str | None]:
    """Split a channel name into (hotel_slug, kind, room_number); kind is overview/room/
    reservations. Raises ProtocolError(unknown_channel) for anything else."""
    if not isinstance(name, str) or len(name) > 120:
        raise ProtocolError(ErrorCode.UNKNOWN_CHANNEL, "A channel name is a short string.")
    parts = name.split(".")
    if len(parts) >= 2 and SLUG_RE.fullmatch(parts[0]):
        slug = parts[0]
        if parts[1:] == ["rooms"]:
            return slug, "overview", None
        if parts[1:] == ["reservations"]:
            return slug, "reservations", None
        if len(parts) == 3 and parts[1] == "rooms" and ROOM_NUMBER_RE.fullmatch(parts[2]):
            return slug, "room", parts[2]
    raise ProtocolError(ErrorCode.UNKNOWN_CHANNEL, f"There is no channel '{name}'.")
