"""In-memory store areas: a reference implementation that proves each area's contract.

Each class implements one area Protocol of :mod:`aurora.collector.store.base` with plain Python
data behind a lock, and passes the same suite as the SQLite backend (tests/collector/store/).
They exist so the area contracts are checked against a second implementation, and to serve
tests; nothing persists, and :func:`~aurora.collector.store.open_store` never selects them.
Events have no in-memory implementation: ingest is the SQLite backend's hot path.
"""

from aurora.collector.store.memory.alerts import MemoryAlerts
from aurora.collector.store.memory.commands import MemoryCommands
from aurora.collector.store.memory.hosts import MemoryHosts
from aurora.collector.store.memory.tokens import MemoryTokens
from aurora.collector.store.memory.updates import MemoryUpdates
from aurora.collector.store.memory.uploads import MemoryUploads

__all__ = [
    "MemoryAlerts",
    "MemoryCommands",
    "MemoryHosts",
    "MemoryTokens",
    "MemoryUpdates",
    "MemoryUploads",
]
