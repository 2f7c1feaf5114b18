"""Rooms and room types without the demo: a manager's commands over real connections, the
command line and its CSV import, and changes made on the command line reaching the boards of
a running server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from server import db as m
from server.cli import main
from shared.clock import ManualClock
from shared.timeutil import to_iso
from tests.server.live import is_event, overview, run
from tests.support import SLUG, LiveServer, Peer, rooms_by_number

EXAMPLE_CSV = Path(__file__).parents[3] / "docs" / "example-rooms.csv"


async def add_room(peer: Peer, number: str, **extra: Any) -> dict[str, Any]:
    fields = {"room_type": "Suite", "floor": 9, **extra}
    return await peer.request("room.create", room_number=number, **fields)


def store_counts(path: Path) -> tuple[int, int, int]:
    """(rooms, room types, journal events) in the store: to show nothing was written."""
    m.open_db(path)
    try:
        return (m.Room.select().count(), m.RoomType.select().count(), m.Event.select().count())
    finally:
        m.close_db()


def cli(db: Path, *args: str) -> int:
    return main(["--db", str(db), *args])


# --- over the wire ---------------------------------------------------------------------------


def test_a_room_a_manager_adds_appears_on_another_desk_with_the_next_seq(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            boss = await Peer.open(srv.url, "manager")
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk)
            made = await add_room(boss, "901", section="Roof", capacity=3, max_occupancy=3)
            assert made["type"] == "ack", made
            ev = await desk.until(is_event("room_created", "901"))
            assert ev["meta"]["seq"] == snap["seq"] + 1
            assert ev["meta"]["actor"]["role"] == "manager"
            card = ev["payload"]
            assert card["room_type"] == "Suite" and card["floor"] == 9
            assert card["section"] == "Roof" and card["capacity"] == 3
            assert card["room_status"] == "READY_FOR_GUEST" and card["occupancy_status"] == "free"
            assert card["version"] == made["result"]["version"] == 1
            again = await overview(await Peer.open(srv.url, "supervisor"))
            assert "901" in rooms_by_number(again)

    run(scenario)


def test_only_a_manager_sets_rooms_up_and_every_refusal_has_its_code(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            boss = await Peer.open(srv.url, "manager")
            for kind, fields in (
                ("room.create", {"room_number": "950", "room_type": "Suite", "floor": 9}),
                ("room_type.create", {"name": "Loft"}),
                ("room.retire", {"room_number": "101", "expected_version": 1}),
                ("room_types.list", {}),
            ):
                refused = await desk.request(kind, **fields)
                assert refused["code"] == "forbidden", (kind, refused)
            cases = [
                (add_room(boss, "101"), "duplicate_room"),
                (add_room(boss, "950", room_type="Igloo"), "unknown_room_type"),
                (add_room(boss, "9 50"), "bad_request"),
                (add_room(boss, "950", floor=999), "bad_request"),
                (add_room(boss, "950", capacity=0), "bad_request"),
                (add_room(boss, "950", floor="two"), "bad_request"),
                (boss.request("room_type.create", name="Suite"), "duplicate_room_type"),
                (boss.request("room_type.create", name=" "), "bad_request"),
                (
                    boss.request("room_type.update", room_type="Igloo", name="X"),
                    "unknown_room_type",
                ),
                (
                    boss.request("room.update", room_number="999", expected_version=1, floor=2),
                    "unknown_room",
                ),
            ]
            for call, code in cases:
                reply = await call
                assert reply["type"] == "error" and reply["code"] == code, (code, reply)
            bad = await add_room(boss, "950", floor=999)
            assert "floor" in bad["details"]["fields"]
            types = await boss.request("room_types.list")
            assert {t["name"] for t in types["result"]["room_types"]} >= {"Suite", "Twin Room"}
            assert (await boss.request("ping"))["type"] == "ack"  # the connection stays

    run(scenario)


def test_an_edited_room_says_exactly_what_changed_and_a_stale_edit_is_refused(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            boss = await Peer.open(srv.url, "manager")
            desk = await Peer.open(srv.url, "frontdesk")
            await overview(desk)
            await add_room(boss, "902")
            edit = await boss.request(
                "room.update", room_number="902", expected_version=1, floor=8, section="North"
            )
            assert edit["type"] == "ack" and edit["result"]["version"] == 2, edit
            ev = await desk.until(is_event("room_updated", "902"))
            assert ev["payload"]["changed_fields"] == ["floor", "section"]
            stale = await boss.request(
                "room.update", room_number="902", expected_version=1, floor=7
            )
            assert stale["code"] == "stale_version"
            same = await boss.request("room.update", room_number="902", expected_version=2, floor=8)
            assert same["result"]["unchanged"] and same["result"]["seq"] is None
            own = await boss.request(
                "room.update", room_number="902", expected_version=2, max_occupancy=5
            )
            ev = await desk.until(is_event("room_updated", "902"))
            assert ev["payload"]["changed_fields"] == ["max_occupancy", "own_max_occupancy"]
            assert ev["payload"]["max_occupancy"] == 5 and own["result"]["version"] == 3

    run(scenario)


def test_a_renamed_room_type_changes_every_card_of_that_type(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            boss = await Peer.open(srv.url, "manager")
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk)
            suites = {n for n, r in rooms_by_number(snap).items() if r["room_type"] == "Suite"}
            done = await boss.request("room_type.update", room_type="Suite", name="Junior Suite")
            assert done["type"] == "ack", done
            ev = await desk.until(is_event("room_type_updated"))
            assert ev["payload"]["changed_fields"] == ["name"]
            assert ev["payload"]["room_type"]["name"] == "Junior Suite"
            seen = set()
            for _ in suites:
                card = await desk.until(is_event("room_updated"))
                assert card["payload"]["changed_fields"] == ["room_type"]
                assert card["payload"]["room_type"] == "Junior Suite"
                seen.add(card["payload"]["room_number"])
            assert seen == suites

    run(scenario)


def test_a_room_in_use_is_not_retired_and_a_retired_room_leaves_every_list(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            boss = await Peer.open(srv.url, "manager")
            desk = await Peer.open(srv.url, "frontdesk")
            snap = await overview(desk)
            in_house = next(r for r in snap["rooms"] if r["is_occupied"])
            refused = await boss.request(
                "room.retire",
                room_number=in_house["room_number"],
                expected_version=in_house["version"],
            )
            assert refused["code"] == "room_in_use" and "guest is in house" in refused["message"]
            await add_room(boss, "903")
            await desk.until(is_event("room_created", "903"))
            now = clock.now()
            booked = await desk.request(
                "reservation.create",
                room_number="903",
                guest_name="Ms Byrne",
                start=to_iso(now + timedelta(days=3)),
                end=to_iso(now + timedelta(days=4)),
            )
            rid = booked["result"]["reservation"]["id"]
            refused = await boss.request("room.retire", room_number="903", expected_version=1)
            assert refused["code"] == "room_in_use"
            assert refused["details"]["reservations"][0]["id"] == rid
            assert (await desk.request("reservation.cancel", reservation_id=rid))["type"] == "ack"
            gone = await boss.request("room.retire", room_number="903", expected_version=1)
            assert gone["type"] == "ack", gone
            ev = await desk.until(is_event("room_retired", "903"))
            assert ev["payload"]["retired_by"] == "Ciara O'Brien"
            fresh = await overview(await Peer.open(srv.url, "supervisor"))
            assert "903" not in rooms_by_number(fresh)
            status = await desk.request("rooms.status")
            assert "903" not in {r["room_number"] for r in status["result"]["rooms"]}
            for kind, fields in (
                ("room.action", {"action": "start_cleaning", "expected_version": 2}),
                ("room.retire", {"expected_version": 2}),
            ):
                reply = await boss.request(kind, room_number="903", **fields)
                assert reply["code"] == "unknown_room", reply
            # the type of a live room stays; once no room has it, it can go
            in_use = await boss.request("room_type.retire", room_type="Suite")
            assert in_use["code"] == "room_type_in_use" and in_use["details"]["count"] >= 1
            await boss.request("room_type.create", name="Loft", max_occupancy=4)
            assert (await boss.request("room_type.retire", room_type="Loft"))["type"] == "ack"
            ev = await desk.until(is_event("room_type_retired"))
            assert ev["payload"]["room_type"]["name"] == "Loft"
            assert (await add_room(boss, "904", room_type="Loft"))["code"] == "unknown_room_type"
            # a retired number comes back with its history
            back = await add_room(boss, "903")
            assert back["result"]["reinstated"] is True and back["result"]["version"] == 3
            history = await boss.request("room.history", room_number="903")
            kinds = [e["type"] for e in history["result"]["events"]]
            assert {"room_created", "room_retired"} <= set(kinds)

    run(scenario)


# --- the command line and the CSV import ----------------------------------------------------


def bom_semicolon_csv(tmp_path: Path) -> Path:
    """The example file as LibreOffice or a European Excel saves it: BOM, semicolons."""
    text = EXAMPLE_CSV.read_text(encoding="utf-8").replace(",", ";")
    path = tmp_path / "rooms-excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    return path


def test_a_hotel_created_from_nothing_gets_its_rooms_from_a_spreadsheet_export(
    fresh_store: Path, tmp_path: Path, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    db = fresh_store
    assert cli(db, "create-hotel", SLUG, "Hotel Killarney", "--timezone", "Europe/Dublin") == 0
    assert cli(db, "create-staff", "boss", "--hotel", SLUG, "--name", "B", "--role", "manager",
               "--password", "s3cret-pass") == 0  # fmt: skip
    csv_file = bom_semicolon_csv(tmp_path)
    capsys.readouterr()
    assert cli(db, "import-rooms", str(csv_file), "--hotel", SLUG, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "line 2: room 101: create (Standard Double, floor 1)" in out
    assert "would do 30 create" in out and store_counts(db)[:2] == (0, 0)
    assert cli(db, "import-rooms", str(csv_file), "--hotel", SLUG) == 0
    assert "30 create" in capsys.readouterr().out
    assert cli(db, "import-rooms", str(EXAMPLE_CSV), "--hotel", SLUG, "--dry-run") == 0
    assert "30 unchanged" in capsys.readouterr().out
    changed = tmp_path / "changed.csv"
    changed.write_text("Number,Section\n101,Garden\n102,East\n", encoding="utf-8")
    assert cli(db, "import-rooms", str(changed), "--hotel", SLUG) == 0
    out = capsys.readouterr().out
    assert "room 101: update (section)" in out and "room 102: unchanged" in out

    async def scenario() -> None:
        async with LiveServer(db, clock) as srv:
            boss = await Peer.open(srv.url, "boss", "s3cret-pass")
            rooms = rooms_by_number(await overview(boss))
            assert len(rooms) == 30
            assert rooms["310"]["room_type"] == "Suite" and rooms["310"]["max_occupancy"] == 3
            assert rooms["101"]["section"] == "Garden" and rooms["208"]["capacity"] == 4
            types = (await boss.request("room_types.list"))["result"]["room_types"]
            assert {t["name"]: t["rooms"] for t in types} == {
                "Family Room": 6,
                "Standard Double": 12,
                "Suite": 3,
                "Twin Room": 9,
            }

    run(scenario)


def test_a_csv_with_bad_rows_is_refused_with_every_error_and_nothing_written(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "number,type,floor,capacity\n"
        "801,Suite,8,2\n"  # good
        ",Suite,8,2\n"  # line 3: no number
        "802,Suite,eight,2\n"  # line 4: not a number
        "801,Suite,8,2\n"  # line 5: twice in the file
        "803,,8,2\n"  # line 6: new room without a type
        "80 4,Suite,8,0\n",  # line 7: bad number and capacity
        encoding="utf-8",
    )
    before = store_counts(demo_db)
    assert cli(demo_db, "import-rooms", str(bad), "--hotel", SLUG) == 1
    err = capsys.readouterr().err
    for words in (
        "line 3: the room number is missing",
        "line 4: Floor 'eight' is not a whole number",
        "line 5: room 801 is on line 2 too",
        # a row that reads well but that the store refuses, beside rows that do not read
        "line 6: room 803 is new: its room type is needed",
        "line 7: Room number '80 4' is not allowed",
        "line 7: Capacity 0 is out of range",
        "error: 6 problem(s)",
        "nothing was changed",
    ):
        assert words in err, (words, err)
    lines = [int(w.split("line ")[1].split(":")[0]) for w in err.splitlines() if ": line " in w]
    assert lines == sorted(lines) == [3, 4, 5, 6, 7, 7], err  # every one, in file order
    assert store_counts(demo_db) == before
    # the values are good now, but one row needs what the store refuses: still nothing
    bad.write_text("number,type,floor\n801,Suite,8\n803,,8\n101,Igloo,1\n", encoding="utf-8")
    assert cli(demo_db, "import-rooms", str(bad), "--hotel", SLUG) == 1
    err = capsys.readouterr().err
    assert "line 3: room 803 is new: its room type is needed" in err
    assert store_counts(demo_db)[0] == before[0] and store_counts(demo_db)[2] == before[2]
    xlsx = tmp_path / "rooms.xlsx"  # a spreadsheet saved as it is, not as CSV
    xlsx.write_bytes(b"PK\x03\x04" + bytes(200))
    assert cli(demo_db, "import-rooms", str(xlsx), "--hotel", SLUG) == 1
    assert "is a spreadsheet file, not CSV text. Save it as CSV" in capsys.readouterr().err
    bad.write_text("number,colour\n101,red\n", encoding="utf-8")
    assert cli(demo_db, "import-rooms", str(bad), "--hotel", SLUG) == 1
    assert "line 1: unknown column 'colour'" in capsys.readouterr().err
    assert cli(demo_db, "import-rooms", str(bad), "--hotel", "nowhere") == 1
    assert "no hotel 'nowhere'" in capsys.readouterr().err


def test_room_commands_on_the_command_line(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(demo_db, "add-room-type", "Loft", "--hotel", SLUG, "--max-occupancy", "4") == 0
    assert cli(demo_db, "add-room", "905", "--hotel", SLUG, "--type", "Loft", "--floor", "9") == 0
    assert cli(demo_db, "edit-room", "905", "--hotel", SLUG, "--section", "Roof") == 0
    assert "updated (section)" in capsys.readouterr().out
    assert cli(demo_db, "edit-room-type", "Loft", "--hotel", SLUG, "--name", "Attic") == 0
    assert cli(demo_db, "retire-room-type", "Attic", "--hotel", SLUG) == 1
    assert "1 room(s) still have the type 'Attic' (905)" in capsys.readouterr().err
    assert cli(demo_db, "retire-room", "905", "--hotel", SLUG) == 0
    assert cli(demo_db, "retire-room-type", "Attic", "--hotel", SLUG) == 0
    capsys.readouterr()
    assert cli(demo_db, "list-rooms", "--hotel", SLUG) == 0
    assert "905" not in capsys.readouterr().out
    assert cli(demo_db, "list-rooms", "--hotel", SLUG, "--all") == 0
    assert any(
        line.startswith("905") and line.endswith("retired")
        for line in capsys.readouterr().out.splitlines()
    )
    assert cli(demo_db, "list-room-types", "--hotel", SLUG, "--all") == 0
    assert "Attic" in capsys.readouterr().out
    # the rooms as a CSV file, edited in a spreadsheet and read back: only the edit changes
    assert cli(demo_db, "list-rooms", "--hotel", SLUG, "--csv") == 0
    exported = capsys.readouterr().out
    assert exported.startswith("number,type,floor,building,section,capacity,max_occupancy\n")
    edited = tmp_path / "rooms.csv"
    lines = exported.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("102,"))
    cells = lines[row].split(",")
    cells[4] = "Sea view"
    lines[row] = ",".join(cells)
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(demo_db, "import-rooms", str(edited), "--hotel", SLUG, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "room 102: update (section)" in out and f"{len(lines) - 2} unchanged" in out
    m.close_db()


# --- the command line while the server runs -------------------------------------------------


def test_a_room_added_on_the_command_line_reaches_a_running_servers_boards_in_order(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        # no periodic look: the server notices at its next write, or when asked
        async with LiveServer(demo_db, clock, external_poll=0) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            boss = await Peer.open(srv.url, "manager")
            head = (await overview(desk))["seq"]
            assert cli(demo_db, "add-room", "906", "--hotel", SLUG, "--type", "Suite",
                       "--floor", "9") == 0  # fmt: skip
            # the server's own next write: the command line's event goes out first
            made = await add_room(boss, "907")
            first = await desk.until(lambda f: "meta" in f)
            second = await desk.until(lambda f: "meta" in f)
            assert [first["type"], first["payload"]["room_number"]] == ["room_created", "906"]
            assert first["meta"]["seq"] == head + 1 and first["meta"]["source"] == "cli"
            assert second["payload"]["room_number"] == "907"
            assert second["meta"]["seq"] == head + 2 == made["result"]["seq"]
            # and with no write of its own, when it looks (each tick; here asked at once)
            assert cli(demo_db, "retire-room", "906", "--hotel", SLUG) == 0
            assert await srv.server.external_now() == 1
            gone = await desk.until(lambda f: "meta" in f)
            assert gone["type"] == "room_retired" and gone["meta"]["seq"] == head + 3
            assert await srv.server.external_now() == 0  # never twice
            rooms = rooms_by_number(await overview(await Peer.open(srv.url, "supervisor")))
            assert "906" not in rooms and "907" in rooms

    run(scenario)


def test_the_running_server_looks_for_command_line_commits_by_itself(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock, external_poll=0.05) as srv:
            desk = await Peer.open(srv.url, "frontdesk")
            head = (await overview(desk))["seq"]
            assert cli(demo_db, "add-room", "908", "--hotel", SLUG, "--type", "Suite",
                       "--floor", "9") == 0  # fmt: skip
            ev = await desk.until(lambda f: "meta" in f)
            assert ev["type"] == "room_created" and ev["meta"]["seq"] == head + 1

    run(scenario)


def test_the_rewound_board_has_the_rooms_that_were_in_service_then(
    demo_db: Path, clock: ManualClock
) -> None:
    async def scenario() -> None:
        async with LiveServer(demo_db, clock) as srv:
            boss = await Peer.open(srv.url, "manager")
            moments = []
            for step in (
                add_room(boss, "909"),
                boss.request("room.retire", room_number="909", expected_version=1),
            ):
                clock.advance(120)
                moments.append(clock.now())
                assert (await step)["type"] == "ack"
            clock.advance(120)

            async def numbers_at(when: Any) -> set[str]:
                board = await boss.request("board.at", at=to_iso(when))
                return {r["room_number"] for r in board["result"]["rooms"]}

            added, retired = moments
            assert "909" not in await numbers_at(added - timedelta(seconds=60))
            assert "909" in await numbers_at(added + timedelta(seconds=60))
            assert "909" not in await numbers_at(retired + timedelta(seconds=60))
            assert "101" in await numbers_at(added - timedelta(seconds=60))

    run(scenario)


def test_csv_exports_of_every_kind_are_read_line_by_line() -> None:
    from server.rooms_cli import decode, read_rows

    tabs = EXAMPLE_CSV.read_text(encoding="utf-8").replace(",", "\t")
    rows, errors = read_rows(decode(tabs.encode("utf-16")))  # Excel's "Unicode Text"
    assert len(rows) == 30 and not errors
    assert rows[0].values == {
        "room_number": "101",
        "room_type": "Standard Double",
        "floor": 1,
        "building": "Main",
        "section": "East",
        "capacity": 2,
        "max_occupancy": 2,
    }
    text = 'Number;Room Type;FLOOR\r\n101;"Suite; big";1\r\n\r\n102;Suite;2;\r\n103;Suite;3;x\r\n'
    rows, errors = read_rows(decode(text.encode()))
    assert [(r.line, r.values["room_type"]) for r in rows] == [(2, "Suite; big"), (4, "Suite")]
    assert errors == ["line 5: more cells than columns"]
    assert read_rows("")[1] == ["The file is empty: it needs a header row (number,type,floor,...)."]
    with pytest.raises(Exception, match="not UTF-8"):
        decode("número\n".encode("cp1252"))


@pytest.mark.slow
def test_a_room_imported_on_the_command_line_reaches_a_server_process_live(
    fresh_store: Path,
    tmp_path: Path,
) -> None:
    """Real processes: a server serving a hotel with no rooms, a board subscribed to it, and
    `roomrack-server import-rooms` run beside it; the board gets the 30 rooms in seq order."""
    import asyncio
    import subprocess
    import sys

    from tests.server.test_durability import free_port, server_process

    db = fresh_store
    assert cli(db, "create-hotel", SLUG, "Hotel Killarney") == 0
    assert cli(db, "create-staff", "desk", "--hotel", SLUG, "--name", "D", "--role",
               "front_desk", "--password", "Torc falls 9!") == 0  # fmt: skip
    m.close_db()
    port = free_port()
    url = f"ws://127.0.0.1:{port}"

    async def watch() -> None:
        desk = await Peer.open(url, "desk", "Torc falls 9!")
        snap = await overview(desk)
        assert snap["rooms"] == []
        command = [sys.executable, "-m", "server.cli", "--db", str(db), "--log-level", "WARNING",
                   "import-rooms", str(EXAMPLE_CSV), "--hotel", SLUG]  # fmt: skip
        done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        kinds = []
        for n in range(34):  # 4 room types, then 30 rooms
            ev = await desk.until(lambda f: "meta" in f)
            assert ev["meta"]["seq"] == snap["seq"] + n + 1 and ev["meta"]["source"] == "cli"
            kinds.append(ev["type"])
        assert kinds == ["room_type_created"] * 4 + ["room_created"] * 30
        assert len((await overview(await Peer.open(url, "desk", "Torc falls 9!")))["rooms"]) == 30

    with server_process(db, port):
        asyncio.run(watch())
