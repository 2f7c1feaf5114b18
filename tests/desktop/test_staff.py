"""Staff accounts on the desktop, over a real server: a manager disables a colleague (or ends
their sessions, or resets their password) and the colleague's window returns to its login at
once, saying why; everyone changes their own password; only a manager has the Staff tab."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from desktop.account import ChangePasswordDialog
from desktop.mainwindow import MainWindow
from desktop.operations.staff import PasswordDialog
from shared.clock import ManualClock
from tests.desktop.conftest import logged_in, login, make_window, run
from tests.desktop.ops_support import advance_server, open_ops
from tests.support import ServerThread

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clock() -> ManualClock:
    """The demo hotel and the server at today's real time: the command line (one test runs
    it) keeps the real time, and must see the server's sessions as open."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


def returned_to_login(qtbot: Any, win: MainWindow) -> str:
    """Wait until `win` shows its login dialog again; the words it gives."""
    qtbot.waitUntil(
        lambda: win.login_dialog is not None and win.login_dialog.isVisible(), timeout=10000
    )
    assert win.login_dialog is not None
    assert not win.isVisible() and win.rooms.rowCount() == 0
    assert win.settings.token is None and win.session.token is None
    return str(win.login_dialog.error.text())


def staff_id(win: MainWindow) -> int:
    return int(win.session.staff["id"])


def test_a_disabled_colleagues_window_returns_to_login_at_once(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock, tmp_path: Path
) -> None:
    ops = open_ops(qtbot, window, server, "manager")
    desk = logged_in(qtbot, clock, tmp_path, server, "frontdesk", "desk.ini")
    assert desk.settings.token
    ops.show_tab("Staff")
    tab = ops.staff_tab
    qtbot.waitUntil(lambda: len(tab.accounts) == 6, timeout=5000)
    tab.select_login("frontdesk")
    assert tab.selected() is not None and tab.toggle_button.text() == "Disable"
    tab.set_enabled(staff_id(desk), False)
    words = returned_to_login(qtbot, desk)
    assert "disabled" in words and "Ask a manager" in words
    qtbot.waitUntil(lambda: "Account disabled" in tab.status.text(), timeout=5000)
    qtbot.waitUntil(
        lambda: tab.accounts.get(staff_id_of(tab, "frontdesk"), {}).get("enabled") is False,
        timeout=5000,
    )
    assert tab.toggle_button.text() == "Enable"
    # the security log is read again after the change (its reply may come a moment later)
    logged = {"staff.disabled", "staff.session_ended", "staff.login"}
    qtbot.waitUntil(lambda: logged <= {e["kind"] for e in tab.entries}, timeout=5000)
    # the colleague cannot log in again until it is enabled
    dialog = desk.login_dialog
    assert dialog is not None
    assert not run_login(qtbot, desk, server, "frontdesk")
    assert "disabled" in dialog.error.text()
    tab.set_enabled(staff_id_of(tab, "frontdesk"), True)
    qtbot.waitUntil(lambda: "Account enabled" in tab.status.text(), timeout=5000)
    login(qtbot, desk, server, "frontdesk")


def staff_id_of(tab: Any, login: str) -> int:
    return next(i for i, a in tab.accounts.items() if a["login"] == login)


def run_login(qtbot: Any, win: MainWindow, server: ServerThread, who: str) -> bool:
    return bool(run(qtbot, win.login(server.url, who, "demo")))


def test_ending_a_colleagues_sessions_and_resetting_a_password_log_them_out(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock, tmp_path: Path
) -> None:
    ops = open_ops(qtbot, window, server, "manager")
    hk = logged_in(qtbot, clock, tmp_path, server, "housekeeping", "hk.ini")
    ops.show_tab("Staff")
    tab = ops.staff_tab
    qtbot.waitUntil(lambda: len(tab.accounts) == 6, timeout=5000)
    tab.end_sessions(staff_id(hk))
    assert "manager ended your session" in returned_to_login(qtbot, hk)
    login(qtbot, hk, server, "housekeeping")
    tab.reload()
    qtbot.waitUntil(lambda: tab.accounts[staff_id(hk)]["sessions"] == 1, timeout=5000)
    tab.select_login("housekeeping")
    dialog = tab.reset_selected()
    assert isinstance(dialog, PasswordDialog)
    dialog.password.setText("demo1234")
    dialog.again.setText("demo1234")
    assert not dialog.ok.isEnabled() and "guesser" in dialog.error.text()
    dialog.password.setText("fresh linen 7")
    dialog.again.setText("fresh linen 7")
    assert dialog.ok.isEnabled()
    dialog.submit()
    assert "reset your password" in returned_to_login(qtbot, hk)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)


