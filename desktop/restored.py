"""Telling staff that the server's data went back to an earlier time (its store was restored
from a backup, or replaced): a banner above the board that stays until someone has read it,
naming when the data is from (the last change the server's journal now holds)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from desktop.theme import named
from shared.timeutil import clock_text, from_iso, to_iso

STYLE = """
QFrame#restoredBanner { background: #FDEDEC; border-bottom: 2px solid #C0392B; }
QFrame#restoredBanner QLabel { color: #78281F; font-weight: 600; }
"""

Call = Callable[..., Awaitable[dict[str, Any]]]


def restored_words(last_change: datetime | None, tz: ZoneInfo, now: datetime) -> str:
    """The banner's words: what happened, when the data is from (if known), what it means."""
    when = (
        f" Its data is from {clock_text(last_change, tz, now)} (its last recorded change)."
        if last_change is not None
        else ""
    )
    return (
        "The server's data went back to an earlier time: it was restored from a backup or"
        f" replaced.{when} Anything done after that is no longer on the board; check the rooms"
        " you changed since then."
    )


async def last_change_at(call: Call, head_seq: Any, now: datetime) -> datetime | None:
    """When the last event the server's journal holds was committed (None if none)."""
    if not isinstance(head_seq, int) or head_seq <= 0:
        return None
    reply = await call(
        "journal.range",
        since="2000-01-01T00:00:00Z",
        until=to_iso(now + timedelta(minutes=1)),
        limit=1,
        after_seq=head_seq - 1,
    )
    events = (reply.get("result") or {}).get("events") or [] if reply.get("type") == "ack" else []
    try:
        return from_iso(str(events[0]["meta"]["ts"])) if events else None
    except (KeyError, TypeError, ValueError):
        return None


class RestoredBanner(QFrame):
    """Hidden until the session says the server's store is another timeline; then it stays
    until *I have read this* is pressed. As soon as the connection is live it asks the server
    for its last change, to say when the data is from."""

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("restoredBanner")
        self.setStyleSheet(STYLE)
        # the session only: a reference back to the window would make a cycle that Python's
        # collector breaks at a random moment, in a random thread
        self.session = session
        self._head_seq: Any = None  # the fresh snapshot's head, until its time is known
        self._tasks: set[asyncio.Future[Any]] = set()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 5, 10, 5)
        self.text = named(QLabel(""), "restoredText")
        self.text.setWordWrap(True)
        lay.addWidget(self.text, 1)
        self.read_button = QPushButton("I have read this")
        self.read_button.setToolTip("Hide this message")
        self.read_button.clicked.connect(self.hide)
        lay.addWidget(self.read_button)
        self.hide()
        session.store_replaced.connect(self.on_store_replaced)
        session.state_changed.connect(self._on_state)

    def tz(self) -> ZoneInfo:
        """The hotel's time zone (it comes with the login)."""
        try:
            return ZoneInfo(str(self.session.hotel.get("timezone") or "UTC"))
        except Exception:
            return ZoneInfo("UTC")

    def now(self) -> datetime:
        result: datetime = self.session.clock.now()
        return result

    def on_store_replaced(self, info: dict[str, Any]) -> None:
        self._head_seq = info.get("head_seq")
        self.show_restored(None)

    def show_restored(self, last_change: datetime | None) -> None:
        self.text.setText(restored_words(last_change, self.tz(), self.now()))
        self.show()

    def _on_state(self, state: str) -> None:
        if state == "live" and self._head_seq is not None:
            head, self._head_seq = self._head_seq, None
            task = asyncio.ensure_future(self._name_the_time(head))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _name_the_time(self, head: Any) -> None:
        when = await last_change_at(self.session.call, head, self.now())
        if when is not None and not self.isHidden():
            self.show_restored(when)
