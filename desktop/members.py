"""The addresses a desk connects to: one server, or the members of a cluster (several servers
on one database, sharing one certificate, which serve one stream).

A person types them separated by commas or spaces (`reception-pc:8765, standby-pc:8765`, each
as one address is typed: `host`, `host:port`, `wss://host:port`); the settings keep them as a
list. The session tries them in order and, when the one in use is lost or cannot be reached,
moves on to the next by itself: at once while some member is still untried since the last
good connection, and after the usual backoff once every member has failed in turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from desktop.pinning import address_of
from desktop.session_errors import normalise_url

SEPARATORS = re.compile(r"[\s,;]+")


def split_addresses(text: str | Iterable[str]) -> list[str]:
    """The addresses in `text` (or in each text of a list), in order, each once."""
    texts = [text] if isinstance(text, str) else list(text)
    parts = [part for t in texts for part in SEPARATORS.split(t) if part]
    seen: set[str] = set()
    found = []
    for part in parts:
        key = part.rstrip("/").lower()
        if key not in seen:
            seen.add(key)
            found.append(part)
    return found


def parse_addresses(text: str | Iterable[str], insecure: bool = False) -> list[str]:
    """The server URLs of `text`, made whole as one address is (desktop/session_errors.py),
    in order, each server (`host:port`) once."""
    seen: set[str] = set()
    urls = []
    for part in split_addresses(text):
        url = normalise_url(part, insecure)
        if url and address_of(url) not in seen:
            seen.add(address_of(url))
            urls.append(url)
    return urls


def address_text(urls: Sequence[str]) -> str:
    """The addresses as one line, as the login dialog shows them."""
    return ", ".join(urls)


class Members:
    """The URLs of the session's server(s), in the order tried; `current` is the one in use."""

    def __init__(self, urls: Sequence[str] = ()) -> None:
        self.urls = list(urls)
        self.index = 0
        self._failed = 0  # members that failed in turn since the last good connection

    def __len__(self) -> int:
        return len(self.urls)

    @property
    def current(self) -> str:
        return self.urls[self.index] if self.urls else ""

    def index_of(self, url: str) -> int | None:
        """Where `url` (any spelling of a member's `host:port`) is in the list, if it is."""
        wanted = address_of(url)
        return next((i for i, u in enumerate(self.urls) if address_of(u) == wanted), None)

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and self.index_of(url) is not None

    def go_to(self, index: int) -> str:
        self.index = index % len(self.urls) if self.urls else 0
        return self.current

    def failed(self) -> bool:
        """The member in use failed, or its connection was lost: move on to the next. True
        when that one is still untried since the last good connection (try it at once); False
        when every member has failed in turn (pause before the next round)."""
        self._failed += 1
        self.go_to(self.index + 1)
        if self._failed < len(self.urls):
            return True
        self._failed = 0
        return False

    def connected(self) -> None:
        """The member in use is live: a later loss starts a new round from it."""
        self._failed = 0

    def position(self) -> str:
        """Which member is in use, as the header says it: `2 of 3` ("" for a single one)."""
        return f"{self.index + 1} of {len(self.urls)}" if len(self.urls) > 1 else ""
