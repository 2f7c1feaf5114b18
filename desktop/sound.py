"""Playing the chime (resources/alert.wav) with what the desktop's declared dependencies and
the operating system give, without Qt Multimedia.

PySide6-Essentials, the desktop's Qt, does not ship Qt Multimedia, and PySide6-Addons, which
does, adds about 160 MB for a 0.3 s chime. So the first of these that is there plays it:

1. Qt Multimedia's QSoundEffect, if it happens to be installed;
2. on Windows, the standard library's `winsound` (asynchronous, the WAV file);
3. a command-line player of the system: `pw-play` (PipeWire), `paplay` (PulseAudio) or
   `aplay` (ALSA) on Linux and the BSDs, `afplay` on macOS, started in the background;
4. else the system beep (QApplication.beep), and the log says why.

The choice is made once and logged, so "why is there no sound?" has an answer in the log.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("roomrack.desktop.sound")

COMMANDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "linux": (("pw-play",), ("paplay",), ("aplay", "-q")),
    "darwin": (("afplay",),),
}


@dataclass
class Player:
    """How the chime is played: `name` for the log, `play` to play it once (never blocks)."""

    name: str
    play: Callable[[], None]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)


def _qt_multimedia(path: Path, import_module: Callable[[str], Any]) -> Player | None:
    try:
        multimedia = import_module("PySide6.QtMultimedia")
        from PySide6.QtCore import QUrl
    except ImportError:
        return None
    effect = multimedia.QSoundEffect()
    effect.setSource(QUrl.fromLocalFile(str(path)))
    effect.setVolume(0.6)
    return Player("Qt Multimedia", effect.play)


def _winsound(path: Path, import_module: Callable[[str], Any]) -> Player | None:
    try:
        winsound = import_module("winsound")
    except ImportError:
        return None
    flags = winsound.SND_FILENAME | winsound.SND_ASYNC | winsound.SND_NODEFAULT
    return Player("winsound", lambda: winsound.PlaySound(str(path), flags))


def _command(path: Path, platform: str, which: Callable[[str], str | None]) -> Player | None:
    family = "darwin" if platform == "darwin" else "linux"
    for command in COMMANDS[family]:
        found = which(command[0])
        if found is None:
            continue
        player = Player(command[0], lambda: None)
        argv = [found, *command[1:], str(path)]

        def play(argv: list[str] = argv, player: Player = player) -> None:
            player.procs = [p for p in player.procs if p.poll() is None]  # reap the done
            try:
                player.procs.append(
                    subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                )
            except OSError as exc:
                log.warning("could not play the chime with %s: %s", argv[0], exc)

        player.play = play
        return player
    return None


def _beep() -> None:
    from PySide6.QtWidgets import QApplication

    QApplication.beep()


def choose_player(
    path: Path,
    platform: str = sys.platform,
    which: Callable[[str], str | None] = shutil.which,
    import_module: Callable[[str], Any] = importlib.import_module,
) -> Player:
    """The first way to play `path` that works here (see the module's docstring); logged."""
    if not path.is_file():
        log.warning("no chime file at %s: using the system beep", path)
        return Player("system beep", _beep)
    player = _qt_multimedia(path, import_module)
    if player is None and platform == "win32":
        player = _winsound(path, import_module)
    if player is None and platform != "win32":
        player = _command(path, platform, which)
    if player is None:
        tried = ", ".join(c[0] for c in COMMANDS["darwin" if platform == "darwin" else "linux"])
        log.warning(
            "no sound player found (Qt Multimedia is not installed; none of %s): "
            "the chime falls back to the system beep",
            "winsound" if platform == "win32" else tried,
        )
        return Player("system beep", _beep)
    log.info("the chime plays with %s", player.name)
    return player
