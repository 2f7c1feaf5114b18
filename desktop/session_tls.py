"""The secure part of the session: opening a connection with the server's certificate checked
against this desk's pins before anything is sent, pinning a rotation's next certificate as
the pinned connection announces it, and pairing with a new server by its pairing code
(shared/pairing.py). With several addresses (the members of a cluster, desktop/members.py)
it opens the first member that answers, moves on to the next when one is lost, and pins one
certificate for them all. A mixin of desktop.session.Session, which holds the state it
reads."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from desktop.backoff import Backoff
from desktop.members import Members, parse_addresses
from desktop.pinning import PinStore, Verdict, client_context, peer_certificate
from desktop.session_errors import (
    OFFLINE_CODE,
    REQUEST_TIMEOUT,
    LoginError,
    UntrustedServer,
    error_text,
    short_error,
)
from shared import deflate, pairing, protocol
from shared.clock import Clock


class TlsMixin:
    """Connecting and pairing, for the session (whose attributes these are)."""

    url: str  # the member in use
    members: Members  # every address of the server, in the order tried
    backoff: Backoff
    allow_insecure: bool
    pins: PinStore
    fingerprint: str | None  # SHA-256 of the certificate of this connection
    clock: Clock
    heartbeat_interval: float
    last_frame: float
    _hello_epoch: Any  # the epoch the server's hello named
    _batching: bool  # the server offers batched events (its hello says so)
    _prefix: str
    _ids: Iterator[int]

    def _use(self, addresses: str | Iterable[str]) -> None:
        """Connect to these addresses from now on (one, or a cluster's members in order)."""
        self.members = Members(parse_addresses(addresses, self.allow_insecure))
        self.url = self.members.current

    async def _open_first(self) -> ClientConnection:
        """Open the first member that answers, in order (a login, a logout's revocation). One
        that cannot be reached is passed over; a certificate this desk does not trust stops
        there (the person is asked about that member)."""
        passed: list[LoginError] = []
        for index in range(len(self.members) or 1):
            self.url = self.members.go_to(index)
            try:
                return await self._open()
            except UntrustedServer:
                raise
            except LoginError as exc:
                if exc.code not in (OFFLINE_CODE, "bad_address") or len(self.members) < 2:
                    raise
                passed.append(exc)
        self.url = self.members.go_to(0)
        raise LoginError(
            OFFLINE_CODE,
            f"None of the {len(passed)} server addresses answered. "
            + " ".join(exc.message for exc in passed),
        )

    def _fail_over(self) -> float:
        """The member in use failed or was lost: move on to the next. The delay before trying
        it: none while some member is untried since the last good connection, else the
        backoff's."""
        untried = self.members.failed()
        self.url = self.members.current
        return 0.0 if untried else self.backoff.next()

    def _pinned_together(self, url: str) -> list[str]:
        """The addresses a certificate pinned for `url` is pinned for: the whole list when
        `url` is one of its members (they share one certificate), else `url` alone."""
        return list(self.members.urls) if url in self.members else [url]

    def trust(self, url: str, sha256: str) -> None:
        """Pin this certificate for `url` and for the other members of its address list."""
        for member in self._pinned_together(url):
            self.pins.pin(member, sha256)

    async def _open(self, trust_unknown: bool = False) -> ClientConnection:
        """Connect, check the certificate against the pin (before anything is sent), read the
        hello. `trust_unknown` lets an unpinned certificate through (pairing checks it)."""
        secure = self.url.startswith("wss://")
        if not secure and not self.allow_insecure and self.url.startswith("ws://"):
            raise LoginError(
                "insecure_refused",
                f"{self.url} is a plain, unencrypted address. Roomrack connects with TLS "
                "(wss://); to connect without encryption start it with --insecure.",
            )
        try:
            ws = await asyncio.wait_for(
                connect(
                    self.url,
                    ssl=client_context() if secure else None,
                    compression=None,
                    # large messages come compressed, each alone (shared/deflate.py)
                    extensions=[
                        ClientPerMessageDeflateFactory(
                            server_no_context_takeover=True,
                            client_no_context_takeover=True,
                            compress_settings=dict(deflate.SETTINGS),
                        )
                    ],
                    max_size=2**25,
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                    close_timeout=2,
                ),
                15,
            )
        except InvalidURI:
            raise LoginError("bad_address", f"'{self.url}' is not a server address.") from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise LoginError(
                OFFLINE_CODE, f"Cannot reach the server at {self.url} ({short_error(exc)})."
            ) from exc
        self.fingerprint = None
        verified = False  # the certificate is the pinned one (or its pinned successor)
        if secure:
            der = peer_certificate(ws.transport)
            sha = pairing.fingerprint(der) if der else ""
            verdict = self.pins.check_member(self.url, sha, self.members.urls)
            if verdict in (Verdict.UNKNOWN, Verdict.CHANGED) and not trust_unknown:
                await ws.close()
                standing = self.pins.standing_for(self.url, self.members.urls)
                pin = self.pins.get(standing) if standing else None
                raise UntrustedServer(self.url, verdict, sha, pin.fingerprint if pin else None)
            self.fingerprint = sha
            verified = verdict in (Verdict.PINNED, Verdict.NEXT)
        try:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except Exception as exc:
            await ws.close()
            raise LoginError(OFFLINE_CODE, "The server did not greet us.") from exc
        if hello.get("type") != "hello" or hello.get("server") != "roomrack":
            await ws.close()
            raise LoginError("bad_address", f"{self.url} is not a Roomrack server.")
        if verified:  # never from a server still being paired: it could name any successor
            self._note_next_certificate(hello.get("tls"))
        hb = hello.get("heartbeat") or {}
        self.heartbeat_interval = float(hb.get("overview", 60.0))
        self._hello_epoch = hello.get("epoch")
        features = hello.get("features")
        self._batching = isinstance(features, list) and "batch" in features
        self.last_frame = self.clock.monotonic()
        return ws

    def _note_next_certificate(self, info: Any) -> None:
        """A rotation is pending: pin the next certificate now, as the pinned connection
        announces it, so this desk accepts the server after the switch."""
        if not isinstance(info, dict) or self.fingerprint is None:
            return
        nxt = info.get("next")
        if info.get("fingerprint") == self.fingerprint and isinstance(nxt, dict):
            sha = nxt.get("fingerprint")
            if isinstance(sha, str) and len(sha) == 64:
                for member in self._pinned_together(self.url):
                    if self.pins.get(member) is not None:
                        self.pins.pin_next(member, sha)

    async def pair(self, url: str, code: str) -> str:
        """Check the server at `url` with a pairing code (shared/pairing.py) and pin its
        certificate. Returns the pinned fingerprint; raises LoginError if the proof does not
        hold (a wrong code, or someone else's certificate: nothing is pinned then)."""
        url = (parse_addresses(url, self.allow_insecure) or [""])[0]
        where = self.members.index_of(url)
        if where is None:  # not a member of the list in use: that server alone
            self._use(url)
        else:
            self.url = self.members.go_to(where)
        ws = await self._open(trust_unknown=True)
        sha = self.fingerprint
        try:
            if sha is None:
                raise LoginError("insecure", "A plain (--insecure) server cannot be paired.")
            nonce = pairing.new_nonce()
            rid = f"{self._prefix}-{next(self._ids)}"
            await ws.send(protocol.dumps({"type": "pair.prove", "request_id": rid, "nonce": nonce}))
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), REQUEST_TIMEOUT))
                if reply.get("request_id") == rid:
                    break
        except (ConnectionClosed, OSError, TimeoutError, ValueError) as exc:
            raise LoginError(
                OFFLINE_CODE, f"The pairing was cut off ({short_error(exc)})."
            ) from exc
        finally:
            with contextlib.suppress(Exception):
                await ws.close()
        if reply.get("type") != "ack":
            raise LoginError(str(reply.get("code")), error_text(reply))
        proof = str((reply.get("result") or {}).get("proof") or "")
        if not pairing.proof_matches(code, sha, nonce, proof):
            raise LoginError(
                "pairing_failed",
                "The pairing code does not match this server's certificate: check the code "
                "(or ask for a new one). Nothing was trusted.",
            )
        self.trust(self.url, sha)
        return sha
