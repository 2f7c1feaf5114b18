"""The Roomrack desktop: PySide6 + qasync."""

from __future__ import annotations

import ctypes
import sys


def _pad_none_refcount() -> None:
    """PySide6 6.12 on Python 3.11 drops a reference to None (and at times to True or False)
    when some values reach Python, e.g. `index.data(role)` for a role without data or
    `QComboBox.currentData()` for an item without data. These objects are not immortal before
    Python 3.12, so a long-running window would eventually crash. The desktop avoids such
    reads; this pad makes the rest harmless."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    for obj in (None, True, False):
        refcnt = ctypes.c_ssize_t.from_address(id(obj))
        if refcnt.value < 1 << 40:
            refcnt.value += 1 << 40


_pad_none_refcount()
