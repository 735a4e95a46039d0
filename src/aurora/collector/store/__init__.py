"""Collector storage: the :class:`Store` protocol and its implementations (SQLite by default)."""

from pathlib import Path

from aurora.collector.store.base import (
    ALERT_STATUSES,
    AlertRecord,
    CommandRecord,
    DropDelta,
    EventQuery,
    Gap,
    HostRecord,
    HostStatus,
    IncomingBatch,
    IngestResult,
    NewAlert,
    Store,
    StoredEvent,
    StoreError,
    TokenRecord,
    TokenRejected,
    UnknownHost,
    UploadRecord,
)

__all__ = [
    "ALERT_STATUSES",
    "DB_NAME",
    "AlertRecord",
    "CommandRecord",
    "DropDelta",
    "EventQuery",
    "Gap",
    "HostRecord",
    "HostStatus",
    "IncomingBatch",
    "IngestResult",
    "NewAlert",
    "Store",
    "StoreError",
    "StoredEvent",
    "TokenRecord",
    "TokenRejected",
    "UnknownHost",
    "UploadRecord",
    "open_store",
]

DB_NAME = "aurora.db"


def open_store(state_dir: Path, kind: str = "sqlite") -> Store:
    """Open (creating and migrating as needed) the store of the collector in ``state_dir``."""
    if kind != "sqlite":
        raise StoreError(f"unknown store {kind!r}; only 'sqlite' is available")
    from aurora.collector.store.sqlite import SQLiteStore

    return SQLiteStore(state_dir / DB_NAME)
