"""The Roomrack wire protocol: JSON text frames over one WebSocket.

Client commands are small frozen dataclasses tagged by `type`; `parse_command` turns a frame
into one of them or raises `ProtocolError` with a stable code. Server frames are built in
shared/frames.py and channel names in shared/channels.py (both re-exported here).
docs/protocol.md is the prose version of these modules.
"""

from __future__ import annotations

import json
import re
import types
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

from shared.channels import ROOM_NUMBER_RE as ROOM_NUMBER_RE
from shared.channels import SLUG_RE as SLUG_RE
from shared.channels import overview_channel as overview_channel
from shared.channels import parse_channel as parse_channel
from shared.channels import reservations_channel as reservations_channel
from shared.channels import room_channel as room_channel
from shared.errors import ErrorCode, ProtocolError
from shared.frames import EVENT_META as EVENT_META
from shared.frames import EVENT_TYPES as EVENT_TYPES
from shared.frames import PROTOCOL_VERSION as PROTOCOL_VERSION
from shared.frames import SERVER_FRAMES as SERVER_FRAMES
from shared.frames import EventMeta as EventMeta
from shared.frames import ack as ack
from shared.frames import check_server_frame as check_server_frame
from shared.frames import error as error
from shared.frames import error_from as error_from
from shared.frames import event as event
from shared.frames import hello as hello
from shared.frames import parse_server_frame as parse_server_frame

MAX_FRAME_BYTES = 64 * 1024  # larger frames get frame_too_large and are ignored
MAX_BATCH = 200
MAX_TEXT = 2000  # notes, reasons, names
# Patterns of whole values: always matched with `fullmatch` (`$` would let a trailing
# newline through).
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,100}")


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --- Client commands --------------------------------------------------------------------

COMMANDS: dict[str, type[Command]] = {}


@dataclass(frozen=True)
class Command:
    type: ClassVar[str] = ""
    request_id: str

    def to_wire(self) -> dict[str, Any]:
        body = {f.name: getattr(self, f.name) for f in fields(self)}
        return {"type": self.type, **{k: v for k, v in body.items() if v is not None}}

    def serialise(self) -> str:
        return dumps(self.to_wire())


def command(name: str) -> Any:
    def register(cls: type[Command]) -> type[Command]:
        cls.type = name
        COMMANDS[name] = cls
        return cls

    return register


@command("auth.login")
@dataclass(frozen=True)
class Login(Command):
    login: str
    password: str
    workstation: str | None = None


@command("auth.token")
@dataclass(frozen=True)
class TokenLogin(Command):
    token: str
    workstation: str | None = None


@command("auth.logout")
@dataclass(frozen=True)
class Logout(Command):
    pass


@command("subscribe")
@dataclass(frozen=True)
class Subscribe(Command):
    channels: list[str]
    since: dict[str, Any] | None = None  # {"epoch": str, "seq": int}
    batch: bool | None = None  # true: events that go out together come in one `events` frame


@command("unsubscribe")
@dataclass(frozen=True)
class Unsubscribe(Command):
    channels: list[str]


@command("room.action")
@dataclass(frozen=True)
class RoomAction(Command):
    room_number: str
    action: str
    expected_version: int
    priority: str | None = None
    notes: str | None = None
    reason: str | None = None
    return_status: str | None = None


@command("rooms.batch")
@dataclass(frozen=True)
class RoomsBatch(Command):
    items: list[dict[str, Any]]


@command("room.rush")
@dataclass(frozen=True)
class RoomRush(Command):
    room_number: str
    expected_version: int
    note: str | None = None


@command("room.rush_cancel")
@dataclass(frozen=True)
class RoomRushCancel(Command):
    room_number: str
    expected_version: int


@command("rooms.assign")
@dataclass(frozen=True)
class RoomsAssign(Command):
    items: list[dict[str, Any]]


@command("rooms.assign_split")
@dataclass(frozen=True)
class RoomsAssignSplit(Command):
    staff_ids: list[int]
    by: str = "floor"
    room_numbers: list[str] | None = None


@command("block.create")
@dataclass(frozen=True)
class BlockCreate(Command):
    room_number: str
    kind: str
    reason: str
    end: str
    expected_version: int
    start: str | None = None
    return_status: str | None = None
    override: bool = False


@command("block.end")
@dataclass(frozen=True)
class BlockEnd(Command):
    block_id: int


@command("blocks.list")
@dataclass(frozen=True)
class BlocksList(Command):
    pass


@command("room.observe")
@dataclass(frozen=True)
class RoomObserve(Command):
    room_number: str
    occupancy: str  # what housekeeping sees: occupied or vacant
    expected_version: int


@command("discrepancy.resolve")
@dataclass(frozen=True)
class DiscrepancyResolve(Command):
    discrepancy_id: int
    note: str | None = None


