"""Messages framed once for every connection that gets them: plain, or compressed once per
compression window (shared/deflate.py).

A server's frames are not masked, and Roomrack's compression keeps no context between
messages, so the bytes of one message on the wire depend only on whether the connection
compresses, and with which window: a tick's batch for two hundred desks is encoded, framed
and compressed once, not two hundred times. Over TLS that matters twice: each desk's copy is
encrypted on its own, and a compressed batch is about a thirteenth of the bytes to encrypt.
"""

from __future__ import annotations

from collections.abc import Sequence

from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol
from websockets.typing import ExtensionParameter

from shared.deflate import COMPRESS_MIN, SETTINGS, deflate

PLAIN = 0  # the `kind` of a connection without compression; else its window bits (9 to 15)
_RSV1 = 0x40  # the first byte's bit that marks a compressed message


def kind_of(proto: Protocol) -> int | None:
    """How frames written for many connections reach this one: PLAIN, the window bits of
    its compression, or None (an extension this module does not write for)."""
    exts = proto.extensions
    if not exts:
        return PLAIN
    if len(exts) == 1 and isinstance(exts[0], Deflate):
        return exts[0].local_max_window_bits
    return None


def frame(data: bytes, kind: int = PLAIN) -> bytes:
    """One unmasked text frame holding `data`, compressed if the connection does and the
    message is not small."""
    if kind == PLAIN or len(data) < COMPRESS_MIN:
        return Frame(Opcode.TEXT, data).serialize(mask=False)
    wire = bytearray(Frame(Opcode.TEXT, deflate(data, kind)).serialize(mask=False))
    wire[0] |= _RSV1
    return bytes(wire)


class Shared:
    """One text message for many connections, with its frame for each kind made once, when
    first asked for."""

    __slots__ = ("_wires", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._wires: dict[int, bytes] = {}

    def wire(self, kind: int) -> bytes:
        """The frame as a connection of this kind reads it (`kind_of`)."""
        w = self._wires.get(kind)
        if w is None:
            if kind != PLAIN and len(self.data) < COMPRESS_MIN:
                w = self.wire(PLAIN)
            else:
                w = frame(self.data, kind)
            self._wires[kind] = w
        return w


class Deflate(PerMessageDeflate):
    """permessage-deflate that leaves a small whole message uncompressed (see the module)."""

    def encode(self, frame: Frame) -> Frame:
        if (
            frame.fin
            and frame.opcode in (Opcode.TEXT, Opcode.BINARY)
            and len(frame.data) < COMPRESS_MIN
        ):
            return frame
        return super().encode(frame)


def _ours(ext: PerMessageDeflate) -> Deflate:
    return Deflate(
        ext.remote_no_context_takeover,
        ext.local_no_context_takeover,
        ext.remote_max_window_bits,
        ext.local_max_window_bits,
        ext.compress_settings,
    )


class ServerDeflateFactory(ServerPerMessageDeflateFactory):
    """The server's side: accepts any offer of permessage-deflate, and answers that neither
    side keeps a context between messages."""

    def __init__(self) -> None:
        super().__init__(
            server_no_context_takeover=True,
            client_no_context_takeover=True,
            compress_settings=dict(SETTINGS),
        )

    def process_request_params(
        self, params: Sequence[ExtensionParameter], accepted_extensions: Sequence[Extension]
    ) -> tuple[list[ExtensionParameter], PerMessageDeflate]:
        answer, ext = super().process_request_params(params, accepted_extensions)
        return answer, _ours(ext)
