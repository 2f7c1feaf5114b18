"""`roomrack-server` commands for rooms and room types, and the CSV import.

They may run while the server runs: they write the store through the same service functions
and journal as the server (server/commands/rooms.py), and the running server publishes what they
committed to every board (server/publish.py). Each command is one transaction: all or nothing.

The CSV file (`import-rooms`): a header row, then one room a row. Columns (any order, case
and spaces do not matter): number (needed), type, floor, building, section, capacity,
max_occupancy. UTF-8 (with or without the BOM that Excel writes; UTF-16 with its BOM, as
Excel's "Unicode Text" is, too), separated by commas or semicolons (LibreOffice and Excel in
many countries), or tabs. A room whose number exists is
updated from its row; a new number is created (then type and floor are needed); room types
named in the file that the hotel lacks are created, with the largest max occupancy of their
rooms in the file (2 if none is given). An empty cell means the default (building Main, no
section, capacity 2, max occupancy of the room type); a column left out of the file leaves
that field of existing rooms alone. Every bad row is reported with its line number, and then
nothing at all is written.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server import db as m
from server.commands import rooms as admin
from server.engine import StoreAt
from server.journal import Journal
from server.serve_cli import open_store
from server.services import Services
from server.startup import StartError
from shared.clock import SystemClock
from shared.errors import ProtocolError
from shared.roomsetup import ROOM_DEFAULTS, ROOM_FIELDS, ROOM_TYPE_DEFAULTS

COMMANDS = frozenset(
    {
        "list-rooms",
        "list-room-types",
        "add-room-type",
        "edit-room-type",
        "retire-room-type",
        "add-room",
        "edit-room",
        "retire-room",
        "import-rooms",
    }
)
CLI_NAME = "Command line"
MAX_ROWS = 10_000  # rooms in one file
MAX_FILE_BYTES = 5 * 1024 * 1024

# CSV header -> field; a header is compared lower-case with spaces and dashes as underscores
CSV_COLUMNS = {
    "number": "room_number",
    "room_number": "room_number",
    "room": "room_number",
    "type": "room_type",
    "room_type": "room_type",
    "floor": "floor",
    "building": "building",
    "section": "section",
    "capacity": "capacity",
    "max_occupancy": "max_occupancy",
}
CSV_INTS = frozenset({"floor", "capacity", "max_occupancy"})
CSV_EMPTY: dict[str, Any] = {**ROOM_DEFAULTS, "max_occupancy": 0}


class Refused(Exception):
    """What the command line says when it does nothing."""


# --- argparse -----------------------------------------------------------------------------


def _room_options(p: argparse.ArgumentParser, creating: bool) -> None:
    p.add_argument("--type", dest="room_type", required=creating, help="its room type's name")
    p.add_argument("--floor", type=int, required=creating, help="-5 to 200")
    p.add_argument("--building", help="the building, e.g. Annex" + (" (default: Main)" * creating))
    p.add_argument("--section", help="a wing or corridor, e.g. East")
    p.add_argument("--capacity", type=int, help="beds or seats" + (" (default: 2)" * creating))
    p.add_argument(
        "--max-occupancy",
        type=int,
        help="most guests; 0: the room type's" + (" (default: 0)" * creating),
    )


def add_parsers(sub: Any) -> None:
    """Register the rooms commands on `roomrack-server`'s subparsers."""

    def hotel(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--hotel", required=True, help="hotel slug")
        return p

    p = hotel(sub.add_parser("list-rooms", help="list a hotel's rooms"))
    p.add_argument("--all", action="store_true", help="retired rooms too")
    p.add_argument(
        "--csv",
        action="store_true",
        help="as a CSV file that import-rooms reads back (to edit in a spreadsheet)",
    )
    p = hotel(sub.add_parser("list-room-types", help="list a hotel's room types"))
    p.add_argument("--all", action="store_true", help="retired room types too")

    p = hotel(sub.add_parser("add-room-type", help="add a room type (or bring a retired one back)"))
    p.add_argument("name", help="e.g. 'Standard Double'")
    p.add_argument(
        "--max-occupancy",
        type=int,
        default=ROOM_TYPE_DEFAULTS["max_occupancy"],
        help="most guests in a room of this type",
    )
    p = hotel(sub.add_parser("edit-room-type", help="rename a room type or change its occupancy"))
    p.add_argument("name", help="its name now")
    p.add_argument("--name", dest="new_name", help="its new name")
    p.add_argument("--max-occupancy", type=int, help="most guests in a room of this type")
    p = hotel(sub.add_parser("retire-room-type", help="retire a room type no room has"))
    p.add_argument("name", help="its name")

    p = hotel(sub.add_parser("add-room", help="add a room (or bring a retired one back)"))
    p.add_argument("number", help="the room's number, e.g. 101 (it stays the room's)")
    _room_options(p, creating=True)
    p = hotel(sub.add_parser("edit-room", help="change a room's type, place or size"))
    p.add_argument("number", help="the room's number")
    _room_options(p, creating=False)
    p = hotel(
        sub.add_parser(
            "retire-room",
            help="take a room off the board for good (its history stays); refused while a "
            "guest is in house or bookings or blocks are to come",
        )
    )
    p.add_argument("number", help="the room's number")

    p = hotel(
        sub.add_parser(
            "import-rooms",
            help="add and update rooms from a CSV file (columns: number, type, floor, "
            "building, section, capacity, max_occupancy); all or nothing",
        )
    )
    p.add_argument("file", type=Path, help="the CSV file (UTF-8; commas, semicolons or tabs)")
    p.add_argument("--dry-run", action="store_true", help="say what it would do; change nothing")
    p.add_argument("--new-only", action="store_true", help="refuse rows whose room exists already")


# --- running ------------------------------------------------------------------------------


def run(args: argparse.Namespace, db_path: StoreAt) -> int:
    """Run one rooms command; 0 on success, 1 (with the reason on stderr) otherwise. The store
    is opened as for every store command: a damaged or foreign file is refused in words
    before anything is read or written."""
    if isinstance(db_path, Path) and not db_path.is_file():
        print(
            f"error: there is no store {db_path} (give the right one with --db or "
            "ROOMRACK_DB); nothing was done.",
            file=sys.stderr,
        )
        return 1
    try:
        open_store(db_path)
    except StartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        hotel = m.Hotel.get_or_none(m.Hotel.slug == args.hotel)
        if hotel is None:
            raise Refused(f"There is no hotel '{args.hotel}'.")
        sv = Services(SystemClock())
        if args.command == "import-rooms":
            return import_file(sv, hotel, args.file, args.dry_run, args.new_only)
        if args.command == "list-rooms":
            rooms = admin.list_rooms(sv, hotel.id, args.all)
            if args.csv:
                write_csv(rooms, sys.stdout)
            else:
                print_rooms(rooms)
        elif args.command == "list-room-types":
            print_room_types(admin.list_room_types(hotel.id, args.all))
        else:
            print(write(sv, hotel, lambda journal: COMMAND_WORK[args.command](sv, journal, args)))
        return 0
    except Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ProtocolError as exc:
        print(f"error: {exc.message} Nothing was changed.", file=sys.stderr)
        return 1
    finally:
        m.close_db()


def write(sv: Services, hotel: m.Hotel, work: Callable[[Journal], str]) -> str:
    """Run `work` in one write transaction with a command-line journal; its words."""
    with m.write_lock():  # the write lock first: the server may be writing too
        journal = admin.cli_journal(sv, hotel)
        words = work(journal)
        journal.close()
    return words


def _values(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "room_number": None,
        "room_type": args.room_type,
        "floor": args.floor,
        "building": args.building,
        "section": args.section,
        "capacity": args.capacity,
        "max_occupancy": args.max_occupancy,
    }


def _add_type(sv: Services, j: Journal, args: argparse.Namespace) -> str:
    r = admin.create_room_type(sv, j, args.name, args.max_occupancy)
    back = " (brought back)" if r["reinstated"] else ""
    return f"Room type '{args.name}' added{back}, max occupancy {args.max_occupancy}."


def _edit_type(sv: Services, j: Journal, args: argparse.Namespace) -> str:
    r = admin.update_room_type(sv, j, args.name, None, args.new_name, args.max_occupancy)
    if r.get("unchanged"):
        return f"Room type '{args.name}' unchanged."
    return f"Room type '{args.name}' updated ({r['rooms_changed']} room(s) of it)."


def _retire_type(sv: Services, j: Journal, args: argparse.Namespace) -> str:
    admin.retire_room_type(sv, j, args.name, None)
    return f"Room type '{args.name}' retired."


def _add_room(sv: Services, j: Journal, args: argparse.Namespace) -> str:
    r = admin.create_room(sv, j, {**_values(args), "room_number": args.number})
    back = " (brought back, with its history)" if r["reinstated"] else ""
    return f"Room {args.number} added{back}."


def _edit_room(sv: Services, j: Journal, args: argparse.Namespace) -> str:
    r = admin.update_room(sv, j, args.number, None, _values(args))
    if r.get("unchanged"):
        return f"Room {args.number} unchanged."
    return f"Room {args.number} updated ({', '.join(r['changed_fields'])})."


def _retire_room(sv: Services, j: Journal, args: argparse.Namespace) -> str:
    admin.retire_room(sv, j, args.number, None, CLI_NAME)
    return f"Room {args.number} retired (its history stays)."


COMMAND_WORK: dict[str, Callable[[Services, Journal, argparse.Namespace], str]] = {
    "add-room-type": _add_type,
    "edit-room-type": _edit_type,
    "retire-room-type": _retire_type,
    "add-room": _add_room,
    "edit-room": _edit_room,
    "retire-room": _retire_room,
}


def print_rooms(rooms: list[dict[str, Any]]) -> None:
    head = ("Number", "Type", "Floor", "Building", "Section", "Capacity", "Max occ.", "Status")
    rows = [
        (
            r["room_number"],
            r["room_type"],
            str(r["floor"]),
            r["building"],
            r["section"],
            str(r["capacity"]),
            str(r["max_occupancy"]) + ("" if r["own_max_occupancy"] else " (type)"),
            "retired" if r["retired_at"] else r["room_status"],
        )
        for r in rooms
    ]
    _table(head, rows)
    print(f"{len(rooms)} room(s).")


EXPORT_COLUMNS = ("number", "type", "floor", "building", "section", "capacity", "max_occupancy")


def write_csv(rooms: list[dict[str, Any]], out: Any) -> None:
    """The rooms as the import reads them (max_occupancy empty: the room type's)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in rooms:
        own = r["own_max_occupancy"]
        writer.writerow(
            [
                r["room_number"],
                r["room_type"],
                r["floor"],
                r["building"],
                r["section"],
                r["capacity"],
                "" if own is None else own,
            ]
        )


def print_room_types(types: list[dict[str, Any]]) -> None:
    rows = [
        (t["name"], str(t["max_occupancy"]), str(t["rooms"]), "retired" if t["retired_at"] else "")
        for t in types
    ]
    _table(("Room type", "Max occupancy", "Rooms", ""), rows)


def _table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(head)]
    for line in (head, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


# --- the CSV import -----------------------------------------------------------------------


@dataclass
class Row:
    line: int
    values: dict[str, Any]  # field -> value, for the columns the file has


@dataclass
class Step:
    line: int
    room_number: str
    action: str  # create / update / unchanged / bring back
    detail: str = ""


@dataclass
class Plan:
    room_types: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise Refused(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode Text"
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused(
            "The file is not UTF-8 text. In Excel save it as 'CSV UTF-8'; in LibreOffice "
            "choose the character set 'Unicode (UTF-8)'. Nothing was changed."
        ) from None


def read_rows(text: str) -> tuple[list[Row], list[str]]:
    """The rows of a CSV text, each with its line number, and every error found in them
    (the header's, a row's values, numbers given twice)."""
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    errors: list[str] = []
    header = next(reader, None)
    while header is not None and not any(c.strip() for c in header):
        header = next(reader, None)
    if header is None:
        return [], ["The file is empty: it needs a header row (number,type,floor,...)."]
    head_line = reader.line_num
    columns: list[str | None] = []
    for name in header:
        key = name.strip().lower().replace(" ", "_").replace("-", "_")
        if not key:
            columns.append(None)
            continue
        found = CSV_COLUMNS.get(key)
        if found is None:
            errors.append(
                f"line {head_line}: unknown column '{name.strip()[:40]}' (the columns are "
                "number, type, floor, building, section, capacity, max_occupancy)"
            )
        elif found in columns:
            errors.append(f"line {head_line}: the column '{name.strip()[:40]}' is there twice")
        columns.append(found)
    if "room_number" not in columns:
        errors.append(f"line {head_line}: there is no 'number' column")
    if errors:
        return [], errors
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank lines are nothing
        if len(rows) >= MAX_ROWS:
            errors.append(f"line {line}: more than {MAX_ROWS} rooms in one file")
            break
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
            errors.append(f"line {line}: more cells than columns")
            continue
        values: dict[str, Any] = {}
        bad: list[str] = []
        for col, cell in zip(columns, (cells + [""] * len(columns))[: len(columns)], strict=True):
            if col is None:
                continue
            text_value = cell.strip()
            if col == "room_number" or col == "room_type":
                values[col] = text_value or None
            elif not text_value:
                values[col] = CSV_EMPTY.get(col)
            elif col in CSV_INTS:
                try:
                    values[col] = int(text_value)
                except ValueError:
                    label = ROOM_FIELDS[col].label
                    bad.append(f"{label} '{text_value[:20]}' is not a whole number")
                    continue
            else:
                values[col] = text_value
            if values.get(col) is not None:
                words = ROOM_FIELDS[col].check(values[col])
                if words is not None:
                    bad.append(words.rstrip("."))
        number = values.get("room_number")
        if number is None:
            bad.insert(0, "the room number is missing")
        elif number in seen:
            bad.append(f"room {number} is on line {seen[number]} too")
        else:
            seen[number] = line
        if bad:
            errors.extend(f"line {line}: {words}" for words in bad)
            continue
        rows.append(Row(line, values))
    return rows, errors


class _DryRun(Exception):
    pass


def apply_rows(
    sv: Services, hotel: m.Hotel, rows: list[Row], dry_run: bool, new_only: bool
) -> Plan:
    """Apply the rows in one transaction (rolled back on any error, or for a dry run)."""
    plan = Plan()
    try:
        with m.write_lock():
            journal = admin.cli_journal(sv, hotel)
            _create_types(sv, journal, hotel, rows, plan)
            for row in rows:
                _apply_row(sv, journal, row, new_only, plan)
            if plan.errors or dry_run:
                raise _DryRun()
            journal.close()
    except _DryRun:
        pass
    return plan


def _create_types(
    sv: Services, journal: Journal, hotel: m.Hotel, rows: list[Row], plan: Plan
) -> None:
    wanted: dict[str, int] = {}
    first_line: dict[str, int] = {}
    for row in rows:
        name = row.values.get("room_type")
        if name is None:
            continue
        first_line.setdefault(name, row.line)
        most = int(row.values.get("max_occupancy") or 0)
        wanted[name] = max(wanted.get(name, 0), most)
    for name, most in wanted.items():
        rt = m.RoomType.get_or_none((m.RoomType.hotel == hotel.id) & (m.RoomType.name == name))
        if rt is not None and rt.retired_at is None:
            continue
        if rt is not None:
            plan.errors.append(
                f"line {first_line[name]}: the room type '{name}' is retired (bring it back "
                f"first: roomrack-server add-room-type --hotel {hotel.slug} '{name}')"
            )
            continue
        occupancy = most or ROOM_TYPE_DEFAULTS["max_occupancy"]
        try:
            with m.db.atomic():
                admin.create_room_type(sv, journal, name, occupancy)
        except ProtocolError as exc:
            plan.errors.append(f"line {first_line[name]}: {exc.message}")
            continue
        plan.room_types.append(f"room type '{name}': create (max occupancy {occupancy})")


def _apply_row(sv: Services, journal: Journal, row: Row, new_only: bool, plan: Plan) -> None:
    values = dict(row.values)
    number = values.pop("room_number")
    existing = m.Room.get_or_none((m.Room.hotel == journal.hotel.id) & (m.Room.number == number))
    try:
        with m.db.atomic():
            if existing is not None and existing.retired_at is None:
                if new_only:
                    plan.errors.append(f"line {row.line}: there is a room {number} already")
                    return
                r = admin.update_room(sv, journal, number, None, values)
                if r.get("unchanged"):
                    plan.steps.append(Step(row.line, number, "unchanged"))
                else:
                    detail = ", ".join(r["changed_fields"])
                    plan.steps.append(Step(row.line, number, "update", detail))
                return
            for name in ("room_type", "floor"):
                if values.get(name) is None:
                    label = ROOM_FIELDS[name].label.lower()
                    plan.errors.append(
                        f"line {row.line}: room {number} is new: its {label} is needed"
                    )
                    return
            r = admin.create_room(sv, journal, {"room_number": number, **values})
            action = "bring back" if r["reinstated"] else "create"
            detail = f"{values['room_type']}, floor {values['floor']}"
            plan.steps.append(Step(row.line, number, action, detail))
    except ProtocolError as exc:
        plan.errors.append(f"line {row.line}: {exc.message}")


def import_file(sv: Services, hotel: m.Hotel, path: Path, dry_run: bool, new_only: bool) -> int:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Refused(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if data.startswith(b"PK\x03\x04"):  # a zip: .xlsx or .ods, not a CSV
        raise Refused(
            f"{path} is a spreadsheet file, not CSV text. Save it as CSV first (Excel: 'CSV "
            "UTF-8'; LibreOffice: 'Text CSV'). Nothing was changed."
        )
    rows, errors = read_rows(decode(data))
    # the rows that read well are tried against the store as well (and rolled back if any
    # row is bad), so that one run lists every problem of the file
    plan = apply_rows(sv, hotel, rows, dry_run or bool(errors), new_only)
    plan.errors = sorted(errors + plan.errors, key=_line_of)
    if plan.errors:
        for words in plan.errors:
            print(f"{path}: {words}", file=sys.stderr)
        print(
            f"error: {len(plan.errors)} problem(s) in {path}; nothing was changed.",
            file=sys.stderr,
        )
        return 1
    for words in plan.room_types:
        print(words)
    for step in plan.steps:
        detail = f" ({step.detail})" if step.detail else ""
        print(f"line {step.line}: room {step.room_number}: {step.action}{detail}")
    counts = {a: sum(1 for s in plan.steps if s.action == a) for a in ACTIONS}
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n) or "no rooms"
    if dry_run:
        print(f"Dry run: would do {summary}; nothing was changed.")
    else:
        print(f"Imported {path} into '{hotel.slug}': {summary}.")
    return 0


def _line_of(words: str) -> int:
    """The line an error names ("line 12: ..."), for listing them in file order."""
    found = re.match(r"line (\d+):", words)
    return int(found.group(1)) if found else 0


ACTIONS = ("create", "bring back", "update", "unchanged")