@command("discrepancies.list")
@dataclass(frozen=True)
class DiscrepanciesList(Command):
    pass


@command("staff.list")
@dataclass(frozen=True)
class StaffList(Command):
    pass


@command("room.check_in")
@dataclass(frozen=True)
class RoomCheckIn(Command):
    room_number: str
    expected_version: int
    reservation_id: int | None = None


@command("room.check_out")
@dataclass(frozen=True)
class RoomCheckOut(Command):
    room_number: str
    expected_version: int


@command("reservation.create")
@dataclass(frozen=True)
class ReservationCreate(Command):
    room_number: str
    guest_name: str
    start: str
    end: str
    guests: int = 1
    confirmed: bool = True


@dataclass(frozen=True)
class ReservationCommand(Command):
    reservation_id: int
    expected_version: int | None = None  # of the reservation
    room_version: int | None = None  # of its room, as the sender saw it (optional)

    @property
    def action(self) -> str:
        return self.type.split(".", 1)[1]


@command("reservation.confirm")
@dataclass(frozen=True)
class ReservationConfirm(ReservationCommand):
    pass


@command("reservation.cancel")
@dataclass(frozen=True)
class ReservationCancel(ReservationCommand):
    pass


@command("reservation.check_in")
@dataclass(frozen=True)
class ReservationCheckIn(ReservationCommand):
    pass


@command("reservation.check_out")
@dataclass(frozen=True)
class ReservationCheckOut(ReservationCommand):
    pass


@command("reservation.delete")
@dataclass(frozen=True)
class ReservationDelete(ReservationCommand):
    pass


@command("room.history")
@dataclass(frozen=True)
class RoomHistory(Command):
    room_number: str
    limit: int = 50


@command("board.at")
@dataclass(frozen=True)
class BoardAt(Command):
    at: str


@command("journal.range")
@dataclass(frozen=True)
class JournalRange(Command):
    since: str
    until: str
    limit: int = 1000
    after_seq: int = 0


@command("presence.viewing")
@dataclass(frozen=True)
class PresenceViewing(Command):
    room_number: str | None = None


@command("rooms.status")
@dataclass(frozen=True)
class RoomsStatus(Command):
    pass


@command("reservations.list")
@dataclass(frozen=True)
class ReservationsList(Command):
    """Today's reservations again (as `reservations.status` has them), with `seq`."""


@command("hotel.configure")
@dataclass(frozen=True)
class HotelConfigure(Command):
    """A manager changes the hotel's settings; none given: read them."""

    rollover_hour: int | None = None
    dnd_limit_minutes: int | None = None
    arrival_lead_minutes: int | None = None


# --- setting the hotel up: room types and rooms (a manager's) ---------------------------


@command("room_type.create")
@dataclass(frozen=True)
class RoomTypeCreate(Command):
    name: str
    max_occupancy: int = 2


@command("room_type.update")
@dataclass(frozen=True)
class RoomTypeUpdate(Command):
    """Rename a room type or change its max occupancy (fields not given stay)."""

    room_type: str  # its current name
    expected_version: int | None = None
    name: str | None = None
    max_occupancy: int | None = None


@command("room_type.retire")
@dataclass(frozen=True)
class RoomTypeRetire(Command):
    room_type: str
    expected_version: int | None = None


@command("room_types.list")
@dataclass(frozen=True)
class RoomTypesList(Command):
    include_retired: bool = False


@command("room.create")
@dataclass(frozen=True)
class RoomCreate(Command):
    room_number: str
    room_type: str
    floor: int
    building: str | None = None
    section: str | None = None
    capacity: int | None = None
    max_occupancy: int | None = None  # 0 or absent: the room type's


@command("room.update")
@dataclass(frozen=True)
class RoomUpdate(Command):
    """Change a room's type, place or size (fields not given stay; the number stays)."""

    room_number: str
    expected_version: int
    room_type: str | None = None
    floor: int | None = None
    building: str | None = None
    section: str | None = None
    capacity: int | None = None
    max_occupancy: int | None = None  # 0: back to the room type's


@command("room.retire")
@dataclass(frozen=True)
class RoomRetire(Command):
    room_number: str
    expected_version: int


@command("ping")
@dataclass(frozen=True)
class Ping(Command):
    pass


# --- Staff accounts (who may send each: shared.access.COMMAND_ROLES) -------------------------


@command("auth.change_password")
@dataclass(frozen=True)
class ChangePassword(Command):
    """The person logged in changes their own password; their other sessions end."""

    old_password: str
    new_password: str


@command("staff.accounts")
@dataclass(frozen=True)
class StaffAccounts(Command):
    """Every account of the hotel, enabled or not, with its sessions and lockout."""


@command("staff.sessions")
@dataclass(frozen=True)
class StaffSessions(Command):
    staff_id: int | None = None  # None: every open session of the hotel


