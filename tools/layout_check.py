"""How the source tree is shaped: the longest files and the median function length.

    python tools/layout_check.py [--top 15] [--limit 600]

Prints the longest Python files under shared/, server/, desktop/, bench/, resources/, tools/
and tests/ (lines), those over the limit, and per package the number of functions and their
median and longest length in lines (from the syntax tree: a function's lines run from its
`def` or first decorator to its last statement, nested functions counted on their own), then
the median of shared/, server/ and desktop/ together. Reads files only; exits 0 whatever it
finds (tests/test_lint.py holds both limits).
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shared", "server", "desktop", "bench", "resources", "tools", "tests")
FUNCTION_PACKAGES = ("shared", "server", "desktop", "bench")
MEDIAN_PACKAGES = ("shared", "server", "desktop")  # the application's code, held to MEDIAN_LIMIT
LINE_LIMIT = 600
MEDIAN_LIMIT = 20


@dataclass(frozen=True)
class Function:
    """One function or method: where it is and how many lines it spans."""

    path: Path
    name: str
    lines: int


def source_files(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> list[Path]:
    """Every .py file under the given top-level folders, sorted."""
    return sorted(p for pkg in packages for p in (root / pkg).rglob("*.py") if p.is_file())


def line_count(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def longest_files(paths: list[Path]) -> list[tuple[int, Path]]:
    """(lines, path), longest first."""
    return sorted(((line_count(p), p) for p in paths), key=lambda t: (-t[0], t[1]))


def functions(path: Path) -> Iterator[Function]:
    """Every function and method defined in a file, nested ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            last = node.end_lineno or node.lineno
            yield Function(path, node.name, last - first + 1)


def function_figures(root: Path, package: str) -> tuple[int, float, Function | None]:
    """(count, median length, longest function) of one package."""
    found = [f for p in source_files(root, (package,)) for f in functions(p)]
    if not found:
        return 0, 0.0, None
    return (
        len(found),
        statistics.median(f.lines for f in found),
        max(found, key=lambda f: f.lines),
    )


def median_function_lines(root: Path = ROOT, packages: tuple[str, ...] = MEDIAN_PACKAGES) -> float:
    """The median length of every function of these packages together."""
    return statistics.median(f.lines for p in source_files(root, packages) for f in functions(p))


def file_lines(root: Path, top: int, limit: int) -> list[str]:
    ranked = longest_files(source_files(root))
    out = [f"longest source files (limit {limit} lines):"]
    out += [f"  {n:5}  {p.relative_to(root)}" for n, p in ranked[:top]]
    over = [(n, p) for n, p in ranked if n > limit]
    out.append(f"files over {limit} lines: {len(over)}")
    out += [f"  {n:5}  {p.relative_to(root)}" for n, p in over]
    return out


def function_lines(root: Path) -> list[str]:
    out = ["function length (lines) by package:"]
    for pkg in FUNCTION_PACKAGES:
        count, median, longest = function_figures(root, pkg)
        where = ""
        if longest is not None:
            where = f"{longest.path.relative_to(root)}:{longest.name} {longest.lines}"
        out.append(f"  {pkg:8} {count:5} functions  median {median:4.1f}  longest {where}")
    together = median_function_lines(root)
    out.append(
        f"  median of {', '.join(MEDIAN_PACKAGES)} together: {together:.1f} (limit {MEDIAN_LIMIT})"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python tools/layout_check.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--top", type=int, default=15, help="how many of the longest files to list")
    p.add_argument("--limit", type=int, default=LINE_LIMIT, help="the most lines a file may have")
    a = p.parse_args(argv)
    print("\n".join(file_lines(ROOT, a.top, a.limit)))
    print()
    print("\n".join(function_lines(ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
