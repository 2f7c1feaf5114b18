"""docs/protocol.md as the walk reads it: its tables of requests and who may send them,
the room actions' table, the commands' sections and the results they spell out."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from shared.rules import Role

DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"
ROLE_NAMES = "|".join(r.value for r in Role)


def doc_tables(text: str) -> list[list[dict[str, str]]]:
    """Every markdown table of the document (also one indented in a list), as rows of
    {header: cell}."""
    tables: list[list[dict[str, str]]] = []
    lines = [line.strip() for line in text.splitlines()]
    for i, line in enumerate(lines[:-1]):
        if line.startswith("|") and re.fullmatch(r"\|(\s*-+\s*\|)+", lines[i + 1].strip()):
            head = cells(line)
            rows = []
            for row in itertools.takewhile(lambda r: r.startswith("|"), lines[i + 2 :]):
                rows.append(dict(zip(head, cells(row), strict=False)))
            tables.append(rows)
    return tables


def cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"\s\|\s", line.strip().strip("|").strip())]


def names_in(cell: str) -> list[str]:
    """`reservation.confirm` / `.cancel`: the command names of a request cell."""
    found = re.findall(r"`([a-z_.]+)`", cell)
    base = found[0].split(".", 1)[0] if found else ""
    return [base + n if n.startswith(".") else n for n in found]


def result_keys(cell: str) -> frozenset[str] | None:
    """The top-level names of a result written as `{"a", "b": [...], "c"}`; None if the
    cell does not spell the result out ("session (below)", "see below")."""
    found = re.search(r"`(\{[^`]*\})`", cell)
    if found is None:
        return None
    text, depth, names = found.group(1), 0, set()
    for i, ch in enumerate(text):
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif ch == '"' and depth == 1 and text[:i].count('"') % 2 == 0:
            names.add(text[i + 1 : text.index('"', i + 1)])
    return frozenset(names)


def roles_in(cell: str) -> frozenset[Role]:
    if cell.strip().startswith("everyone"):
        return frozenset(Role)
    return frozenset(Role(r) for r in re.findall(rf"\b({ROLE_NAMES})\b", cell))


@dataclass(frozen=True)
class Document:
    who: dict[str, frozenset[Role]]  # command -> its who column
    headings: set[str]  # commands with a section of their own under "## Commands"
    actions: dict[str, tuple[frozenset[Role], tuple[str, ...]]]  # room action -> roles, args
    results: dict[str, frozenset[str]]  # command -> the names its ack's result carries
    codes: frozenset[str] = frozenset()  # the error codes of the table *Error codes*

    @classmethod
    def read(cls) -> Document:
        text = DOC.read_text(encoding="utf-8")
        who: dict[str, frozenset[Role]] = {}
        actions: dict[str, tuple[frozenset[Role], tuple[str, ...]]] = {}
        results: dict[str, frozenset[str]] = {}
        codes: set[str] = set()
        for table in doc_tables(text):
            previous: frozenset[str] | None = None
            for row in table:
                if "request" in row and "who" in row:
                    cell = row.get("result", "")
                    keys = previous if re.match(r"(the )?same\b", cell) else result_keys(cell)
                    for name in names_in(row["request"]):
                        who[name] = roles_in(row["who"])
                        if keys is not None:
                            results[name] = keys
                    previous = keys
                if "code" in row and "meaning" in row:
                    codes.update(re.findall(r"`([a-z_]+)`", row["code"]))
                if "action" in row and "roles" in row:
                    first, _, rest = row["action"].partition(" (")
                    args = tuple(re.findall(r"`([a-z_]+)`", rest))
                    for name in names_in(first):
                        actions[name] = (roles_in(row["roles"]), args)
        commands = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
        headings = set(re.findall(r"^###\s+`([a-z_.]+)`", commands, re.MULTILINE))
        for name in headings:  # "Result: `{...}`" in the command's own section
            section = commands.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
            said = re.search(r"[Rr]esult(?: is|:)\s*(`\{[^`]*\}`)", section)
            keys = result_keys(said.group(1)) if said else None
            if keys is not None:
                results[name] = keys
        return cls(who, headings, actions, results, frozenset(codes))

    @property
    def commands(self) -> set[str]:
        return set(self.who) | self.headings
