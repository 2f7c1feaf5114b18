"""The frames a Roomrack server sends: hello, ack, error, the event envelope, and the
documented table of every other kind with the fields it always carries (docs/protocol.md
describes each)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shared.errors import EXPLANATIONS, ErrorCode, ProtocolError

PROTOCOL_VERSION = 1
# what this server offers beyond protocol 1 as first published, named in `hello`: a client
# uses a feature only if its name is there (so a newer client works with an older server)
FEATURES = ("batch",)  # subscribe's "batch": events that go out together in one frame


def hello(
    epoch: str,
    limits: dict[str, Any],
    heartbeat: dict[str, float],
    tls: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The first frame of every connection. `tls` is None over plain ws, else the served
    certificate's fingerprint and code and the next one's while a rotation is pending."""
    return {
        "type": "hello",
        "server": "roomrack",
        "protocol": PROTOCOL_VERSION,
        "epoch": epoch,
        "limits": limits,
        "heartbeat": heartbeat,
        "tls": tls,
        "features": list(FEATURES),
    }


def ack(request_id: str | None, result: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "ack", "request_id": request_id, "result": result or {}}


def error(
    request_id: str | None,
    code: ErrorCode,
    message: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "type": "error",
        "request_id": request_id,
        "code": code.value,
        "message": message or EXPLANATIONS[code],
        "details": details or {},
    }


def error_from(request_id: str | None, exc: ProtocolError) -> dict[str, Any]:
    return error(request_id, exc.code, exc.message, exc.details)


@dataclass(frozen=True)
class EventMeta:
    hotel_slug: str
    event_id: str
    ts: str
    seq: int
    source: str
    actor: dict[str, Any] | None
    scope: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None


def event(category: str, kind: str, payload: dict[str, Any], meta: EventMeta) -> dict[str, Any]:
    """The event envelope of the room notification document, with seq, source and actor."""
    m: dict[str, Any] = {
        "hotel_slug": meta.hotel_slug,
        "event_id": meta.event_id,
        "ts": meta.ts,
        "scope": meta.scope,
        "seq": meta.seq,
        "source": meta.source,
        "actor": meta.actor,
    }
    if meta.request_id is not None:
        m["request_id"] = meta.request_id
    return {"category": category, "type": kind, "payload": payload, "meta": m}


EVENT_TYPES = frozenset(
    {
        "room_updated",
        "room.update",
        "reservation.created",
        "reservation.confirmed",
        "reservation.cancelled",
        "reservation.deleted",
        "reservation.checked_in",
        "reservation.checked_out",
        "room.rush_ready",
        "block.created",
        "block.started",
        "block.ended",
        "discrepancy.raised",
        "discrepancy.resolved",
        "hotel.rollover",
        "hotel.configured",
        "room_created",
        "room_retired",
        "room_type_created",
        "room_type_updated",
        "room_type_retired",
    }
)


def parse_server_frame(frame: str | bytes) -> dict[str, Any]:
    """Parse a server frame for a client; raises ValueError if it is not a typed object.
    Lenient on purpose: a newer server may send kinds this client does not know yet."""
    data = json.loads(frame)
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ValueError("server frame without a type")
    return data


# Every kind of frame the server sends that is not a journal event, with the fields it always
# carries (docs/protocol.md describes each). Journal events are checked by their envelope.
SERVER_FRAMES: dict[str, frozenset[str]] = {
    "hello": frozenset({"server", "protocol", "epoch", "limits", "heartbeat", "tls", "features"}),
    "ack": frozenset({"request_id", "result"}),
    "error": frozenset({"request_id", "code", "message", "details"}),
    "heartbeat": frozenset({"channel", "head_seq", "server_time", "timestamp"}),
    "rooms.status": frozenset({"channel", "seq", "timestamp", "rooms", "day"}),
    "room.status": frozenset({"channel", "seq", "timestamp", "status"}),
    "reservations.status": frozenset({"channel", "seq", "timestamp", "reservations", "date"}),
    "presence": frozenset({"hotel_slug", "server_time", "online"}),
    "session.ended": frozenset({"code", "reason", "message"}),
    "events": frozenset({"events"}),  # batched events (subscribe with "batch": true)
}
EVENT_META = frozenset({"hotel_slug", "event_id", "ts", "scope", "seq", "source", "actor"})


def check_server_frame(data: dict[str, Any]) -> str:
    """Check a parsed server frame against the documented shapes (for tests and strict
    clients): a known kind with every field it always carries, or a journal event with its
    whole envelope. Returns the kind; raises ValueError naming what is wrong."""
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ValueError("server frame without a type")
    if kind in EVENT_TYPES:
        if not {"category", "payload", "meta"} <= data.keys():
            raise ValueError(f"{kind}: not an event envelope")
        meta = data["meta"]
        missing = EVENT_META - meta.keys() if isinstance(meta, dict) else EVENT_META
        if missing or not isinstance(data["payload"], dict):
            raise ValueError(f"{kind}: meta lacks {sorted(missing)} or payload is not an object")
        return kind
    fields = SERVER_FRAMES.get(kind)
    if fields is None:
        raise ValueError(f"unknown server frame {kind!r}")
    missing = fields - data.keys()
    if missing:
        raise ValueError(f"{kind} lacks {sorted(missing)}")
    if kind == "heartbeat" and not {"rooms", "status"} & data.keys():
        raise ValueError("heartbeat without rooms or status")
    if kind == "events":
        batch = data["events"]
        if not isinstance(batch, list) or not batch:
            raise ValueError("events: not a list of events")
        for ev in batch:
            if not isinstance(ev, dict) or ev.get("type") not in EVENT_TYPES:
                raise ValueError("events: an entry is not an event")
            check_server_frame(ev)
    return kind
