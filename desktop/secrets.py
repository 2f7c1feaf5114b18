"""The desktop's secrets — its session token and its certificate pins — in the OS keyring.

`keyring` picks the platform's store (Windows Credential Manager, macOS Keychain, the Secret
Service of a Linux desktop). On a machine without one, the secrets go to a JSON file that only
this user may read (0600) in the per-user config folder, and a warning says so once.

Each `Settings` file has its own namespace (the default settings, the demo's, a test's), so
two of them never see each other's token. The one API for the token is `save_token`,
`load_token`, `forget_token`: logging out and a session the server ended both go through
`forget_token` (via `Settings.token = None`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

import keyring
import keyring.errors
import platformdirs
from keyring.backend import KeyringBackend

log = logging.getLogger("roomrack.desktop")

SERVICE = "Roomrack"
TOKEN = "session-token"


def fallback_path() -> Path:
    return Path(platformdirs.user_config_dir("roomrack", appauthor=False)) / "secrets.json"


def _usable(backend: KeyringBackend) -> bool:
    """A real store: not keyring's `fail` or `null` stand-ins (priority 0 or less)."""
    try:
        return float(backend.priority) > 0
    except Exception:
        return False


class FileSecrets:
    """The fallback: one JSON object {namespace: {name: value}} in a 0600 file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, self.path)

    def get(self, namespace: str, name: str) -> str | None:
        return self._read().get(namespace, {}).get(name)

    def set(self, namespace: str, name: str, value: str) -> None:
        data = self._read()
        data.setdefault(namespace, {})[name] = value
        self._write(data)

    def delete(self, namespace: str, name: str) -> None:
        data = self._read()
        if name in data.get(namespace, {}):
            del data[namespace][name]
            self._write(data)


class Secrets:
    """Named secrets of one namespace, in the keyring (or the fallback file)."""

    _warned = False
    _keyring_broken = False  # a keyring that failed once is not asked again by this process

    def __init__(self, namespace: str, fallback: Path | None = None) -> None:
        self.namespace = namespace
        self._fallback_path = fallback

    def _key(self, name: str) -> str:
        return f"{self.namespace}:{name}"

    def _file(self) -> FileSecrets | None:
        """The fallback file if the keyring has no usable backend, else None."""
        if not Secrets._keyring_broken and _usable(keyring.get_keyring()):
            return None
        path = self._fallback_path or fallback_path()
        if not Secrets._warned:
            Secrets._warned = True
            log.warning(
                "no OS keyring on this machine: the session token and certificate pins are "
                "kept in %s, readable by this user only",
                path,
            )
        return FileSecrets(path)

    def _broken(self, exc: Exception) -> FileSecrets:
        log.warning("the OS keyring failed (%s); using the file instead", exc)
        Secrets._keyring_broken = True
        file = self._file()
        assert file is not None
        return file

    def get(self, name: str) -> str | None:
        file = self._file()
        if file is None:
            try:
                return keyring.get_password(SERVICE, self._key(name))
            except keyring.errors.KeyringError as exc:
                file = self._broken(exc)
        return file.get(self.namespace, name)

    def set(self, name: str, value: str) -> None:
        file = self._file()
        if file is None:
            try:
                keyring.set_password(SERVICE, self._key(name), value)
                return
            except keyring.errors.KeyringError as exc:
                file = self._broken(exc)
        file.set(self.namespace, name, value)

    def delete(self, name: str) -> None:
        file = self._file()
        if file is None:
            try:
                keyring.delete_password(SERVICE, self._key(name))
                return
            except keyring.errors.PasswordDeleteError:
                return  # there was none
            except keyring.errors.KeyringError as exc:
                file = self._broken(exc)
        file.delete(self.namespace, name)


def save_token(secrets: Secrets, token: str) -> None:
    secrets.set(TOKEN, token)


def load_token(secrets: Secrets) -> str | None:
    return secrets.get(TOKEN) or None


def forget_token(secrets: Secrets) -> None:
    """Remove the kept session token (logout, or a session the server ended)."""
    secrets.delete(TOKEN)
