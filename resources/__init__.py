"""The files the programs ship besides their code: the chime (alert.wav), the colours of the
board (colours.json), the desktop's Qt style sheet (style.qss) and the application icon
(roomrack.png, drawn by tools/make_icon.py).

`path(name)` finds one, the same in a source checkout and in an installed wheel (the files
are this package's data, see pyproject.toml)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def path(name: str) -> Path:
    """The file `name` of this folder, e.g. path("alert.wav")."""
    return Path(str(files("resources").joinpath(name)))
