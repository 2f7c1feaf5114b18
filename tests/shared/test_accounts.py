"""The password rule and the words for an ended session, table-driven; the login guard's
limits on a manual clock."""

from __future__ import annotations

import pytest

from server.guard import LoginGuard, LoginLimits
from shared.accounts import END_REASONS, EndReason, end_words, password_problem
from shared.clock import ManualClock
from shared.errors import ErrorCode


@pytest.mark.parametrize(
    ("password", "login", "name", "words"),
    [
        ("short", "eva", "Eva Roe", "at least 8 characters"),
        ("x" * 201, "eva", "Eva Roe", "at most 200"),
        ("frontdesk", "frontdesk", "", "not be the login"),
        ("ksedtnorf", "frontdesk", "", "not be the login"),
        ("Frontdesk-2026", "frontdesk", "", "not contain the login"),
        ("Eva Roe Roe", "eva", "Eva Roe Roe", "not be the person's name"),
        ("abababab", "eva", "", "3 different characters"),
        ("Password123!", "eva", "", "first every guesser tries"),
        ("qwertyuiop", "eva", "", "first every guesser tries"),
        ("killarney2026", "eva", "", "first every guesser tries"),
    ],
)
def test_a_weak_password_is_refused_with_the_rule_in_words(
    password: str, login: str, name: str, words: str
) -> None:
    problem = password_problem(password, login, name)
    assert problem is not None and words in problem


@pytest.mark.parametrize("password", ["sea breeze 42", "lobby-lamp7", "Tide-pool9", "eva12345x"])
def test_a_good_password_passes(password: str) -> None:
    assert password_problem(password, "eva", "Eva Roe") is None


def test_every_end_reason_has_a_code_and_words() -> None:
    assert set(END_REASONS) == set(EndReason)
    assert end_words("disabled")[0] is ErrorCode.ACCOUNT_DISABLED
    assert end_words("expired")[0] is ErrorCode.SESSION_EXPIRED
    assert end_words("something new")[0] is ErrorCode.SESSION_REVOKED


def test_one_address_never_locks_an_account_but_several_do() -> None:
    clock = ManualClock()
    guard = LoginGuard(clock, LoginLimits(lock_addresses=3, lock_failures=6))
    locks = []
    for _ in range(200):  # a guesser on one address, as fast as it is let
        if guard.allowed("manager", "10.0.0.9"):
            locks.append(guard.failed("manager", "10.0.0.9"))
        clock.advance(10)
    assert locks and not any(locks)
    assert guard.allowed("manager", "10.0.0.2")  # another address is not slowed
    # the noisy address counts 2 (6 / 3), so a colleague's typo or two does not lock it...
    assert [guard.failed("manager", a) for a in ("10.0.0.2", "10.0.0.3")] == [False, False]
    # ...but failures spread over three addresses do: 2 + 2 + 2
    assert [guard.failed("manager", a) for a in ("10.0.0.2", "10.0.0.3")] == [False, True]
