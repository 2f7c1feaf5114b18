"""What the parts of the server (server/sessions.py, server/rounds.py, server/http.py) share:
the state RoomrackServer (server/app.py) sets up, and the helpers one part calls in another.
RoomrackServer is all of them together; a part is never used alone."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.accounts import Accounts
    from server.backup import DailyBackup
    from server.commands.staff import StaffCommands
    from server.config import Config
    from server.discovery import Announcer
    from server.guard import LoginGuard
    from server.hub import Hub
    from server.store import Store
    from server.tls import TlsFolder
    from shared.clock import Clock


class ServerParts:
    config: Config
    clock: Clock
    store: Store
    hub: Hub
    guard: LoginGuard
    accounts: Accounts
    tls: TlsFolder | None
    staff_commands: StaffCommands
    backups: DailyBackup | None
    port: int
    _scrypt: asyncio.Semaphore
    _backup_task: asyncio.Task[None] | None
    _tasks: list[asyncio.Task[None]]

    announcer: Announcer | None

    @property
    def scheme(self) -> str:
        return "ws" if self.tls is None else "wss"

    @property
    def fingerprint_code(self) -> str | None:
        """The served certificate's readable code (None over plain ws)."""
        cert = self.tls.current() if self.tls else None
        return cert.code if cert else None

    def backup_health(self) -> dict[str, Any] | None:
        raise NotImplementedError  # ClockRounds'

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        raise NotImplementedError  # RoomrackServer's
