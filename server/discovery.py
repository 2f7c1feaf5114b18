"""Announcing the server on the LAN with mDNS/DNS-SD (`_roomrack._tcp`), as printers do.

The TXT record says what a desktop's login dialog lists (docs/protocol.md, Discovery):

    v=1  tls=1|0  fp=<fingerprint code>  hotels=<slug,slug>  names=<Hotel name|Other name>
    host=<host name>  [cluster=<cluster id>]

`cluster` is the same for every server of one database (the first 12 hex characters of its
epoch, which they share): a desktop lists those servers as one entry whose address is the
list of its members. A server without it is listed on its own.

It is a hint for the person choosing a server, never a proof: trust still comes from the
certificate check when the desktop connects.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Sequence

import ifaddr
from zeroconf import IPVersion, NonUniqueNameException, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

SERVICE_TYPE = "_roomrack._tcp.local."
TXT_LIMIT = 200  # bytes of one TXT string (DNS allows 255)
CLUSTER_LIMIT = 32  # characters of a cluster id (the servers pass 12)

log = logging.getLogger("roomrack.discovery")


def txt_record(
    hotels: Sequence[tuple[str, str]], code: str | None, cluster: str | None = None
) -> dict[str, str]:
    """The TXT fields for these hotels (slug, name), fingerprint code (None: plain ws) and
    cluster id (None or "": no `cluster` field)."""
    fields = {
        "v": "1",
        "tls": "1" if code else "0",
        "fp": code or "",
        "hotels": ",".join(slug for slug, _ in hotels)[:TXT_LIMIT],
        "names": "|".join(name for _, name in hotels)[:TXT_LIMIT],
        "host": socket.gethostname()[:63],
    }
    if cluster:
        fields["cluster"] = cluster[:CLUSTER_LIMIT]
    return fields


def instance_name(hotels: Sequence[tuple[str, str]], port: int) -> str:
    """A readable, unique-enough instance name: `Seaview Hotel on reception-pc:8765`."""
    names = ", ".join(name for _, name in hotels) or "Roomrack"
    return f"{names[:30]} on {socket.gethostname()[:20]}:{port}"


def lan_addresses(host: str) -> list[str]:
    """The IPv4 addresses to announce: the one listened on, or every non-loopback address of
    this PC when listening on all (0.0.0.0 or '')."""
    if host not in ("", "0.0.0.0", "::"):
        return [host]
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ip.ip.startswith("127."):
                found.append(ip.ip)
    return found or ["127.0.0.1"]


class Announcer:
    """One service announced while the server runs (start after listening, stop before)."""

    def __init__(
        self,
        host: str,
        port: int,
        hotels: Sequence[tuple[str, str]],
        code: str | None,
        interfaces: Sequence[str] | None = None,
        cluster: str | None = None,
    ) -> None:
        self.addresses = lan_addresses(host)
        loopback = all(a.startswith("127.") for a in self.addresses)
        # a server on 127.0.0.1 is only for this PC: announce it there only
        chosen = list(interfaces) if interfaces else (["127.0.0.1"] if loopback else None)
        self.interfaces = chosen
        self.hotels = list(hotels)
        self.port = port
        self.cluster = cluster  # equal for the servers of one database
        self.info = self._info(f"{instance_name(hotels, port)}.{SERVICE_TYPE}", code)
        self._zc: AsyncZeroconf | None = None

    def _info(self, name: str, code: str | None) -> ServiceInfo:
        return ServiceInfo(
            SERVICE_TYPE,
            name,
            addresses=[socket.inet_aton(a) for a in self.addresses],
            port=self.port,
            properties=txt_record(self.hotels, code, self.cluster),
            server=f"{socket.gethostname()[:50] or 'roomrack'}.local.",
        )

    async def start(self) -> None:
        if self.interfaces is None:
            zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
        else:
            zc = AsyncZeroconf(interfaces=self.interfaces, ip_version=IPVersion.V4Only)
        try:
            await zc.async_register_service(self.info, allow_name_change=True)
        except (NonUniqueNameException, OSError):
            await zc.async_close()
            raise
        self._zc = zc
        log.info("announced as %r on %s", self.info.name, ", ".join(self.addresses))

    async def update(self, code: str | None) -> None:
        """Announce another fingerprint (after a certificate switch)."""
        if self._zc is None:
            return
        self.info = self._info(self.info.name, code)
        await self._zc.async_update_service(self.info)

    async def stop(self) -> None:
        zc, self._zc = self._zc, None
        if zc is None:
            return
        with contextlib.suppress(Exception):
            await zc.async_unregister_service(self.info)
        await zc.async_close()
