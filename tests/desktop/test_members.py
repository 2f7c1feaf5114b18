"""Several server addresses, without a server: how they are typed and kept, the order the
session tries them in, the pin that stands for every member, and the login dialog's entries
for the servers of one cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from desktop.discovery import FoundEntry, FoundServer, entries
from desktop.login import LoginDialog
from desktop.members import Members, parse_addresses, split_addresses
from desktop.pinning import PinStore, Verdict
from desktop.settings import DEFAULT_SERVER, Settings
from server.discovery import txt_record

A, B, C = "wss://10.0.0.5:8765", "wss://10.0.0.6:8765", "wss://10.0.0.7:8765"
CERT, OTHER = "a" * 64, "b" * 64


def test_addresses_are_separated_by_commas_or_spaces_and_made_whole() -> None:
    typed = "10.0.0.5:8765, wss://10.0.0.6:8765  standby-pc,10.0.0.5:8765"
    assert parse_addresses(typed) == [A, B, "wss://standby-pc"]
    assert parse_addresses(" reception-pc:8765 ") == ["wss://reception-pc:8765"]
    assert parse_addresses("a:1; b:2", insecure=True) == ["ws://a:1", "ws://b:2"]
    assert parse_addresses([A, f"{B}, {C}"]) == [A, B, C]
    assert parse_addresses("") == [] and split_addresses(" , ") == []


def test_the_members_are_tried_in_turn_and_the_backoff_waits_only_after_a_whole_round() -> None:
    members = Members([A, B, C])
    assert members.current == A and members.position() == "1 of 3"
    assert members.failed() and members.current == B  # B is untried: at once
    assert members.failed() and members.current == C
    assert not members.failed() and members.current == A  # all three failed: pause
    assert members.failed() and members.current == B
    members.connected()  # live on B; it is lost later
    assert members.failed() and members.current == C
    one = Members([A])
    assert not one.failed() and one.current == A  # one address: the backoff, as ever
    assert one.position() == "" and B not in one and "wss://10.0.0.5:8765/" in one


def test_the_settings_keep_the_addresses_as_a_list(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "s.ini")
    assert settings.server_urls == [DEFAULT_SERVER] and not settings.has_server
    settings.server_urls = [A, B]
    again = Settings(tmp_path / "s.ini")
    assert again.server_urls == [A, B] and again.server_url == f"{A}, {B}"
    again.server_urls = [C]  # one address: still a list
    assert Settings(tmp_path / "s.ini").server_urls == [C]
    older = Settings(tmp_path / "older.ini")
    older._qs.setValue("server/url", A)  # kept by a version of one address
    assert older.has_server and older.server_urls == [A]


def test_a_pin_of_any_member_stands_for_the_members_without_one() -> None:
    pins = PinStore()
    pins.pin(B, CERT)
    members = [A, B, C]
    assert pins.check_member(A, CERT, members) is Verdict.PINNED
    assert pins.get(A) is not None  # now its own pin too
    assert pins.check_member(C, OTHER, members) is Verdict.CHANGED  # refused, with warning
    assert pins.get(C) is None
    assert pins.check_member(C, CERT, []) is Verdict.UNKNOWN  # alone, it is another server
    pins.pin(C, OTHER)  # a member's own pin decides for it
    assert pins.check_member(C, CERT, members) is Verdict.CHANGED


def test_the_txt_record_carries_the_cluster_only_when_given() -> None:
    hotels = [("seaview", "Seaview Hotel")]
    assert "cluster" not in txt_record(hotels, "CODE")
    assert txt_record(hotels, "CODE", cluster="3f9a0c1b2d4e")["cluster"] == "3f9a0c1b2d4e"


def found(host: str, cluster: str = "", hotel: str = "Seaview Hotel", code: str = "K") -> Any:
    return FoundServer(f"{hotel} on {host}", host, 8765, (hotel,), code, True, cluster)


def test_servers_of_one_cluster_are_one_entry_and_others_stay_apart(qtbot: Any) -> None:
    servers = [
        found("10.0.0.6", "c1"),
        found("10.0.0.5", "c1"),
        found("10.0.0.9", "c2", "Harbour Inn"),
        found("10.0.0.7"),  # no cluster field: alone
        found("10.0.0.8"),
    ]
    listed = entries(servers)
    titles = [e.title for e in listed]
    assert titles == ["Harbour Inn", "Seaview Hotel", "Seaview Hotel", "Seaview Hotel — 2 servers"]
    cluster = listed[-1]
    assert cluster.addresses == "10.0.0.5:8765, 10.0.0.6:8765"
    assert cluster.typed == "10.0.0.5:8765, 10.0.0.6:8765"
    dialog = LoginDialog("", "frontdesk")
    qtbot.addWidget(dialog)
    dialog.show_found()
    dialog.list_servers(servers)
    assert dialog.found.count() == 4
    item = dialog.found.item(3)
    assert isinstance(item.data(Qt.ItemDataRole.UserRole), FoundEntry)
    assert item.text().startswith("Seaview Hotel — 2 servers\n10.0.0.5:8765, 10.0.0.6:8765")
    dialog._choose(item)
    assert parse_addresses(dialog.server.text()) == [A, B]
