"""Collector storage: the :class:`Store` protocol, one per area composed, and its backends.

:mod:`.base` holds the area protocols and records, :mod:`.sqlite` the default backend,
:mod:`.memory` an in-memory reference implementation of most areas (for tests, never opened here).
"""

from pathlib import Path

from aurora.collector.store.base import (
    ALERT_STATUSES,
    FINAL_COMMAND_STATES,
    AlertRecord,
    AlertStore,
    CommandRecord,
    CommandStore,
    DropDelta,
    EventQuery,
    EventStore,
    Gap,
    HostRecord,
    HostStatus,
    HostStore,
    IncomingBatch,
    IngestResult,
    NewAlert,
    Store,
    StoredEvent,
    StoreError,
    TokenRecord,
    TokenRejected,
    TokenStore,
    UnknownHost,
    UploadRecord,
    UploadStore,
)

__all__ = [
    "ALERT_STATUSES",
    "DB_NAME",
    "FINAL_COMMAND_STATES",
    "AlertRecord",
    "AlertStore",
    "CommandRecord",
    "CommandStore",
    "DropDelta",
    "EventQuery",
    "EventStore",
    "Gap",
    "HostRecord",
    "HostStatus",
    "HostStore",
    "IncomingBatch",
    "IngestResult",
    "NewAlert",
    "Store",
    "StoreError",
    "StoredEvent",
    "TokenRecord",
    "TokenRejected",
    "TokenStore",
    "UnknownHost",
    "UploadRecord",
    "UploadStore",
    "open_store",
]

DB_NAME = "aurora.db"


def open_store(state_dir: Path, kind: str = "sqlite") -> Store:
    """Open (creating and migrating as needed) the store of the collector in ``state_dir``."""
    if kind != "sqlite":
        raise StoreError(f"unknown store {kind!r}; only 'sqlite' is available")
    from aurora.collector.store.sqlite import SQLiteStore

    return SQLiteStore(state_dir / DB_NAME)
