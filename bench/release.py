"""The current release, measured beside this tree in the same run: a git commit (named in
bench/RELEASE, or on the command line) exported into a temporary folder."""

from __future__ import annotations

import contextlib
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.options import ROOT

RELEASE_FILE = ROOT / "bench" / "RELEASE"


def release_ref(asked: str | None) -> str | None:
    """The commit to compare with: `asked`, else bench/RELEASE; None for `none`."""
    ref = asked if asked is not None else RELEASE_FILE.read_text().strip()
    if ref.lower() == "none":
        return None
    done = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the release {ref!r} is not a commit of this repository")
    return done.stdout.strip()


@contextlib.contextmanager
def export_release(ref: str) -> Iterator[Path]:
    """The source tree of commit `ref` in a temporary folder (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="roomrack-release-") as tmp:
        archive = Path(tmp) / "src.tar"
        subprocess.run(
            ["git", "archive", "--format=tar", "-o", str(archive), ref],
            cwd=ROOT,
            check=True,
        )
        src = Path(tmp) / "src"
        with tarfile.open(archive) as tar:
            tar.extractall(src, filter="data")
        yield src
