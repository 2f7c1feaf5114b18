"""Toasts: short notes stacked in a corner of the window that never take the focus.

They are child widgets of a Roomrack window (not windows of their own), so they cannot steal
the keyboard from whoever is typing; each closes itself after a few seconds or on a click.
They show on the Roomrack window in front (the main window, or the Operations window that
may cover it) and move with the focus from one to the other.
"""

from __future__ import annotations

import contextlib
import wave
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

import resources
from desktop.sound import Player, choose_player
from desktop.theme import TOAST_COLOURS

SOUND_FILE = resources.path("alert.wav")
KINDS = ("success", "error", "info", "warning")
MAX_TOASTS = 6
WIDTH = 340
MARGIN = 14


class Toast(QFrame):
    closed = Signal(object)

    def __init__(self, kind: str, title: str, text: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.kind = kind if kind in KINDS else "info"
        self.title = title
        self.text = text
        bg, accent, mark = TOAST_COLOURS[self.kind]
        self.setObjectName("toast")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFixedWidth(WIDTH)
        self.setStyleSheet(
            f"QFrame#toast {{ background: {bg}; border: 1px solid {accent};"
            f" border-left: 6px solid {accent}; border-radius: 6px; }}"
            f" QLabel {{ background: transparent; border: none; }}"
        )
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(10)
        icon = QLabel(mark)
        icon.setFixedSize(26, 26)
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        icon.setStyleSheet(
            f"QLabel {{ background: {accent}; color: white; border-radius: 13px;"
            " font-weight: 700; font-size: 11pt; }"
        )
        lay.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        col = QVBoxLayout()
        col.setSpacing(2)
        head = QLabel(title)
        head.setStyleSheet(f"QLabel {{ font-weight: 700; color: {accent}; }}")
        head.setWordWrap(True)
        col.addWidget(head)
        if text:
            body = QLabel(text)
            body.setWordWrap(True)
            body.setStyleSheet("QLabel { color: #1C2833; }")
            col.addWidget(body)
        lay.addLayout(col, 1)
        close = QLabel("×")
        close.setStyleSheet("QLabel { color: #566573; font-size: 13pt; }")
        close.setToolTip("Close")
        lay.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.setToolTip("Click to close")
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.dismiss)
        self.adjustSize()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.dismiss()

    def dismiss(self) -> None:
        self.timer.stop()
        self.hide()
        self.closed.emit(self)
        self.deleteLater()


class ToastManager(QObject):
    """Stacks toasts in a corner of `host` and keeps them there when it is resized; while
    another window of host's (a top-level child such as the Operations window) is the active
    one, in a corner of that window instead."""

    shown = Signal(str, str, str)  # kind, title, text

    def __init__(
        self,
        host: QWidget,
        corner: str = "bottom-right",
        seconds: float = 5.0,
        sound: bool = False,
    ) -> None:
        super().__init__(host)
        self.host = host
        self.corner = corner
        self.seconds = seconds
        self.sound = sound
        self.toasts: list[Toast] = []
        self.history: list[tuple[str, str, str]] = []
        self._player: Player | None = None  # chosen at the first chime (see desktop/sound.py)
        self.current = host  # where the toasts are now
        self._front: QWidget | None = None  # the last of our windows that was active
        host.installEventFilter(self)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusWindowChanged.connect(self._follow_focus)

    # --- which window ----------------------------------------------------------------------

    def _ours(self, window: QWidget | None) -> bool:
        """A visible window of host's: its own, or a top-level descendant of it."""
        main = self.host.window()
        w = window
        while w is not None:
            if w is main:
                return bool(window is not None and window.isVisible())
            w = w.parentWidget()
        return False

    def target(self) -> QWidget:
        """The widget the toasts belong on now: inside the active Roomrack window (a dialog
        counts as the window it belongs to), else the last one that was active, else host."""
        try:
            active = QApplication.activeWindow()
            while isinstance(active, QDialog) and (owner := active.parentWidget()) is not None:
                active = owner.window()
            if self._ours(active):
                self._front = active
            elif self._front is not None and not self._ours(self._front):
                self._front = None
        except RuntimeError:  # a window that is gone
            self._front = None
        window = self._front
        if window is None or window is self.host.window():
            return self.host
        central = window.centralWidget() if isinstance(window, QMainWindow) else None
        return central or window

    def _follow_focus(self, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the host is gone (the application closes)
            self.retarget()

    def retarget(self) -> None:
        """Move the toasts to the window in front, if that changed."""
        new = self.target()
        if new is self.current:
            return
        with contextlib.suppress(RuntimeError):
            self.current.removeEventFilter(self)
        self.current = new
        new.installEventFilter(self)
        for toast in self.toasts:
            toast.setParent(new)
            toast.show()
        self.place()

    # --- toasts ----------------------------------------------------------------------------

    def show(self, kind: str, title: str, text: str = "", important: bool = False) -> Toast:
        self.retarget()
        toast = Toast(kind, title, text, self.current)
        toast.closed.connect(self._closed)
        self.toasts.append(toast)
        self.history.append((toast.kind, title, text))
        del self.history[:-200]
        while len(self.toasts) > MAX_TOASTS:
            self.toasts[0].dismiss()
        toast.show()
        toast.raise_()
        if self.seconds > 0:
            toast.timer.start(int(self.seconds * 1000))
        self.place()
        if important and self.sound:
            self.play()
        self.shown.emit(toast.kind, title, text)
        return toast

    def play(self) -> None:
        if self._player is None:
            self._player = choose_player(SOUND_FILE)
        self._player.play()

    def clear(self) -> None:
        for t in list(self.toasts):
            t.dismiss()

    def _closed(self, toast: Toast) -> None:
        if toast in self.toasts:
            self.toasts.remove(toast)
        self.place()

    def place(self) -> None:
        w, h = self.current.width(), self.current.height()
        top = self.corner.startswith("top")
        right = self.corner.endswith("right")
        # a window may keep a strip along its bottom free of toasts (its action buttons)
        reserve = self.current.property("toastReserve")
        bottom = h - MARGIN - (int(reserve) if isinstance(reserve, int) else 30)
        legend = self.current.findChild(QWidget, "legend")  # the main window's, at the bottom
        if legend is not None and legend.isVisible():
            bottom = legend.mapTo(self.current, legend.rect().topLeft()).y() - MARGIN
        y = MARGIN + 60 if top else bottom
        # the newest toast sits nearest the corner
        for toast in reversed(self.toasts):
            toast.adjustSize()
            th = toast.height()
            x = w - toast.width() - MARGIN if right else MARGIN
            if top:
                toast.move(QPoint(x, y))
                y += th + 8
            else:
                y -= th
                toast.move(QPoint(x, y))
                y -= 8
            toast.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.current and event.type() == QEvent.Type.Resize:
            self.place()
        return False


def write_alert_wav(path: Path = SOUND_FILE) -> None:
    """The two-tone chime shipped in resources/ (kept here so it can be made again)."""
    import math
    import struct

    rate = 22050
    frames = bytearray()
    for freq, dur in ((880.0, 0.12), (1318.5, 0.18)):
        n = int(rate * dur)
        for i in range(n):
            env = min(1.0, i / 200) * min(1.0, (n - i) / 800)
            frames += struct.pack("<h", int(9000 * env * math.sin(2 * math.pi * freq * i / rate)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
