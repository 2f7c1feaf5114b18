"""Finding Roomrack servers on the LAN (mDNS/DNS-SD, `_roomrack._tcp`), for the login dialog.

python-zeroconf runs in its own thread (it keeps its own event loop), so it never depends on
Qt's; what it finds reaches the dialog as a Qt signal, which Qt queues to the main thread.
What a TXT record says is a hint for choosing, never trust: the certificate check decides.

Servers that announce one `cluster` id serve one database: the dialog lists them as one entry
(`entries`), whose address is the list of its members.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from zeroconf import IPVersion, ServiceBrowser, ServiceListener, Zeroconf

log = logging.getLogger("roomrack.desktop")

SERVICE_TYPE = "_roomrack._tcp.local."
RESOLVE_MS = 3000


@dataclass(frozen=True)
class FoundServer:
    name: str  # the service instance, unique on the network
    host: str  # an address to connect to
    port: int
    hotels: tuple[str, ...]  # the hotels' names
    code: str  # the fingerprint code it announces ("" over plain ws)
    tls: bool
    cluster: str = ""  # equal for the servers of one database ("" from an older server)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{self.address}"

    @property
    def title(self) -> str:
        return ", ".join(self.hotels) or self.name.split("._roomrack")[0]

    @property
    def typed(self) -> str:
        """The address as the server field takes it (plain ws:// only when said)."""
        return self.address if self.tls else self.url


@dataclass(frozen=True)
class FoundEntry:
    """One entry of the login dialog's list: a server, or the servers of one cluster."""

    members: tuple[FoundServer, ...]  # at least one, by address

    @property
    def title(self) -> str:
        title = self.members[0].title
        return f"{title} — {len(self.members)} servers" if len(self.members) > 1 else title

    @property
    def addresses(self) -> str:
        """Every member's `host:port`, as the list shows them."""
        return ", ".join(m.address for m in self.members)

    @property
    def typed(self) -> str:
        """What choosing it puts in the server field: the members' addresses, in order."""
        return ", ".join(m.typed for m in self.members)

    @property
    def code(self) -> str:
        return self.members[0].code

    @property
    def tls(self) -> bool:
        return self.members[0].tls

    @property
    def names(self) -> str:
        return "\n".join(m.name for m in self.members)


def entries(servers: Sequence[FoundServer]) -> list[FoundEntry]:
    """The servers as the dialog lists them: those announcing one cluster id (and one
    certificate code) together, every other server alone; sorted by title."""
    groups: dict[tuple[str, ...], list[FoundServer]] = {}
    for found in servers:
        key: tuple[str, ...]
        if found.cluster:
            key = ("cluster", found.cluster, found.code, str(found.tls))
        else:
            key = ("server", found.name)
        groups.setdefault(key, []).append(found)
    listed = [FoundEntry(tuple(sorted(g, key=lambda s: s.address))) for g in groups.values()]
    return sorted(listed, key=lambda e: (e.title, e.addresses))


def _text(props: dict[bytes, bytes | None], key: str) -> str:
    value = props.get(key.encode())
    return value.decode("utf-8", "replace") if value else ""


class ServerBrowser(QObject):
    """Lists the servers announced on the LAN while it runs; `changed` carries the list."""

    changed = Signal(list)  # list[FoundServer], sorted by hotel name

    def __init__(self, interfaces: Sequence[str] | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.interfaces = list(interfaces) if interfaces else None
        self.servers: dict[str, FoundServer] = {}  # as the Qt thread last heard
        self._found: dict[str, FoundServer] = {}  # zeroconf's thread's own list
        self._zc: Zeroconf | None = None
        self._browser: ServiceBrowser | None = None
        self._lock = threading.Lock()
        self.changed.connect(self._keep)

    def start(self) -> None:
        """Start browsing (in zeroconf's thread); no-op if the network refuses multicast."""
        if self._zc is not None:
            return
        result: list[Zeroconf] = []

        def make() -> None:  # outside Qt's running loop: zeroconf starts its own thread
            with contextlib.suppress(OSError):
                if self.interfaces is None:
                    result.append(Zeroconf(ip_version=IPVersion.V4Only))
                else:
                    result.append(Zeroconf(interfaces=self.interfaces, ip_version=IPVersion.V4Only))

        maker = threading.Thread(target=make, name="roomrack-discovery")
        maker.start()
        maker.join(10)
        if not result:
            log.warning("cannot look for servers on this network (no multicast)")
            return
        self._zc = result[0]
        self._browser = ServiceBrowser(self._zc, SERVICE_TYPE, listener=_Listener(self))

    def stop(self) -> None:
        browser, zc = self._browser, self._zc
        self._browser, self._zc = None, None
        if browser is not None:
            with contextlib.suppress(Exception):
                browser.cancel()
        if zc is not None:
            with contextlib.suppress(Exception):
                zc.close()

    # --- from zeroconf's thread --------------------------------------------------------------

    def _resolved(self, zc: Zeroconf, name: str) -> None:
        info = zc.get_service_info(SERVICE_TYPE, name, RESOLVE_MS)
        if info is None or not info.port:
            return
        addresses = info.parsed_addresses(IPVersion.V4Only)
        if not addresses:
            return
        props = info.properties or {}
        found = FoundServer(
            name=name,
            host=addresses[0],
            port=int(info.port),
            hotels=tuple(n for n in _text(props, "names").split("|") if n),
            code=_text(props, "fp"),
            tls=_text(props, "tls") != "0",
            cluster=_text(props, "cluster"),
        )
        with self._lock:
            self._found[name] = found
            servers = dict(self._found)
        self.changed.emit(sorted(servers.values(), key=lambda s: (s.title, s.address)))

    def _gone(self, name: str) -> None:
        with self._lock:
            self._found.pop(name, None)
            servers = dict(self._found)
        self.changed.emit(sorted(servers.values(), key=lambda s: (s.title, s.address)))

    def _keep(self, servers: list[FoundServer]) -> None:  # in the Qt thread
        self.servers = {s.name: s for s in servers}


class _Listener(ServiceListener):
    def __init__(self, browser: ServerBrowser) -> None:
        self.browser = browser

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.browser._resolved(zc, name)

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.browser._resolved(zc, name)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.browser._gone(name)
