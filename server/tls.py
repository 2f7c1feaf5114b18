"""The server's own certificate: made on first start, rotated with a grace period, and the
one-time pairing codes an admin prints.

Everything lives in one folder next to the store (`roomrack-tls/` beside `roomrack.db`):

    cert.pem, key.pem            the certificate served now (the key readable by its owner only)
    next-cert.pem, next-key.pem  after `rotate-cert`: the one served from `rotation.json`'s time
    previous-cert.pem            the one served before the last switch (kept for the record)
    rotation.json                {"switch_at": ISO time} while a rotation is pending
    pairing.json                 the pairing code waiting for desktops (see `new_pairing`)

No certificate authority: desktops pin the certificate's SHA-256 (shared/pairing.py). While a
rotation is pending the server announces the next certificate's fingerprint in its `hello`,
over the connection the desktop has already verified, so desktops pin the next one before the
switch and none is locked out when it comes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.engine import Postgres, StoreAt
from shared.pairing import fingerprint, fingerprint_code, new_pairing_code, normalise_code
from shared.timeutil import from_iso, to_iso

CERT_YEARS = 10  # desktops check the pin, not the dates; rotate-cert renews before this
PAIRING_MINUTES = 10.0


def default_dir(db_path: StoreAt) -> Path:
    """The certificate folder of a store: `roomrack-tls` beside `roomrack.db`; for a
    PostgreSQL store, `<dbname>-tls` in this account's data folder."""
    if isinstance(db_path, Postgres):
        base = Path(platformdirs.user_data_dir("roomrack", appauthor=False))
        return base / f"{db_path.dbname}-tls"
    return db_path.with_name(f"{db_path.stem}-tls")


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path
    der: bytes
    not_after: datetime

    @property
    def sha256(self) -> str:
        return fingerprint(self.der)

    @property
    def code(self) -> str:
        return fingerprint_code(self.sha256)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner may read (created so: never readable by others)."""
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def make_certificate(cert_path: Path, key_path: Path, now: datetime) -> Certificate:
    """A new P-256 key and a self-signed certificate for this host (its name, `localhost`
    and 127.0.0.1 as subject alternative names; only the pin matters to the desktops)."""
    key = ec.generate_private_key(ec.SECP256R1())
    host = socket.gethostname() or "localhost"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Roomrack server {host}"[:64])])
    alt: list[x509.GeneralName] = [x509.DNSName("localhost")]
    with contextlib.suppress(ValueError):
        alt.insert(0, x509.DNSName(host))
    alt.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * CERT_YEARS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(key_path, key_pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return load_certificate(cert_path, key_path)


def load_certificate(cert_path: Path, key_path: Path) -> Certificate:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return Certificate(
        cert_path,
        key_path,
        cert.public_bytes(serialization.Encoding.DER),
        cert.not_valid_after_utc,
    )


class TlsFolder:
    """The certificate folder of one server (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._context: ssl.SSLContext | None = None
        self._info: tuple[tuple[int, int], dict[str, Any] | None] | None = None

    def _path(self, name: str) -> Path:
        return self.folder / name

    def _prepare(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.folder, 0o700)

    def ensure(self, now: datetime) -> Certificate:
        """The certificate served now, made if there is none yet (first start)."""
        cert, key = self._path("cert.pem"), self._path("key.pem")
        if cert.is_file() and key.is_file():
            return load_certificate(cert, key)
        self._prepare()
        return make_certificate(cert, key, now)

    def current(self) -> Certificate | None:
        cert, key = self._path("cert.pem"), self._path("key.pem")
        return load_certificate(cert, key) if cert.is_file() and key.is_file() else None

    def pending(self) -> tuple[Certificate, datetime] | None:
        """The next certificate and when it will be served, while a rotation is pending."""
        cert, key, when = (
            self._path("next-cert.pem"),
            self._path("next-key.pem"),
            self._path("rotation.json"),
        )
        if not (cert.is_file() and key.is_file() and when.is_file()):
            return None
        try:
            switch_at = from_iso(str(json.loads(when.read_text())["switch_at"]))
        except (ValueError, KeyError, TypeError):
            return None
        return load_certificate(cert, key), switch_at

    def rotate(self, now: datetime, grace: timedelta) -> tuple[Certificate, datetime]:
        """Make the next certificate, to be served from `now + grace`. A rotation already
        pending is replaced (desktops that pinned its certificate pin the new one at their
        next connection, as long as it is before the switch)."""
        self.ensure(now)
        self._prepare()
        switch_at = now + grace
        cert = make_certificate(self._path("next-cert.pem"), self._path("next-key.pem"), now)
        self._path("rotation.json").write_text(json.dumps({"switch_at": to_iso(switch_at)}))
        return cert, switch_at

    def switch_if_due(self, now: datetime) -> bool:
        """Serve the next certificate once its time has come. True if it switched (the
        context, if made, serves it to every new connection from now on)."""
        pending = self.pending()
        if pending is None or now < pending[1]:
            return False
        current = self._path("cert.pem")
        if current.is_file():
            os.replace(current, self._path("previous-cert.pem"))
        os.replace(self._path("next-key.pem"), self._path("key.pem"))
        os.replace(self._path("next-cert.pem"), current)
        self._path("rotation.json").unlink()
        if self._context is not None:
            self._context.load_cert_chain(current, self._path("key.pem"))
        return True

    def context(self, now: datetime) -> ssl.SSLContext:
        """The server's TLS context (TLS 1.2 at least), made once and kept up to date."""
        if self._context is None:
            cert = self.ensure(now)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(cert.cert_path, cert.key_path)
            self._context = ctx
        return self._context

    def _stamp(self) -> tuple[int, int]:
        def mtime(name: str) -> int:
            try:
                return self._path(name).stat().st_mtime_ns
            except OSError:
                return 0

        return mtime("cert.pem"), mtime("rotation.json")

    def hello_info(self) -> dict[str, Any] | None:
        """What the `hello` frame says about the certificate (docs/protocol.md, Transport):
        read again only when the files changed (a rotation written by `rotate-cert`)."""
        stamp = self._stamp()
        if self._info is None or self._info[0] != stamp:
            self._info = (stamp, self._read_info())
        return self._info[1]

    def _read_info(self) -> dict[str, Any] | None:
        cert = self.current()
        if cert is None:
            return None
        info: dict[str, Any] = {"fingerprint": cert.sha256, "code": cert.code, "next": None}
        pending = self.pending()
        if pending is not None:
            nxt, switch_at = pending
            info["next"] = {"fingerprint": nxt.sha256, "code": nxt.code, "from": to_iso(switch_at)}
        return info

    # --- pairing codes -------------------------------------------------------------------

    def new_pairing(self, now: datetime, minutes: float = PAIRING_MINUTES, uses: int = 1) -> str:
        """A fresh pairing code, valid for `minutes` and `uses` desktops; it replaces any
        code still waiting (one at a time, so a desktop never has to say which)."""
        self._prepare()
        code = new_pairing_code()
        record = {"code": code, "until": to_iso(now + timedelta(minutes=minutes)), "uses": uses}
        _write_private(self._path("pairing.json"), json.dumps(record).encode())
        return code

    def take_pairing(self, now: datetime) -> str | None:
        """The waiting pairing code, using it up once; None if there is none or it expired."""
        path = self._path("pairing.json")
        try:
            record = json.loads(path.read_text())
            code, until, uses = str(record["code"]), from_iso(record["until"]), int(record["uses"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if now >= until or uses < 1:
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        if uses == 1:
            path.unlink()
        else:
            record["uses"] = uses - 1
            _write_private(path, json.dumps(record).encode())
        return normalise_code(code)
