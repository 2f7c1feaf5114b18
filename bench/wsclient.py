"""A minimal WebSocket client for the benchmark: frames, the upgrade request, and one
asyncio connection for logging in, subscribing and commanding.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import zlib
from collections.abc import Callable
from typing import Any

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension is missing
    from websockets.utils import apply_mask

HOST = "127.0.0.1"
# what the desktop offers (shared/deflate.py): each message compressed on its own
DEFLATE_OFFER = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
_TAIL = b"\x00\x00\xff\xff"


def inflate(payload: bytes) -> bytes:
    """A compressed message's text (RFC 7692; the server keeps no context between messages,
    so each one is inflated alone)."""
    return zlib.decompressobj(-15).decompress(payload + _TAIL)


def client_tls() -> ssl.SSLContext:
    """TLS as the desktop does it: no certificate authority (the desktop checks a pin)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def masked_frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    return head + mask + apply_mask(payload, mask)


def upgrade_request(host: str, port: int, deflate: bool = False) -> bytes:
    """The opening handshake; with `deflate`, offering compression as the desktop does (a
    server that does not take it answers without)."""
    key = base64.b64encode(os.urandom(16)).decode()
    offer = f"Sec-WebSocket-Extensions: {DEFLATE_OFFER}\r\n" if deflate else ""
    return (
        f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n{offer}"
        "Sec-WebSocket-Version: 13\r\nUser-Agent: roomrack-bench\r\n\r\n"
    ).encode()


def one_frame(buf: bytearray) -> tuple[int, bytes, int] | None:
    """The first whole frame in `buf`: (opcode, payload (inflated if compressed), bytes
    used), or None."""
    n = len(buf)
    if n < 2:
        return None
    ln, start = buf[1] & 0x7F, 2
    if ln == 126:
        if n < 4:
            return None
        ln, start = (buf[2] << 8) | buf[3], 4
    elif ln == 127:
        if n < 10:
            return None
        ln, start = int.from_bytes(buf[2:10], "big"), 10
    if start + ln > n:
        return None
    payload = bytes(buf[start : start + ln])
    return buf[0] & 0x0F, inflate(payload) if buf[0] & 0x40 else payload, start + ln


class BenchWS(asyncio.Protocol):
    """One client connection on asyncio, for logging in, subscribing and commanding: every
    text frame is decoded and handed to a queue (or to `on_message`)."""

    def __init__(self, on_message: Callable[[dict[str, Any]], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        self.deflate = False  # offer compression in the handshake (`open_ws`)
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.handshaken = False
        self.opened: asyncio.Future[None] = loop.create_future()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.on_message = on_message
        self.closed = False
        self._frag: bytearray | None = None

    # transport callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("connection lost during the handshake"))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.handshaken:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self.handshaken = True
            self.opened.set_result(None)
        pos, n = 0, len(buf)
        while n - pos >= 2:
            b0 = buf[pos]
            ln = buf[pos + 1] & 0x7F
            start = pos + 2
            if ln == 126:
                if n - pos < 4:
                    break
                ln = (buf[pos + 2] << 8) | buf[pos + 3]
                start = pos + 4
            elif ln == 127:
                if n - pos < 10:
                    break
                ln = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + ln
            if end > n:
                break
            op = b0 & 0x0F
            if op == 1 and b0 & 0x80 and self._frag is None:
                payload = bytes(buf[start:end])
                self._message(inflate(payload) if b0 & 0x40 else payload)
            elif op in (0, 1, 2):  # a fragmented message (not sent by either server)
                if self._frag is None:
                    self._frag = bytearray()
                self._frag += buf[start:end]
                if b0 & 0x80:
                    whole = bytes(self._frag)
                    self._frag = None
                    self._message(whole)
            elif op == 9:  # ping
                self.send_frame(10, bytes(buf[start:end]))
            elif op == 8:  # close
                self.closed = True
                if self.transport is not None:
                    self.transport.close()
            pos = end
        if pos:
            del buf[:pos]

    def _message(self, data: bytes) -> None:
        if data.startswith(b'{"type":"presence"'):
            return  # who is online: not needed here, and large with many connections
        msg = json.loads(data)
        if self.on_message is not None:
            self.on_message(msg)
            return
        self.queue.put_nowait(msg)

    # sending

    def handshake(self, host: str, port: int) -> None:
        assert self.transport is not None
        self.transport.write(upgrade_request(host, port, self.deflate))

    def send_frame(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(masked_frame(opcode, payload))

    def send_json(self, obj: dict[str, Any]) -> None:
        self.send_frame(1, json.dumps(obj, separators=(",", ":")).encode())

    async def recv(self, within: float) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue.get(), within)

    async def request(self, obj: dict[str, Any], within: float) -> dict[str, Any]:
        self.send_json(obj)
        while True:
            msg = await self.recv(within)
            if msg.get("request_id") == obj["request_id"]:
                if msg.get("type") != "ack":
                    raise RuntimeError(f"{obj['type']} refused: {msg}")
                return msg

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.send_frame(8, (1000).to_bytes(2, "big"))
            self.transport.close()


async def open_ws(
    host: str,
    port: int,
    proto: Callable[[], BenchWS],
    within: float,
    tls: bool = False,
    deflate: bool = False,
) -> BenchWS:
    loop = asyncio.get_running_loop()
    connecting = loop.create_connection(
        proto, host, port, ssl=client_tls() if tls else None, server_hostname=host if tls else None
    )
    _, ws = await asyncio.wait_for(connecting, within)
    ws.deflate = deflate
    ws.handshake(host, port)
    await asyncio.wait_for(ws.opened, within)
    hello = await ws.recv(within)
    if hello.get("type") != "hello":
        raise RuntimeError(f"expected hello, got {hello}")
    return ws
