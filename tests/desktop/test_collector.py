"""The desktop frees objects in reference cycles on the GUI thread only."""

from __future__ import annotations

import gc
import threading
from typing import Any

from desktop.collector import GuiThreadCollector

FREED_ON: list[threading.Thread] = []


class Probe:
    """Part of a reference cycle; says on which thread it was freed."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        FREED_ON.append(threading.current_thread())


def churn() -> None:
    for _ in range(20_000):  # cycles enough to pass every generation's threshold
        a: list[Any] = []
        a.append(a)


def test_a_worker_thread_that_allocates_frees_no_cycle_and_the_gui_thread_does(qapp: Any) -> None:
    was_enabled = gc.isenabled()
    collector = GuiThreadCollector()
    try:
        FREED_ON.clear()
        Probe()
        worker = threading.Thread(target=churn)
        worker.start()
        worker.join()
        assert FREED_ON == []  # the worker passed the thresholds but collected nothing
        assert collector.collect() > 0
        assert [threading.main_thread()] == FREED_ON
    finally:
        collector.stop()
    assert gc.isenabled() == was_enabled  # as it was before
