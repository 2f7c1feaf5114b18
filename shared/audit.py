"""The audit trail as CSV rows: who did what, when, from where. Pure; used by the server's
command line and the desktop alike."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from shared.timeutil import from_iso

COLUMNS = [
    "time_local",
    "time_utc",
    "seq",
    "event",
    "room",
    "source",
    "staff",
    "role",
    "workstation",
    "changed",
    "detail",
    "request_id",
]


def describe(event: dict[str, Any]) -> str:
    """One line a manager can read: what the event says happened."""
    kind = event.get("type", "")
    p = event.get("payload", {})
    if kind == "room_updated":
        parts = []
        for name in p.get("changed_fields", []):
            value = p.get(name)
            if name in ("last_cleaned_at", "last_inspected_at", "changed_fields"):
                continue
            parts.append(f"{name}={'' if value is None else value}")
        return "; ".join(parts)
    if kind.startswith("reservation."):
        r = p.get("reservation", {})
        return (
            f"reservation {p.get('reservation_id')} ({r.get('guest_name', '')}) "
            f"{r.get('start', '')} to {r.get('end', '')}: {r.get('state', '')}"
        )
    if kind.startswith("staff."):  # the security log (logins, lockouts, account changes)
        return str(p.get("detail", ""))
    if kind == "room.update":
        if p.get("occupancy_status") == "overdue":
            return f"occupancy overdue since {p.get('overdue_since')}"
        return f"occupancy {p.get('occupancy_status')}, free in {p.get('time_until_free')} min"
    return ""


def rows(events: Iterable[dict[str, Any]], tz: ZoneInfo) -> Iterable[list[str]]:
    for ev in events:
        meta = ev.get("meta", {})
        actor = meta.get("actor") or {}
        ts = meta.get("ts", "")
        local = from_iso(ts).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if ts else ""
        payload = ev.get("payload", {})
        yield [
            local,
            ts,
            str(meta.get("seq", "")),
            ev.get("type", ""),
            str(payload.get("room_number") or meta.get("scope", {}).get("room_number") or ""),
            meta.get("source", ""),
            actor.get("name", "system" if not actor else ""),
            actor.get("role", ""),
            actor.get("workstation") or "",
            " ".join(payload.get("changed_fields", [])),
            describe(ev),
            meta.get("request_id") or "",
        ]


def to_csv(events: Iterable[dict[str, Any]], tz: ZoneInfo) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows(events, tz))
    return out.getvalue()