def test_a_manager_adds_a_colleague_from_the_staff_tab(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    ops = open_ops(qtbot, window, server, "manager")
    ops.show_tab("Staff")
    tab = ops.staff_tab
    qtbot.waitUntil(lambda: len(tab.accounts) == 6, timeout=5000)
    dialog = tab.add_staff()
    dialog.login.setText("eva")
    dialog.name.setText("Eva Roe")
    dialog.role.setCurrentIndex(dialog.role.findData("front_desk"))
    dialog.password.setText("short")
    assert not dialog.ok.isEnabled() and "at least 8" in dialog.error.text()
    dialog.password.setText("lobby-lamp7")
    dialog.again.setText("lobby-lamp7")
    dialog.submit()
    qtbot.waitUntil(lambda: len(tab.accounts) == 7, timeout=5000)
    eva = next(a for a in tab.accounts.values() if a["login"] == "eva")
    assert eva["role"] == "front_desk" and eva["enabled"]
    shot = tab.grab()
    assert not shot.isNull()


def test_the_staff_tab_is_a_managers_only(
    qtbot: Any, window: MainWindow, server: ServerThread
) -> None:
    ops = open_ops(qtbot, window, server, "supervisor")
    assert not ops.tabs.isTabVisible(ops.tabs.indexOf(ops.staff_tab))
    assert ops.staff_tab.accounts == {}


def test_changing_ones_own_password_logs_out_ones_other_workstation(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock, tmp_path: Path
) -> None:
    login(qtbot, window, server, "supervisor")
    other = logged_in(qtbot, clock, tmp_path, server, "supervisor", "other.ini")
    dialog = window.change_password()
    assert isinstance(dialog, ChangePasswordDialog)
    dialog.current.setText("demo")
    dialog.new.setText("supervisor1")
    assert not dialog.ok.isEnabled() and "login" in dialog.error.text()
    dialog.new.setText("check the beds 4")
    dialog.again.setText("check the beds 5")
    assert not dialog.ok.isEnabled() and "differ" in dialog.error.text()
    dialog.again.setText("check the beds 4")
    dialog.current.setText("not it")
    assert dialog.ok.isEnabled()
    dialog.submit()
    qtbot.waitUntil(lambda: "not right" in dialog.error.text(), timeout=5000)
    dialog.current.setText("demo")
    dialog.submit()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    words = returned_to_login(qtbot, other)
    assert "changed on another workstation" in words
    assert window.isVisible() and window.session.is_live()  # this one stays
    assert any(title == "Password changed" for _, title, _ in window.toasts.history)


def test_a_colleague_disabled_on_the_command_line_returns_to_login(
    qtbot: Any, window: MainWindow, server: ServerThread, demo_db: Path
) -> None:
    login(qtbot, window, server, "maintenance")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "--db",
            str(demo_db),
            "revoke-sessions",
            "maintenance",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    advance_server(server, 5)  # the server's next look at its live sessions
    assert "manager ended your session" in returned_to_login(qtbot, window)


def test_a_session_unused_past_the_idle_time_asks_for_a_login_saying_so(
    qtbot: Any, window: MainWindow, server: ServerThread, clock: ManualClock, tmp_path: Path
) -> None:
    login(qtbot, window, server, "frontdesk")
    token = window.settings.token
    run(qtbot, window.session.stop())  # the workstation is switched off for the night
    window.close()
    advance_server(server, 13 * 3600)  # longer than the idle time (12 h)
    again = make_window(clock, tmp_path)  # the same settings file: the next morning
    qtbot.addWidget(again)
    again.session.resume(again.settings.server_url, token or "")
    words = returned_to_login(qtbot, again)
    assert "expired" in words
