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

__all__ = ["OperationsWindow", "open_operations"]


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
    existing = getattr(parent, "_operations_window", None) if parent is not None else None
    if not isinstance(existing, OperationsWindow):
        existing = OperationsWindow(session, rooms, toasts, parent)
        if parent is not None:
            setattr(parent, "_operations_window", existing)  # noqa: B010
    if tab:
        existing.show_tab(tab)
    existing.show()
    existing.raise_()
    existing.activateWindow()
    return existing
