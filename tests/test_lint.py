"""The code stays clean: ruff (lint and format) and mypy, as configured in pyproject.toml; no
source or test file over 600 lines, and the median function under 20 (tools/layout_check.py)."""

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
    from tools.layout_check import LINE_LIMIT, PACKAGES, line_count, source_files

    assert {"shared", "server", "desktop", "bench", "resources", "tools", "tests"} <= set(PACKAGES)
    over = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for path in source_files(ROOT)
        if (n := line_count(path)) > LINE_LIMIT
    ]
    assert not over, f"longer than {LINE_LIMIT} lines (split them by what they do): {over}"


def test_the_median_function_is_under_20_lines() -> None:
    from tools.layout_check import MEDIAN_LIMIT, MEDIAN_PACKAGES, median_function_lines

    assert {"shared", "server", "desktop"} <= set(MEDIAN_PACKAGES)
    median = median_function_lines(ROOT)
    assert median < MEDIAN_LIMIT, (
        f"the median function of {MEDIAN_PACKAGES} is {median} lines, not under {MEDIAN_LIMIT}"
    )
