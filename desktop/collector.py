"""Python's cycle collector runs in whichever thread happens to allocate when a threshold is
passed. Qt objects must be destroyed in the thread that owns them (the GUI thread): a widget
in a reference cycle, freed by a collection that started in a worker thread (asyncio's
resolver, a test's server thread), crashes the process. So the desktop turns the automatic
collection off and collects from a timer in the GUI thread, by the same thresholds."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadCollector(QObject):
    """Collects garbage on the GUI thread only, every `interval_ms`, as gc would have."""

    def __init__(self, interval_ms: int = 500, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        self._timer.start(interval_ms)

    def collect(self) -> int:
        """Collect the oldest generation whose count passed its threshold (if any)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = [g for g in range(3) if counts[g] > thresholds[g]]
        return gc.collect(due[-1]) if due else 0

    def stop(self) -> None:
        """Collect everything now, here, and give the collection back to Python."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
