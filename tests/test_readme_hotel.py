"""The README's "Running it in a hotel", followed to the letter on an empty store: the commands
of its first block run as written (only the store's place, the port and the address are this
test's own: a test listens on 127.0.0.1), and a workstation then sees a working board of the
30 rooms imported from the CSV, over TLS, after checking the certificate code the server
printed, as a person does when a desk first connects."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shlex
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from shared import pairing
from tests.server.test_durability import free_port
from tests.support import Peer

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Seaview-harbour-42"  # typed twice when create-staff asks for it


def readme_commands() -> list[list[str]]:
    """The commands of the first shell block under '## Running it in a hotel'."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Running it in a hotel\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the section starts with its commands"
    return [shlex.split(line) for line in block.group(1).splitlines() if line.strip()]


def as_run_here(words: list[str], port: int) -> list[str]:
    """`.venv/bin/roomrack-server …` as this test's interpreter runs it, on this test's port
    and on 127.0.0.1 (the README's 0.0.0.0 opens the server to the LAN)."""
    assert words[0] == ".venv/bin/roomrack-server", words
    words = [sys.executable, "-m", "server.cli", *words[1:]]
    swap = {"--host": "127.0.0.1", "--port": str(port)}
    return [swap.get(words[i - 1], w) if i else w for i, w in enumerate(words)]


def run_command(words: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # a session of its own has no terminal, so getpass reads the password from standard input
    return subprocess.run(
        words,
        cwd=ROOT,
        env=env,
        input=f"{PASSWORD}\n{PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )


def started(words: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str, str]:
    """Start `serve` and read its first lines: the address it is ready on, the certificate code."""
    proc = subprocess.Popen(
        [*words, "--no-discovery"],  # no multicast from a test
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    url = code = ""
    deadline = time.monotonic() + 30
    while not (url and code) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if found := re.search(r"ready on (wss?://\S+)", line):
            url = found.group(1)
        if found := re.search(r"Certificate code: (\S+)", line):
            code = found.group(1)
    return proc, url, code


def certificate_code(url: str) -> str:
    """The code of the certificate this server shows, worked out on the workstation's side."""
    host, port = url.removeprefix("wss://").split(":")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        ctx.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return pairing.fingerprint_code(hashlib.sha256(der).hexdigest())


async def board_of(url: str, login: str) -> list[dict[str, Any]]:
    peer = await Peer.open(url, login, PASSWORD)
    try:
        reply = await peer.request("subscribe", channels=["seaview.rooms"])
        assert reply["type"] == "ack", reply
        snap = await peer.until(lambda f: f["type"] == "rooms.status")
        return list(snap["rooms"])
    finally:
        await peer.close()


@pytest.mark.slow
def test_the_readme_takes_an_empty_pc_to_a_working_board_of_thirty_rooms(tmp_path: Path) -> None:
    env = {**os.environ, "ROOMRACK_DB": str(tmp_path / "roomrack.db")}
    port = free_port()
    *setup, serve = [as_run_here(words, port) for words in readme_commands()]
    assert serve[3] == "serve"
    outputs = []
    for words in setup:
        done = run_command(words, env)
        assert done.returncode == 0, (words, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        outputs.append(done.stdout)
    dry_run = next(out for words, out in zip(setup, outputs, strict=True) if "--dry-run" in words)
    assert len(re.findall(r"\bcreate\b", dry_run)) >= 30, dry_run  # said, not done: see below

    proc, url, code = started(serve, env)
    try:
        assert url == f"wss://127.0.0.1:{port}", url  # encrypted by default
        assert code and certificate_code(url) == code  # the code the person compares
        rooms = asyncio.run(board_of(url, "maria"))
        assert len(rooms) == 30
        assert {r["room_number"] for r in rooms} >= {"101", "108"}
        assert all(r["room_status"] for r in rooms)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
