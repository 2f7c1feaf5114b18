"""The chime: played by the first player that works with the declared dependencies (no Qt
Multimedia in PySide6-Essentials), and a fallback to the system beep that the log explains."""

from __future__ import annotations

import importlib
import logging
import stat
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from desktop.sound import choose_player
from desktop.toasts import SOUND_FILE


def no_multimedia(name: str) -> Any:
    if name == "PySide6.QtMultimedia":
        raise ImportError(name)
    return importlib.import_module(name)


def fake_player(tmp_path: Path) -> tuple[Path, Path]:
    """A command-line player that writes down what it was asked to play."""
    played = tmp_path / "played.txt"
    script = tmp_path / "paplay"
    script.write_text(
        f'#!{sys.executable}\nimport sys\nopen({str(played)!r}, "w").write(sys.argv[-1])\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, played


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX script stands in for the player")
def test_the_chime_is_played_by_a_system_player_without_qt_multimedia(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script, played = fake_player(tmp_path)
    caplog.set_level(logging.INFO, "roomrack.desktop.sound")
    player = choose_player(
        SOUND_FILE,
        platform="linux",
        which=lambda name: str(script) if name == "paplay" else None,
        import_module=no_multimedia,
    )
    assert player.name == "paplay"
    assert "the chime plays with paplay" in caplog.text
    player.play()
    assert player.procs[0].wait(timeout=30) == 0
    assert played.read_text() == str(SOUND_FILE)  # the shipped chime, by its path


def test_without_any_player_the_beep_is_used_and_the_log_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "roomrack.desktop.sound")
    player = choose_player(
        SOUND_FILE, platform="linux", which=lambda name: None, import_module=no_multimedia
    )
    assert player.name == "system beep"
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert "Qt Multimedia is not installed" in warning.getMessage()
    assert "pw-play, paplay, aplay" in warning.getMessage()
    assert "falls back to the system beep" in warning.getMessage()


def test_on_windows_the_standard_librarys_winsound_plays_the_file() -> None:
    calls: list[tuple[str, int]] = []
    winsound = types.SimpleNamespace(
        SND_FILENAME=0x20000,
        SND_ASYNC=0x1,
        SND_NODEFAULT=0x2,
        PlaySound=lambda path, flags: calls.append((path, flags)),
    )

    def modules(name: str) -> Any:
        return winsound if name == "winsound" else no_multimedia(name)

    player = choose_player(SOUND_FILE, platform="win32", import_module=modules)
    assert player.name == "winsound"
    player.play()
    assert calls == [(str(SOUND_FILE), 0x20003)]  # asynchronous: never blocks the window


def test_with_the_declared_dependencies_the_choice_needs_no_qt_multimedia() -> None:
    """PySide6-Essentials has no Qt Multimedia: the chime is played some other way."""
    if importlib.util.find_spec("PySide6.QtMultimedia") is not None:
        pytest.skip("Qt Multimedia is installed here (PySide6-Addons)")
    player = choose_player(SOUND_FILE)
    assert player.name != "Qt Multimedia"
