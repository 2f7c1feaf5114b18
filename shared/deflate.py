"""Per-message compression (RFC 7692, permessage-deflate) as Roomrack speaks it: the
settings both sides use, and one message compressed (the server's extension is in
server/wire.py, the desktop's offer in desktop/session_tls.py).

- Every message is compressed on its own: neither side keeps a compression context from one
  message to the next (`server_no_context_takeover`, `client_no_context_takeover`). So a
  message the server sends to every desk is compressed once and the same bytes go to all of
  them (server/wire.py), no connection holds a compressor between messages, and no message's
  size tells anything about another's content.
- The server sends messages under `COMPRESS_MIN` bytes as they are (RSV1 clear, which
  RFC 7692 allows): answers, errors, single events, and the login answers that carry a
  session token. Compressing them would save a few hundred bytes at a cost of a compressor
  each.
- Compression level 1: about 13 to 1 on a batch of room events, in a fraction of the time of
  the default level (docs/benchmarks.md).
"""

from __future__ import annotations

import zlib

COMPRESS_MIN = 1024  # bytes: a smaller message is sent uncompressed
LEVEL = 1
MEM_LEVEL = 8
SETTINGS = {"level": LEVEL, "memLevel": MEM_LEVEL}
_TAIL = b"\x00\x00\xff\xff"  # what a sync flush ends with; not sent (RFC 7692, 7.2.1)


def deflate(data: bytes, window_bits: int) -> bytes:
    """One message's payload compressed alone, as permessage-deflate sends it."""
    enc = zlib.compressobj(LEVEL, zlib.DEFLATED, -window_bits, MEM_LEVEL)
    out = enc.compress(data) + enc.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4] if out.endswith(_TAIL) else out
