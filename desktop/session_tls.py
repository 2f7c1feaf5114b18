"""The secure part of the session: opening a connection with the server's certificate checked
against this desk's pins before anything is sent, pinning a rotation's next certificate as
the pinned connection announces it, and pairing with a new server by its pairing code
(shared/pairing.py). A mixin of desktop.session.Session, which holds the state it reads."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from desktop.pinning import PinStore, Verdict, client_context, peer_certificate
from desktop.session_errors import (
    OFFLINE_CODE,
    REQUEST_TIMEOUT,
    LoginError,
    UntrustedServer,
    error_text,
    normalise_url,
    short_error,
)
from shared import pairing, protocol
from shared.clock import Clock


class TlsMixin:
    """Connecting and pairing, for the session (whose attributes these are)."""

    url: str
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
            verdict = self.pins.check(self.url, sha)
            if verdict in (Verdict.UNKNOWN, Verdict.CHANGED) and not trust_unknown:
                await ws.close()
                pin = self.pins.get(self.url)
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
            if isinstance(sha, str) and len(sha) == 64 and self.pins.get(self.url) is not None:
                self.pins.pin_next(self.url, sha)

    async def pair(self, url: str, code: str) -> str:
        """Check the server at `url` with a pairing code (shared/pairing.py) and pin its
        certificate. Returns the pinned fingerprint; raises LoginError if the proof does not
        hold (a wrong code, or someone else's certificate: nothing is pinned then)."""
        self.url = normalise_url(url, self.allow_insecure)
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
        self.pins.pin(self.url, sha)
        return sha
