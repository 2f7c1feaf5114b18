"""Which certificate each server may present: pins kept per server address, as SSH keeps
`known_hosts`.

The desktop connects with TLS without a certificate authority, then compares the SHA-256 of
the certificate it received with the pin of that address before it sends anything:

- no pin yet: ask the person (compare the code, or type a pairing code), then pin it;
- the pin: go on; the pinned *next* certificate (announced during a rotation): it becomes
  the pin;
- anything else: refuse, with the warning that the certificate changed.

The members of one address list (a cluster: servers of one database) share one certificate:
an address without a pin of its own takes the pin of another member of its list, so a
certificate pinned for the list, or for any member of it, is accepted on every member.

Pins live with the secrets (desktop/secrets.py), one entry per address (`host:port`).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from desktop.secrets import Secrets
from shared.pairing import fingerprint_code


class Verdict(StrEnum):
    PINNED = "pinned"  # the pinned certificate
    NEXT = "next"  # the next one, announced before a rotation: pinned now
    UNKNOWN = "unknown"  # no pin for this address yet
    CHANGED = "changed"  # a pin, and this is not it


def address_of(url: str) -> str:
    """The identity a pin belongs to: `host:port` of a server URL, lower case."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    return f"{host}:{port}"


def client_context() -> ssl.SSLContext:
    """TLS without a certificate authority: the pin check replaces the chain check."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def peer_certificate(transport: Any) -> bytes | None:
    """The DER bytes of the certificate the server presented on this connection."""
    obj = transport.get_extra_info("ssl_object") if transport is not None else None
    der = obj.getpeercert(binary_form=True) if obj is not None else None
    return bytes(der) if der else None


@dataclass(frozen=True)
class Pin:
    fingerprint: str
    next: str | None = None


class PinStore:
    def __init__(self, secrets: Secrets | None = None) -> None:
        self.secrets = secrets
        self._memory: dict[str, str] = {}  # without secrets (a throwaway session)

    def _name(self, url: str) -> str:
        return f"pin:{address_of(url)}"

    def _read(self, url: str) -> str | None:
        name = self._name(url)
        return self.secrets.get(name) if self.secrets else self._memory.get(name)

    def _write(self, url: str, pin: Pin | None) -> None:
        name = self._name(url)
        if pin is None:
            if self.secrets:
                self.secrets.delete(name)
            else:
                self._memory.pop(name, None)
            return
        text = json.dumps({"fingerprint": pin.fingerprint, "next": pin.next})
        if self.secrets:
            self.secrets.set(name, text)
        else:
            self._memory[name] = text

    def get(self, url: str) -> Pin | None:
        text = self._read(url)
        if not text:
            return None
        try:
            data = json.loads(text)
            return Pin(str(data["fingerprint"]), data.get("next") or None)
        except (ValueError, KeyError, TypeError):
            return None

    def pin(self, url: str, sha256: str) -> None:
        """Trust this certificate for this address from now on (and nothing else)."""
        self._write(url, Pin(sha256.lower()))

    def pin_next(self, url: str, sha256: str) -> None:
        """Also accept the announced next certificate (a rotation is pending)."""
        pin = self.get(url)
        if pin is not None and pin.next != sha256.lower() and pin.fingerprint != sha256.lower():
            self._write(url, Pin(pin.fingerprint, sha256.lower()))

    def forget(self, url: str) -> None:
        self._write(url, None)

    def check(self, url: str, sha256: str) -> Verdict:
        """The verdict on a certificate presented at `url`; a pinned next one is promoted."""
        pin, sha = self.get(url), sha256.lower()
        if pin is None:
            return Verdict.UNKNOWN
        if sha == pin.fingerprint:
            return Verdict.PINNED
        if sha == pin.next:
            self.pin(url, sha)
            return Verdict.NEXT
        return Verdict.CHANGED

    def standing_for(self, url: str, members: Sequence[str] = ()) -> str | None:
        """The address whose pin stands for `url`: its own if it has one, else the first
        member of its list that has one (members share one certificate); None: no pin."""
        for candidate in (url, *members):
            if self.get(candidate) is not None:
                return candidate
        return None

    def check_member(self, url: str, sha256: str, members: Sequence[str] = ()) -> Verdict:
        """As `check`, for `url` among the `members` of one address list: its own pin decides;
        without one, the pin standing for it. A certificate accepted that way becomes its own
        pin too."""
        standing = self.standing_for(url, members)
        if standing is None:
            return Verdict.UNKNOWN
        verdict = self.check(standing, sha256)
        if standing != url and verdict in (Verdict.PINNED, Verdict.NEXT):
            self.pin(url, sha256)
        return verdict


def short(sha256: str | None) -> str:
    return fingerprint_code(sha256) if sha256 else "—"
