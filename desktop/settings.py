"""What the desktop remembers between starts: server address, session token, toast options.

Kept with QSettings (the platform's usual place); tests and the demo pass their own file. The
session token and the certificate pins are secrets: they live in the OS keyring
(desktop/secrets.py), in a namespace of this settings file, never in QSettings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from desktop import secrets
from desktop.members import address_text, split_addresses

CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")
DEFAULT_SERVER = "wss://127.0.0.1:8765"


class Settings:
    def __init__(self, path: Path | str | None = None) -> None:
        fallback: Path | None = None  # without a keyring: the per-user file
        if path is None:
            self._qs = QSettings("Roomrack", "Roomrack")
            namespace = "default"
        else:
            self._qs = QSettings(str(path), QSettings.Format.IniFormat)
            namespace = str(Path(path).resolve())
            # a settings file of its own (the demo's, a test's) keeps its secrets beside it
            fallback = Path(path).with_name(Path(path).stem + "-secrets.json")
        self.secrets = secrets.Secrets(namespace, fallback)
        self._move_token_to_keyring()

    def _move_token_to_keyring(self) -> None:
        """A token an older version kept in QSettings moves to the keyring."""
        old = self._qs.value("session/token", "")
        if old:
            secrets.save_token(self.secrets, str(old))
        if self._qs.contains("session/token"):
            self._qs.remove("session/token")
            self._qs.sync()

    def _get(self, key: str, default: Any) -> Any:
        value = self._qs.value(key, default)
        return default if value is None else value

    def _set(self, key: str, value: Any) -> None:
        if value is None:
            self._qs.remove(key)
        else:
            self._qs.setValue(key, value)
        self._qs.sync()

    @property
    def server_urls(self) -> list[str]:
        """The server's address, or the addresses of a cluster's members in the order they
        are tried (kept as a list; an older version kept one `server/url`)."""
        value = self._get("server/urls", None)
        if value is None:
            value = self._get("server/url", DEFAULT_SERVER)
        urls = split_addresses([str(v) for v in value] if isinstance(value, list) else str(value))
        return urls or [DEFAULT_SERVER]

    @server_urls.setter
    def server_urls(self, urls: Sequence[str]) -> None:
        self._qs.remove("server/url")
        self._set("server/urls", list(urls))

    @property
    def server_url(self) -> str:
        """The addresses as one line, as typed: `wss://a:8765, wss://b:8765`."""
        return address_text(self.server_urls)

    @server_url.setter
    def server_url(self, value: str) -> None:
        self.server_urls = split_addresses(value)

    @property
    def has_server(self) -> bool:
        return self._qs.contains("server/urls") or self._qs.contains("server/url")

    @property
    def token(self) -> str | None:
        """The kept session token (in the keyring); setting None forgets it."""
        return secrets.load_token(self.secrets)

    @token.setter
    def token(self, value: str | None) -> None:
        if value:
            secrets.save_token(self.secrets, value)
        else:
            secrets.forget_token(self.secrets)

    @property
    def last_login(self) -> str:
        return str(self._get("session/login", ""))

    @last_login.setter
    def last_login(self, value: str) -> None:
        self._set("session/login", value)

    @property
    def toast_corner(self) -> str:
        value = str(self._get("toasts/corner", "bottom-right"))
        return value if value in CORNERS else "bottom-right"

    @toast_corner.setter
    def toast_corner(self, value: str) -> None:
        self._set("toasts/corner", value)

    @property
    def toast_seconds(self) -> float:
        try:
            return max(1.0, float(self._get("toasts/seconds", 5.0)))
        except (TypeError, ValueError):
            return 5.0

    @toast_seconds.setter
    def toast_seconds(self, value: float) -> None:
        self._set("toasts/seconds", float(value))

    @property
    def sound(self) -> bool:
        value = self._get("toasts/sound", False)
        return value in (True, "true", "1", 1)

    @sound.setter
    def sound(self, value: bool) -> None:
        self._set("toasts/sound", bool(value))
