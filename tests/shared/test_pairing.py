"""Fingerprint codes and pairing proofs (shared/pairing.py)."""

from __future__ import annotations

import re

from shared.pairing import (
    fingerprint,
    fingerprint_code,
    is_pairing_code,
    new_nonce,
    new_pairing_code,
    normalise_code,
    pairing_proof,
    proof_matches,
)

SHA = fingerprint(b"a certificate")
OTHER = fingerprint(b"another certificate")


def test_a_fingerprint_code_is_six_groups_of_four_readable_characters() -> None:
    code = fingerprint_code(SHA)
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){5}[0-9A-HJKMNP-TV-Z]{4}", code)
    assert fingerprint_code(SHA) == code and fingerprint_code(OTHER) != code


def test_a_pairing_code_survives_how_people_type_it() -> None:
    code = new_pairing_code()
    assert is_pairing_code(code)
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert normalise_code(typed) == code
    assert not is_pairing_code("1234-5678")
    assert not is_pairing_code("UUUU-UUUU-UUUU")  # U is not in the alphabet


def test_a_proof_holds_only_for_its_code_certificate_and_nonce() -> None:
    code, nonce = new_pairing_code(), new_nonce()
    proof = pairing_proof(code, SHA, nonce)
    assert proof_matches(code.lower(), SHA, nonce, proof)
    assert not proof_matches(new_pairing_code(), SHA, nonce, proof)
    assert not proof_matches(code, OTHER, nonce, proof)  # a machine in the middle
    assert not proof_matches(code, SHA, new_nonce(), proof)  # a replay
