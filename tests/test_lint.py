"""The code stays clean: ruff (lint and format) and mypy, as configured in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; install the project with '.[test]'")
    return found


def test_ruff_check() -> None:
    out = run(tool("ruff"), "check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format() -> None:
    out = run(tool("ruff"), "format", "--check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy() -> None:
    out = run(sys.executable, "-m", "mypy")
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_source_file_is_over_600_lines() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import layout_check
    finally:
        sys.path.remove(str(ROOT / "tools"))
    ranked = layout_check.longest_files(layout_check.source_files(ROOT))
    over = [f"{p.relative_to(ROOT)}: {n} lines" for n, p in ranked if n > layout_check.LINE_LIMIT]
    print("\n".join(layout_check.function_lines(ROOT)))
    assert not over, "files over 600 lines:\n" + "\n".join(over)
