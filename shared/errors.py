"""Stable error codes of the wire protocol, each with the words a person understands."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    UNKNOWN_TYPE = "unknown_type"
    FRAME_TOO_LARGE = "frame_too_large"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTH_FAILED = "auth_failed"
    TOKEN_INVALID = "token_invalid"
    FORBIDDEN = "forbidden"
    UNKNOWN_CHANNEL = "unknown_channel"
    UNKNOWN_ROOM = "unknown_room"
    UNKNOWN_RESERVATION = "unknown_reservation"
    INVALID_TRANSITION = "invalid_transition"
    ROOM_NOT_READY = "room_not_ready"
    ROOM_OCCUPIED = "room_occupied"
    NO_RESERVATION = "no_reservation"
    NOT_DUE = "not_due"
    STALE_VERSION = "stale_version"
    OVERRIDE_REQUIRED = "override_required"
    CONFLICT = "conflict"
    HISTORY_UNAVAILABLE = "history_unavailable"
    RATE_LIMITED = "rate_limited"
    SESSION_EXPIRED = "session_expired"
    SESSION_REVOKED = "session_revoked"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_LOCKED = "account_locked"
    WEAK_PASSWORD = "weak_password"
    UNKNOWN_STAFF = "unknown_staff"
    PAIRING_UNAVAILABLE = "pairing_unavailable"
    INTERNAL_ERROR = "internal_error"
    # setting the hotel up: rooms and room types
    UNKNOWN_ROOM_TYPE = "unknown_room_type"
    DUPLICATE_ROOM = "duplicate_room"
    DUPLICATE_ROOM_TYPE = "duplicate_room_type"
    ROOM_TYPE_IN_USE = "room_type_in_use"
    ROOM_IN_USE = "room_in_use"


EXPLANATIONS: dict[ErrorCode, str] = {
    ErrorCode.BAD_REQUEST: "The request was not understood (malformed or missing fields).",
    ErrorCode.UNKNOWN_TYPE: "The server does not know this kind of request.",
    ErrorCode.FRAME_TOO_LARGE: "The request was too large and was ignored.",
    ErrorCode.NOT_AUTHENTICATED: "Please log in first.",
    ErrorCode.AUTH_FAILED: "Wrong login or password.",
    ErrorCode.TOKEN_INVALID: "Your session has expired; please log in again.",
    ErrorCode.FORBIDDEN: "Your role is not allowed to do this.",
    ErrorCode.UNKNOWN_CHANNEL: "That channel does not exist for your hotel.",
    ErrorCode.UNKNOWN_ROOM: "There is no such room in this hotel.",
    ErrorCode.UNKNOWN_RESERVATION: "There is no such reservation in this hotel.",
    ErrorCode.INVALID_TRANSITION: "That step is not possible from the room's current state.",
    ErrorCode.ROOM_NOT_READY: "The room is not ready for a guest.",
    ErrorCode.ROOM_OCCUPIED: "A guest is in the room.",
    ErrorCode.NO_RESERVATION: "No reservation fits this room now.",
    ErrorCode.NOT_DUE: "This guest is not due today: check-in opens on the day of arrival.",
    ErrorCode.STALE_VERSION: "Someone else changed this first; the board now shows the latest.",
    ErrorCode.OVERRIDE_REQUIRED: "This needs a manager's explicit override.",
    ErrorCode.CONFLICT: "This conflicts with another reservation or record.",
    ErrorCode.HISTORY_UNAVAILABLE: "The journal does not reach back that far.",
    ErrorCode.RATE_LIMITED: "Too many requests at once; please wait a moment.",
    ErrorCode.SESSION_EXPIRED: "Your session expired after a long time unused; log in again.",
    ErrorCode.SESSION_REVOKED: "Your session was ended; please log in again.",
    ErrorCode.ACCOUNT_DISABLED: "This account is disabled; ask a manager.",
    ErrorCode.ACCOUNT_LOCKED: "This account is locked after many failed logins; ask a manager.",
    ErrorCode.WEAK_PASSWORD: "That password is too easy to guess; choose another.",
    ErrorCode.UNKNOWN_STAFF: "There is no such staff member in this hotel.",
    ErrorCode.PAIRING_UNAVAILABLE: "No pairing code is waiting on the server (it may have "
    "expired or been used): ask the administrator to run `roomrack-server pair` again.",
    ErrorCode.INTERNAL_ERROR: "The server hit an unexpected problem; nothing was changed.",
    ErrorCode.UNKNOWN_ROOM_TYPE: "There is no such room type in this hotel.",
    ErrorCode.DUPLICATE_ROOM: "This hotel already has a room with that number.",
    ErrorCode.DUPLICATE_ROOM_TYPE: "This hotel already has a room type with that name.",
    ErrorCode.ROOM_TYPE_IN_USE: "Rooms still have this type: give them another one first.",
    ErrorCode.ROOM_IN_USE: "The room has a guest, bookings or blocks to come: move them first.",
}


class ProtocolError(Exception):
    """A refusal with a stable code; the server turns it into an error reply."""

    def __init__(
        self, code: ErrorCode, message: str | None = None, details: dict[str, object] | None = None
    ) -> None:
        self.code = code
        self.message = message or EXPLANATIONS[code]
        self.details = details or {}
        super().__init__(f"{code}: {self.message}")
