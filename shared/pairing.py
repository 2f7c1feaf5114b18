"""Who the server is: certificate fingerprints as short codes, and the pairing proof.

Pure: both the server (which prints its code and answers `pair.prove`) and the desktop (which
shows the code and checks the proof) use these functions, so they always agree.

- The *fingerprint* of a certificate is the SHA-256 of its DER bytes (64 hex digits): what a
  desktop pins. The *code* a person reads is its first 120 bits in Crockford base32 (no I, L,
  O or U to misread), as six groups of four: `K7QF-2M9D-...`.
- A *pairing code* is a one-time secret of 60 random bits (`XXXX-XXXX-XXXX`) that an admin
  prints on the server PC and types on the desktop. The desktop sends a fresh nonce; the
  server answers HMAC-SHA256(code, context | fingerprint of the certificate it serves |
  nonce). The desktop computes the same over the certificate *it* received: equal only if the
  other end knows the code and serves that very certificate, so a machine in the middle (with
  a certificate of its own) cannot pass, and the proof cannot be replayed for another nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS = 6  # groups of 4 characters of a fingerprint code: 120 bits
PAIRING_GROUPS = 3  # groups of 4 characters of a pairing code: 60 bits
PAIRING_CONTEXT = b"roomrack pairing v1\x00"
NONCE_BYTES = 16


def fingerprint(der: bytes) -> str:
    """The SHA-256 of a certificate's DER bytes, as 64 lowercase hex digits."""
    return hashlib.sha256(der).hexdigest()


def _base32(data: bytes, chars: int) -> str:
    number = int.from_bytes(data, "big")
    bits = len(data) * 8
    return "".join(CROCKFORD[(number >> (bits - 5 * (i + 1))) & 31] for i in range(chars))


def _grouped(text: str) -> str:
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def fingerprint_code(sha256_hex: str) -> str:
    """The readable code of a fingerprint (hex digits): six groups of four characters."""
    return _grouped(_base32(bytes.fromhex(sha256_hex), 4 * CODE_GROUPS))


def new_pairing_code() -> str:
    """A fresh one-time pairing code, e.g. `7M2K-Q9XD-04TR`."""
    return _grouped(_base32(secrets.token_bytes(8), 4 * PAIRING_GROUPS))


def normalise_code(text: str) -> str:
    """What a person typed, in canonical form: upper case, no spaces or dashes, and the
    letters people confuse with digits read as Crockford says (O→0, I/L→1). Grouped again."""
    plain = "".join(ch for ch in text.upper() if ch.isalnum())
    plain = plain.translate(str.maketrans("OIL", "011"))
    return _grouped(plain)


def is_pairing_code(text: str) -> bool:
    plain = normalise_code(text).replace("-", "")
    return len(plain) == 4 * PAIRING_GROUPS and all(ch in CROCKFORD for ch in plain)


def new_nonce() -> str:
    return secrets.token_hex(NONCE_BYTES)


def pairing_proof(code: str, sha256_hex: str, nonce: str) -> str:
    """HMAC-SHA256(code, context | fingerprint | nonce) as hex (see the module docstring)."""
    key = normalise_code(code).encode()
    message = PAIRING_CONTEXT + sha256_hex.lower().encode() + b"\x00" + nonce.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def proof_matches(code: str, sha256_hex: str, nonce: str, proof: str) -> bool:
    return hmac.compare_digest(pairing_proof(code, sha256_hex, nonce), proof.lower())
