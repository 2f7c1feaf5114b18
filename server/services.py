"""All reads and writes of the store, as one object for the store's thread.

`Services` is assembled from one part per feature (server/commands/<feature>.py), the
stream's reads (server/stream.py) and what they all stand on (server/core.py). Each write
runs in one database transaction: it updates its rows and appends its events to the journal
(server/journal.py) in the same transaction, so a rollback emits nothing and a commit can
never lose its events. The events are returned to the caller, who publishes them after the
commit (server/publish.py).
"""

from __future__ import annotations

from server.commands.attendants import AttendantCommands
from server.commands.discrepancies import DiscrepancyCommands
from server.commands.frontdesk import FrontDeskCommands
from server.commands.history import HistoryReads
from server.commands.hotel import HotelCommands
from server.commands.housekeeping import HousekeepingCommands
from server.stream import StreamReads


class Services(
    HousekeepingCommands,
    AttendantCommands,
    DiscrepancyCommands,
    FrontDeskCommands,
    HistoryReads,
    HotelCommands,
    StreamReads,
):
    """All reads and writes of the store. Call only from the store's one database thread."""
