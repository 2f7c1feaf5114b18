"""The failures of a desk's connection, in words a person understands: why a login or a
connection failed (LoginError, and UntrustedServer for a certificate this desk does not
trust), the replies a command gets when the server cannot be asked or does not answer, the
words of the server's error replies, and the server address a person types made whole."""

from __future__ import annotations

from typing import Any

from desktop.pinning import Verdict
from shared.errors import EXPLANATIONS, ErrorCode

OFFLINE_CODE = "offline"
TIMEOUT_CODE = "timeout"
REQUEST_TIMEOUT = 20.0  # seconds a request waits for its reply (then: TIMEOUT_CODE)


class LoginError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class UntrustedServer(LoginError):
    """The server's certificate is not the pinned one (`changed`), or nothing is pinned for
    its address yet (`unknown`). Nothing was sent to it."""

    def __init__(self, url: str, verdict: Verdict, sha256: str, pinned: str | None) -> None:
        code = "certificate_changed" if verdict is Verdict.CHANGED else "certificate_unknown"
        words = (
            "The server's certificate has changed since this desk last connected."
            if verdict is Verdict.CHANGED
            else "This desk has not connected to this server before."
        )
        super().__init__(code, words)
        self.url, self.verdict, self.sha256, self.pinned = url, verdict, sha256, pinned


class AuthLost(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SessionOver(Exception):
    """The server ended this session (a manager, a password change, the idle time)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Resync(Exception):
    """A gap in the sequence numbers: reconnect at once and resume."""


def normalise_url(text: str, insecure: bool = False) -> str:
    """'hotel-pc:8765' -> 'wss://hotel-pc:8765' ('ws://…' when asked for `insecure`)."""
    text = text.strip().rstrip("/")
    if not text:
        return text
    if "://" not in text:
        text = ("ws://" if insecure else "wss://") + text
    if text.startswith("http://"):
        text = "ws://" + text[7:]
    elif text.startswith("https://"):
        text = "wss://" + text[8:]
    return text


def error_text(reply: dict[str, Any]) -> str:
    """The words a person understands for an error reply."""
    message = str(reply.get("message") or "")
    try:
        code = ErrorCode(str(reply.get("code")))
    except ValueError:
        return message or "Something went wrong."
    return message or EXPLANATIONS[code]


def short_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 120 else text[:117] + "..."


def offline_reply(rid: str | None) -> dict[str, Any]:
    return {
        "type": "error",
        "request_id": rid,
        "code": OFFLINE_CODE,
        "message": "Not connected to the server, so nothing was changed. "
        "Try again when the board is live.",
        "details": {},
    }


def timeout_reply(rid: str | None) -> dict[str, Any]:
    return {
        "type": "error",
        "request_id": rid,
        "code": TIMEOUT_CODE,
        "message": "The server did not answer in time; check the board before trying again.",
        "details": {},
    }
