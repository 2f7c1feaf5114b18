"""Staff accounts: the password rule, why a session ended, and the words for both.

Pure Python, no I/O: the server refuses exactly the passwords the desktop warns about, and
both say why a session ended in the same words.
"""

from __future__ import annotations

from enum import StrEnum

from shared.errors import ErrorCode

# the close code of a connection whose session the server ended (its reason: the error code)
CLOSE_SESSION_ENDED = 4003
MIN_PASSWORD = 8
MAX_PASSWORD = 200

# Passwords every guesser tries first (the top of the public lists of leaked passwords),
# plus the obvious ones of a hotel. Compared in lower case, also with trailing digits and
# punctuation taken off ("Password123!" is "password").
_COMMON = """
    123456 1234567 12345678 123456789 1234567890 0123456789 987654321 111111 11111111
    000000 00000000 123123 112233 121212 123321 654321 666666 777777 888888 999999 696969
    password passwort passw0rd p@ssword p@ssw0rd pass pass1234 password1 motdepasse
    contrasena contrase qwerty qwertyuiop qwertz asdfgh asdfghjk asdfghjkl zxcvbnm
    1q2w3e4r 1qaz2wsx qazwsx abc123 abcd1234 abcdefgh aaaaaaaa iloveyou letmein welcome
    welcome1 monkey dragon master shadow sunshine princess football baseball superman
    batman trustno1 whatever freedom starwars michael jennifer jordan hunter ranger
    charlie donald secret secret123 changeme default admin administrator root login
    guest guest123 user test test1234 testing demo demo1234 hello hello123 killarney
    hotel hotel123 reception frontdesk front_desk housekeeping manager supervisor
    maintenance roomrack room1234 summer winter spring autumn january december
    computer internet office company
"""
COMMON_PASSWORDS = frozenset(_COMMON.split())

_TRIM = "0123456789!?.#*@$%&-_ "


def password_problem(password: str, login: str = "", name: str = "") -> str | None:
    """Why `password` may not be used for the account `login` (of the person `name`), in
    words for that person; None when it is good enough. The rule: at least 8 characters
    (at most 200), not the login or the name, not built on the login, at least 3 different
    characters, and not one of the passwords every guesser tries first."""
    if len(password) < MIN_PASSWORD:
        return f"A password needs at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"A password has at most {MAX_PASSWORD} characters."
    low = password.lower()
    login_low = login.lower().strip()
    if login_low and (low == login_low or low == login_low[::-1]):
        return "A password must not be the login."
    if len(login_low) >= 4 and login_low in low:
        return "A password must not contain the login."
    name_low = name.lower().strip()
    if name_low and low.replace(" ", "") == name_low.replace(" ", ""):
        return "A password must not be the person's name."
    if len(set(password)) < 3:
        return "A password needs at least 3 different characters."
    if low in COMMON_PASSWORDS or low.rstrip(_TRIM) in COMMON_PASSWORDS:
        return "That password is one of the first every guesser tries; choose another."
    return None


class EndReason(StrEnum):
    """Why a session ended (`details.reason` of a refused token, `reason` of
    `session.ended`)."""

    LOGGED_OUT = "logged_out"
    REVOKED = "revoked"  # a manager ended it (one session or all of a person's)
    DISABLED = "disabled"  # the account was disabled
    PASSWORD_RESET = "password_reset"  # a manager set a new password
    PASSWORD_CHANGED = "password_changed"  # the person changed it on another session
    EXPIRED = "expired"  # unused for the idle time, or past its last day


# reason -> (the code a refused token gets, the words for the person at the desk)
END_REASONS: dict[EndReason, tuple[ErrorCode, str]] = {
    EndReason.LOGGED_OUT: (
        ErrorCode.SESSION_REVOKED,
        "This session was logged out on another workstation. Please log in again.",
    ),
    EndReason.REVOKED: (
        ErrorCode.SESSION_REVOKED,
        "A manager ended your session. Please log in again.",
    ),
    EndReason.DISABLED: (
        ErrorCode.ACCOUNT_DISABLED,
        "Your account has been disabled, so you were logged out. Ask a manager.",
    ),
    EndReason.PASSWORD_RESET: (
        ErrorCode.SESSION_REVOKED,
        "A manager has reset your password, so you were logged out. Log in with the new password.",
    ),
    EndReason.PASSWORD_CHANGED: (
        ErrorCode.SESSION_REVOKED,
        "Your password was changed on another workstation, so you were logged out here. "
        "Log in with the new password.",
    ),
    EndReason.EXPIRED: (
        ErrorCode.SESSION_EXPIRED,
        "Your session expired after a long time unused. Please log in again.",
    ),
}

# codes that mean "this session is over: forget the token and ask for a login"
SESSION_OVER_CODES = frozenset(
    {
        ErrorCode.TOKEN_INVALID,
        ErrorCode.SESSION_EXPIRED,
        ErrorCode.SESSION_REVOKED,
        ErrorCode.ACCOUNT_DISABLED,
    }
)


def end_words(reason: str) -> tuple[ErrorCode, str]:
    """The code and words for a session that ended for `reason` (unknown reasons read as
    revoked, so a newer server's reasons still make sense)."""
    try:
        return END_REASONS[EndReason(reason)]
    except ValueError:
        return END_REASONS[EndReason.REVOKED]
