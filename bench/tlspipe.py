"""TLS on a plain socket through memory BIOs, for the subscribers' epoll loop."""

from __future__ import annotations

import socket
import ssl

from bench.wsclient import client_tls


class TlsPipe:
    """A TLS connection on a plain socket through memory BIOs: one `recv` system call takes
    in as many TLS records as the kernel holds, decrypted without more system calls (an
    SSLSocket reads one record per call: a wake-up and two reads per event)."""

    def __init__(self, host: str, port: int) -> None:
        self.raw = socket.create_connection((host, port), 60)
        self.raw.settimeout(300)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = client_tls().wrap_bio(self.inc, self.out, server_hostname=host)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._take(self.raw.recv(65536))
        self._flush()

    def fileno(self) -> int:
        return self.raw.fileno()

    def setblocking(self, flag: bool) -> None:
        self.raw.setblocking(flag)

    def _flush(self) -> None:
        data = self.out.read()
        if data:
            self.raw.sendall(data)

    def _take(self, chunk: bytes) -> None:
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.inc.write(chunk)

    def sendall(self, data: bytes) -> None:
        self.obj.write(data)
        self._flush()

    send = sendall

    def _plain(self) -> bytes:
        parts = []
        while True:
            try:
                parts.append(self.obj.read(262144))
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                return b"".join(parts)

    def recv(self, size: int) -> bytes:
        """Plaintext: b"" at the end of the connection; BlockingIOError (non-blocking) or a
        wait (blocking) while only part of a record has come."""
        while True:
            data = self._plain()
            if data:
                return data
            chunk = self.raw.recv(size)
            if not chunk:
                return b""
            self.inc.write(chunk)

    def close(self) -> None:
        self.raw.close()
