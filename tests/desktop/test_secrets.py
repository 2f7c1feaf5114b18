"""Where the desktop keeps its secrets: the keyring, or a file only its user reads."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from desktop import secrets
from desktop.pinning import PinStore, Verdict
from tests.support import FileKeyring


def test_without_a_keyring_secrets_go_to_a_file_only_its_user_reads_and_a_warning_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.setattr(secrets.Secrets, "_warned", False)
    path = tmp_path / "config" / "secrets.json"
    box = secrets.Secrets("desk-a", fallback=path)
    with caplog.at_level(logging.WARNING, "roomrack.desktop"):
        secrets.save_token(box, "tok-1")
    assert "no OS keyring" in caplog.text and str(path) in caplog.text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secrets.load_token(box) == "tok-1"
    assert secrets.load_token(secrets.Secrets("desk-b", fallback=path)) is None  # namespaces
    secrets.forget_token(box)
    assert secrets.load_token(box) is None and "tok-1" not in path.read_text()


def test_with_a_keyring_the_file_is_not_written(tmp_path: Path, test_keyring: FileKeyring) -> None:
    path = tmp_path / "secrets.json"
    box = secrets.Secrets("desk-a", fallback=path)
    secrets.save_token(box, "tok-2")
    assert not path.exists() and "tok-2" in test_keyring.path.read_text()
    secrets.forget_token(box)
    secrets.forget_token(box)  # forgetting twice is harmless
    assert secrets.load_token(box) is None


def test_pins_are_per_address_and_a_pinned_next_certificate_takes_over(tmp_path: Path) -> None:
    pins = PinStore(secrets.Secrets("desk", fallback=tmp_path / "s.json"))
    a, b = "wss://reception-pc:8765", "wss://Reception-PC:8766"
    pins.pin(a, "aa" * 32)
    assert pins.check(a, "aa" * 32) is Verdict.PINNED
    assert pins.check(b, "aa" * 32) is Verdict.UNKNOWN  # another port, another server
    assert pins.check(a, "bb" * 32) is Verdict.CHANGED
    pins.pin_next(a, "bb" * 32)
    assert pins.check(a, "aa" * 32) is Verdict.PINNED  # both, during the grace period
    assert pins.check(a, "bb" * 32) is Verdict.NEXT
    assert pins.check(a, "aa" * 32) is Verdict.CHANGED  # after the switch, only the new one