@command("staff.create")
@dataclass(frozen=True)
class StaffCreate(Command):
    login: str
    name: str
    role: str
    password: str


@command("staff.disable")
@dataclass(frozen=True)
class StaffDisable(Command):
    staff_id: int


@command("staff.enable")
@dataclass(frozen=True)
class StaffEnable(Command):
    staff_id: int


@command("staff.reset_password")
@dataclass(frozen=True)
class StaffResetPassword(Command):
    staff_id: int
    password: str


@command("staff.unlock")
@dataclass(frozen=True)
class StaffUnlock(Command):
    staff_id: int


@command("staff.end_sessions")
@dataclass(frozen=True)
class StaffEndSessions(Command):
    staff_id: int


@command("session.end")
@dataclass(frozen=True)
class SessionEnd(Command):
    session_id: int


@command("staff.audit")
@dataclass(frozen=True)
class StaffAudit(Command):
    """The newest entries of the hotel's security log (logins, lockouts, account changes)."""

    limit: int = 200


@command("pair.prove")
@dataclass(frozen=True)
class PairProve(Command):
    """Before logging in: prove, with the pairing code an admin printed, that this server
    serves the certificate the desktop sees (shared/pairing.py)."""

    nonce: str


AUTH_COMMANDS = frozenset({"auth.login", "auth.token", "ping", "pair.prove"})


def _check_value(name: str, value: Any, hint: Any) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        inner = [o for o in options if o is not type(None)]
        return _check_value(name, value, inner[0])
    if hint is bool:
        if not isinstance(value, bool):
            raise _bad(f"'{name}' must be true or false.")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 2**53:
            raise _bad(f"'{name}' must be a whole number.")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise _bad(f"'{name}' must be text.")
        if len(value) > MAX_TEXT:
            raise _bad(f"'{name}' is too long (at most {MAX_TEXT} characters).")
        return value
    if origin is list:
        (item_hint,) = get_args(hint)
        if not isinstance(value, list):
            raise _bad(f"'{name}' must be a list.")
        if len(value) > MAX_BATCH:
            raise _bad(f"'{name}' has too many items (at most {MAX_BATCH}).")
        return [_check_value(f"{name}[]", v, item_hint) for v in value]
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise _bad(f"'{name}' must be an object.")
        return value
    raise TypeError(f"unsupported field type {hint!r}")  # pragma: no cover - programming error


def _bad(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_REQUEST, message)


_HINTS: dict[type[Command], dict[str, Any]] = {}


def build_command(cls: type[Command], data: dict[str, Any]) -> Command:
    """Validate `data` against the dataclass fields of `cls`."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    extra = set(data) - known - {"type"}
    if extra:
        raise _bad(f"Unknown field(s): {', '.join(sorted(extra))}.")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in data:
            kwargs[f.name] = _check_value(f.name, data[f.name], hints[f.name])
        elif f.default is MISSING and f.default_factory is MISSING:
            raise _bad(f"Missing field '{f.name}'.")
    rid = kwargs.get("request_id")
    if rid is not None and not REQUEST_ID_RE.fullmatch(rid):
        raise _bad("'request_id' must be 1-100 letters, digits or _ . : -")
    return cls(**kwargs)


def parse_command(frame: str | bytes) -> Command:
    """Parse one client frame. Raises ProtocolError with a stable code on any bad input."""
    if isinstance(frame, bytes | bytearray | memoryview):
        if len(frame) > MAX_FRAME_BYTES:
            raise ProtocolError(ErrorCode.FRAME_TOO_LARGE)
        try:
            frame = bytes(frame).decode("utf-8")
        except UnicodeDecodeError:
            raise _bad("Frames must be UTF-8 JSON text.") from None
    # a character is at most 4 bytes: only long text needs encoding to be measured
    if len(frame) > MAX_FRAME_BYTES // 4 and len(frame.encode("utf-8")) > MAX_FRAME_BYTES:
        raise ProtocolError(ErrorCode.FRAME_TOO_LARGE)
    try:
        data = json.loads(frame)
    except (ValueError, RecursionError):
        raise _bad("The frame is not valid JSON.") from None
    if not isinstance(data, dict):
        raise _bad("A frame must be a JSON object.")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise _bad("A frame needs a 'type'.")
    cls = COMMANDS.get(kind)
    if cls is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"Unknown request type '{kind[:60]}'.")
    return build_command(cls, data)


def _safe_request_id(data: dict[str, Any]) -> str | None:
    rid = data.get("request_id")
    return rid if isinstance(rid, str) and REQUEST_ID_RE.fullmatch(rid) else None


def request_id_of(frame: str | bytes) -> str | None:
    """Best effort: the request id of a frame that failed to parse, to address the error."""
    try:
        data = json.loads(frame)
    except (ValueError, RecursionError, TypeError):
        return None
    return _safe_request_id(data) if isinstance(data, dict) else None
