"""The transport: TLS by default with the server's own certificate, its code, pairing proofs,
rotation with a grace period, and the commands that look after them."""

from __future__ import annotations

import asyncio
import configparser
import json
import stat
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from server import cli, tls
from server.config import Config
from shared.clock import ManualClock
from shared.pairing import fingerprint, fingerprint_code, new_nonce, pairing_proof
from tests.support import LiveServer, Peer, tls_config, unverified_tls


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def certificate_of(peer: Peer) -> str:
    """The SHA-256 of the certificate this connection was served."""
    obj = peer.ws.transport.get_extra_info("ssl_object")
    return fingerprint(obj.getpeercert(binary_form=True))


def test_the_first_start_makes_a_certificate_whose_key_only_the_owner_reads(
    demo_db: Path, clock: ManualClock
) -> None:
    async def go() -> None:
        async with LiveServer(demo_db, clock, insecure=False) as live:
            assert live.url.startswith("wss://")
            folder = tls.default_dir(demo_db)
            key = folder / "key.pem"
            assert stat.S_IMODE(key.stat().st_mode) == 0o600
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700
            peer = await Peer.open(live.url, "manager")
            served = certificate_of(peer)
            assert peer.hello["tls"] == {
                "fingerprint": served,
                "code": fingerprint_code(served),
                "next": None,
            }
            assert live.server.fingerprint_code == fingerprint_code(served)
            await peer.close()

    run(go())


def test_the_certificate_is_kept_across_restarts(demo_db: Path, clock: ManualClock) -> None:
    async def code() -> str | None:
        async with LiveServer(demo_db, clock, insecure=False) as live:
            return live.server.fingerprint_code

    assert run(code()) == run(code())


def test_health_and_status_are_served_over_https(demo_db: Path, clock: ManualClock) -> None:
    async def go() -> None:
        async with LiveServer(demo_db, clock, insecure=False) as live:
            url = f"https://127.0.0.1:{live.server.port}/healthz"

            def fetch() -> dict[str, object]:
                with urllib.request.urlopen(url, timeout=5, context=unverified_tls()) as r:
                    return dict(json.loads(r.read()))

            assert (await asyncio.to_thread(fetch))["status"] == "ok"

    run(go())


def test_a_plain_client_cannot_talk_to_a_tls_server(demo_db: Path, clock: ManualClock) -> None:
    async def go() -> None:
        async with LiveServer(demo_db, clock, insecure=False) as live:
            with pytest.raises(Exception):  # noqa: B017 - any handshake failure will do
                await asyncio.wait_for(connect(f"ws://127.0.0.1:{live.server.port}"), 5)

    run(go())


def test_a_pairing_code_proves_the_served_certificate_once(
    demo_db: Path, clock: ManualClock
) -> None:
    async def go() -> None:
        async with LiveServer(demo_db, clock, insecure=False) as live:
            folder = tls.TlsFolder(tls.default_dir(demo_db))
            code = folder.new_pairing(clock.now())
            peer = await Peer.open(live.url)
            nonce = new_nonce()
            reply = await peer.request("pair.prove", nonce=nonce)
            assert reply["type"] == "ack", reply
            served = certificate_of(peer)
            assert reply["result"]["proof"] == pairing_proof(code, served, nonce)
            assert reply["result"]["proof"] != pairing_proof(code, served, new_nonce())
            again = await peer.request("pair.prove", nonce=new_nonce())
            assert again["code"] == "pairing_unavailable"  # used up
            await peer.close()

    run(go())


def test_an_expired_pairing_code_is_refused(demo_db: Path, clock: ManualClock) -> None:
    async def go() -> None:
        async with LiveServer(demo_db, clock, insecure=False) as live:
            folder = tls.TlsFolder(tls.default_dir(demo_db))
            folder.new_pairing(clock.now(), minutes=10)
            clock.advance(11 * 60)
            peer = await Peer.open(live.url)
            reply = await peer.request("pair.prove", nonce=new_nonce())
            assert reply["code"] == "pairing_unavailable"
            assert "roomrack-server pair" in reply["message"]
            await peer.close()

    run(go())


def test_a_plain_server_has_nothing_to_pair(demo_db: Path, clock: ManualClock) -> None:
    async def go() -> None:
        async with LiveServer(demo_db, clock) as live:
            peer = await Peer.open(live.url)
            assert peer.hello["tls"] is None
            reply = await peer.request("pair.prove", nonce=new_nonce())
            assert reply["code"] == "pairing_unavailable"
            # a value is checked before the server's state (docs/protocol.md, *Which refusal
            # comes first*): a nonce too short is bad_request on any server
            short = await peer.request("pair.prove", nonce="abc")
            assert short["code"] == "bad_request", short
            await peer.close()

    run(go())


def test_a_rotation_announces_the_next_certificate_then_serves_it_after_the_grace_period(
    demo_db: Path, clock: ManualClock
) -> None:
    async def go() -> None:
        async with LiveServer(demo_db, clock, insecure=False) as live:
            folder = tls.TlsFolder(tls.default_dir(demo_db))
            old = await Peer.open(live.url)
            before = certificate_of(old)
            nxt, _ = folder.rotate(clock.now(), timedelta(days=14))
            during = await Peer.open(live.url)
            assert certificate_of(during) == before  # still the old one
            assert during.hello["tls"]["next"]["fingerprint"] == nxt.sha256
            assert await live.server.certificate_now() is False  # not yet
            clock.advance(14 * 86400)
            assert await live.server.certificate_now() is True
            after = await Peer.open(live.url)
            assert certificate_of(after) == nxt.sha256
            assert after.hello["tls"]["next"] is None
            assert await old.request("ping")  # a live connection keeps going
            for p in (old, during, after):
                await p.close()

    run(go())


def test_the_commands_print_the_code_a_pairing_code_and_a_rotation(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--db", str(demo_db), "fingerprint"]) == 0
    code = tls.TlsFolder(tls.default_dir(demo_db)).current()
    assert code is not None and code.code in capsys.readouterr().out
    assert cli.main(["--db", str(demo_db), "pair", "--minutes", "5"]) == 0
    out = capsys.readouterr().out
    assert "Pairing code: " in out and "5 minutes" in out
    assert cli.main(["--db", str(demo_db), "rotate-cert", "--grace-days", "7"]) == 0
    out = capsys.readouterr().out
    pending = tls.TlsFolder(tls.default_dir(demo_db)).pending()
    assert pending is not None and pending[0].code in out


def test_install_service_writes_a_valid_systemd_unit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unit = tmp_path / "units" / "roomrack.service"
    db = tmp_path / "roomrack.db"
    args = ["--db", str(db), "install-service", "--unit", str(unit), "--user", "roomrack"]
    assert cli.main(args) == 0
    parsed = configparser.ConfigParser(strict=True, interpolation=None)
    parsed.read_string(unit.read_text())
    assert parsed["Service"]["User"] == "roomrack"
    command = parsed["Service"]["ExecStart"]
    assert f"--db {db}" in command and command.split()[-5:] == [
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "8765",
    ]
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in parsed["Unit"]["After"]
    out = capsys.readouterr().out
    assert f"Wrote {unit}" in out and "systemctl enable --now roomrack.service" in out


def test_the_default_config_is_tls() -> None:
    assert Config().insecure is False
    assert tls_config(Path("x.db")).insecure is False
