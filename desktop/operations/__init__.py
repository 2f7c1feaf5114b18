"""Operations: discrepancies, the rush queue, out-of-order blocks, room attendants and their
sheets, the board as it was (and the audit trail), and who is online.

The main window makes one `OperationsWindow` when it starts (so discrepancy toasts arrive even
while the window is closed) and shows it with one button: see `open_operations`.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from desktop.model import RoomModel
from desktop.operations.window import OperationsWindow
from desktop.session import Session
from desktop.toasts import ToastManager

__all__ = ["OperationsWindow", "make_operations", "open_operations"]


def make_operations(
    session: Session,
    parent: QWidget | None = None,
    rooms: RoomModel | None = None,
    toasts: ToastManager | None = None,
) -> OperationsWindow:
    """The Operations window of `parent`, made (hidden) the first time. Make it when the main
    window starts, so that it listens from the first snapshot on (discrepancy toasts arrive
    even while it is closed)."""
    if parent is not None:
        for child in parent.findChildren(OperationsWindow):
            if child.session is session:
                return child
    return OperationsWindow(session, rooms, toasts, parent)


def open_operations(
    session: Session,
    parent: QWidget | None = None,
    rooms: RoomModel | None = None,
    toasts: ToastManager | None = None,
    tab: str | None = None,
) -> OperationsWindow:
    """Show the Operations window of `parent` (made once, then reused) and return it.

    Pass the main window's room model and toasts to share them; without them the window keeps
    its own copy of the board (fed by the session) and shows its own toasts."""
    existing = make_operations(session, parent, rooms, toasts)
    if tab:
        existing.show_tab(tab)
    existing.show()
    existing.raise_()
    existing.activateWindow()
    return existing
