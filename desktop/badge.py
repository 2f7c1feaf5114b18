"""What the header says of the connection: the colour of its dot, its words ("Live · last
heartbeat 10:31:02", "Reconnecting (attempt 3, next try in 4 s) · offline since 10:31:40";
with several server addresses also which one: "Live on standby-pc:8765 · …"), the transport
mark beside the lock, and the banner over a board that may be out of date.
Pure: it reads the session and the hotel's time zone and returns words and colours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from desktop import trust
from desktop.pinning import address_of
from desktop.session import Session
from desktop.theme import STATE_COLOURS


@dataclass(frozen=True)
class Badge:
    """The connection, as the header shows it."""

    colour: str  # of the dot
    text: str  # the words beside it
    banner: str | None  # over the board while offline with rooms on it; None hides it
    mark: str  # beside the lock: the certificate's code, a plain-connection warning, or ""
    tip: str  # the mark's tooltip
    mark_colour: str
    locked: bool  # a certificate was checked: the lock is closed
    server: str = ""  # which of several server addresses is in use ("" for a single one)
    server_tip: str = ""  # the words' tooltip: every address, and which one is in use


def clock_text(dt: datetime | None, tz: ZoneInfo) -> str:
    """The time of day in the hotel's time zone, to the second ("" for none)."""
    if dt is None:
        return ""
    return dt.astimezone(tz).strftime("%H:%M:%S")


def badge(s: Session, tz: ZoneInfo, has_rooms: bool) -> Badge:
    """The badge of session `s` now; `has_rooms`: the board shows rooms (the last known)."""
    state = s.state.value
    server, server_tip = where(s)
    since = clock_text(s.offline_since, tz) if s.offline_since else ""
    banner: str | None = None
    if state == "live":
        if s.last_heartbeat:
            text = f"Live{on(server)} · last heartbeat {clock_text(s.last_heartbeat, tz)}"
        else:
            text = f"Live{on(server)} since {clock_text(s.live_since, tz)}"
    elif state == "connecting":
        text = "Connecting…"
    elif state == "reconnecting":
        wait = ""
        if s.retry_at is not None:
            secs = max(0, round(s.retry_at - s.clock.monotonic()))
            wait = f", next try in {secs} s"
        to = f" to {server}" if server else ""
        text = f"Reconnecting{to} (attempt {max(1, s.attempts)}{wait})"
    else:
        text = "Offline"
    if state != "live" and has_rooms:
        banner = (
            f"Offline since {since or '—'}: the board shows the last known state and may be "
            f"out of date. {text}. Press F5 or “Reconnect” to try now."
        )
    if state != "live" and since:
        text += f" · offline since {since}"
    mark, tip, mark_colour = trust.transport_words(s)
    return Badge(
        colour=STATE_COLOURS.get(state, "#C0392B"),
        text=text,
        banner=banner,
        mark=mark,
        tip=tip,
        mark_colour=mark_colour,
        locked=bool(s.fingerprint),
        server=server,
        server_tip=server_tip,
    )


def on(server: str) -> str:
    return f" on {server}" if server else ""


def where(s: Session) -> tuple[str, str]:
    """Which of several server addresses the session uses (`host:port`), and a tooltip that
    lists them all; ("", "") for a single address."""
    if len(s.members) < 2 or not s.url:
        return "", ""
    server = address_of(s.url)
    lines = [f"Server {s.members.position()}: {server}", "The desk moves on by itself to:"]
    lines += [f"  {address_of(u)}" for u in s.members.urls if address_of(u) != server]
    return server, "\n".join(lines)
