"""The scale-out store: one PostgreSQL database shared by every collector node, per-area mixins.

Each area's SQL lives in its own module, as in the SQLite backend (the SQL both share in the
``sql_*`` modules of the store package); this one opens the database
(checking the server first, then migrating under an advisory lock) and creates the event
partitions for today and tomorrow. Commits are durable before they return (PostgreSQL's
``synchronous_commit`` default), so the collector acknowledges a batch only once it is stored.
"""

from __future__ import annotations

from aurora.collector.store.base import StoreError
from aurora.collector.store.postgresql.events import PostgresEvents
from aurora.collector.store.postgresql.migrate import migrate
from aurora.collector.store.postgresql.tokens import PostgresTokens
from aurora.collector.store.sql_alerts import SQLAlerts
from aurora.collector.store.sql_commands import SQLCommands
from aurora.collector.store.sql_hosts import SQLHosts
from aurora.collector.store.sql_updates import SQLUpdates
from aurora.collector.store.sql_uploads import SQLUploads


class PostgreSQLStore(
    PostgresEvents,
    SQLHosts,
    PostgresTokens,
    SQLCommands,
    SQLUploads,
    SQLAlerts,
    SQLUpdates,
):
    """A :class:`~aurora.collector.store.base.Store` in the PostgreSQL database at ``url``."""

    def __init__(self, url: str, *, migrate_to: int | None = None) -> None:
        super().__init__(
            url, migrate=lambda conn: migrate(conn, migrate_to), error=StoreError, what="store"
        )
        self._open_events()
