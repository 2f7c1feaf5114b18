"""Toasts on their own: how long they stay, which corner, how many, the focus, the sound, and
the settings that shape them (offscreen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from desktop.settings import Settings
from desktop.toasts import MAX_TOASTS, ToastManager
from shared.clock import ManualClock
from tests.desktop.conftest import make_window

pytestmark = pytest.mark.gui


@pytest.fixture
def host(qtbot: Any) -> QWidget:
    w = QWidget()
    w.resize(1000, 700)
    lay = QVBoxLayout(w)
    w.field = QLineEdit()  # type: ignore[attr-defined]
    lay.addWidget(w.field)  # type: ignore[attr-defined]
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


class Chime:
    """Stands in for the sound player (a pure unit check of when it is asked to play)."""

    def __init__(self) -> None:
        self.played = 0

    def play(self) -> None:
        self.played += 1


def test_a_toast_goes_by_itself_after_its_time_and_stays_when_told_to(
    qtbot: Any, host: QWidget
) -> None:
    quick = ToastManager(host, seconds=0.05)
    quick.show("info", "Room 101 is ready")
    assert len(quick.toasts) == 1
    qtbot.waitUntil(lambda: not quick.toasts, timeout=3000)
    keep = ToastManager(host, seconds=0)  # 0: until clicked
    toast = keep.show("warning", "Rush: room 204")
    assert not toast.timer.isActive()
    qtbot.mouseClick(toast, Qt.MouseButton.LeftButton)
    assert not keep.toasts


@pytest.mark.parametrize("corner", ["top-left", "top-right", "bottom-left", "bottom-right"])
def test_toasts_sit_in_the_chosen_corner(qtbot: Any, host: QWidget, corner: str) -> None:
    toasts = ToastManager(host, corner=corner, seconds=0)
    toast = toasts.show("success", "Done", "Room 101: start cleaning")
    g = toast.geometry()
    assert host.rect().contains(g)
    centre = host.rect().center()
    assert (g.center().x() > centre.x()) == corner.endswith("right")
    assert (g.center().y() > centre.y()) == corner.startswith("bottom")


def test_toasts_stack_without_overlapping_and_the_oldest_go_first(
    qtbot: Any, host: QWidget
) -> None:
    toasts = ToastManager(host, corner="bottom-right", seconds=0)
    for i in range(MAX_TOASTS + 3):
        toasts.show("info", f"Note {i}")
    assert len(toasts.toasts) == MAX_TOASTS
    assert [t.title for t in toasts.toasts] == [f"Note {i}" for i in range(3, MAX_TOASTS + 3)]
    boxes = [t.geometry() for t in toasts.toasts]
    for i, a in enumerate(boxes):
        assert host.rect().contains(a)
        assert not any(a.intersects(b) for b in boxes[i + 1 :])
    # the newest sits nearest the corner (lowest, in a bottom corner)
    assert boxes[-1].top() == max(b.top() for b in boxes)


def test_a_toast_never_takes_the_focus_from_what_the_person_is_typing_in(
    qtbot: Any, host: QWidget
) -> None:
    field: QLineEdit = host.field  # type: ignore[attr-defined]
    host.activateWindow()
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=2000)
    qtbot.keyClicks(field, "10")
    toasts = ToastManager(host, seconds=0)
    for kind in ("success", "error", "info", "warning"):
        toasts.show(kind, f"A {kind} note", important=True)
    assert field.hasFocus()
    qtbot.keyClicks(field, "4")
    assert field.text() == "104"


def test_the_sound_plays_only_for_important_toasts_and_only_when_switched_on(
    qtbot: Any, host: QWidget
) -> None:
    toasts = ToastManager(host, seconds=0, sound=False)
    chime = Chime()
    toasts._player = chime
    toasts.show("warning", "Maintenance flagged", important=True)
    assert chime.played == 0
    toasts.sound = True
    toasts.show("info", "Room 101 is ready")  # not important
    assert chime.played == 0
    toasts.show("warning", "Rush: room 204", important=True)
    assert chime.played == 1


def test_the_windows_settings_shape_the_toasts_and_are_remembered(
    qtbot: Any, qloop: Any, clock: ManualClock, tmp_path: Path
) -> None:
    window = make_window(clock, tmp_path)
    qtbot.addWidget(window)
    chime = Chime()
    window.toasts._player = chime
    window.set_toast_corner("top-left")
    window.set_toast_seconds(10)
    window.set_sound(True)
    assert chime.played == 1  # switching it on plays it once, to hear it
    window.show()
    toast = window.toasts.show("info", "Room 101 is ready")
    assert toast.timer.interval() == 10_000
    host = window.toasts.current
    assert toast.geometry().topLeft().x() < host.width() // 2
    assert toast.mapTo(host, QPoint(0, 0)).y() < host.height() // 2
    again = Settings(tmp_path / "settings.ini")  # the next start of the program
    assert (again.toast_corner, again.toast_seconds, again.sound) == ("top-left", 10, True)
