"""The fan-out's writes on TLS connections, without the Python layers of asyncio's TLS transport.

Every fan-out tick writes once to every desk. Over TLS, asyncio's transport
(`asyncio/sslproto.py`) spends about 8 µs of Python on each write around the encryption
itself (a backlog, its bookkeeping, flow control, four calls deep): at 200 desks a third of
what TLS costs the server in a burst (docs/benchmarks.md). When the connection is in its
steady state (handshake done, nothing waiting in the TLS layer, the socket not paused) a
write here encrypts into the connection's own TLS object and hands the records to the
socket's transport at once: the bytes and their order are those the TLS transport would
have produced, and its next write (an ack from websockets) follows them. In every other
state, or where asyncio's TLS transport is not the one this was written for (it is the one
of CPython 3.11 to 3.13), the transport's public `write` does it.

`buffered` is what waits to be sent in both layers, for the hub's slow-client limit: the
records written here wait in the socket's transport, which the TLS transport's own
`get_write_buffer_size` does not count.
"""

from __future__ import annotations

import ssl
from asyncio import BaseTransport, WriteTransport
from typing import Any

try:
    from asyncio.sslproto import SSLProtocolState

    WRAPPED: Any = SSLProtocolState.WRAPPED
except ImportError:  # pragma: no cover - an asyncio without that TLS transport
    WRAPPED = None

_PARTS = (
    "_sslobj",
    "_outgoing",
    "_transport",
    "_state",
    "_write_backlog",
    "_write_buffer_size",
    "_ssl_writing_paused",
)


_KNOWN: dict[type, bool] = {}  # a TLS protocol class -> whether it has the parts used here


def _tls_protocol(transport: BaseTransport) -> Any:
    """The TLS protocol under an asyncio TLS transport, if it has the parts used here (looked
    at once per class: every write asks)."""
    proto = getattr(transport, "_ssl_protocol", None)
    if proto is None:
        return None
    known = _KNOWN.get(type(proto))
    if known is None:
        known = _KNOWN[type(proto)] = WRAPPED is not None and all(hasattr(proto, a) for a in _PARTS)
    return proto if known else None


def direct(transport: BaseTransport) -> bool:
    """Whether this is a TLS transport whose writes can go past its Python layers."""
    return _tls_protocol(transport) is not None


def write(transport: WriteTransport, data: bytes) -> None:
    """Write `data` (one or more whole frames) to a connection's transport, plain or TLS."""
    proto = _tls_protocol(transport)
    if proto is None:
        transport.write(data)
    else:
        _write_tls(transport, proto, data)


def write_within(transport: WriteTransport, data: bytes, limit: int) -> bool:
    """`write`, unless more than `limit` bytes already wait to be sent (`buffered`): then
    nothing is written and the answer is False. One look at the TLS layers for both (the
    fan-out asks this of every desk every tick)."""
    proto = _tls_protocol(transport)
    if proto is None:
        if transport.get_write_buffer_size() > limit:
            return False
        transport.write(data)
        return True
    # what the TLS transport's own get_write_buffer_size counts, and the socket's
    waiting = proto._outgoing.pending + proto._write_buffer_size
    if proto._transport is not None:
        waiting += proto._transport.get_write_buffer_size()
    if waiting > limit:
        return False
    _write_tls(transport, proto, data)
    return True


def _write_tls(transport: WriteTransport, proto: Any, data: bytes) -> None:
    """Past the TLS transport's Python layers in its steady state, else through it."""
    if (
        proto._transport is None
        or proto._state is not WRAPPED
        or proto._write_backlog
        or proto._ssl_writing_paused
        or proto._sslobj is None
    ):
        transport.write(data)
        return
    try:
        proto._sslobj.write(data)
    except ssl.SSLError:
        # not written (a renegotiation, or the TLS session broke): the transport queues it
        # or reports the error and closes the connection, as it would have
        transport.write(data)
        return
    proto._transport.write(proto._outgoing.read())


def buffered(transport: WriteTransport) -> int:
    """Bytes this connection has not sent yet, in its TLS layer and its socket's."""
    size = transport.get_write_buffer_size()
    proto = _tls_protocol(transport)
    if proto is not None and proto._transport is not None:
        size += proto._transport.get_write_buffer_size()
    return size
